"""Create, list, verify and revoke API tokens. Rows become `TokenInfo` here and nowhere else.

A token reads `nt_<prefix>_<secret>`: the prefix (8 hex characters) is public, shown in
lists and used to find the row; the secret is 256 random bits, shown once at creation.

Only SHA-256 of the whole token is stored. A slow password hash (Argon2, as for users)
defends guessable secrets against a stolen table; a 256-bit random secret cannot be
guessed, so one fast hash is as safe and keeps each API request's check to microseconds.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from nurture.apitokens.errors import (
    InvalidToken,
    NotYourToken,
    TokenNotFound,
    Unauthenticated,
)
from nurture.apitokens.models import ApiToken
from nurture.apitokens.scopes import SCOPES
from nurture.db import Database
from nurture.users.models import User

MAX_NAME_LENGTH = 100
MAX_DAYS = 3650
# last_used_at is written at most this often per token: a busy integration would otherwise
# write the row on every request.
TOUCH_EVERY = timedelta(minutes=1)
SHAPE = re.compile(r"nt_([0-9a-f]{8})_([A-Za-z0-9_-]{43})")
REFUSED = "The API token is not valid: it is unknown, revoked or expired."
EXPIRY = re.compile(r"(\d{1,4})d")


@dataclass(frozen=True)
class TokenInfo:
    """A token as lists show it: never its secret."""

    id: int
    user_id: int
    user_email: str
    name: str
    scope: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


@dataclass(frozen=True)
class NewToken:
    """A token just created: `secret` is the whole token, to be shown this once."""

    info: TokenInfo
    secret: str


@dataclass(frozen=True)
class Bearer:
    """Who a verified token acts as, and with which scope."""

    token_id: int
    user_id: int
    role: str
    scope: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _info(row: ApiToken, email: str) -> TokenInfo:
    return TokenInfo(id=row.id, user_id=row.user_id, user_email=email, name=row.name,
                     scope=row.scope, prefix=row.prefix, created_at=row.created_at,
                     expires_at=row.expires_at, last_used_at=row.last_used_at,
                     revoked_at=row.revoked_at)


def parse_expiry(text: str | None) -> int | None:
    """Days from `90d` (or `90`); None for no expiry (empty). `InvalidToken` otherwise."""
    text = (text or "").strip().lower()
    if not text or text == "never":
        return None
    match = EXPIRY.fullmatch(text) or EXPIRY.fullmatch(text + "d")
    days = int(match.group(1)) if match else 0
    if not 1 <= days <= MAX_DAYS:
        raise InvalidToken(f"Enter the expiry as a number of days from 1 to {MAX_DAYS}, "
                           "like 90d, or leave it empty for a token that does not expire.")
    return days


def create_token(session: Session, user_id: int, name: str, scope: str, *,
                 now: datetime, days: int | None = None) -> NewToken:
    """A new token of the user; its secret is in the answer and nowhere else."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidToken(f"Give the token a name of 1 to {MAX_NAME_LENGTH} characters, "
                           "saying what uses it.")
    if scope not in SCOPES:
        raise InvalidToken("The scope must be read, write or admin.")
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise InvalidToken("Tokens are made for active users only.")
    prefix = secrets.token_hex(4)
    secret = f"nt_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiToken(user_id=user_id, name=name, scope=scope, prefix=prefix,
                   secret_hash=_digest(secret), created_at=now,
                   expires_at=now + timedelta(days=days) if days else None)
    session.add(row)
    session.flush()
    return NewToken(_info(row, user.email), secret)


def list_tokens(session: Session, user_id: int | None = None) -> list[TokenInfo]:
    """Tokens, newest first: one user's, or everyone's when `user_id` is None."""
    query = (select(ApiToken, User.email).join(User, User.id == ApiToken.user_id)
             .order_by(ApiToken.id.desc()))
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return [_info(row, email) for row, email in session.execute(query)]


def revoke(session: Session, token_id: int, *, now: datetime,
           by_user_id: int | None = None, by_admin: bool = True) -> TokenInfo:
    """Revoke a token (again is harmless). A user who is not an admin revokes their own."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise TokenNotFound(f"There is no API token with the id {token_id}.")
    if not by_admin and row.user_id != by_user_id:
        raise NotYourToken("You can revoke only your own tokens; ask an admin for others.")
    if row.revoked_at is None:
        row.revoked_at = now
    email = session.scalar(select(User.email).where(User.id == row.user_id)) or ""
    return _info(row, email)


def verify(session: Session, token: str, *, now: datetime) -> Bearer:
    """Who the token acts as, or `Unauthenticated`. Records the use (once a minute)."""
    match = SHAPE.fullmatch(token)
    if match is None:
        raise Unauthenticated(REFUSED)
    found = session.execute(
        select(ApiToken.id, ApiToken.secret_hash, ApiToken.scope, ApiToken.expires_at,
               ApiToken.revoked_at, ApiToken.last_used_at, User.id, User.role, User.active)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.prefix == match.group(1))).first()
    if found is None or not hmac.compare_digest(found[1], _digest(token)):
        raise Unauthenticated(REFUSED)
    token_id, _, scope, expires_at, revoked_at, last_used_at, user_id, role, active = found
    if revoked_at is not None or (expires_at is not None and expires_at <= now) or not active:
        raise Unauthenticated(REFUSED)
    if last_used_at is None or last_used_at <= now - TOUCH_EVERY:
        # Conditional, so that concurrent requests write it once between them.
        session.execute(update(ApiToken).where(
            ApiToken.id == token_id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - TOUCH_EVERY))
            .values(last_used_at=now))
    return Bearer(token_id=token_id, user_id=user_id, role=role, scope=scope)


# ---- for the console: one transaction each -------------------------------------------

def tokens_seen_by(db: Database, user_id: int, admin: bool) -> list[TokenInfo]:
    """An admin sees every token; anyone else their own."""
    with db.transaction() as session:
        return list_tokens(session, None if admin else user_id)


def create_for(db: Database, user_id: int, name: str, scope: str, *, now: datetime,
               days: int | None) -> NewToken:
    with db.transaction() as session:
        return create_token(session, user_id, name, scope, now=now, days=days)


def revoke_as(db: Database, token_id: int, *, now: datetime, user_id: int,
              admin: bool) -> TokenInfo:
    with db.transaction() as session:
        return revoke(session, token_id, now=now, by_user_id=user_id, by_admin=admin)
