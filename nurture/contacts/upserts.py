"""Contacts created or updated by an API call, one or a thousand at a time.

Each item is checked on its own by the console's rules (`given.check`), so a bad item is
reported and the others are written. A chunk of items is then written set-based in one
transaction, as an import's batch is: new contacts inserted in bulk with their
`contact.created` events (source `api`, so that journeys start for them, unlike an
import's), existing ones updated in bulk with their audit rows (who: the token's user),
their stage history and a `contact.updated` event each, so that whatever reacts to a
changed contact reacts to an API call as to a person's edit. Marketing consent stated with
its basis is kept as proof, and never set over an unsubscribe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from nurture.consent.models import ConsentRecord
from nurture.consent.records import suppressions
from nurture.contacts import audit, editing
from nurture.contacts.errors import ContactError
from nurture.contacts.given import Consent, Given, check
from nurture.contacts.models import Contact, StageChange
from nurture.db import one_of
from nurture.errors import Conflict
from nurture.events.bus import NewEvent
from nurture.events.effects import CONTACT_FIELDS
from nurture.unit_of_work import Work, Works
from nurture.violations import Violation
from nurture.writes import bulk_insert, bulk_update, insert_ignore_keyed

SOURCE = "api"
CHUNK = 500  # items per transaction
EMPTY: dict[str, Any] = {name: "" for name in CONTACT_FIELDS} | {"company_size": None}


class ContactExists(Conflict):
    """Raised when a contact is created with an address another contact has."""


@dataclass(frozen=True)
class Outcome:
    """What became of one item: `created` or `updated` with the contact's id, or `error`
    with every reason."""

    status: Literal["created", "updated", "error"]
    id: int | None = None
    errors: tuple[Violation, ...] = ()


def create(works: Works, data: Mapping[str, Any], by: str) -> int:
    """A new contact; ContactError when it breaks a rule, ContactExists naming the contact
    that has the address already."""
    given = check(data, works.now())
    with works.work(works.now()) as work:
        outcome = write(work, [given], by, update=False)[0]
    if outcome.status != "created" or outcome.id is None:
        raise ContactExists(outcome.errors[0].message)
    return outcome.id


def upsert(works: Works, data: Mapping[str, Any], by: str) -> tuple[bool, int]:
    """Create the contact, or update the one with its address: whether it was created,
    and its id. ContactError when it breaks a rule, Conflict when its stage cannot change
    (a departed customer's)."""
    given = check(data, works.now())
    with works.work(works.now()) as work:
        outcome = write(work, [given], by)[0]
    if outcome.status == "error" or outcome.id is None:
        raise Conflict(outcome.errors[0].message)
    return outcome.status == "created", outcome.id


def bulk(works: Works, items: Sequence[Mapping[str, Any]], by: str,
         chunk: int = CHUNK) -> list[Outcome]:
    """Each item created or updated, or refused with its reasons; one transaction per
    `chunk` items. The outcomes are in the items' order."""
    now = works.now()
    outcomes: list[Outcome] = []
    checked_items: list[Given | Outcome] = []
    for data in items:
        try:
            checked_items.append(check(data, now))
        except ContactError as exc:
            checked_items.append(Outcome("error", errors=tuple(exc.violations)))
    for start in range(0, len(checked_items), chunk):
        part = checked_items[start:start + chunk]
        good = [g for g in part if isinstance(g, Given)]
        with works.work(works.now()) as work:
            written = iter(write(work, good, by))
        outcomes += [next(written) if isinstance(g, Given) else g for g in part]
    return outcomes


def write(work: Work, items: Sequence[Given], by: str, update: bool = True) -> list[Outcome]:
    """Write the items in the work's transaction, set-based; the outcomes in their order.
    An address given twice is written once, at its first item. `update`: whether a
    contact that exists is updated (an upsert) or is an error (a create)."""
    outcomes: dict[int, Outcome] = {}
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        if item.email_key in first:
            outcomes[i] = Outcome("error", errors=(Violation("email", (
                f"The address {item.email[:80]!r} is given twice in this call; only its "
                "first item was written. Send each contact once.")),))
        else:
            first[item.email_key] = i
    session = work.session
    existing = _locked(session, list(first))
    created, lost = _created(work, [(i, items[i]) for k, i in first.items()
                                    if k not in existing])
    outcomes.update(created)
    # Another call created these meanwhile, and has committed: they exist now.
    existing.update(_locked(session, [items[i].email_key for i in lost]))
    if not update:
        return [outcomes.get(i) or _exists(items[i], existing[items[i].email_key].id)
                for i in range(len(items))]
    outcomes.update(_updated(work, [(first[k], items[first[k]], row)
                                    for k, row in existing.items()], by))
    return [outcomes[i] for i in range(len(items))]


def _exists(item: Given, contact_id: int) -> Outcome:
    return Outcome("error", contact_id, (Violation("email", (
        f"A contact with the address {item.email[:80]} exists already (id {contact_id}); "
        f"change it with PATCH /api/v1/contacts/{contact_id}, or upsert it.")),))


def _locked(session: Session, keys: list[str]) -> dict[str, Any]:
    """The contacts with these addresses, as rows, locked in id order as every writer
    locks contacts: two calls on the same contacts queue up rather than deadlock, and
    neither merges attributes it read before the other's change."""
    if not keys:
        return {}
    query = select(Contact.__table__).where(one_of(session, Contact.email_key, keys)) \
        .order_by(Contact.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return {r.email_key: r for r in session.execute(query)}


def _created(work: Work, new: list[tuple[int, Given]]
             ) -> tuple[dict[int, Outcome], list[int]]:
    """The new contacts inserted, with their consent proof and `contact.created`; and the
    items another call inserted first (by their index)."""
    session, now = work.session, work.now
    new = sorted(new, key=lambda pair: pair[1].email_key)  # two calls wait, not deadlock
    fresh = [_new_row(item, now) for _, item in new]
    work.fill_created(fresh)
    ids = insert_ignore_keyed(session, Contact, fresh, "email_key")
    made = [(i, ids[item.email_key], item) for i, item in new if item.email_key in ids]
    bulk_insert(session, ConsentRecord, [_proof(cid, item.consent) for _, cid, item in made
                                         if item.consent is not None])
    written = {r_id: row for row in fresh if (r_id := ids.get(row["email_key"])) is not None}
    work.record_created([NewEvent(cid, "contact.created", {}, now, source=SOURCE)
                         for _, cid, _ in made], written)
    return ({i: Outcome("created", cid) for i, cid, _ in made},
            [i for i, item in new if item.email_key not in ids])


def _new_row(item: Given, now: datetime) -> dict[str, Any]:
    consent = item.consent
    return {**EMPTY, **item.fields, "email": item.email, "email_key": item.email_key,
            "stage": item.stage or "learn",
            "attributes": {k: v for k, v in item.attributes.items() if v is not None},
            "consent_marketing": consent is not None,
            "consent_at": consent.at if consent else None,
            "consent_source": f"api: {consent.basis}"[:200] if consent else "",
            "created_at": now, "updated_at": now}


def _proof(contact_id: int, consent: Consent) -> dict[str, Any]:
    return {"contact_id": contact_id, "action": "confirmed", "method": SOURCE,
            "page": consent.basis[:500], "ip": "", "user_agent": "", "at": consent.at}


def _updated(work: Work, rows: list[tuple[int, Given, Any]], by: str) -> dict[int, Outcome]:
    """The existing contacts' changes, in bulk: columns, stage history, consent proof,
    audit rows and one `contact.updated` each."""
    session, now = work.session, work.now
    asking = [row.email_key for _, item, row in rows
              if item.consent is not None and not row.consent_marketing]
    unsubscribed = set(suppressions(session, asking)) if asking else set()
    outcomes: dict[int, Outcome] = {}
    columns, stages, proofs, trail, events = [], [], [], [], []
    for i, item, row in rows:
        if item.stage is not None and item.stage != row.stage and \
                row.stage == editing.DEPARTED:
            outcomes[i] = Outcome("error", row.id, (Violation("stage", (
                "This customer's service has ended; their stage changes only with a new "
                "trial or purchase.")),))
            continue
        outcomes[i] = Outcome("updated", row.id)
        change: dict[str, Any] = {name: value for name, value in item.fields.items()
                                  if row._mapping[name] != value}
        moved = [audit.Change(row.id, name, row._mapping[name], value)
                 for name, value in change.items()]
        properties: dict[str, Any] = dict(change)
        current = dict(row.attributes or {})
        touched = {k: v for k, v in item.attributes.items()
                   if audit.shown(current.get(k)) != audit.shown(v)}
        if touched:
            change["attributes"] = {k: v for k, v in {**current, **touched}.items()
                                    if v is not None}
            moved += [audit.Change(row.id, f"attributes.{k}", current.get(k), v)
                      for k, v in sorted(touched.items())]
            properties["attributes"] = {k: v for k, v in touched.items() if v is not None}
        if item.stage is not None and item.stage != row.stage:
            change["stage"] = item.stage
            moved.append(audit.Change(row.id, "stage", row.stage, item.stage))
            stages.append({"contact_id": row.id, "from_stage": row.stage,
                           "to_stage": item.stage, "at": now,
                           "cause": f"changed by {by} through the API"[:2000]})
        if item.consent is not None and not row.consent_marketing and \
                row.email_key not in unsubscribed:
            change.update(consent_marketing=True, consent_at=item.consent.at,
                          consent_source=f"api: {item.consent.basis}"[:200])
            moved.append(audit.Change(row.id, "consent_marketing", False, True))
            proofs.append(_proof(row.id, item.consent))
        if not moved:
            continue
        columns.append({"id": row.id, **change, "updated_at": now})
        trail += moved
        events.append(NewEvent(row.id, "contact.updated", properties, now, source=SOURCE))
    bulk_update(session, Contact, columns)
    if stages:
        session.execute(insert(StageChange), stages)
    bulk_insert(session, ConsentRecord, proofs)
    audit.record(session, trail, by, now)
    work.record(events)
    return outcomes
