"""Reading accounts, their roles and subscriptions, in a session the caller gives."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.accounts.models import ROLES, Account, AccountRole, Subscription
from nurture.contacts.models import Contact


def current_subscriptions(session: Session, account_ids: Iterable[int]
                          ) -> dict[int, Subscription]:
    """Each account's latest active subscription (none for an account without one)."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    found: dict[int, Subscription] = {}
    for sub in session.scalars(select(Subscription).where(
            Subscription.account_id.in_(ids), Subscription.status == "active")
            .order_by(Subscription.started_at, Subscription.id)):
        found[sub.account_id] = sub  # the latest wins
    return found


def for_templates(session: Session, account_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """`account` in email templates, by account id: its name and current subscription."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    subs = current_subscriptions(session, ids)
    out: dict[int, dict[str, Any]] = {}
    for account in session.scalars(select(Account).where(Account.id.in_(ids))):
        sub = subs.get(account.id)
        out[account.id] = {"name": account.name, "status": account.status,
                           "subscription": _subscription(sub) if sub else {}}
    return out


def _subscription(sub: Subscription) -> dict[str, Any]:
    return {"services": list(sub.services or []), "seats": sub.seats,
            "seat_limit": sub.seat_limit, "commitment_months": sub.commitment_months,
            "started_at": sub.started_at.isoformat(), "renews_at": sub.renews_at.isoformat()}


@dataclass(frozen=True)
class Holder:
    role: str
    contact_id: int
    email: str
    name: str


@dataclass(frozen=True)
class Overview:
    """What the contact page shows of a contact's account."""

    name: str
    domain: str
    status: str
    roles: tuple[str, ...]  # the contact's own roles
    holders: tuple[Holder, ...]  # everyone's, in ROLES order
    subscription: Subscription | None
    deprovisioned_at: datetime | None = None  # service and billing ended
    retention_until: datetime | None = None  # the account's data is deleted then


def holders(session: Session, account_id: int) -> list[Holder]:
    """Who holds which role on the account, in ROLES order, then by when assigned."""
    rows = list(session.execute(
        select(AccountRole.role, Contact.id, Contact.email, Contact.first_name,
               Contact.last_name, AccountRole.assigned_at)
        .join(Contact, Contact.id == AccountRole.contact_id)
        .where(AccountRole.account_id == account_id)))
    rows.sort(key=lambda r: (ROLES.index(r[0]) if r[0] in ROLES else 99, r[5], r[1]))
    return [Holder(role, cid, email, f"{first} {last}".strip())
            for role, cid, email, first, last, _ in rows]


def overview(session: Session, contact_id: int) -> Overview | None:
    """The contact's account, their roles, its role holders and current subscription."""
    contact = session.get(Contact, contact_id)
    if contact is None or contact.account_id is None:
        return None
    account = session.get(Account, contact.account_id)
    if account is None:
        return None
    everyone = holders(session, account.id)
    mine = tuple(h.role for h in everyone if h.contact_id == contact_id)
    sub = current_subscriptions(session, [account.id]).get(account.id)
    return Overview(account.name, account.domain, account.status, mine, tuple(everyone), sub,
                    account.deprovisioned_at, account.retention_until)


