"""What the roof reads about NPS answers, each call in one read session of its own: one
contact's answer to one survey (the page a scanner's click shows), and every answer as
report rows (`GET /api/nps`, `nurture nps report`); and the API's pages of answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from nurture.contacts.models import Contact
from nurture.db import Database
from nurture.nps import services, stats
from nurture.nps.models import NPSResponse
from nurture.paging import Key, after, split


def answer(db: Database, contact_id: int, survey: str) -> services.Answer | None:
    """The contact's answer to the survey (the id of the send that asked), or None."""
    with db.sessions() as session:
        return services.find_answer(session, contact_id, survey)


def answer_rows(db: Database, since: datetime | None = None,
                until: datetime | None = None) -> list[stats.AnswerRow]:
    """Every answer (from `since` and before `until`, if given) as report rows."""
    with db.sessions() as session:
        return services.answer_rows(session, since, until)


def latest_reasons(db: Database, category: str, limit: int = 5) -> list[services.Reason]:
    """The latest reasons given by answers of this category (`services.latest_reasons`)."""
    with db.sessions() as session:
        return services.latest_reasons(session, category, limit)


@dataclass(frozen=True)
class Answered:
    """One answer as the API lists it, with the address of who gave it."""

    id: int
    contact_id: int
    email: str
    survey: str
    score: int
    category: str
    reason: str
    vertical: str
    stage: str
    answered_at: datetime
    updated_at: datetime


def answers_page(db: Database, since: datetime | None, until: datetime | None,
                 scores: tuple[int, int], last: Key | None, limit: int
                 ) -> tuple[list[Answered], Key | None]:
    """A page of answers, oldest first (by `ix_nps_answered`), from `since` and before
    `until` when given, with a score from `scores[0]` to `scores[1]`."""
    columns = (NPSResponse.id, NPSResponse.contact_id, Contact.email, NPSResponse.survey,
               NPSResponse.score, NPSResponse.category, NPSResponse.reason,
               NPSResponse.vertical, NPSResponse.stage, NPSResponse.answered_at,
               NPSResponse.updated_at)
    query: Any = (select(*columns).join(Contact, Contact.id == NPSResponse.contact_id)
                  .where(NPSResponse.score.between(*scores)))
    if since is not None:
        query = query.where(NPSResponse.answered_at >= since)
    if until is not None:
        query = query.where(NPSResponse.answered_at < until)
    with db.sessions() as session:
        rows = session.execute(after(query, [NPSResponse.answered_at, NPSResponse.id], last,
                                     limit)).all()
    return split([Answered(*row) for row in rows], limit, lambda a: [a.answered_at, a.id])
