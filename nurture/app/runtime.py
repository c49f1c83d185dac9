"""The running installation: settings, database, clock, sender, transport, caches and the
subscribers to recorded events, as the composition root (`composition.build`) wired them.

The roof's container: views, commands and actors take the parts they need from it and pass
them down; nothing below the roof sees it. There is no global runtime.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from journeys.repository import VersionCache
from journeys.schedule import Pacing
from nurture.broker import Transport
from nurture.clock import Clock
from nurture.config import Settings
from nurture.db import Database
from nurture.events.bus import Subscriber
from nurture.sending.render import store_for
from nurture.sending.senders import Sender
from nurture.sending.services import Mailroom
from nurture.sending.throttles import Deferral, Throttle
from nurture.tokens import Tokens
from nurture.unit_of_work import Work, unit_of_work

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    clock: Clock
    sender: Sender
    transport: Transport | None = None
    _tokens: Tokens | None = field(default=None, repr=False)
    versions: VersionCache = field(default_factory=VersionCache)
    subscribers: tuple[Subscriber, ...] = ()
    throttles: tuple[Throttle, ...] = ()
    deferrals: tuple[Deferral, ...] = ()

    @property
    def tokens(self) -> Tokens:
        if self._tokens is None:
            self._tokens = Tokens(self.settings.secret_key)
        return self._tokens

    @property
    def pacing(self) -> Pacing:
        s = self.settings
        return Pacing(cap=s.frequency_cap, window=timedelta(days=s.frequency_window_days),
                      quiet_start=s.quiet_hours_start, quiet_end=s.quiet_hours_end,
                      default_tz=s.timezone)

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.lease_seconds)

    @property
    def runs_here(self) -> bool:
        """Whether work kicked from here is run: workers elsewhere read Redis; the
        in-process broker has only the workers this process started."""
        return self.transport is not None and self.transport.runs_work

    def now(self) -> datetime:
        return self.clock.now()

    def sessions(self) -> AbstractContextManager[Session]:
        return self.db.sessions()

    def transaction(self) -> AbstractContextManager[Session]:
        return self.db.transaction()

    def work(self, now: datetime) -> AbstractContextManager[Work]:
        """One use case's transaction; what it makes due is kicked after the commit."""
        return unit_of_work(self.db, self, now, self.subscribers)

    def kick(self, actor: str, ids: list) -> None:
        """Enqueue ids right away (after a commit); the lease covers them if this is lost."""
        if ids and self.transport is not None:
            self.transport.send(actor, ids, self.settings.message_batch)

    def mailroom(self) -> Mailroom:
        """What delivering sends needs of this installation (`sending.services.deliver`)."""
        return Mailroom(self.db.engine, self.sender, self.settings, self.tokens,
                        store_for(self.settings.templates_dir), self.lease, self.throttles,
                        self.deferrals)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.stop()
        self.sender.close()
        self.db.dispose()
