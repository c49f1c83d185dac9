"""Segments: save, count, sample and export the contacts a condition selects.

`contact_ids(session, segment, now)` is the statement others build on (a broadcast's
audience, an export, a bulk action): the ids of the contacts in the segment at `now`,
chosen by SQL alone.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy import delete as sa_delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from journeys.expressions import Expression, ExpressionError, compile_expression
from nurture.audiences import sql
from nurture.audiences.errors import SegmentInvalid, SegmentNotFound
from nurture.audiences.models import Segment, SegmentMember
from nurture.contacts.models import Contact
from nurture.db import Database
from nurture.paging import Key, after, split
from nurture.text import text_problem

MAX_NAME = 120
MAX_CONDITION = 4000
MAX_DESCRIPTION = 2000
SAMPLE = 10
MAX_DEPTH = 60
TOO_DEEP = ("The condition nests too deeply to count; write it with fewer brackets and "
            "`not`s.")
EXPORT_COLUMNS = ("id", "email", "first_name", "last_name", "company", "stage", "industry",
                  "language", "country", "score", "created_at")


@dataclass(frozen=True)
class SampleContact:
    id: int
    email: str
    name: str
    stage: str


@dataclass(frozen=True)
class Preview:
    count: int
    sample: list[SampleContact]


@dataclass(frozen=True)
class SegmentView:
    id: int
    name: str
    condition: str
    description: str
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    count: int | None = None


def parse(condition: str) -> Expression:
    """The condition, checked that segments can count it; SegmentInvalid (with the line and
    column when there is one) otherwise."""
    if not isinstance(condition, str) or not condition.strip():
        raise SegmentInvalid("A segment needs a condition, such as \"stage == 'try'\".")
    if len(condition) > MAX_CONDITION:
        raise SegmentInvalid(f"A condition is at most {MAX_CONDITION} characters; this one "
                             f"has {len(condition)}.")
    if (problem := text_problem(condition)) is not None:
        raise SegmentInvalid(problem)
    try:
        expression = compile_expression(condition)
        sql.check(expression)
    except ExpressionError as exc:
        raise SegmentInvalid(str(exc), exc.line, exc.column) from None
    except RecursionError:
        raise SegmentInvalid(TOO_DEEP) from None
    if _depth(expression.tree) > MAX_DEPTH:
        raise SegmentInvalid(TOO_DEEP)
    for node in ast.walk(expression.tree):  # '\x00' written as an escape: no database takes it
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                (problem := text_problem(node.value)) is not None:
            raise SegmentInvalid(f"A text in the condition cannot be used: {problem}")
    return expression


def _depth(node: ast.AST) -> int:
    """How deeply the condition nests (iteratively: a hostile one may nest thousands)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def matching(session: Session, condition: str | Expression, now: datetime) -> Select:
    """The ids of the contacts for whom the condition holds at `now`."""
    expression = parse(condition) if isinstance(condition, str) else condition
    dialect = session.get_bind().dialect.name
    return select(Contact.id).where(sql.where(expression, dialect, now))


def contact_ids(session: Session, segment: str | int, now: datetime) -> Select:
    """The ids of the contacts in the segment (by name or id) at `now`."""
    return matching(session, find(session, segment).condition, now)


def count(session: Session, condition: str | Expression, now: datetime) -> int:
    ids = matching(session, condition, now).subquery()
    return int(session.scalar(select(func.count()).select_from(ids)) or 0)


def preview(session: Session, condition: str, now: datetime, limit: int = SAMPLE) -> Preview:
    """How many contacts match, and the first few (by id) to show."""
    expression = parse(condition)
    ids = matching(session, expression, now)
    rows = session.execute(
        select(Contact.id, Contact.email, Contact.first_name, Contact.last_name,
               Contact.stage).where(Contact.id.in_(ids)).order_by(Contact.id).limit(limit))
    sample = [SampleContact(r.id, r.email, f"{r.first_name} {r.last_name}".strip(), r.stage)
              for r in rows]
    return Preview(count(session, expression, now), sample)


def export_rows(session: Session, condition: str, now: datetime,
                batch: int = 1000) -> Iterator[tuple[object, ...]]:
    """The matching contacts' EXPORT_COLUMNS, by id, read from the database in batches."""
    columns = [getattr(Contact, name) for name in EXPORT_COLUMNS]
    result = session.execute(
        select(*columns).where(Contact.id.in_(matching(session, condition, now)))
        .order_by(Contact.id).execution_options(yield_per=batch))
    for row in result:
        yield tuple(row)


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise SegmentInvalid("A segment needs a name.")
    if len(name) > MAX_NAME:
        raise SegmentInvalid(f"A segment's name is at most {MAX_NAME} characters; this one "
                             f"has {len(name)}.")
    if (problem := text_problem(name)) is not None:
        raise SegmentInvalid(problem)
    return name


