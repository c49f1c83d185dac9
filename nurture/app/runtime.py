"""The running installation: settings, database, clock, transport and caches, wired once.

Actors receive ids only; they find everything else through `current()`.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from journeys.repository import VersionCache
from journeys.schedule import Pacing
from nurture.broker import Transport, make_transport
from nurture.clock import Clock
from nurture.config import Settings
from nurture.db import Database
from nurture.sending.senders import Sender, make_sender
from nurture.tokens import Tokens
from nurture.unit_of_work import Work, unit_of_work

log = logging.getLogger(__name__)
_current: Runtime | None = None


@dataclass
class Runtime:
    settings: Settings
    db: Database
    clock: Clock
    sender: Sender
    transport: Transport | None = None
    _tokens: Tokens | None = field(default=None, repr=False)
    versions: VersionCache = field(default_factory=VersionCache)

    @property
    def tokens(self) -> Tokens:
        if self._tokens is None:
            self._tokens = Tokens(self.settings.secret_key)
        return self._tokens

    @property
    def pacing(self) -> Pacing:
        s = self.settings
        return Pacing(cap=s.frequency_cap, window=timedelta(days=s.frequency_window_days),
                      quiet_start=time.fromisoformat(s.quiet_hours_start),
                      quiet_end=time.fromisoformat(s.quiet_hours_end), default_tz=s.timezone)

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.lease_seconds)

    @property
    def runs_here(self) -> bool:
        """Whether work kicked from here is run: workers elsewhere read Redis; the
        in-process broker has only the workers this process started."""
        return self.transport is not None and self.transport.runs_work

    def work(self, now: datetime) -> AbstractContextManager[Work]:
        """One use case's transaction; what it makes due is kicked after the commit."""
        return unit_of_work(self.db, self, now)

    def kick(self, actor: str, ids: list) -> None:
        """Enqueue ids right away (after a commit); the lease covers them if this is lost."""
        if ids and self.transport is not None:
            self.transport.send(actor, ids, self.settings.message_batch)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.stop()
        self.sender.close()
        self.db.dispose()


def build(settings: Settings, clock: Clock | None = None, with_transport: bool = True) -> Runtime:
    """Wire an installation from settings and make it the current one."""
    global _current
    runtime = Runtime(settings, Database(settings.database_url), clock or Clock(),
                      make_sender(settings))
    if with_transport:
        from nurture.app import tasks

        runtime.transport = make_transport(settings, tasks.HANDLERS)
    _current = runtime
    return runtime


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("Nurture's runtime is not built; call nurture.app.runtime.build first.")
    return _current
