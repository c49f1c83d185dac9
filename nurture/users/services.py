"""Users who sign in: create them, check their password, change it, deactivate them.

Passwords are hashed with Argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile);
a hash made with older parameters is replaced at the next successful sign-in. Rows are
mapped to `UserInfo` here and nowhere else: no `User` row leaves this module.

A session remembers the user's `session_version`. Signing out, "sign out everywhere", a
password change and a deactivation raise it (`end_sessions`), so every session cookie made
before, copies included, stops opening anything.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import pycountry
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nurture.db import Database
from nurture.users.errors import DuplicateEmail, InvalidUser, UserNotFound
from nurture.users.models import ROLES, User

MIN_PASSWORD_LENGTH = 12
MAX_NAME_LENGTH = 200
MAX_EMAIL_LENGTH = 320
VERTICAL = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

_hasher = PasswordHasher()


@dataclass(frozen=True)
class UserInfo:
    """A user as the rest of the app sees it. Empty verticals or territories mean any."""

    id: int
    email: str
    name: str
    role: str
    active: bool
    verticals: tuple[str, ...]
    territories: tuple[str, ...]
    created_at: datetime
    last_login_at: datetime | None
    last_assigned_at: datetime | None
    session_version: int = 0  # a session made under another one has ended


def _info(row: User) -> UserInfo:
    return UserInfo(id=row.id, email=row.email, name=row.name, role=row.role,
                    active=row.active, verticals=tuple(row.verticals or ()),
                    territories=tuple(row.territories or ()), created_at=row.created_at,
                    last_login_at=row.last_login_at, last_assigned_at=row.last_assigned_at,
                    session_version=row.session_version or 0)


# ---- checks ---------------------------------------------------------------------------

def normalise_email(email: str) -> str:
    """The address as stored (lower-cased), or `InvalidUser` when it is not an address."""
    try:
        checked = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise InvalidUser("Enter an email address in the correct format, "
                          "like name@company.com.") from None
    return checked.normalized.lower()


def check_password(password: str, email: str) -> None:
    """The password policy; raises `InvalidUser` with the sentence to show."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidUser(f"The password must be at least {MIN_PASSWORD_LENGTH} "
                          "characters long.")
    if password.strip().lower() == email.strip().lower():
        raise InvalidUser("The password must not be the same as the email address.")


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidUser(f"Choose a role: {', '.join(ROLES[:-1])} or {ROLES[-1]}.")
    return role


def _check_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise InvalidUser("Enter the user's name.")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidUser(f"A name must be {MAX_NAME_LENGTH} characters or fewer.")
    return name


def _verticals(values: Iterable[str]) -> list[str]:
    cleaned = [value.strip().lower() for value in values]
    for value in cleaned:
        if not VERTICAL.fullmatch(value):
            raise InvalidUser(f"The vertical {value!r} is not valid: use lower-case words "
                              "joined by hyphens, like financial-services.")
    return list(dict.fromkeys(cleaned))


def _territories(values: Iterable[str]) -> list[str]:
    cleaned = [value.strip().upper() for value in values]
    for value in cleaned:
        if len(value) != 2 or pycountry.countries.get(alpha_2=value) is None:
            raise InvalidUser(f"The territory {value!r} is not a country code: use two "
                              "letters (ISO 3166-1), like GB or US.")
    return list(dict.fromkeys(cleaned))


# ---- passwords ------------------------------------------------------------------------

@cache
def _dummy_hash() -> str:
    """A hash no password matches, made with the current parameters."""
    return _hasher.hash(hashlib.sha256(b"nurture: no such user").hexdigest())


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# ---- the services ---------------------------------------------------------------------

def _row(session: Session, email: str) -> User | None:
    key = email.strip().lower()
    if not key or len(key) > MAX_EMAIL_LENGTH or "\x00" in key:  # PostgreSQL refuses NUL
        return None
    return session.scalar(select(User).where(User.email == key))


def _existing(session: Session, email: str) -> User:
    row = _row(session, email)
    if row is None:
        raise UserNotFound(f"There is no user with the email address {email.strip()}.")
    return row