def _check_description(description: str) -> str:
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise SegmentInvalid(f"A segment's description is at most {MAX_DESCRIPTION} "
                             f"characters; this one has {len(description)}.")
    if (problem := text_problem(description)) is not None:
        raise SegmentInvalid(problem)
    return description


def _taken(session: Session, name: str, other_than: int | None = None) -> None:
    found = session.scalar(select(Segment.id).where(Segment.name == name))
    if found is not None and found != other_than:
        raise SegmentInvalid(f"A segment called {name!r} exists already; choose another name.")


def create(session: Session, name: str, condition: str, now: datetime, *, by: str = "",
           description: str = "") -> int:
    """Save a new segment; its id. The condition is checked first: nothing is saved that
    segments could not count."""
    name, description = _check_name(name), _check_description(description)
    parse(condition)
    _taken(session, name)
    row = Segment(name=name, condition=condition.strip(), description=description,
                  created_by=by, created_at=now, updated_by=by, updated_at=now)
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # saved by someone else at the same moment
        raise SegmentInvalid(f"A segment called {name!r} exists already; choose another "
                             "name.") from None
    return row.id


def update(session: Session, segment_id: int, name: str, condition: str, now: datetime, *,
           by: str = "", description: str = "") -> None:
    row = session.get(Segment, segment_id)
    if row is None:
        raise SegmentNotFound("There is no such segment.")
    name, description = _check_name(name), _check_description(description)
    parse(condition)
    _taken(session, name, other_than=segment_id)
    if condition.strip() != row.condition:
        # Another condition is another segment: nobody "enters" by the edit itself, the
        # next sweep records who is in now (nurture.audiences.triggers).
        session.execute(sa_delete(SegmentMember).where(SegmentMember.segment_id == row.id))
        row.members_at = None
    row.name, row.condition, row.description = name, condition.strip(), description
    row.updated_by, row.updated_at = by, now


def delete(session: Session, segment_id: int) -> str:
    """Delete the segment; its name."""
    row = session.get(Segment, segment_id)
    if row is None:
        raise SegmentNotFound("There is no such segment.")
    session.delete(row)
    return row.name


def _view(row: Segment, count: int | None = None) -> SegmentView:
    return SegmentView(row.id, row.name, row.condition, row.description, row.created_by,
                       row.created_at, row.updated_by, row.updated_at, count)


def find(session: Session, segment: str | int) -> SegmentView:
    """The segment by id or name; SegmentNotFound otherwise."""
    row = (session.get(Segment, segment) if isinstance(segment, int)
           else session.scalar(select(Segment).where(Segment.name == segment.strip())))
    if row is None:
        raise SegmentNotFound(f"There is no segment {segment!r}." if isinstance(segment, str)
                              else "There is no such segment.")
    return _view(row)


def summaries(session: Session, now: datetime, with_counts: bool = True) -> list[SegmentView]:
    """Every segment by name, each with how many contacts it holds now."""
    rows = session.scalars(select(Segment).order_by(Segment.name)).all()
    return [_view(row, _count_or_none(session, row.condition, now) if with_counts else None)
            for row in rows]


def _count_or_none(session: Session, condition: str, now: datetime) -> int | None:
    """The count, or None for a condition saved before the language changed under it."""
    try:
        return count(session, condition, now)
    except SegmentInvalid:
        return None


# The console's calls: each opens its own session on the runtime's database.

def listed(db: Database, now: datetime) -> list[SegmentView]:
    with db.sessions() as session:
        return summaries(session, now)


def shown(db: Database, segment_id: int) -> SegmentView:
    with db.sessions() as session:
        return find(session, segment_id)


def tried(db: Database, condition: str, now: datetime) -> Preview:
    with db.sessions() as session:
        return preview(session, condition, now)


def saved(db: Database, segment_id: int | None, name: str, condition: str, now: datetime,
          by: str, description: str = "") -> int:
    """Create (no id) or update the segment; its id."""
    with db.transaction() as session:
        if segment_id is None:
            return create(session, name, condition, now, by=by, description=description)
        update(session, segment_id, name, condition, now, by=by, description=description)
        return segment_id


def removed(db: Database, segment_id: int) -> str:
    with db.transaction() as session:
        return delete(session, segment_id)


def page(session: Session, after_key: Key | None, limit: int,
         name_contains: str | None = None) -> tuple[list[SegmentView], Key | None]:
    """Segments by id, a page at a time (`nurture.paging`), without counts."""
    stmt = select(Segment)
    if name_contains:
        stmt = stmt.where(func.lower(Segment.name).contains(name_contains.lower(),
                                                            autoescape=True))
    rows = session.scalars(after(stmt, [Segment.id], after_key, limit)).all()
    found, last = split(rows, limit, lambda row: [row.id])
    return [_view(row) for row in found], last
