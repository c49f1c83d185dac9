"""NPS answers, the account owner's alert about a detractor, and the survey throttle.

One row per (contact, survey), where the survey is the id of the send that carried the
question. The first answer is recorded when the person clicks a score in the email; the
page that opens lets them give a reason and change the score, and a later click on another
score in the same email changes it too: the latest answer from a person wins.

`nps.answered` (score, category, survey, reason) is raised for the first answer, and again
only when a change moves the answer to another category (with `previous_category`). So a
journey waiting for the answer wakes once, `nps.category` in conditions reads the latest
category, a journey entered on a detractor answer is entered when a change makes one, and
one that exits on a non-detractor answer (customer-recovery) ends when a detractor changes
their mind. A step that already ran (the survey journey's branch) is not run again.

The latest answer is also kept on the contact as `attributes.nps`, so that emails (the
owner's alert) and conditions can show the score and the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from journeys.facts import attribute_path
from nurture.config import NPSSettings, Settings
from nurture.contacts.models import Contact
from nurture.contacts.queries import lock_contacts
from nurture.events.bus import NewEvent
from nurture.nps import stats
from nurture.nps.models import NPSResponse
from nurture.sending.models import Send
from nurture.unit_of_work import Works
from nurture.writes import insert_ignore

SURVEY_TEMPLATE = "nps-survey"  # and its variants and siblings: nps-survey*
ALERT_TEMPLATE = "nps-detractor-alert"
ALERT_CANCELLED = "nps:no_longer_detractor"
REASON_MAX = 2000
DEFAULT_THROTTLE_DAYS = NPSSettings.throttle_days  # seed 004: do not bombard customers
DEFAULT_ALERT_DELAY = NPSSettings.alert_delay  # time to write the reason first


@dataclass(frozen=True)
class NPSConfig:
    """The NPS settings (`Settings.nps`), with the owner of accounts without one
    (`cs_email`) filled in from the sender's domain when it is not set."""

    throttle_days: int = DEFAULT_THROTTLE_DAYS
    alert_delay: timedelta = DEFAULT_ALERT_DELAY
    cs_email: str = "customer-success@localhost"

    @classmethod
    def from_settings(cls, settings: Settings) -> NPSConfig:
        nps = settings.nps
        return cls(throttle_days=nps.throttle_days, alert_delay=nps.alert_delay,
                   cs_email=nps.cs_email or f"customer-success@{settings.mail_domain}")


@dataclass(frozen=True)
class Answer:
    contact_id: int
    survey: str
    score: int
    category: str
    reason: str
    answered_at: datetime


@dataclass
class Saved:
    answer: Answer
    events: list[NewEvent] = field(default_factory=list)
    deliver_now: list[int] = field(default_factory=list)  # alert sends due at once


def _answer(row: NPSResponse) -> Answer:
    return Answer(row.contact_id, row.survey, row.score, row.category, row.reason,
                  row.answered_at)


def find_answer(session: Session, contact_id: int, survey: str) -> Answer | None:
    row = session.scalar(select(NPSResponse).where(NPSResponse.contact_id == contact_id,
                                                   NPSResponse.survey == survey))
    return None if row is None else _answer(row)


def save_answer(session: Session, contact: Contact, survey: str, score: int, now: datetime,
                config: NPSConfig, reason: str | None = None, submitted: bool = False
                ) -> Saved:
    """Record or change one answer in the caller's transaction (the contact row locked).
    `reason` None leaves the reason as it was; `submitted` means the person sent the
    page, so nothing more is coming: a queued alert to the owner goes at once."""
    category = stats.category(score)
    reason = None if reason is None else reason.strip()[:REASON_MAX]
    row = session.scalar(select(NPSResponse).where(NPSResponse.contact_id == contact.id,
                                                   NPSResponse.survey == survey))
    previous = None if row is None else row.category
    if row is None:
        _insert(session, {"contact_id": contact.id, "survey": survey, "score": score,
                          "category": category, "reason": reason or "",
                          "vertical": (contact.industry or "")[:80], "stage": contact.stage,
                          "answered_at": now, "updated_at": now})
        # Ours, or the one a concurrent first click inserted: either way it is there now.
        row = session.scalars(select(NPSResponse).where(
            NPSResponse.contact_id == contact.id, NPSResponse.survey == survey)).one()
    else:
        row.score, row.category, row.updated_at = score, category, now
        if reason is not None:
            row.reason = reason
    saved = Saved(_answer(row))
    properties = {"score": score, "category": category, "survey": survey,
                  "reason": row.reason}
    if previous is None:
        # The dedupe key makes the first answer's event exist once, however many clicks race.
        saved.events.append(NewEvent(contact.id, "nps.answered", properties, now,
                                     source="nps", dedupe_key=f"nps:{contact.id}:{survey}"))
    elif previous != category:
        saved.events.append(NewEvent(contact.id, "nps.answered",
                                     properties | {"previous_category": previous}, now,
                                     source="nps"))
    contact.attributes = {**(contact.attributes or {}), "nps": {
        "score": score, "category": category, "reason": row.reason, "survey": survey,
        "answered_at": row.answered_at.isoformat()}}
    saved.deliver_now = _alert_owner(session, contact, survey, category, now, config,
                                     submitted)
    return saved


def _insert(session: Session, values: dict[str, object]) -> None:
    """Insert an answer unless one for (contact, survey) exists (a concurrent first click)."""
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(module.insert(NPSResponse).values(**values)
                    .on_conflict_do_nothing(index_elements=["contact_id", "survey"]))


