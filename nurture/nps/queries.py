"""What the roof reads about NPS answers, each call in one read session of its own: one
contact's answer to one survey (the page a scanner's click shows), and every answer as
report rows (`GET /api/nps`, `nurture nps report`)."""

from __future__ import annotations

from datetime import datetime

from nurture.db import Database
from nurture.nps import services, stats


def answer(db: Database, contact_id: int, survey: str) -> services.Answer | None:
    """The contact's answer to the survey (the id of the send that asked), or None."""
    with db.sessions() as session:
        return services.find_answer(session, contact_id, survey)


def answer_rows(db: Database, since: datetime | None = None) -> list[stats.AnswerRow]:
    """Every answer (from `since`, if given) as report rows."""
    with db.sessions() as session:
        return services.answer_rows(session, since)


def latest_reasons(db: Database, category: str, limit: int = 5) -> list[services.Reason]:
    """The latest reasons given by answers of this category (`services.latest_reasons`)."""
    with db.sessions() as session:
        return services.latest_reasons(session, category, limit)
