"""Messages as they arrive at Nurture's addresses, for the inbound tests."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from sqlalchemy import select

from nurture.consent.models import ConsentRecord, Suppression
from nurture.events.models import Event
from tests.helpers import START, contact, event, outbox, publish_text

DSN = Path(__file__).parents[1] / "sending" / "fixtures" / "dsn"
UNSUBSCRIBE = "unsubscribe@nurture.localhost"  # the tests' From is hello@nurture.localhost
MARKETING = """
    id: news
    name: News
    entry: {event: custom.joined}
    steps:
      - {id: tips, send: prospect-case-study}
      - {id: pause, wait: 2d}
      - {id: more, send: quarterly-needs-assessment}
"""


def mail(to: str, subject: str, sender: str = "ann@example.com",
         body: str = "Please take me off your list.", **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"] = format_datetime(START)
    msg["Message-ID"] = make_msgid(domain="mail.example.net")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


def subscribed(rt) -> int:
    """A consenting contact in the marketing journey, its first email sent."""
    publish_text(rt, MARKETING)
    cid = contact(rt, "ann@example.com", first_name="Ann", consent_marketing=True)
    event(rt, cid, "custom.joined")
    return cid


def mailto_of(rt) -> tuple[str, str]:
    """The mailto unsubscribe of the first email: its address and subject (the token)."""
    offered = [u.strip(" <>") for u in outbox(rt)[0]["List-Unsubscribe"].split(",")]
    [mailto] = [u for u in offered if u.startswith("mailto:")]
    address, _, subject = mailto.removeprefix("mailto:").partition("?subject=")
    return address, subject


def withdrawals(rt) -> list[ConsentRecord]:
    with rt.db.sessions() as session:
        return list(session.scalars(select(ConsentRecord)
                                    .where(ConsentRecord.action == "withdrawn")))


def suppressed(rt) -> dict[str, str]:
    with rt.db.sessions() as session:
        return dict(session.execute(select(Suppression.email_key, Suppression.reason)).all())


def events_of(rt, type_: str) -> list[Event]:
    with rt.db.sessions() as session:
        return list(session.scalars(select(Event).where(Event.type == type_)))
