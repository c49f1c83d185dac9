"""Database engine, sessions and the column types shared by every package's models."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    DateTime,
    Index,
    Integer,
    MetaData,
    Table,
    any_,
    bindparam,
    create_engine,
    event,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.engine import CursorResult, Engine, Result
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

# Registers psycopg's dumper for pre-built arrays: connections take the global adapters
# when they open, so it must come before the first one does.
from nurture import pgarrays  # noqa: F401

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# How long a transaction begun in this context waits for a lock another one holds, in
# seconds, before it fails with an OperationalError. None: SQLite's 30 s busy timeout, and
# on PostgreSQL no limit. Web requests set it, so that a page says "busy, try again"
# rather than hang behind a long batch (`web/errors.py`).
lock_wait: ContextVar[float | None] = ContextVar("lock_wait", default=None)
SQLITE_BUSY_MS = 30_000
# The error by which the database says it is busy (a lock waited for past `lock_wait`, a
# deadlock, a serialization failure) or out of reach: the web answers it with a 503 and a
# sentence (`web/errors.py`), without importing SQLAlchemy itself.
Unavailable = OperationalError
# PostgreSQL: deadlock, serialization failure, lock timeout; SQLite's busy timeout.
_CONTENTION_CODES = {"40P01", "40001", "55P03"}

BigId = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")


def only(condition: str) -> dict[str, Any]:
    """The keywords of a partial index: only the rows where `condition` (SQL) holds."""
    return {"postgresql_where": text(condition), "sqlite_where": text(condition)}


def due_indexes(table: str, due: str) -> tuple[Index, Index]:
    """The two indexes of a table of leased work (see `scheduler.claims`): due rows that
    no one holds, by due time, and held rows, by when their lease runs out."""
    return (Index(f"ix_{table}_due", due, **only(f"{due} IS NOT NULL AND lease_until IS NULL")),
            Index(f"ix_{table}_leased", "lease_until",
                  **only(f"{due} IS NOT NULL AND lease_until IS NOT NULL")))


def one_of(session: Session, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """`column IN (values)`, written `column = ANY(:array)` on PostgreSQL: one parameter
    rather than one per value. With a batch's 500 ids as 500 parameters, psycopg parses
    the whole statement again on every call and PostgreSQL plans a 500-item list."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in Python, the same on SQLite (naive text) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("Nurture stores aware datetimes only.")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    # Every model here is declared with its columns, so its `__table__` is a Table (which
    # SQLAlchemy types only as a FromClause): `.update()`, `.c.x.type.length` type-check.
    __table__: ClassVar[Table]


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE matched. `Session.execute` returns a CursorResult
    for those, but is typed to return a Result, which has no row count."""
    if not isinstance(result, CursorResult):
        raise TypeError("Only the result of an UPDATE or DELETE has a row count.")
    return result.rowcount


def contention(exc: OperationalError) -> bool:
    """Whether the database was busy with other transactions (try again in seconds) rather
    than out of reach."""
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in _CONTENTION_CODES or "database is locked" in str(exc.orig)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _py_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_MS / 1000,
                                                  "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # WAL lets readers run beside the single writer; pysqlite's own transaction
            # handling is switched off so that BEGIN IMMEDIATE below takes the write lock.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
            # Python's own lower-casing (SQLite's lower() knows only ASCII), so that a
            # segment's `lower(name)` gives in SQL what the condition gives in Python.
            dbapi_connection.create_function("py_lower", 1, _py_lower, deterministic=True)

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            wait = lock_wait.get()
            if wait is not None:  # put back when the connection returns to the pool
                _sqlite_busy(conn.connection.dbapi_connection, conn.connection.info,
                             int(wait * 1000))
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        @event.listens_for(engine, "checkin")
        def _sqlite_checkin(dbapi_connection: Any, record: Any) -> None:
            if dbapi_connection is not None:
                _sqlite_busy(dbapi_connection, record.info, SQLITE_BUSY_MS)

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)

    @event.listens_for(engine, "begin")
    def _postgres_begin(conn: Any) -> None:
        wait = lock_wait.get()
        if wait is not None:  # for this transaction only
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {max(1, int(wait * 1000))}")

    return engine


def _sqlite_busy(dbapi_connection: Any, info: dict[str, Any], ms: int) -> None:
    """SQLite's busy timeout for this connection, set only when it changes."""
    if info.get("busy_ms", SQLITE_BUSY_MS) != ms:
        dbapi_connection.execute(f"PRAGMA busy_timeout = {int(ms)}")
        info["busy_ms"] = ms


class Database:
    """One engine and its session factory; passed to whatever needs the database."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits on success and rolls back on any error."""
        with self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
