"""Every model, imported in one place so that metadata (and Alembic) sees all tables."""

from journeys.models import Activity, Enrollment, JourneyVersion
from nurture.accounts.models import Account, AccountRole, Subscription
from nurture.apitokens.models import ApiToken
from nurture.app.heartbeats import Heartbeat
from nurture.audiences.models import Segment, SegmentMember
from nurture.broadcasts.models import Broadcast
from nurture.consent.models import ConsentRecord, Suppression
from nurture.contacts.imports.models import ImportJob, ImportMapping, ImportReject
from nurture.contacts.models import Contact, ContactChange, StageChange
from nurture.db import Base
from nurture.events.models import Event
from nurture.idempotency.models import IdempotencyKey
from nurture.inbound.models import InboundMessage
from nurture.landing.models import LandingPage
from nurture.nps.models import NPSResponse
from nurture.sending.models import Pause, Send
from nurture.trials.models import Trial
from nurture.users.models import User
from nurture.webhooks.models import WebhookDelivery, WebhookEndpoint
from referral.models import (
    Referral,
    ReferralClick,
    ReferralDevice,
    ReferralSource,
    Reward,
    RewardTransition,
)
from scoring.models import ContactScore, Handoff, HandoffNote, PredictiveModel, ScoreEntry

__all__ = [
    "Account", "AccountRole", "Activity", "ApiToken", "Base", "Broadcast", "ConsentRecord",
    "Contact",
    "ContactChange",
    "ContactScore",
    "Enrollment", "Event", "Handoff", "HandoffNote", "Heartbeat", "IdempotencyKey",
    "ImportJob", "ImportMapping",
    "ImportReject", "InboundMessage", "JourneyVersion", "LandingPage", "NPSResponse", "Pause",
    "PredictiveModel", "Referral", "ReferralClick", "ReferralDevice", "ReferralSource",
    "Reward", "RewardTransition", "ScoreEntry", "Segment", "SegmentMember", "Send",
    "StageChange", "Subscription", "Suppression", "Trial", "User", "WebhookDelivery",
    "WebhookEndpoint",
]
