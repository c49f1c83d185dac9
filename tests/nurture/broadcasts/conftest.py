"""Making broadcasts in tests: contacts who may receive marketing mail, on a list, and a
broadcast to them through the real services."""

from __future__ import annotations

from typing import Any

from nurture.app.runtime import Runtime
from nurture.broadcasts import plan, services
from nurture.broadcasts.models import Broadcast
from nurture.contacts import lists
from nurture.contacts.services import upsert_contacts
from nurture.sending import subjects as subject_lines
from nurture.sending.render import store_for

TEMPLATE_A, TEMPLATE_B = "prospect-case-study", "quarterly-needs-assessment"


def audience(rt: Runtime, count: int, name: str = "Newsletter", **fields: Any) -> list[int]:
    """`count` contacts with marketing consent, on the list `name`; their ids."""
    rows = [{"email": f"reader{i}@example.com", "first_name": f"Reader{i}",
             "consent_marketing": True, **fields} for i in range(count)]
    with rt.db.transaction() as session:
        ids = list(upsert_contacts(session, rows).values())
        lists.add(session, lists.ensure(session, name, rt.clock.now()), ids, rt.clock.now())
    return sorted(ids)


def broadcast(rt: Runtime, *, templates: tuple[str, ...] = (TEMPLATE_A,), list_name: str =
              "Newsletter", seed: int = 0, subjects: tuple[str, ...] = (),
              **form: str) -> Broadcast:
    """Create a broadcast to the list, as the marketer's form would; the row, detached."""
    now = rt.clock.now()
    known = set(services.choosable(store_for(rt.settings.templates_dir)))
    checked = plan.check(name=form.pop("name", "Spring news"), audience="list",
                         audience_ref=list_name, templates=list(templates),
                         topic=form.pop("topic", ""), timing=form.pop("timing", "now"),
                         known_templates=known, now=now, subjects=list(subjects),
                         subject_problem=subject_lines.problem, **form)
    with rt.db.transaction() as session:
        row = services.create(session, checked, now, by="marketer@example.com",
                              default_tz=rt.settings.timezone, seed=seed)
        session.flush()
        session.expunge(row)
    return row