def create_user(session: Session, email: str, name: str, role: str, password: str,
                verticals: Iterable[str] = (), territories: Iterable[str] = (), *,
                now: datetime) -> UserInfo:
    """A new, active user. Raises `InvalidUser` or `DuplicateEmail` with a sentence."""
    address = normalise_email(email)
    row = User(email=address, name=_check_name(name), role=_check_role(role),
               verticals=_verticals(verticals), territories=_territories(territories),
               active=True, created_at=now)
    check_password(password, address)
    duplicate = DuplicateEmail(f"A user with the email address {address} already exists.")
    if _row(session, address) is not None:
        raise duplicate
    row.password_hash = _hasher.hash(password)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # created by someone else since the check above
        raise duplicate from None
    return _info(row)


def authenticate(session: Session, email: str, password: str, *,
                 now: datetime) -> UserInfo | None:
    """The user, when the email and password match an active user; otherwise None.

    An unknown email costs one hash like a known one, and an inactive user's password is
    checked too, so the time taken does not tell which addresses have accounts.
    """
    row = _row(session, email)
    if row is None:
        _verify(_dummy_hash(), password)
        return None
    if not _verify(row.password_hash, password) or not row.active:
        return None
    if _hasher.check_needs_rehash(row.password_hash):
        row.password_hash = _hasher.hash(password)
    row.last_login_at = now
    session.flush()
    return _info(row)


def get_user(session: Session, user_id: int) -> UserInfo | None:
    row = session.get(User, user_id)
    return None if row is None else _info(row)


def set_password(session: Session, email: str, password: str) -> UserInfo:
    """Change the password; every session of the user ends."""
    row = _existing(session, email)
    check_password(password, row.email)
    row.password_hash = _hasher.hash(password)
    return _end_sessions(session, row)


def deactivate(session: Session, email: str) -> UserInfo:
    """The user can no longer sign in, and their open sessions end. Their rows stay."""
    row = _existing(session, email)
    row.active = False
    return _end_sessions(session, row)


def end_sessions(session: Session, user: str | int) -> UserInfo:
    """Sign the user (an email address or an id) out everywhere: every session made so far
    ends at its next request. Raises `UserNotFound`."""
    row = session.get(User, user) if isinstance(user, int) else _row(session, user)
    if row is None:
        raise UserNotFound(f"There is no user with the email address {str(user).strip()}."
                           if isinstance(user, str) else "There is no such user.")
    return _end_sessions(session, row)


def _end_sessions(session: Session, row: User) -> UserInfo:
    # One statement, so that two sign-outs at once raise it twice rather than once.
    session.execute(update(User).where(User.id == row.id).values(
        session_version=User.session_version + 1).execution_options(
        synchronize_session=False))
    session.flush()
    session.refresh(row)
    return _info(row)


def activate(session: Session, email: str) -> UserInfo:
    """A deactivated user may sign in again (sessions that ended stay ended)."""
    row = _existing(session, email)
    row.active = True
    session.flush()
    return _info(row)


def list_users(session: Session, role: str | None = None) -> list[UserInfo]:
    """Every user (inactive ones too), by role then email."""
    query = select(User).order_by(User.role, User.email)
    if role is not None:
        query = query.where(User.role == _check_role(role))
    return [_info(row) for row in session.scalars(query)]


# ---- the web's entry points: one session or transaction each --------------------------
# The functions above work in the caller's transaction (the CLI's commands run several in
# one); these open their own, so that a view neither opens sessions nor sees a row.

def signed_in(db: Database, user_id: int) -> UserInfo | None:
    """The user a session cookie names, read in a session of its own; None when gone."""
    with db.sessions() as session:
        return get_user(session, user_id)


def sign_in(db: Database, email: str, password: str, *, now: datetime) -> UserInfo | None:
    """`authenticate` in a transaction of its own (it records the sign-in)."""
    with db.transaction() as session:
        return authenticate(session, email, password, now=now)


def sign_out_everywhere(db: Database, user_id: int) -> UserInfo:
    """`end_sessions` in a transaction of its own. Raises `UserNotFound`."""
    with db.transaction() as session:
        return end_sessions(session, user_id)


def all_users(db: Database) -> list[UserInfo]:
    """`list_users` in a session of its own."""
    with db.sessions() as session:
        return list_users(session)
