"""`nurture doctor`: is this installation able to run, and is it keeping up?

Each check answers with one `Finding`: ok, a warning, or a failure, and for anything but
ok, what to do. The checks run in order and each stands alone: a database that is down
fails its check and those that need it, and the Redis and SMTP checks still run. Every
check is bounded in time (a few seconds), so the doctor can be a container's health check.
"""

from __future__ import annotations

import smtplib
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, timedelta

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text

from nurture.app.heartbeats import database_now, seen, skew
from nurture.app.scheduler.claims import DUE_WORK
from nurture.broker import QUEUES
from nurture.config import Settings
from nurture.db import Database
from nurture.migrate import alembic_config
from nurture.sending.senders import SMTPConfig

OK, WARN, FAIL = "ok", "warn", "FAIL"
MAX_SKEW = 2.0  # seconds: leases and due times tolerate this much
BEHIND = timedelta(minutes=10)  # due work older than this, unclaimed: workers are behind


@dataclass(frozen=True)
class Finding:
    check: str
    status: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        fix = f" To fix: {self.fix}" if self.fix and self.status != OK else ""
        return f"{self.status:<4} {self.check:<11} {self.detail}{fix}"


def examine(load: Callable[[], Settings]) -> Iterator[Finding]:
    """Every finding, in order (a generator: the CLI prints each as it comes)."""
    try:
        settings = load()
    except Exception as exc:  # a bad setting: its own sentence
        yield Finding("settings", FAIL, str(exc), "correct the environment variable named.")
        return
    yield from _settings(settings)
    db = Database(settings.database_url)
    try:
        database = _database(db)
        yield database
        if database.status != FAIL:
            migrations = _migrations(db)
            yield migrations
            if migrations.status == OK:  # the tables below exist
                yield from _guarded("processes", lambda: _processes(db, settings))
                yield from _guarded("backlog", lambda: _backlog(db))
    finally:
        db.dispose()
    yield from _redis(settings)
    yield _smtp(settings)


def _guarded(check: str, findings: Callable[[], Iterator[Finding]]) -> Iterator[Finding]:
    """A check's findings, or one failure with the error that stopped it."""
    try:
        yield from list(findings())
    except Exception as exc:
        yield Finding(check, FAIL, f"could not be checked: {str(exc).splitlines()[0]}",
                      "see the database's log.")


def _settings(settings: Settings) -> Iterator[Finding]:
    distributed = settings.redis_url is not None
    yield Finding("settings", OK, f"loaded; {'distributed' if distributed else 'embedded'} "
                  f"mode, base URL {settings.base_url}.")
    if distributed and not settings.database_url.startswith("postgresql"):
        yield Finding("settings", FAIL, "REDIS_URL is set but the database is not PostgreSQL;"
                      " separate processes need one database server.",
                      "set DATABASE_URL=postgresql://...")
    if settings.base_url.startswith("http://") and "localhost" not in settings.base_url \
            and "127.0.0.1" not in settings.base_url:
        yield Finding("settings", WARN, "NURTURE_BASE_URL is not HTTPS: links in emails and "
                      "session cookies travel unencrypted.", "serve Nurture over HTTPS and "
                      "set NURTURE_BASE_URL=https://...")


def _database(db: Database) -> Finding:
    started = time.perf_counter()
    try:
        with db.sessions() as session:
            session.execute(text("SELECT 1"))
            version = (session.scalar(text("SHOW server_version")) if db.is_postgres
                       else session.scalar(text("SELECT sqlite_version()")))
    except Exception as exc:
        return Finding("database", FAIL, f"cannot be reached: {str(exc).splitlines()[0]}",
                       "check DATABASE_URL and that the server runs.")
    ms = (time.perf_counter() - started) * 1000
    kind = "PostgreSQL" if db.is_postgres else "SQLite"
    return Finding("database", OK if ms < 500 else WARN, f"{kind} {version}, answered in "
                   f"{ms:.0f} ms.", "the database is slow to answer; check its load.")


def _migrations(db: Database) -> Finding:
    head = ScriptDirectory.from_config(alembic_config(db)).get_current_head()
    with db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current == head:
        return Finding("migrations", OK, f"the schema is at the head revision ({head}).")
    return Finding("migrations", FAIL, f"the schema is at {current or 'nothing'}, the code "
                   f"expects {head}.", "run `nurture init` (it migrates to the head).")


