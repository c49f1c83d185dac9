"""The trial sign-up: the person, the company, a shipping address, a technical contact, the
services to try and the seats; never billing information (seeds 000, 003).

`sign_up` does it all in one transaction: the contact is created or updated, a `Trial` row
is added (30 days by default), and `trial.started` is recorded, which moves the contact to
`try` and enters the trial journey, whose welcome email with log-in instructions goes to
the person and to the technical contact. A second sign-up while a trial runs creates
nothing: the log-in instructions are sent again, at most once a day.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache

import pycountry
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nurture.consent import services as consent
from nurture.consent.services import Proof
from nurture.contacts.models import Contact
from nurture.contacts.services import ContactError, email_key, upsert_contacts
from nurture.events.effects import Lifecycle
from nurture.events.services import NewEvent, claim, record_events
from nurture.runtime import Runtime
from nurture.sending.models import Send
from nurture.trials.models import Trial
from nurture.writes import insert_ignore
from referral.fraud import agent_hash
from referral.pipeline import remember_device


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    description: str


# What a prospect can pick to try; ids are stored on the trial and in `trial.started`.
SERVICES = (
    Service("crm", "CRM", "Contacts, companies and deals in one place."),
    Service("email-campaigns", "Email campaigns", "Newsletters and automated journeys."),
    Service("analytics", "Analytics", "Dashboards and reports on your customers."),
    Service("support-desk", "Support desk", "Shared inbox and tickets for your team."),
)
VERTICALS = (("retail", "Retail"), ("financial-services", "Financial services"),
             ("healthcare", "Healthcare"), ("public-sector", "Public sector"),
             ("manufacturing", "Manufacturing"), ("education", "Education"),
             ("professional-services", "Professional services"),
             ("technology", "Technology"), ("other", "Other"))
# Employee-count bands; the contact keeps the band's lower bound, which fit scoring compares.
COMPANY_SIZES = ((1, "1 to 9 employees"), (10, "10 to 49 employees"),
                 (50, "50 to 249 employees"), (250, "250 to 999 employees"),
                 (1000, "1,000 to 4,999 employees"), (5000, "5,000 employees or more"))
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
REFERRAL_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Where addresses have no postcode (so the form does not ask for one).
NO_POSTCODE = frozenset({
    "AE", "AG", "AO", "AW", "BF", "BI", "BJ", "BO", "BS", "BW", "BZ", "CD", "CF", "CG", "CI",
    "CK", "CM", "DJ", "DM", "ER", "FJ", "GD", "GH", "GM", "GQ", "GY", "HK", "KI", "KM", "KN",
    "KP", "LY", "ML", "MO", "MR", "MW", "NR", "NU", "QA", "RW", "SB", "SC", "SL", "SR", "ST",
    "SY", "TD", "TG", "TK", "TL", "TO", "TV", "UG", "VU", "YE", "ZW"
})
SOURCE = "signup-form"
WELCOME_TEMPLATE = "trial-welcome"


@cache
def countries() -> tuple[tuple[str, str], ...]:
    """ISO 3166-1 alpha-2 codes with their common English names, sorted by name."""
    named = [(c.alpha_2, getattr(c, "common_name", None) or c.name)
             for c in pycountry.countries]
    return tuple(sorted(named, key=lambda pair: pair[1]))


def clean_utm(values: Mapping[str, object]) -> dict[str, str]:
    """The UTM parameters among `values`, trimmed; anything else is dropped."""
    utm = {}
    for key in UTM_KEYS:
        value = "".join(ch for ch in str(values.get(key) or "") if ch.isprintable())
        if value.strip():
            utm[key] = value.strip()[:200]
    return utm


def clean_referral(code: object) -> str:
    """A referral code of the right form, or "" (a malformed one is ignored, not an error)."""
    text = str(code or "").strip()
    return text if REFERRAL_CODE.fullmatch(text) else ""


class SignUpError(ValueError):
    """Raised when a sign-up breaks a rule the form should have caught; one sentence."""


@dataclass(frozen=True)
class Address:
    street: str
    city: str
    postal_code: str
    country: str
    region: str = ""


@dataclass(frozen=True)
class SignUp:
    first_name: str
    last_name: str
    email: str
    company: str
    industry: str
    country: str
    shipping: Address
    technical_name: str
    technical_email: str
    services: tuple[str, ...]
    seats: int
    phone: str = ""
    role: str = ""
    company_size: int | None = None
    marketing_consent: bool = False


@dataclass(frozen=True)
class Source:
    """Where the sign-up came from, kept on the trial and as consent proof."""

    landing_slug: str = ""
    utm: dict[str, str] = field(default_factory=dict)
    referral_code: str = ""
    ip: str = ""
    user_agent: str = ""
    page: str = ""
    journey: str = ""  # the journey the landing page names: `trial.started` carries it
    visitor: str = ""  # the referral cookie's random visitor id (self-referral checks)
    language: str = ""  # the browser's first language (Accept-Language), a standard tag


@dataclass(frozen=True)
class Outcome:
    started: bool  # False: a trial was already running and nothing new was created
    trial_id: int
    contact_id: int
    ends_at: datetime
    resent: bool = False  # the log-in instructions were queued again (at most once a day)


def check(data: SignUp, lifecycle: Lifecycle | None = None) -> None:
    """The rules the form enforces, enforced again here for any other caller."""
    lifecycle = lifecycle or Lifecycle()
    if not 1 <= data.seats <= lifecycle.max_trial_seats:
        raise SignUpError(f"A trial has from 1 to {lifecycle.max_trial_seats} seats.")
    known = {s.id for s in SERVICES}
    if not data.services or not set(data.services) <= known:
        raise SignUpError("Choose at least one service from the catalogue to try.")
    if data.industry not in dict(VERTICALS):
        raise SignUpError("Choose an industry from the list.")
    codes = dict(countries())
    if data.country not in codes or data.shipping.country not in codes:
        raise SignUpError("Choose countries from the list.")


def sign_up(rt: Runtime, data: SignUp, source: Source,
            lifecycle: Lifecycle | None = None) -> Outcome:
    """Start a trial, or, when one is already running for this email, send its log-in
    instructions again. Retried once when a concurrent sign-up created the contact first."""
    lifecycle = lifecycle or Lifecycle()
    check(data, lifecycle)
    try:
        try:
            return _sign_up(rt, data, source, lifecycle)
        except IntegrityError:
            return _sign_up(rt, data, source, lifecycle)
    except ContactError as exc:
        raise SignUpError(str(exc)) from None


def _sign_up(rt: Runtime, data: SignUp, source: Source, lifecycle: Lifecycle) -> Outcome:
    now = rt.clock.now()
    key = email_key(data.email)
    kick: list[int] = []
    sends: list[int] = []
    with rt.db.transaction() as session:
        contact = session.scalar(select(Contact).where(Contact.email_key == key)
                                 .with_for_update())
        running = _running_trial(session, contact.id, now) if contact else None
        if contact is not None and running is not None:
            sends += _resend_welcome(session, contact, running, now)
            outcome = Outcome(False, running.id, contact.id, running.ends_at, bool(sends))
        else:
            # The browser's language is a guess: a language already known (an import, the
            # CRM, the API) is kept.
            language = contact.language if contact is not None and contact.language \
                else source.language
            contact, trial = _start(session, data, replace(source, language=language), now,
                                    lifecycle)
            remember_device(session, contact.id, source.visitor, source.ip,
                            agent_hash(source.user_agent), now)
            result = record_events(session, rt.versions, _events(contact, trial, source, now),
                                   now, lifecycle)
            claim(session, result.kick, now, rt.lease)
            kick = result.kick
            outcome = Outcome(True, trial.id, contact.id, trial.ends_at)
        if data.marketing_consent and not contact.consent_marketing:
            proof = Proof(SOURCE, source.page, source.ip, source.user_agent)
            sent = consent.request_opt_in(session, contact, proof, now)
            sends += [sent] if sent else []
    rt.kick("advance_enrollments", kick)
    rt.kick("deliver_sends", sends)
    return outcome


def _running_trial(session: Session, contact_id: int, now: datetime) -> Trial | None:
    return session.scalar(select(Trial).where(Trial.contact_id == contact_id,
                                              Trial.status == "active", Trial.ends_at > now)
                          .order_by(Trial.ends_at.desc()).limit(1))


def _start(session: Session, data: SignUp, source: Source, now: datetime,
           lifecycle: Lifecycle) -> tuple[Contact, Trial]:
    shipping = {"street": data.shipping.street, "city": data.shipping.city,
                "region": data.shipping.region, "postal_code": data.shipping.postal_code,
                "country": data.shipping.country}
    own = email_key(data.technical_email) == email_key(data.email)
    ids = upsert_contacts(session, [{
        "email": data.email, "first_name": data.first_name, "last_name": data.last_name,
        "phone": data.phone, "role": data.role, "company": data.company,
        "industry": data.industry, "company_size": data.company_size,
        "country": data.country, "language": source.language,
        # The journey sends to `technical_contact` as an address. A person who is their own
        # technical contact gets one welcome, not two copies ("" is no recipient).
        "attributes": {"technical_contact": "" if own else data.technical_email,
                       "technical_contact_name": data.technical_name,
                       "shipping_address": shipping},
    }])
    contact = session.get(Contact, ids[email_key(data.email)])
    trial = Trial(contact_id=contact.id, company=data.company,
                  technical_name=data.technical_name, technical_email=data.technical_email,
                  shipping_address=shipping, services=list(data.services), seats=data.seats,
                  status="active", started_at=now,
                  ends_at=now + timedelta(days=lifecycle.trial_days),
                  landing_slug=source.landing_slug[:120], utm=dict(source.utm),
                  referral_code=source.referral_code, ip=source.ip[:64])
    session.add(trial)
    session.flush()
    return contact, trial


def _events(contact: Contact, trial: Trial, source: Source, now: datetime) -> list[NewEvent]:
    days = round((trial.ends_at - trial.started_at) / timedelta(days=1))
    properties = {"seats": trial.seats, "services": list(trial.services), "days": days,
                  "trial_id": trial.id, "landing": trial.landing_slug}
    if source.journey:  # a journey can enter on it: where: "properties.journey == '...'"
        properties["journey"] = source.journey
    if (contact.attributes or {}).get("technical_contact"):
        properties["technical_contact"] = trial.technical_email
    events = [NewEvent(contact.id, "trial.started", properties, now, SOURCE,
                       dedupe_key=f"trial.started:{trial.id}")]
    if source.referral_code:
        events.append(NewEvent(contact.id, "referral.signed_up",
                               {"code": source.referral_code, "trial_id": trial.id,
                                "visitor": source.visitor,
                                "agent": agent_hash(source.user_agent)}, now,
                               SOURCE, dedupe_key=f"referral.signed_up:{trial.id}"))
    return events


def _resend_welcome(session: Session, contact: Contact, trial: Trial,
                    now: datetime) -> list[int]:
    """Queue the welcome (log-in instructions) again to the person; once a day at most."""
    return insert_ignore(session, Send, [{
        "send_key": f"resend-welcome:{trial.id}:{now.date().isoformat()}",
        "contact_id": contact.id, "to_email": contact.email, "role": "contact",
        "template": WELCOME_TEMPLATE, "variant": "", "transactional": True,
        "status": "queued", "created_at": now, "due_at": now,
    }], "send_key")
