"""Demo data: contacts across verticals and stages, the shipped journeys, a few trials, and
synthetic lead history with a first approved predictive model, so scores show out of the box."""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from journeys.loader import iter_files
from nurture.app.journeys_ops import publish_files
from nurture.app.runtime import Runtime
from nurture.contacts.models import Contact
from nurture.contacts.services import upsert_contacts
from nurture.events.bus import NewEvent
from nurture.events.services import record_many
from nurture.migrate import upgrade
from nurture.trials.signup import Address, SignUp, Source, sign_up
from nurture.users.models import User
from nurture.users.services import create_user
from referral import services as referral_services
from referral.models import ReferralSource
from scoring import model_store
from scoring.services import run_scoring_jobs
from scoring.synthetic import generate

FIRST = ["Ana", "Ben", "Chloé", "Dev", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jonas",
         "Keiko", "Liam", "Maya", "Noah", "Olga", "Priya", "Quentin", "Rosa", "Sam", "Tariq"]
LAST = ["Martin", "Smith", "Okafor", "Tanaka", "Müller", "Rossi", "Dubois", "Silva", "Khan",
        "Novak"]
VERTICALS = ["retail", "financial-services", "healthcare", "public-sector"]
ZONES = [("FR", "Europe/Paris"), ("US", "America/New_York"), ("GB", "Europe/London"),
         ("JP", "Asia/Tokyo"), ("US", "America/Los_Angeles"), ("DE", "Europe/Berlin")]
LANGUAGES = {"FR": "fr", "DE": "de", "JP": "ja"}  # the rest read the default (English)
ROLES = ["IT manager", "CTO", "Office manager", "CFO", "Operations lead", "Developer"]


