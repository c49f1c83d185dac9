"""Demo data: contacts across verticals and stages, the shipped journeys, a few trials."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

from journeys.loader import iter_files
from nurture.contacts.services import upsert_contacts
from nurture.events.api import record_many
from nurture.events.services import NewEvent
from nurture.journeys_ops import publish_files
from nurture.migrate import upgrade
from nurture.runtime import Runtime

FIRST = ["Ana", "Ben", "Chloé", "Dev", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jonas",
         "Keiko", "Liam", "Maya", "Noah", "Olga", "Priya", "Quentin", "Rosa", "Sam", "Tariq"]
LAST = ["Martin", "Smith", "Okafor", "Tanaka", "Müller", "Rossi", "Dubois", "Silva", "Khan",
        "Novak"]
VERTICALS = ["retail", "financial-services", "healthcare", "public-sector"]
ZONES = [("FR", "Europe/Paris"), ("US", "America/New_York"), ("GB", "Europe/London"),
         ("JP", "Asia/Tokyo"), ("US", "America/Los_Angeles"), ("DE", "Europe/Berlin")]
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
            "country": country, "timezone": zone,
            "consent_marketing": rng.random() < 0.8,
        })
    return people


def load_demo(rt: Runtime, count: int, seed: int,
              echo: Callable[[str], None] = print) -> None:
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
                {"seats": rng.randint(1, 20), "services": ["mail", "files"],
                 "technical_contact": f"it.{person['email']}"},
                now - timedelta(days=rng.randint(0, 20)), source="demo",
                dedupe_key=f"demo:trial:{person['email'].lower()}"))
        record_many(rt, events)
        echo(f"Loaded {min(start + 500, len(people))} of {len(people)} demo contacts.")
    if rt.transport is not None and rt.transport.in_process:
        rt.transport.start_worker(rt.settings.worker_threads)
        rt.transport.join()
    echo("Demo data is ready.")
