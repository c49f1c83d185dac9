"""The trial sign-up: the person, the company, a shipping address, a technical contact, the
services to try and the seats; never billing information (seeds 000, 003).

The form is public and unverified: anyone can type anyone's address. So `sign_up` treats
the two cases apart, each in one transaction:

- An address we do not know: the contact is created, a `Trial` row is added (30 days by
  default), and `trial.started` is recorded, which moves the contact to `try` and enters
  the trial journey, whose welcome email with log-in instructions goes to the person and
  to the technical contact.
- An address that already has a contact (any stage): nothing stored about them changes
  (names, company, addresses, language, the technical contact, the account owner, the
  stage) and nothing goes to an address the form gave. What was submitted becomes the
  contact's pending change, and a link to confirm it goes to the address on file
  (`nurture.trials.pending`); confirming applies it and then starts the trial if the rules
  allow one (`nurture.trials.confirmation`). A customer (or anyone whose trial converted)
  gets no second trial: `trial.requested` is recorded and the account owner is told
  (`nurture.trials.requests`).

`Outcome` says which emails were queued, and only those, for the page to state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import pycountry
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from journeys.definition import Send as SendStep
from journeys.models import Enrollment
from journeys.repository import VersionCache
from nurture.accounts import catalog, companies
from nurture.accounts.catalog import Catalogue
from nurture.config import Settings
from nurture.consent import records as consent
from nurture.consent.records import Proof
from nurture.contacts.errors import ContactError
from nurture.contacts.models import Contact
from nurture.contacts.services import email_key, upsert_contacts
from nurture.contacts.timezones import zone_for
from nurture.events.bus import NewEvent
from nurture.events.effects import Lifecycle
from nurture.nps.services import NPSConfig
from nurture.trials import pending, requests, rules
from nurture.trials.errors import SignUpError
from nurture.trials.lifecycle import facts
from nurture.trials.models import Trial
from nurture.unit_of_work import Work, Works
from referral.fraud import agent_hash
from referral.subscriber import remember_device

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
    timezone: str = ""  # the browser's time zone, as its script read it (unchecked)


@dataclass(frozen=True)
class Outcome:
    """What a sign-up did, so that the page says exactly which emails were queued."""

    contact_id: int
    started: bool = False  # a trial began: the address was new to us
    trial_id: int | None = None
    ends_at: datetime | None = None
    welcome_to: tuple[str, ...] = ()  # the welcome is queued for: contact, technical_contact
    known: bool = False  # the address has a contact: nothing changed, see `confirmation`
    confirmation: bool = False  # a link to confirm went to the address on file
    consent: bool = False  # the email to confirm marketing consent was queued


def check(data: SignUp, lifecycle: Lifecycle | None = None,
          catalogue: Catalogue | None = None) -> None:
    """The rules the form enforces, enforced again here for any other caller."""
    lifecycle = lifecycle or Lifecycle()
    if not 1 <= data.seats <= lifecycle.max_trial_seats:
        raise SignUpError(f"A trial has from 1 to {lifecycle.max_trial_seats} seats.")
    known = (catalogue or catalog.default()).ids
    if not data.services or not set(data.services) <= known:
        raise SignUpError("Choose at least one service from the catalogue to try.")
    if data.industry not in dict(VERTICALS):
        raise SignUpError("Choose an industry from the list.")
    codes = dict(countries())
    if data.country not in codes or data.shipping.country not in codes:
        raise SignUpError("Choose countries from the list.")


def sign_up(works: Works, settings: Settings, versions: VersionCache, data: SignUp,
            source: Source, lifecycle: Lifecycle | None = None) -> Outcome:
    """Start a trial for an address we do not know; for one we know, keep the form as a
    pending change and send a link to confirm it to the address on file. Retried once
    when a concurrent sign-up created the contact first."""
    lifecycle = lifecycle or Lifecycle()
    check(data, lifecycle, settings.services)
    try:
        try:
            return _sign_up(works, settings, versions, data, source, lifecycle)
        except IntegrityError:
            return _sign_up(works, settings, versions, data, source, lifecycle)
    except ContactError as exc:
        raise SignUpError(str(exc)) from None


def _sign_up(works: Works, settings: Settings, versions: VersionCache, data: SignUp,
             source: Source, lifecycle: Lifecycle) -> Outcome:
    now = works.now()
    key = email_key(data.email)
    with works.work(now) as work:
        session = work.session
        contact = session.scalar(select(Contact).where(Contact.email_key == key)
                                 .with_for_update())
        if contact is not None:
            outcome = _known(work, NPSConfig.from_settings(settings), contact, data, source)
        else:
            contact = _new_contact(session, data, source)
            company_for(session, contact, data.company, data.technical_name,
                        data.technical_email, data.country, now)
            trial = Trial(**wanted(data), contact_id=contact.id)
            welcome_to = start(work, versions, contact, trial, source, lifecycle)
            consent_id = None
            if data.marketing_consent:
                proof = Proof(SOURCE, source.page, source.ip, source.user_agent)
                consent_id = consent.request_opt_in(session, contact, proof, now)
            work.due("deliver_sends", [consent_id] if consent_id else [])
            outcome = Outcome(contact.id, True, trial.id, trial.ends_at, welcome_to,
                              consent=consent_id is not None)
    return outcome


def _known(work: Work, owners: NPSConfig, contact: Contact, data: SignUp,
           source: Source) -> Outcome:
    """An address we know: the form changes nothing. What it asked for waits for the
    person's confirmation from the address on file; a customer's request reaches the
    account owner now. The page says the same whoever the contact is."""
    session, now = work.session, work.now
    trials = session.scalars(select(Trial).where(Trial.contact_id == contact.id))
    verdict = rules.eligibility(contact.stage, [facts(t) for t in trials], now)
    sends: list[int] = []
    if verdict.verdict == "customer":
        event = requests.requested(contact, data.services, data.seats, source.landing_slug,
                                   source.utm, now, SOURCE)
        work.record([event])
        alert = requests.alert_owner(session, contact, owners, now)
        sends += [alert] if alert else []
    # The browser's language is a guess: one already known (an import, the CRM, the API)
    # is kept, so it is offered only to a contact without one.
    language = "" if contact.language else source.language
    zone = "" if contact.timezone else zone_for(source.timezone, data.country)
    change = pending.submitted(
        _fields(data, language, zone), _attributes(data),
        wanted(data),
        {**asdict(source), "language": language}, data.marketing_consent, now)
    link = pending.store(session, contact, change, now)
    sends += [link] if link else []
    work.due("deliver_sends", sends)
    return Outcome(contact.id, known=True, confirmation=link is not None)


def _fields(data: SignUp, language: str, timezone: str = "") -> dict[str, Any]:
    fields = {"first_name": data.first_name, "last_name": data.last_name, "phone": data.phone,
              "role": data.role, "company": data.company, "industry": data.industry,
              "company_size": data.company_size, "country": data.country,
              "language": language}
    return {**fields, "timezone": timezone} if timezone else fields


def _shipping(data: SignUp) -> dict[str, str]:
    return {"street": data.shipping.street, "city": data.shipping.city,
            "region": data.shipping.region, "postal_code": data.shipping.postal_code,
            "country": data.shipping.country}


def _attributes(data: SignUp) -> dict[str, Any]:
    # The journey sends to `technical_contact` as an address. A person who is their own
    # technical contact gets one welcome, not two copies ("" is no recipient).
    own = email_key(data.technical_email) == email_key(data.email)
    return {"technical_contact": "" if own else data.technical_email,
            "technical_contact_name": data.technical_name,
            "shipping_address": _shipping(data)}


def wanted(data: SignUp) -> dict[str, Any]:
    """The trial row's columns that come from the form."""
    return {"company": data.company, "technical_name": data.technical_name,
            "technical_email": data.technical_email, "shipping_address": _shipping(data),
            "services": list(data.services), "seats": data.seats}


