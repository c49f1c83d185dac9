"""Which Nurture processes are running, and whether their clocks agree.

Each scheduler and worker writes a heartbeat row every `EVERY` seconds: its host, pid and
role, its own clock, and the database's clock read in the same statement. The difference
between the two is the process's clock skew against the database; since every process is
measured against the same clock, two processes disagree by at most the sum of their
skews. Leases, due times and rate windows all assume clocks that agree to a second or two,
so `nurture doctor` reports the worst skew and the processes it has not heard from.
A heartbeat older than `GONE` is a process that stopped; its row is deleted after a day.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Float, Integer, String, delete, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from nurture.db import Base, Database, UTCDateTime

log = logging.getLogger(__name__)
EVERY = 15.0  # seconds between heartbeats
GONE = timedelta(seconds=4 * EVERY)  # not heard from: stopped or stuck
FORGOTTEN = timedelta(days=1)


class Heartbeat(Base):
    __tablename__ = "process_heartbeats"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)  # host:pid:role
    role: Mapped[str] = mapped_column(String(20))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the process's clock
    skew_seconds: Mapped[float] = mapped_column(Float)  # its clock minus the database's


@dataclass(frozen=True)
class Seen:
    name: str
    role: str
    seen_at: datetime
    skew_seconds: float
    alive: bool


def database_now(session: Session) -> datetime:
    """The database server's clock (SQLite's is this machine's)."""
    if session.get_bind().dialect.name == "postgresql":
        value = session.scalar(text("SELECT clock_timestamp()"))
        assert isinstance(value, datetime)
        return value.astimezone(UTC)
    raw = session.scalar(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')"))
    return datetime.fromisoformat(str(raw)).replace(tzinfo=UTC)


def skew(session: Session) -> tuple[datetime, float]:
    """This process's clock (the middle of the round trip) and its skew against the
    database's, in seconds."""
    session.connection()  # connected first: the round trip is one query's
    before = datetime.now(UTC)
    theirs = database_now(session)
    mine = before + (datetime.now(UTC) - before) / 2
    return mine, (mine - theirs).total_seconds()


def beat(db: Database, role: str, started_at: datetime) -> float:
    """Write this process's heartbeat; its skew in seconds."""
    host, pid = socket.gethostname()[:200], os.getpid()
    with db.transaction() as session:
        mine, off = skew(session)
        session.merge(Heartbeat(name=f"{host}:{pid}:{role}"[:200], role=role, host=host,
                                pid=pid, started_at=started_at, seen_at=mine,
                                skew_seconds=off))
        session.execute(delete(Heartbeat).where(Heartbeat.seen_at < mine - FORGOTTEN))
    return off


def keep_beating(db: Database, role: str, stop: threading.Event) -> threading.Thread:
    """A daemon thread that beats until `stop` is set."""
    started_at = datetime.now(UTC)

    def loop() -> None:
        while not stop.is_set():
            try:
                beat(db, role, started_at)
            except Exception:  # the database may be down for a moment: try again later
                log.warning("heartbeat not written", exc_info=True)
            stop.wait(EVERY)

    thread = threading.Thread(target=loop, name=f"heartbeat-{role}", daemon=True)
    thread.start()
    return thread


def seen(session: Session, now: datetime) -> list[Seen]:
    """Every process heard from in the last day, the most recent first."""
    rows = session.scalars(select(Heartbeat).order_by(Heartbeat.seen_at.desc())).all()
    return [Seen(r.name, r.role, r.seen_at, r.skew_seconds, r.seen_at >= now - GONE)
            for r in rows]
