"""The composition root: one installation wired from its settings.

It builds the database, clock, sender, transport and caches; registers the subscribers
to recorded events: accounts, scoring, referral and journeys, in that order, so that a
subscription's renewal date is fixed and a departed customer's account is stopped before
anything reads them, and a score or a referral code changed by the next two can start a
journey; and registers the send throttles (the NPS survey's) and deferrals (broadcasts'
frequency cap and quiet hours). Actors receive ids only; the
transport binds each to the runtime built here (`tasks.handlers`).
"""

from __future__ import annotations

from journeys.repository import VersionCache
from journeys.schedule import Pacing
from journeys.subscriber import JourneySubscriber
from nurture.accounts.deprovisioning import DeprovisionSubscriber
from nurture.accounts.subscriber import AccountsSubscriber
from nurture.app import tasks
from nurture.app.runtime import Runtime
from nurture.audiences.triggers import SegmentSubscriber
from nurture.broadcasts.pacing import CapAndQuietHours
from nurture.broker import make_transport
from nurture.clock import Clock
from nurture.config import Settings
from nurture.db import Database
from nurture.events.bus import Subscriber
from nurture.nps.services import NPSConfig, NPSThrottle
from nurture.sending.render import store_for
from nurture.sending.senders import make_sender
from nurture.webhooks.subscriber import WebhookSubscriber
from referral.config import ReferralConfig
from referral.subscriber import ReferralSubscriber
from scoring.subscriber import ScoringSubscriber


def subscribers_for(settings: Settings, versions: VersionCache,
                    pacing: Pacing) -> tuple[Subscriber, ...]:
    """Everything that reacts to recorded events, in the order it runs."""
    return (AccountsSubscriber(settings.commitment_months),
            DeprovisionSubscriber(settings.departure),
            ScoringSubscriber(settings),
            ReferralSubscriber(ReferralConfig.from_settings(settings)),
            JourneySubscriber(versions, pacing.window),
            SegmentSubscriber(versions),
            WebhookSubscriber())


def build(settings: Settings, clock: Clock | None = None, with_transport: bool = True) -> Runtime:
    """Wire an installation from its settings."""
    runtime = Runtime(settings, Database(settings.database_url), clock or Clock(),
                      make_sender(settings),
                      versions=VersionCache(store_for(settings.templates_dir).message_class))
    runtime.subscribers = subscribers_for(settings, runtime.versions, runtime.pacing)
    runtime.throttles = (NPSThrottle(NPSConfig.from_settings(settings).throttle_days),)
    runtime.deferrals = (CapAndQuietHours(runtime.pacing),)  # broadcasts' cap, quiet hours
    if with_transport:
        runtime.transport = make_transport(settings, tasks.handlers(runtime))
    return runtime
