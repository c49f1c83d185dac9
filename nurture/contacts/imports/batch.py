"""Writing one batch of an import, in its unit of work: new contacts inserted in bulk,
existing ones updated, filled or left (the policy), consent proof, the list, the
`contact.created` events, and the rows rejected. The caller commits it as one
transaction, with the job's checkpoint: a crash loses the whole batch or nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.consent.models import ConsentRecord
from nurture.consent.records import suppressions
from nurture.contacts.imports.mapping import FIELDS, Accepted
from nurture.contacts.imports.models import ImportReject
from nurture.contacts.imports.options import Options
from nurture.contacts.models import Contact, ListMember, StageChange
from nurture.db import one_of
from nurture.events.bus import NewEvent
from nurture.unit_of_work import Work
from nurture.writes import bulk_insert, bulk_update, insert_ignore_keyed

SOURCE = "import"
UPDATABLE = [name for name in FIELDS if name != "email"]
EMPTY: dict[str, Any] = {name: "" for name in UPDATABLE} | {"company_size": None,
                                                             "stage": "learn"}
MAX_RAW_CELLS, MAX_RAW_CELL = 200, 2000


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    duplicates: int = 0
    rejected: int = 0

    def add(self, other: Counts) -> None:
        for name in ("created", "updated", "skipped", "duplicates", "rejected"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Batch:
    """The rows of one batch, already checked: the accepted ones (first of their address
    in the file) and the rejected ones (line, sentence, the cells as read)."""

    accepted: list[Accepted] = field(default_factory=list)
    rejects: list[tuple[int, str, list[str]]] = field(default_factory=list)
    duplicates: int = 0


def write(work: Work, job_id: int, batch: Batch, options: Options, list_id: int | None,
          now: datetime) -> Counts:
    """Write the batch in the work's transaction; returns what it did."""
    session = work.session
    counts = Counts(duplicates=batch.duplicates,
                    rejected=len(batch.rejects) - batch.duplicates)
    rows = {row.email_key: row for row in batch.accepted}
    existing = {r.email_key: r for r in session.execute(
        select(Contact.__table__).where(one_of(session, Contact.email_key, list(rows))))}
    consent = bool(options.consent_basis) and options.consented_at is not None
    fresh = [_new_row(row, options, now) for key, row in rows.items() if key not in existing]
    work.fill_created(fresh)
    ids = insert_ignore_keyed(session, Contact, fresh, "email_key")  # those inserted now
    new_ids = [ids[r["email_key"]] for r in fresh if r["email_key"] in ids]
    counts.created = len(new_ids)
    counts.skipped = len(fresh) - len(new_ids)  # someone else added them meanwhile
    touched = list(new_ids)
    if options.policy == "skip":
        counts.skipped += len(existing)
        consented = list(new_ids)
    else:
        changes, stages = _changes(session, existing, rows, options, now, job_id)
        bulk_update(session, Contact, changes)
        if stages:
            session.execute(StageChange.__table__.insert(), stages)
        counts.updated = len(existing)
        touched += [c.id for c in existing.values()]
        consented = new_ids + [row["id"] for row in changes if row.get("consent_marketing")]
    if consent:
        bulk_insert(session, ConsentRecord, [
            {"contact_id": cid, "action": "confirmed", "method": f"import:{job_id}"[:40],
             "page": options.consent_basis, "ip": "", "user_agent": "",
             "at": options.consented_at} for cid in consented])
    if list_id is not None and touched:
        _add_to_list(session, list_id, touched, set(new_ids), now, f"import:{job_id}")
    properties = {"import": job_id, "start_journeys": options.start_journeys}
    written = {ids[r["email_key"]]: r for r in fresh if r["email_key"] in ids}
    work.record_created([NewEvent(cid, "contact.created", properties, now, source=SOURCE)
                         for cid in new_ids], written)
    bulk_insert(session, ImportReject, [
        {"job_id": job_id, "line": line, "reason": reason, "raw": _raw(cells)}
        for line, reason, cells in batch.rejects])
    return counts


def _add_to_list(session: Session, list_id: int, ids: list[int], new: set[int],
                 now: datetime, source: str) -> None:
    """`lists.add` in the bulk path: the members not on the list yet, in one insert (an
    import's batches of one job run one after the other, so nobody adds them between).
    Contacts `new` in this transaction are on no list yet: only the others are looked up."""
    old = [cid for cid in ids if cid not in new]
    present = set(session.scalars(select(ListMember.contact_id).where(
        ListMember.list_id == list_id, one_of(session, ListMember.contact_id, old)))) \
        if old else set()
    bulk_insert(session, ListMember, [
        {"list_id": list_id, "contact_id": cid, "added_at": now, "source": source}
        for cid in ids if cid not in present])


def _new_row(row: Accepted, options: Options, now: datetime) -> dict[str, Any]:
    consent = bool(options.consent_basis) and options.consented_at is not None
    return {**EMPTY, **row.fields, "email_key": row.email_key, "attributes": row.attributes,
            "consent_marketing": consent,
            "consent_at": options.consented_at if consent else None,
            "consent_source": f"import: {options.consent_basis}"[:200] if consent else "",
            "created_at": now, "updated_at": now}


def _changes(session: Session, existing: dict[str, Any], rows: dict[str, Accepted],
             options: Options, now: datetime, job_id: int
             ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per existing contact, the columns to change (by `update` or `fill`), and the stage
    changes to record."""
    consent = bool(options.consent_basis) and options.consented_at is not None
    may_consent: set[str] = set()
    if consent:
        # Never over an unsubscribe: someone who said no is not asked again by an import.
        withheld = [k for k, c in existing.items() if not c.consent_marketing]
        may_consent = set(withheld) - set(suppressions(session, withheld))
    changes, stages = [], []
    for key, contact in existing.items():
        given = rows[key]
        change: dict[str, Any] = {"id": contact.id, "updated_at": now}
        for name, value in given.fields.items():
            if name == "email":
                continue
            current = getattr(contact, name)
            if options.policy == "fill" and current not in ("", None) and not (
                    name == "stage" and current == "learn"):
                continue
            if value != current:
                change[name] = value
        attributes = dict(contact.attributes or {})
        added = {k: v for k, v in given.attributes.items()
                 if options.policy == "update" or k not in attributes}
        if any(attributes.get(k) != v for k, v in added.items()):
            change["attributes"] = {**attributes, **added}
        if key in may_consent:
            change.update(consent_marketing=True, consent_at=options.consented_at,
                          consent_source=f"import: {options.consent_basis}"[:200])
        if "stage" in change:
            stages.append({"contact_id": contact.id, "from_stage": contact.stage,
                           "to_stage": change["stage"], "at": now,
                           "cause": f"import {job_id}"})
        changes.append(change)
    return changes, stages


def _raw(cells: Sequence[str]) -> list[str]:
    """The cells as read, kept to download: capped, and any character no database can
    store shown as U+FFFD."""
    return [cell[:MAX_RAW_CELL].replace("\x00", "\ufffd") for cell in cells[:MAX_RAW_CELLS]]