def demo_contacts(count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    people = []
    for index in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        country, zone = rng.choice(ZONES)
        vertical = rng.choice(VERTICALS)
        company = f"{last} {rng.choice(['Retail', 'Partners', 'Health', 'Group', 'Labs'])}"
        people.append({
            "email": f"{first.lower()}.{last.lower()}.{index}@example.com".replace("é", "e")
                     .replace("ü", "u"),
            "first_name": first, "last_name": last, "company": company,
            "role": rng.choice(ROLES), "industry": vertical,
            "company_size": rng.choice([5, 12, 40, 120, 600, 2500]),
            "country": country, "timezone": zone, "language": LANGUAGES.get(country, ""),
            "consent_marketing": rng.random() < 0.8,
        })
    return people


def load_demo(rt: Runtime, count: int, seed: int,
              echo: Callable[[str], None] = print, history_leads: int = 2000) -> None:
    upgrade(rt.db)
    echo("Publishing the shipped journeys...")
    publish_files(rt, iter_files([rt.settings.journeys_dir]), echo=echo)
    people = demo_contacts(count, seed)
    rng = random.Random(seed + 1)
    now = rt.clock.now()
    for start in range(0, len(people), 500):
        chunk = people[start:start + 500]
        with rt.db.transaction() as session:
            ids = upsert_contacts(session, chunk)
        events = [NewEvent(ids[p["email"].lower()], "contact.created", {}, now, source="demo",
                           dedupe_key=f"demo:created:{p['email'].lower()}") for p in chunk]
        trials = [p for p in chunk if rng.random() < 0.2]
        for person in trials:
            events.append(NewEvent(
                ids[person["email"].lower()], "trial.started",
                {"seats": rng.randint(1, 20), "services": ["crm", "email-campaigns"],
                 "technical_contact": f"it.{person['email']}"},
                now - timedelta(days=rng.randint(0, 20)), source="demo",
                dedupe_key=f"demo:trial:{person['email'].lower()}"))
        record_many(rt, events)
        echo(f"Loaded {min(start + 500, len(people))} of {len(people)} demo contacts.")
    if rt.transport is not None and rt.transport.in_process:
        if rt.transport.worker is None:
            rt.transport.start_worker(rt.settings.worker_threads, rt.settings.priority_threads)
        rt.transport.join()
    if history_leads:
        load_history(rt, history_leads, seed, echo)
    load_sales(rt, people, seed, echo)
    load_referrals(rt, people, seed, echo)
    echo("Demo data is ready.")


DEMO_USERS = [("marketer@demo.nurture.example", "Mia Marketer", "marketer", ()),
              ("retail.rep@demo.nurture.example", "Rita Retail", "sales", ("retail",)),
              ("health.rep@demo.nurture.example", "Hal Health", "sales", ("healthcare",)),
              ("rep@demo.nurture.example", "Sam Sales", "sales", ())]


def load_sales(rt: Runtime, people: list[dict], seed: int,
               echo: Callable[[str], None] = print) -> None:
    """Demo users (a fresh password each, printed once) and a few hand-raisers, so the sales
    inbox has leads to show."""
    password = secrets.token_urlsafe(12)
    created = []
    with rt.db.transaction() as session:
        for email, name, role, verticals in DEMO_USERS:
            if session.scalar(select(User.id).where(User.email == email)) is None:
                create_user(session, email, name, role, password, verticals=verticals,
                            now=rt.clock.now())
                created.append(email)
    rng = random.Random(seed + 2)
    raisers = rng.sample(people, min(8, len(people)))
    with rt.db.sessions() as session:
        ids = dict(session.execute(select(Contact.email_key, Contact.id).where(
            Contact.email_key.in_([p["email"].lower() for p in raisers]))).all())
    record_many(rt, [NewEvent(cid, rng.choice(["demo.requested", "webinar.attended"]),
                              {}, rt.clock.now(), source="demo") for cid in ids.values()])
    if rt.transport is not None and rt.transport.in_process:
        rt.transport.join()
    run_scoring_jobs(rt, rt.settings, rt.db)
    echo(sign_in_note(rt.settings.base_url, password, created))


def sign_in_note(base_url: str, password: str, created: list[str]) -> str:
    """How to sign in, whether this run created the demo users or they existed already:
    a password is stored only as a hash, so a second `nurture demo` cannot show it again,
    and the note says how to set a new one."""
    login = f"{base_url.rstrip('/')}/login"
    existing = [email for email, *_ in DEMO_USERS if email not in created]
    lines = []
    if created:
        lines.append(f"Demo users (password {password}): " + ", ".join(created) + ".")
    if existing:
        lines.append("These demo users already existed and keep the password printed when "
                     "they were created: " + ", ".join(existing) + ".")
    lines.append(f"Sign in at {login} as {DEMO_USERS[0][0]} (the marketing console) "
                 f"or {DEMO_USERS[1][0]} (the sales inbox). To set a new password: "
                 f"nurture users set-password {DEMO_USERS[0][0]}")
    return "\n".join(lines)


def load_history(rt: Runtime, leads: int, seed: int,
                 echo: Callable[[str], None] = print) -> None:
    """Synthetic history, then a model trained on it, approved and used to score everyone."""
    now = rt.clock.now()
    history = generate(leads, now, seed=seed, signal=1.0)
    with rt.db.transaction() as session:
        written = model_store.write_history(session, history)
    echo(f"Wrote {written.contacts} synthetic leads with {written.events} events of history.")
    with rt.db.transaction() as session:
        stored = model_store.fit_model(session, now)
        model_store.approve(session, stored.version, "demo", now)
        scored = model_store.score_all(session, now)
    echo(f"Predictive model version {stored.version} approved (held-out AUC "
         f"{stored.metrics['auc']}); {scored} contacts scored.")


FRIENDS = [("Lena", "Berg", "lena@berg-outdoor.example", "retail"),
           ("Omar", "Haddad", "omar@haddad-clinic.example", "healthcare"),
           ("Pia", "Lund", "pia@lund-finance.example", "financial-services"),
           ("Tom", "Free", "tom.free@mailinator.com", "retail")]


def load_referrals(rt: Runtime, people: list[dict], seed: int,
                   echo: Callable[[str], None] = print) -> None:
    """Three customers with share codes, a partner source, visits of their links, friends
    who signed up through them (one from a throwaway mailbox, flagged for review), and one
    who bought, so /referrals shows a program under way."""
    rng = random.Random(seed + 3)
    buyers = rng.sample(people, min(3, len(people)))
    with rt.db.sessions() as session:
        ids = dict(session.execute(select(Contact.email_key, Contact.id).where(
            Contact.email_key.in_([p["email"].lower() for p in buyers]))).all())
    record_many(rt, [NewEvent(cid, "purchase.completed",
                              {"amount": rng.choice([1200, 2400, 4800]), "currency": "EUR"},
                              rt.clock.now(), source="demo", dedupe_key=f"demo:bought:{cid}")
                     for cid in ids.values()])
    _settle(rt)
    referral_services.backfill_codes(rt)
    with rt.db.sessions() as session:
        codes = [((c.attributes or {}).get("referral") or {}).get("code", "")
                 for c in session.scalars(select(Contact).where(Contact.id.in_(ids.values())))]
    codes = [code for code in codes if code]
    with rt.db.sessions() as session:  # a second `nurture demo` reuses the partner
        partner = session.scalar(select(ReferralSource.code).where(
            ReferralSource.type == "partner", ReferralSource.name == "Northwind Resellers"))
    if partner is None:
        _, partner = referral_services.create_source(rt, "partner", "Northwind Resellers",
                                       email="partners@northwind.example",
                                       campaign="q4-resellers")
    codes.append(partner)
    for k, code in enumerate(codes):
        for visitor in range(rng.randint(2, 6)):
            referral_services.click(rt, code, f"demo-visitor-{k}-{visitor}")
    for k, (first, last, email, industry) in enumerate(FRIENDS):
        code = codes[k % len(codes)]
        outcome = sign_up(rt, rt.settings, rt.versions, SignUp(
            first_name=first, last_name=last, email=email, company=f"{last} Ltd",
            industry=industry, country="GB",
            shipping=Address(street="1 High Street", city="York", postal_code="YO1 7HH",
                             country="GB"),
            technical_name=first, technical_email=email, services=("crm",), seats=5,
            marketing_consent=True,
        ), Source(landing_slug="trial", referral_code=code, ip=f"198.51.100.{20 + k}",
                  user_agent="Demo-Browser/1.0", page="/l/trial",
                  visitor=f"demo-visitor-{k}-0"))
        if k == 0:  # the first friend bought: their referrer's reward goes on hold
            record_many(rt, [NewEvent(outcome.contact_id, "purchase.completed",
                                      {"amount": 2400, "currency": "EUR"}, rt.clock.now(),
                                      source="demo", dedupe_key="demo:friend-bought")])
    _settle(rt)
    echo(f"Referrals: {len(codes) - 1} customers and a partner with share links, "
         f"{len(FRIENDS)} referred sign-ups (one flagged for review); see /referrals.")


def _settle(rt: Runtime) -> None:
    if rt.transport is not None and rt.transport.in_process:
        rt.transport.join()
