"""Referral sources and their codes: a customer's own code (made automatically, once), a
partner's or an influencer's (made by a marketer), looking a code up, and share links."""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import quote, urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.contacts.models import Contact
from nurture.landing.pages import SLUG
from nurture.writes import insert_ignore
from referral.errors import Invalid
from referral.models import SOURCE_TYPES, ReferralSource

log = logging.getLogger(__name__)

# Crockford's base32 without look-alikes: 12 characters are 60 random bits, unguessable.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12
CODE = re.compile(r"[A-Za-z0-9_-]{4,32}")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CAMPAIGN = re.compile(r"^[A-Za-z0-9._-]{0,120}$")
MAX_EXPIRY_YEARS = 10


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: object) -> str:
    """The code as stored (upper case), or "" when it cannot be one."""
    text = str(code or "").strip()
    return text.upper() if CODE.fullmatch(text) else ""


@dataclass(frozen=True)
class Lookup:
    source: ReferralSource | None
    reason: str  # "ok", "malformed", "unknown", "paused", "expired"


def find(session: Session, code: object, now: datetime) -> Lookup:
    """The active source of `code`, or why there is none (to log; never an error)."""
    clean = normalise_code(code)
    if not clean:
        return Lookup(None, "malformed")
    row = session.scalar(select(ReferralSource).where(ReferralSource.code == clean))
    if row is None:
        return Lookup(None, "unknown")
    if row.status != "active":
        return Lookup(None, "paused")
    if row.expires_at is not None and row.expires_at <= now:
        return Lookup(None, "expired")
    return Lookup(row, "ok")


def ensure_for_contact(session: Session, contact: Contact, now: datetime) -> str:
    """The contact's own customer code, made on first need and kept on the contact as
    `attributes.referral.code` (emails build the share link from it). Safe to race: one
    code per contact (unique owner key)."""
    existing = (contact.attributes or {}).get("referral")
    if isinstance(existing, dict) and existing.get("code"):
        return str(existing["code"])
    owner = f"contact:{contact.id}"
    name = " ".join(p for p in (contact.first_name, contact.last_name) if p) or contact.email
    insert_ignore(session, ReferralSource, [{
        "code": new_code(), "owner_key": owner, "type": "customer", "name": name[:200],
        "email": contact.email, "contact_id": contact.id, "campaign": "customer-referral",
        "landing": "trial", "status": "active", "created_at": now, "created_by": "system",
    }], "owner_key")
    code = session.execute(select(ReferralSource.code)
                           .where(ReferralSource.owner_key == owner)).scalar_one()
    contact.attributes = {**(contact.attributes or {}), "referral": {"code": code}}
    return code


def create(session: Session, type_: str, name: str, email: str, campaign: str,
           landing: str, now: datetime, actor: str,
           expires_at: datetime | None = None) -> ReferralSource:
    """A partner's or an influencer's source, made by a marketer."""
    if type_ not in SOURCE_TYPES or type_ == "customer":
        raise Invalid("Choose partner or influencer; customers get their codes "
                      "automatically.")
    name = " ".join(str(name or "").split())
    if not name:
        raise Invalid("Enter the partner's or influencer's name.")
    if len(name) > 200:
        raise Invalid("A name must be 200 characters or fewer.")
    email = str(email or "").strip()
    if email and (len(email) > 254 or not EMAIL.match(email)):
        raise Invalid("Enter an email address in the correct format, like name@company.com.")
    campaign = str(campaign or "").strip()
    if not CAMPAIGN.match(campaign):
        raise Invalid("A campaign tag uses letters, digits, '.', '_' and '-' only, up to 120 "
                      "characters, like spring-partners.")
    landing = str(landing or "trial").strip()
    if not SLUG.fullmatch(landing):
        raise Invalid("The landing page is the slug of a landing page, like trial.")
    if expires_at is not None and expires_at <= now:
        raise Invalid("The expiry date must be in the future.")
    contact = session.scalar(select(Contact).where(Contact.email_key == email.lower())) \
        if email else None
    contact_id = contact.id if contact is not None else None
    row = ReferralSource(code=new_code(), owner_key=f"{type_}:{secrets.token_hex(8)}",
                         type=type_, name=name, email=email, contact_id=contact_id,
                         campaign=campaign, landing=landing, status="active",
                         expires_at=expires_at, created_at=now, created_by=actor[:320])
    session.add(row)
    session.flush()
    if contact is not None and not ((contact.attributes or {}).get("referral") or {}).get(
            "code"):  # emails to the partner (the thank-you) link to this code
        contact.attributes = {**(contact.attributes or {}), "referral": {"code": row.code}}
    return row


def expiry(day: date, today: date) -> datetime:
    """The end of a source's last day (UTC), from today to ten years ahead; else Invalid.
    The console's form and the API both ask this."""
    if not today <= day <= today.replace(year=today.year + MAX_EXPIRY_YEARS,
                                         day=min(today.day, 28)):
        raise Invalid(f"The expiry date must be between today and {MAX_EXPIRY_YEARS} years "
                      f"from now; {day.isoformat()} is not.")
    return datetime.combine(day, time(), UTC) + timedelta(days=1)


# ---- links ------------------------------------------------------------------------------

def share_link(base_url: str, code: str) -> str:
    return f"{base_url}/r/{code}"


def landing_target(source: ReferralSource) -> str:
    """Where a share link leads: always a local landing page path, never another site."""
    slug = source.landing if SLUG.fullmatch(source.landing or "") else "trial"
    utm = {"utm_source": "referral", "utm_medium": source.type}
    if source.campaign:
        utm["utm_campaign"] = source.campaign
    return f"/l/{slug}?{urlencode({**utm, 'ref': source.code})}"


def social_links(link: str, company: str) -> dict[str, str]:
    """Ready-made share links for email, LinkedIn and X."""
    text = f"I use {company} and think you would like it too. Try it free: "
    return {
        "email": f"mailto:?subject={quote(f'Try {company}')}&body={quote(text + link)}",
        "linkedin": "https://www.linkedin.com/sharing/share-offsite/?"
                    + urlencode({"url": link}),
        "x": "https://x.com/intent/post?" + urlencode({"text": text.strip(), "url": link}),
    }
