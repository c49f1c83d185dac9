"""Email performance for marketers: per journey, template and class of message
(transactional, service, marketing), what the emails created in a period became (sent,
failed, skipped) and how many of those sent were opened and clicked by people. Opens and
clicks flagged as machine traffic (mail-privacy proxies, link scanners) are left out, as
scoring leaves them out; each email counts once however often it was opened or clicked.
Trials started are those whose sign-up arrived through a click on one of the template's
links (its UTM tags, `nurture/sending/utm.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from nurture.db import Database
from nurture.events.models import Event
from nurture.sending.classes import MESSAGE_CLASSES
from nurture.sending.models import Send
from nurture.trials.models import Trial

OPENED, CLICKED = "email.opened", "email.clicked"


@dataclass
class TemplateStats:
    journey: str
    template: str
    message_class: str = ""  # "" for a template known only from the trials it started
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    pending: int = 0  # queued or being sent
    opened: int = 0  # sent emails opened by a person, each once
    clicked: int = 0
    trials: int = 0  # trials started in the period from a click on this email

    @property
    def open_rate(self) -> float | None:
        return self.opened / self.sent if self.sent else None

    @property
    def click_rate(self) -> float | None:
        return self.clicked / self.sent if self.sent else None


def email_report(session: Session, since: datetime, source: str = "nurture"
                 ) -> list[TemplateStats]:
    """The stats of the emails created since `since`, by journey then template, and the
    trials started since then from their links (`source`: the installation's utm_source)."""
    stats: dict[tuple[str, str, str], TemplateStats] = {}

    def row(journey: str | None, template: str, message_class: str) -> TemplateStats:
        key = (journey or "", template, message_class)
        if key not in stats:
            stats[key] = TemplateStats(journey or "", template, message_class)
        return stats[key]

    for journey, template, message_class, status, count in session.execute(
            select(Send.journey_id, Send.template, Send.message_class, Send.status,
                   func.count())
            .where(Send.created_at >= since, Send.role == "contact")
            .group_by(Send.journey_id, Send.template, Send.message_class, Send.status)):
        item = row(journey, template, message_class)
        if status in ("sent", "failed", "skipped"):
            setattr(item, status, getattr(item, status) + count)
        else:
            item.pending += count
    # Hits are events carrying their send's key; the key's unique index finds the send.
    machine = Event.properties["machine"].as_boolean()
    for journey, template, message_class, type_, count in session.execute(
            select(Send.journey_id, Send.template, Send.message_class, Event.type,
                   func.count(distinct(Send.id)))
            .join(Send, Send.send_key == Event.properties["send"].as_string())
            .where(Event.type.in_((OPENED, CLICKED)), Event.occurred_at >= since,
                   Send.created_at >= since, Send.status == "sent",
                   func.coalesce(machine, False).is_(False))
            .group_by(Send.journey_id, Send.template, Send.message_class, Event.type)):
        item = row(journey, template, message_class)
        if type_ == OPENED:
            item.opened = count
        else:
            item.clicked = count
    for utm in session.scalars(select(Trial.utm).where(Trial.started_at >= since)):
        if not isinstance(utm, dict) or (utm.get("utm_source"), utm.get("utm_medium")) != (
                source, "email") or not utm.get("utm_content"):
            continue
        campaign, template = utm.get("utm_campaign", ""), utm["utm_content"]
        # Email outside journeys is tagged with its template as the campaign.
        sent = {(s.journey, s.template): s for s in stats.values()}
        journey = "" if campaign == template and (campaign, template) not in sent else campaign
        found = sent.get((journey, template))
        (found or row(journey, template, "")).trials += 1
    return sorted(stats.values(), key=lambda s: (s.journey, s.template, s.message_class))


def by_class(rows: list[TemplateStats]) -> list[TemplateStats]:
    """The rows summed per class of message, in the order transactional, service,
    marketing: how much of the mail went on consent, and how much on the contract."""
    totals = {name: TemplateStats("", "", name) for name in MESSAGE_CLASSES}
    for item in rows:
        total = totals.get(item.message_class)
        if total is None:
            continue
        for name in ("sent", "failed", "skipped", "pending", "opened", "clicked", "trials"):
            setattr(total, name, getattr(total, name) + getattr(item, name))
    return list(totals.values())


def email_performance(db: Database, since: datetime, source: str) -> list[TemplateStats]:
    """`email_report` read in a session of its own, for the console's page."""
    with db.sessions() as session:
        return email_report(session, since, source)
