"""One use case's unit of work: its transaction, the events it records, then the work it
made due, handed on.

Events recorded through `Work.record` are published to the subscribers that the
composition root registered; the work they make due joins the rest.

A use case that makes work due now (an enrollment to advance, a send to deliver) says so
with `Work.due`. When this process will run what it kicks (its workers are started, or a
Redis broker carries the ids to workers elsewhere), the work is leased in the same
transaction, so that the scheduler does not enqueue it too, and sent to the workers right
after the commit. When it will not (a command on the in-process broker, without workers),
the work is left due and unleased: the scheduler of the running instance takes it at its
next poll, rather than waiting out a lease given to a broker that exits with the command.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import update
from sqlalchemy.orm import Session

from nurture.db import Base, Database
from nurture.events.bus import NewEvent, Subscriber
from nurture.events.created import fill_created, record_created
from nurture.events.effects import Lifecycle
from nurture.events.recorder import Recorded, record_events
from nurture.sending.lanes import KINDS, SEND_KINDS

# Each kind of work: the table that holds it (a `lease_until` column beside its due time).
TABLES = {"advance_enrollments": "enrollments", "deliver_sends": "sends",
          "deliver_priority_sends": "sends", "deliver_webhooks": "webhook_deliveries",
          "escalate_handoffs": "handoffs", "run_imports": "import_jobs"}


class Runner(Protocol):
    """Whatever takes kicked work to the workers: the installation's transport."""

    @property
    def runs_here(self) -> bool:
        """Whether work kicked from this process will be run (not left on a dead queue)."""

    @property
    def lease(self) -> timedelta: ...

    def kick(self, actor: str, ids: list[int]) -> None: ...


@dataclass
class Work:
    """The transaction's session, and what it made due; see the module's docstring."""

    session: Session
    now: datetime
    lease_until: datetime | None  # None: nothing is leased or kicked from this process
    subscribers: Sequence[Subscriber] = ()
    kicks: dict[str, list[int]] = field(default_factory=dict)

    def record(self, events: Sequence[NewEvent], lifecycle: Lifecycle | None = None,
               checked: bool = False) -> Recorded:
        """Record events in this transaction (`nurture.events.recorder`), publishing them
        to the installation's subscribers; what they make due is handed on like any work.
        `checked`: the caller has checked them already (`recorder.check`)."""
        if not events:
            return Recorded()
        recorded = record_events(self.session, self.subscribers, events, self.now, lifecycle,
                                 checked)
        for kind, ids in recorded.due.items():
            self.due(kind, ids)
        return recorded

    def fill_created(self, rows: list[dict[str, Any]]) -> None:
        """Before inserting new contacts for `record_created`: the columns that the
        subscribers own (the score) filled in their rows."""
        fill_created(self.subscribers, rows)

    def record_created(self, events: Sequence[NewEvent],
                       fields: Mapping[int, Mapping[str, Any]]) -> Recorded:
        """`record`, on the bulk path (`nurture.events.created`): `contact.created` for
        contacts this transaction inserted, with their columns as written."""
        if not events:
            return Recorded()
        recorded = record_created(self.session, self.subscribers, events, fields, self.now)
        for kind, ids in recorded.due.items():
            self.due(kind, ids)
        return recorded

    def due(self, kind: str, ids: Iterable[int]) -> None:
        """Work of `kind` (an actor's name) that this transaction made due now."""
        ids = list(ids)
        if not ids or self.lease_until is None:
            return
        table = Base.metadata.tables[TABLES[kind]]
        lease = (update(table).where(table.c.id.in_(ids)).values(lease_until=self.lease_until)
                 .execution_options(synchronize_session=False))
        if kind in SEND_KINDS:
            # A send's lane, stored on its row, decides its queue, whichever kind the
            # caller named: a use case that queues a log-in email need not know of lanes.
            for send_id, lane in self.session.execute(lease.returning(table.c.id,
                                                                      table.c.lane)):
                self.kicks.setdefault(KINDS[lane], []).append(send_id)
            return
        self.session.execute(lease)
        self.kicks.setdefault(kind, []).extend(ids)

    def leased(self, kind: str, ids: Iterable[int]) -> None:
        """Work that this transaction made due and wrote already leased until
        `lease_until` (rows inserted with it, saving an update); kicked after the commit."""
        if self.lease_until is not None:
            self.kicks.setdefault(kind, []).extend(ids)


class Works(Protocol):
    """The installation as a use case sees it: the time, read-only sessions, and units of
    work. Use cases take this, never the roof's `Runtime` (which is one), and receive
    whatever else they need (settings, tokens, a sender) as arguments of their own."""

    def now(self) -> datetime: ...

    def sessions(self) -> AbstractContextManager[Session]:
        """A session for reading, closed afterwards."""

    def transaction(self) -> AbstractContextManager[Session]:
        """A transaction of plain writes (no events, no work handed on)."""

    def work(self, now: datetime) -> AbstractContextManager[Work]:
        """One use case's unit of work (see `unit_of_work`)."""


@contextmanager
def unit_of_work(db: Database, runner: Runner, now: datetime,
                 subscribers: Sequence[Subscriber] = ()) -> Iterator[Work]:
    """One transaction: it commits on success and rolls back on any error; what it made
    due is kicked only once it is committed (if this process dies in between, the lease
    runs out and the scheduler takes the work)."""
    lease_until = now + runner.lease if runner.runs_here else None
    with db.transaction() as session:
        work = Work(session, now, lease_until, subscribers)
        yield work
    for kind, ids in work.kicks.items():
        runner.kick(kind, ids)
