"""Use cases of customer accounts: deprovision a customer who leaves (from the console or
the CLI; billing can record the same event through the API), and delete the data of the
accounts whose retention period has passed.

The deletion job is idempotent, like the trial jobs: conditional updates and SKIP LOCKED,
so running it twice, or on two schedulers at once, deletes each account once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from nurture.accounts import departure
from nurture.accounts.errors import AccountConflict, AccountNotFound
from nurture.accounts.models import Account, Subscription
from nurture.consent.records import erase
from nurture.contacts.models import Contact
from nurture.contacts.queries import lock_contacts
from nurture.contacts.services import email_key
from nurture.events.bus import NewEvent
from nurture.moments import as_datetime
from nurture.unit_of_work import Works

BATCH = 100  # accounts per transaction in the deletion job
# The stages of a contact whose company is a customer (seed 004: onboard → adopt →
# renew / expand); a contact without an account row is judged by its stage.
CUSTOMER_STAGES = ("buy", "onboard", "adopt", "renew", "expand", "churned")


def deprovision(works: Works, email: str, source: str = "console",
                reason: str = "") -> departure.Departure:
    """End service and billing for the customer this contact belongs to: records
    `account.deprovisioned`, which stops the account, its subscriptions and every contact
    of it. Raises AccountNotFound for an unknown address and AccountConflict when the
    service has already ended or the contact is not a customer."""
    now = works.now()
    with works.work(now) as work:
        session = work.session
        contact = session.scalar(select(Contact).where(Contact.email_key == email_key(email)))
        if contact is None:
            raise AccountNotFound(f"There is no contact with the address {email.strip()}.")
        lock_contacts(session, [contact.id])
        if refusal := departure.refusal(_status(session, contact)):
            raise AccountConflict(refusal)
        work.record([NewEvent(contact.id, "account.deprovisioned",
                              {"reason": reason.strip()[:2000]}, now, source)])
        # The subscriber stopped the account (making one if the contact had none) and
        # wrote the departure onto the contact, in this transaction.
        told = (contact.attributes or {}).get("account") or {}
        stopped = as_datetime(told.get("deprovisioned_at")) or now
        return departure.Departure(
            contact.account_id or 0, stopped,
            as_datetime(told.get("retention_until")) or stopped,
            str(told.get("export_url") or ""))


def _status(session: Session, contact: Contact) -> str:
    """The account's status, or what the contact's stage says of a company with no row."""
    account = session.get(Account, contact.account_id) if contact.account_id else None
    if account is not None:
        return account.status
    if contact.stage == departure.DEPARTED_STAGE:
        return "deprovisioned"
    return "customer" if contact.stage in CUSTOMER_STAGES else "prospect"


def delete_due(works: Works, now: datetime, batch: int = BATCH) -> int:
    """Delete the data of deprovisioned accounts whose retention date has passed: their
    contacts and everything recorded about them go, and only a hash of each address stays
    on the suppression list. The account row stays, emptied, as `deleted`. Returns how
    many accounts this call deleted."""
    due = (Account.status == "deprovisioned", Account.retention_until <= now)
    total = 0
    while True:
        with works.work(now) as work:
            session = work.session
            ids = list(session.scalars(select(Account.id).where(*due).order_by(Account.id)
                                       .limit(batch)))
            people = session.execute(select(Contact.id, Contact.email)
                                     .where(Contact.account_id.in_(ids))).all() if ids else []
            lock_contacts(session, [p.id for p in people])  # contacts first, as every writer
            done = list(session.scalars(
                update(Account).where(Account.id.in_(ids), *due)
                .values(status="deleted", deleted_at=now, name="", domain="")
                .returning(Account.id).execution_options(synchronize_session=False))
            ) if ids else []
            if done:
                gone = session.execute(select(Contact.id, Contact.email)
                                       .where(Contact.account_id.in_(done))).all()
                erase(session, [p.email for p in gone], "account-retention", now)
                session.execute(delete(Subscription).where(Subscription.account_id.in_(done))
                                .execution_options(synchronize_session=False))
                session.execute(delete(Contact).where(Contact.id.in_([p.id for p in gone]))
                                .execution_options(synchronize_session=False))
        total += len(done)
        if len(ids) < batch:
            return total


def run_account_jobs(works: Works) -> dict[str, int]:
    """The periodic account work, for the scheduler tick or cron."""
    return {"deleted": delete_due(works, works.now())}