def owner_address(contact: Contact, config: NPSConfig) -> str:
    """The account owner (`attributes.account_owner`, an address or {email: ...}), else the
    customer-success address."""
    owner = attribute_path(contact.attributes or {}, "account_owner")
    if isinstance(owner, Mapping):
        owner = owner.get("email")
    if isinstance(owner, str) and "@" in owner:
        return owner.strip()
    return config.cs_email


def _alert_owner(session: Session, contact: Contact, survey: str, category: str,
                 now: datetime, config: NPSConfig, submitted: bool) -> list[int]:
    """One alert per detractor answer, sent a few minutes later (so that it shows the
    reason) or as soon as the page is submitted; cancelled if the answer stops being a
    detractor before it goes. Returns the ids of alerts due now."""
    key = f"nps-alert:{contact.id}:{survey}"
    row = session.scalar(select(Send).where(Send.send_key == key))
    if category != "detractor":
        if row is not None and row.status == "queued":
            row.status, row.reason, row.due_at, row.lease_until = (
                "skipped", ALERT_CANCELLED, None, None)
        return []
    due = now if submitted else now + config.alert_delay
    if row is None:
        ids = insert_ignore(session, Send, [{
            "send_key": key, "contact_id": contact.id, "to_email": owner_address(contact, config),
            "role": "account_owner", "template": ALERT_TEMPLATE, "variant": "",
            "message_class": "transactional", "status": "queued", "created_at": now,
            "due_at": due}], "send_key")
        return ids if due <= now else []
    if row.status == "skipped" and row.reason == ALERT_CANCELLED:
        row.status, row.reason, row.due_at = "queued", None, due
    elif row.status == "queued" and submitted:
        row.due_at = now
    else:
        return []
    return [row.id] if due <= now else []


def record_answer(works: Works, config: NPSConfig, contact_id: int, survey: str, score: int,
                  reason: str | None = None, submitted: bool = False) -> Answer | None:
    """Save an answer, raise its events and wake journeys, in one transaction. Returns
    None when the contact no longer exists."""
    now = works.now()
    with works.work(now) as work:
        session = work.session
        contact = lock_contacts(session, [contact_id]).get(contact_id)
        if contact is None:
            return None
        saved = save_answer(session, contact, survey, score, now, config, reason, submitted)
        work.record(saved.events)
        work.due("deliver_sends", saved.deliver_now)
    return saved.answer


# The throttle: a contact is not surveyed again within `throttle_days` of the last survey
# email or answer, whichever journey sends it. Called from the send path.

def surveyed_recently(last_at: datetime | None, now: datetime, days: int) -> bool:
    """Pure: whether a survey sent or answered at `last_at` is less than `days` days ago."""
    return last_at is not None and days > 0 and now - last_at < timedelta(days=days)


def recently_surveyed(session: Session, contact_ids: Iterable[int], now: datetime,
                      days: int = DEFAULT_THROTTLE_DAYS) -> set[int]:
    """The contacts among `contact_ids` that were sent an NPS survey (a `nps-survey*`
    template, status sent) or answered one less than `days` days before `now`."""
    ids = sorted(set(contact_ids))
    if not ids or days <= 0:
        return set()
    since = now - timedelta(days=days)
    sent = session.execute(
        select(Send.contact_id, func.max(Send.sent_at))
        .where(Send.contact_id.in_(ids), Send.template.startswith(SURVEY_TEMPLATE),
               Send.role == "contact", Send.status == "sent", Send.sent_at > since)
        .group_by(Send.contact_id))
    answered = session.execute(
        select(NPSResponse.contact_id, func.max(NPSResponse.answered_at))
        .where(NPSResponse.contact_id.in_(ids), NPSResponse.answered_at > since)
        .group_by(NPSResponse.contact_id))
    last: dict[int, datetime] = {}
    for contact_id, at in [*sent.all(), *answered.all()]:
        if at is not None and (contact_id not in last or at > last[contact_id]):
            last[contact_id] = at
    return {cid for cid, at in last.items() if surveyed_recently(at, now, days)}


@dataclass(frozen=True)
class NPSThrottle:
    """The survey throttle, as sending sees it (`nurture.sending.throttles.Throttle`): no
    survey to a contact surveyed or answering within `days` days."""

    days: int = DEFAULT_THROTTLE_DAYS
    reason: str = "nps_throttled"

    def applies(self, template: str) -> bool:
        return template.startswith(SURVEY_TEMPLATE)

    def recent(self, session: Session, contact_ids: Iterable[int], now: datetime) -> set[int]:
        return recently_surveyed(session, contact_ids, now, self.days)


def answer_rows(session: Session, since: datetime | None = None,
                until: datetime | None = None) -> list[stats.AnswerRow]:
    """Every answer (from `since` and before `until`, if given) as report rows: the
    segment at answer time."""
    query = select(NPSResponse.answered_at, NPSResponse.score, NPSResponse.vertical,
                   NPSResponse.stage).order_by(NPSResponse.answered_at)
    if since is not None:
        query = query.where(NPSResponse.answered_at >= since)
    if until is not None:
        query = query.where(NPSResponse.answered_at < until)
    return [stats.AnswerRow(*row) for row in session.execute(query)]


@dataclass(frozen=True)
class Reason:
    """An answer that came with a reason, as the report lists it."""

    answered_at: datetime
    score: int
    category: str
    reason: str
    vertical: str


def latest_reasons(session: Session, category: str, limit: int = 5) -> list[Reason]:
    """The latest answers of this category (promoter, passive, detractor) with a reason."""
    return [Reason(*row) for row in session.execute(
        select(NPSResponse.updated_at, NPSResponse.score, NPSResponse.category,
               NPSResponse.reason, NPSResponse.vertical)
        .where(NPSResponse.category == category, NPSResponse.reason != "")
        .order_by(NPSResponse.updated_at.desc(), NPSResponse.id.desc()).limit(limit))]