def _new_contact(session: Session, data: SignUp, source: Source) -> Contact:
    zone = zone_for(source.timezone, data.country)
    ids = upsert_contacts(session, [{"email": data.email,
                                     **_fields(data, source.language, zone),
                                     "attributes": _attributes(data)}])
    return session.get_one(Contact, ids[email_key(data.email)])  # just upserted


def company_for(session: Session, contact: Contact, company: str, technical_name: str,
                technical_email: str, country: str, now: datetime) -> None:
    """The trial's own account (the form is unverified: it joins no existing company) and
    its roles: the signer administers, is billed and gets notices; the technical contact
    sets the services up and receives the activation email. A technical contact new to us
    becomes a contact of the account; one we know is left as it is, and given the roles.
    A contact who has an account already keeps it, and its roles, as they are."""
    if contact.account_id is not None:
        return
    account = companies.new_account(session, company, contact.email, "trial", now)
    contact.account_id = account.id
    own = not technical_email or email_key(technical_email) == contact.email_key
    roles = companies.SIGNER_ROLES + (companies.TECHNICAL_ROLES if own else ())
    companies.add_roles(session, account.id, contact.id, roles, now)
    if own:
        return
    tech = session.scalar(select(Contact).where(Contact.email_key == email_key(technical_email)))
    if tech is None:
        first, _, last = technical_name.strip().partition(" ")
        ids = upsert_contacts(session, [{
            "email": technical_email, "first_name": first, "last_name": last.strip(),
            "company": company, "country": country,
            # The signer's browser says nothing of where their colleague works.
            "timezone": zone_for("", country), "language": contact.language}])
        tech = session.get_one(Contact, ids[email_key(technical_email)])
        tech.account_id = account.id
    companies.add_roles(session, account.id, tech.id, companies.TECHNICAL_ROLES, now)


