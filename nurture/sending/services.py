"""Delivering queued sends: claim, render, hand to the sender, record the outcome.

Exactly-once effect: a send row is keyed by (journey version, enrollment, step seq, step,
recipient), so it exists once. Each row is marked `sending` (committed) just before the
hand-off and `sent` right after; a row found `sending` after a crash is never sent again but
marked failed with an unknown outcome. The only window left is the one between the mail
server accepting a message and that `sent` commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from nurture.contacts.models import Contact
from nurture.sending.models import Send
from nurture.sending.render import TemplateStore, build_mime, message_id
from nurture.sending.senders import Sender, SendError


def _context(contact: Contact, base_url: str) -> dict:
    return {
        "contact": {"first_name": contact.first_name, "last_name": contact.last_name,
                    "company": contact.company, "email": contact.email,
                    "attributes": contact.attributes or {}},
        "links": {"login": f"{base_url}/login", "unsubscribe": f"{base_url}/u/pending",
                  "preferences": f"{base_url}/preferences/pending",
                  "nps": [f"{base_url}/nps/pending/{i}" for i in range(11)],
                  "referral": f"{base_url}/r/pending"},
        "company": {"name": "Nurture"},
        "footer": {"postal_address": "Nurture, 1 Example Street, 75001 Paris, France"},
    }


def deliver(session_factory, store: TemplateStore, sender: Sender, ids: list[int],
            now: datetime, base_url: str, from_address: str) -> dict[str, int]:
    """Deliver the queued sends among `ids`; returns counts by outcome."""
    counts = {"sent": 0, "failed": 0, "skipped": 0}
    domain = from_address.rsplit("@", 1)[-1].strip(">")
    with session_factory() as session:
        rows = session.execute(
            select(Send, Contact).join(Contact, Contact.id == Send.contact_id)
            .where(Send.id.in_(ids), Send.status == "queued")
        ).all()
        for send, contact in rows:
            if not _mark(session, send.id, "queued", "sending", now):
                continue  # another worker has it
            try:
                template = store.get(send.template)
                context = _context(contact, base_url)
                data = build_mime(
                    sender=from_address, to=send.to_email,
                    subject=template.subject.render(context),
                    html_body=template.html.render(context),
                    text_body=template.text.render(context),
                    msg_id=message_id(send.send_key, domain),
                    headers={"X-Nurture-Send": send.send_key},
                )
                sender.send(from_address, send.to_email, message_id(send.send_key, domain),
                            data)
            except SendError as exc:
                status = "failed" if exc.permanent else "queued"
                _finish(session, send.id, status, str(exc), now,
                        retry=None if exc.permanent else now + timedelta(minutes=5))
                counts["failed"] += 1
                continue
            except (OSError, KeyError, ValueError) as exc:
                _finish(session, send.id, "failed", f"render: {exc}", now)
                counts["failed"] += 1
                continue
            _finish(session, send.id, "sent", None, now)
            counts["sent"] += 1
    return counts


def _mark(session: Session, send_id: int, old: str, new: str, now: datetime) -> bool:
    result = session.execute(update(Send).where(Send.id == send_id, Send.status == old)
                             .values(status=new, attempts=Send.attempts + 1))
    session.commit()
    return result.rowcount == 1


def _finish(session: Session, send_id: int, status: str, reason: str | None, now: datetime,
            retry: datetime | None = None) -> None:
    values = {"status": status, "reason": reason, "lease_until": None, "due_at": retry}
    if status == "sent":
        values["sent_at"] = now
    session.execute(update(Send).where(Send.id == send_id).values(**values))
    session.commit()


def fail_interrupted(session: Session, now: datetime, lease: timedelta) -> int:
    """Sends left `sending` by a dead worker: their outcome is unknown, so never resend."""
    result = session.execute(
        update(Send).where(Send.status == "sending", Send.lease_until < now)
        .values(status="failed", reason="interrupted: outcome unknown", due_at=None)
    )
    return result.rowcount
