"""A contact's company (its account) and the roles its contacts hold, in the caller's
transaction (the contacts are locked by it).

At sign-up every trial gets an account of its own: the form is public and unverified, so
typing an address at a customer's domain must never join that customer's account or take
one of its roles. A purchase (from billing, the CRM or the API, which are trusted) finds the
buyer's company by name or email domain, or makes it. `contact.updated` events set roles.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from nurture.accounts.models import ROLES, Account, AccountRole
from nurture.contacts.models import Contact

# Who the person who signs up (or buys) is for their company, and who its technical contact
# is (seed 003): activation goes to the activation contact, failing that an administrator,
# failing that the notices contact; billing to the one who committed the company.
SIGNER_ROLES = ("administrator", "billing", "notices")
TECHNICAL_ROLES = ("technical", "activation")
# Mailbox providers: an address there says nothing about the company.
FREE_MAIL = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
    "yahoo.com", "yahoo.co.uk", "yahoo.fr", "icloud.com", "me.com", "aol.com", "gmx.de",
    "gmx.net", "web.de", "mail.com", "proton.me", "protonmail.com", "orange.fr", "free.fr",
    "laposte.net", "t-online.de", "yandex.ru", "qq.com", "163.com",
})


def domain_of(email: str) -> str:
    """The company's email domain, lower-cased; "" for a mailbox provider's address."""
    domain = email.rpartition("@")[2].strip().lower()
    return "" if domain in FREE_MAIL else domain[:255]


def new_account(session: Session, name: str, email: str, status: str,
                now: datetime) -> Account:
    account = Account(name=name.strip()[:200], domain=domain_of(email), status=status,
                      created_at=now)
    session.add(account)
    session.flush()
    return account


def find_account(session: Session, name: str, email: str) -> Account | None:
    """The account named `name` (any case), else the one at `email`'s company domain."""
    if name.strip():
        found = session.scalars(select(Account).where(
            func.lower(Account.name) == name.strip().lower(), Account.deleted_at.is_(None))
            .order_by(Account.id).limit(1)).first()
        if found is not None:
            return found
    domain = domain_of(email)
    if domain:
        return session.scalars(select(Account).where(
            Account.domain == domain, Account.deleted_at.is_(None))
            .order_by(Account.id).limit(1)).first()
    return None


def account_of(session: Session, contact: Contact, now: datetime, name: str = "",
               status: str = "prospect") -> Account:
    """The contact's account: theirs, else the one `name` (or their company, or their
    email domain) finds, else a new one; the contact joins it."""
    if contact.account_id is not None and not name:
        account = session.get(Account, contact.account_id)
        if account is not None:
            return account
    account = find_account(session, name or contact.company, contact.email)
    if account is None:
        account = new_account(session, name or contact.company, contact.email, status, now)
    contact.account_id = account.id
    return account


def add_roles(session: Session, account_id: int, contact_id: int, roles: Iterable[str],
              now: datetime) -> None:
    """Give the contact these roles on the account (the ones held already stay)."""
    rows = [{"account_id": account_id, "role": role, "contact_id": contact_id,
             "assigned_at": now} for role in dict.fromkeys(roles) if role in ROLES]
    existing = set(session.scalars(select(AccountRole.role).where(
        AccountRole.account_id == account_id, AccountRole.contact_id == contact_id)))
    rows = [row for row in rows if row["role"] not in existing]
    if rows:
        session.add_all(AccountRole(**row) for row in rows)
        session.flush()


def set_roles(session: Session, account_id: int, contact_id: int, roles: Iterable[str],
              now: datetime) -> None:
    """The contact holds exactly these roles on the account ([] clears them)."""
    wanted = [role for role in dict.fromkeys(roles) if role in ROLES]
    session.execute(delete(AccountRole).where(
        AccountRole.account_id == account_id, AccountRole.contact_id == contact_id,
        AccountRole.role.not_in(wanted or [""])))
    add_roles(session, account_id, contact_id, wanted, now)


def roles_of(session: Session, account_id: int) -> dict[str, list[int]]:
    """Each role's holders on the account, earliest assigned first."""
    held: dict[str, list[int]] = {role: [] for role in ROLES}
    for role, contact_id in session.execute(
            select(AccountRole.role, AccountRole.contact_id)
            .where(AccountRole.account_id == account_id)
            .order_by(AccountRole.assigned_at, AccountRole.contact_id)):
        held.setdefault(role, []).append(contact_id)
    return held