def start(work: Work, versions: VersionCache, contact: Contact, trial: Trial, source: Source,
          lifecycle: Lifecycle) -> tuple[str, ...]:
    """Start `trial` (a new row, its form columns set) for `contact`, locked: record
    `trial.started`, which moves the contact to `try` and enters the trial journey. Returns
    who the welcome is queued for."""
    session, now = work.session, work.now
    trial.status, trial.started_at = "active", now
    trial.ends_at = now + timedelta(days=lifecycle.trial_days)
    trial.landing_slug, trial.utm = source.landing_slug[:120], dict(source.utm)
    trial.referral_code, trial.ip = source.referral_code, source.ip[:64]
    session.add(trial)
    session.flush()
    remember_device(session, contact.id, source.visitor, source.ip,
                    agent_hash(source.user_agent), now)
    result = work.record(_events(contact, trial, source, now), lifecycle)
    return _welcome_to(session, versions, contact, result.due.get("advance_enrollments", []))


def _welcome_to(session: Session, versions: VersionCache, contact: Contact,
                kick: list[int]) -> tuple[str, ...]:
    """Who the welcome is queued for: the roles of an enrollment, due now, whose step sends
    it (none when no live journey sends it, or the contact may not enter it again)."""
    rows = session.execute(select(Enrollment.journey_version_id, Enrollment.step_id)
                           .where(Enrollment.id.in_(kick or [0]),
                                  Enrollment.contact_id == contact.id)).all()
    journeys = versions.get(session, {version for version, _ in rows})
    roles: list[str] = []
    for version, step_id in rows:
        journey = journeys[version]
        step = journey.step_map.get(step_id or journey.first_step)
        if isinstance(step, SendStep) and WELCOME_TEMPLATE in (
                step.template, *(v.template for v in step.variants)):
            roles += [r for r in step.to
                      if r == "contact" or (contact.attributes or {}).get(r)]
    return tuple(dict.fromkeys(roles))


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