def _processes(db: Database, settings: Settings) -> Iterator[Finding]:
    with db.sessions() as session:
        mine, off = skew(session)
        beats = seen(session, mine)
    yield Finding("clock", OK if abs(off) <= MAX_SKEW else FAIL,
                  f"this machine's clock is {off:+.3f} s from the database's.",
                  "synchronise the clocks with NTP (chrony or systemd-timesyncd).")
    alive = [b for b in beats if b.alive]
    skewed = [b for b in alive if abs(b.skew_seconds) > MAX_SKEW]
    for b in skewed:
        yield Finding("clock", FAIL, f"{b.name}'s clock is {b.skew_seconds:+.1f} s from the "
                      "database's.", "synchronise that host's clock with NTP.")
    if alive and not skewed:
        worst = max(abs(b.skew_seconds) for b in alive)
        yield Finding("clock", OK, f"the {len(alive)} running processes agree with the "
                      f"database within {worst:.3f} s.")
    if settings.redis_url is None:
        return
    for role, command in (("scheduler", "nurture scheduler"), ("worker", "nurture worker")):
        n = sum(1 for b in alive if b.role == role)
        yield Finding("processes", OK if n else FAIL, f"{n} {role}{'s' * (n != 1)} running "
                      "(heard from in the last minute).", f"start `{command}`.")


def _backlog(db: Database) -> Iterator[Finding]:
    with db.sessions() as session:
        now = database_now(session)
        for kind, (model, due, only) in DUE_WORK.items():
            where = [due <= now, model.lease_until.is_(None), *([text(only)] if only else [])]
            waiting, oldest = session.execute(select(func.count(), func.min(due)).where(
                *where)).one()
            if not waiting:
                continue
            late = now - oldest.astimezone(UTC) if oldest else timedelta(0)
            yield Finding("backlog", OK if late < BEHIND else WARN,
                          f"{kind}: {waiting} due and unclaimed, the oldest due "
                          f"{late.total_seconds():.0f} s ago.",
                          "the workers are behind: start more `nurture worker` processes, "
                          "or check that a scheduler runs.")


def _redis(settings: Settings) -> Iterator[Finding]:
    if settings.redis_url is None:
        yield Finding("redis", OK, "not configured: the in-process broker serves `nurture "
                      "run` (one process).")
        return
    import redis  # noqa: PLC0415 (only where configured)
    try:
        client = redis.Redis.from_url(settings.redis_url, socket_timeout=3)
        info = client.info()
        server_time = client.time()
    except Exception as exc:
        yield Finding("redis", FAIL, f"cannot be reached: {exc}", "check REDIS_URL and that "
                      "Redis runs.")
        return
    policy = info.get("maxmemory_policy", "noeviction")
    yield Finding("redis", OK if policy == "noeviction" else WARN,
                  f"Redis {info.get('redis_version')}, {info.get('used_memory_human')} used, "
                  f"eviction policy {policy}.", "set `maxmemory-policy noeviction`: an "
                  "evicted message waits for its lease to expire (5 minutes).")
    skew = time.time() - (server_time[0] + server_time[1] / 1e6)
    if abs(skew) > MAX_SKEW:
        yield Finding("clock", FAIL, f"this machine's clock is {skew:+.1f} s from Redis's.",
                      "synchronise the clocks with NTP.")
    depths = []
    for queue in sorted(set(QUEUES.values())):
        key = f"{settings.queue_namespace}:{queue}"
        depths.append(f"{queue} {client.llen(key) + client.llen(key + '.DQ')}")
    yield Finding("queues", OK, "messages waiting: " + ", ".join(depths) + ".")


def _smtp(settings: Settings) -> Finding:
    if settings.smtp_url is None:
        outbox = settings.outbox_dir
        return Finding("smtp", OK, f"not configured: email is written to {outbox}.")
    config = SMTPConfig.from_url(settings.smtp_url)
    where = f"{config.host}:{config.port}"
    try:
        timeout = min(config.timeout, 10.0)
        context = ssl.create_default_context()
        conn = (smtplib.SMTP_SSL(config.host, config.port, timeout=timeout, context=context)
                if config.tls == "implicit" else
                smtplib.SMTP(config.host, config.port, timeout=timeout))
        with conn:
            conn.ehlo()
            if config.tls == "starttls":
                conn.starttls(context=context)
                conn.ehlo()
            if config.user:
                conn.login(config.user, config.password or "")
            conn.noop()
    except (OSError, smtplib.SMTPException) as exc:
        return Finding("smtp", FAIL, f"the relay at {where} refused or did not answer: {exc}",
                       "check SMTP_URL, the relay's address, port, TLS and credentials.")
    return Finding("smtp", OK, f"the relay at {where} answered ({config.tls} TLS"
                   f"{', signed in' if config.user else ''}).")


def readiness(db: Database, redis_url: str | None) -> dict[str, str]:
    """What `/readyz` reports: "ok" or a sentence for the database and (when configured)
    Redis, each within 2 seconds. A web process is ready when both are ok."""
    found = {}
    try:
        with db.sessions() as session:
            session.execute(text("SELECT 1"))
        found["database"] = "ok"
    except Exception as exc:
        found["database"] = f"The database cannot be reached: {str(exc).splitlines()[0]}"
    if redis_url is not None:
        import redis  # noqa: PLC0415 (only where configured)
        try:
            redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2).ping()
            found["redis"] = "ok"
        except Exception as exc:
            found["redis"] = f"Redis cannot be reached: {exc}"
    return found
