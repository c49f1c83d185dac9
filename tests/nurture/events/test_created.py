"""The bulk path for new contacts (an import's): `contact.created` recorded without loading
a contact row, scored for fit as the usual path scores it, and handed to a subscriber
with no bulk answer as the usual batch of rows."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from nurture.contacts.models import Contact
from nurture.events.bus import CreatedBatch, NewEvent, Reaction, RecordedBatch
from nurture.events.created import record_created
from nurture.events.errors import EventError
from nurture.events.recorder import record_events
from nurture.unit_of_work import unit_of_work
from nurture.writes import insert_returning
from scoring.models import ContactScore, ScoreEntry
from tests.helpers import contact, events, get_contact, rows

FIELDS = {"industry": "retail", "company_size": 200, "role": "CTO", "country": "DE",
          "first_name": "Ann", "stage": "learn", "attributes": {}}


def _insert(session, *emails: str, **fields: Any) -> dict[int, dict[str, Any]]:
    """New contacts inserted in the session's transaction: their columns, by id."""
    written = [{**FIELDS, **fields, "email": e, "email_key": e} for e in emails]
    ids = insert_returning(session, Contact, written)
    return dict(zip(ids, written, strict=True))


def _ledger(rt, cid: int) -> list[tuple[str, str, float]]:
    return sorted((r.kind, r.rule, r.delta) for r in rows(rt, ScoreEntry,
                                                          ScoreEntry.contact_id == cid))


def test_new_contacts_get_the_fit_score_the_usual_path_gives(rt):
    usual = contact(rt, "usual@example.com", **{k: v for k, v in FIELDS.items()
                                                if k not in ("stage", "attributes")})
    with rt.work(rt.now()) as work:
        record_events(work.session, work.subscribers,
                      [NewEvent(usual, "contact.created", {}, rt.now())], rt.now())
    with rt.work(rt.now()) as work:
        written = _insert(work.session, "bulk@example.com")
        work.record_created([NewEvent(cid, "contact.created", {}, rt.now(), source="import")
                             for cid in written], written)
    bulk = next(iter(written))
    assert get_contact(rt, bulk).score == get_contact(rt, usual).score == 40
    assert _ledger(rt, bulk) == _ledger(rt, usual)
    with rt.db.sessions() as session:
        assert session.get(ContactScore, bulk).grade == "A"
    assert sorted(e.contact_id for e in events(rt, "contact.created")) == sorted([usual, bulk])


def test_a_subscriber_with_no_bulk_answer_gets_the_contact_rows(rt):
    seen: dict[str, Any] = {}

    def usual(session, batch: RecordedBatch) -> Reaction:
        seen["usual"] = {cid: (c.email, c.score) for cid, c in batch.contacts.items()}
        return Reaction()

    class Bulk:
        def __call__(self, session, batch: RecordedBatch) -> Reaction:
            raise AssertionError("the bulk path asks on_created")

        def on_created(self, session, batch: CreatedBatch) -> Reaction:
            seen["bulk"] = sorted(f["email"] for f in batch.fields.values())
            return Reaction(changed=set(batch.fields))

    now = rt.now()
    with unit_of_work(rt.db, rt, now, (Bulk(), usual)) as work:
        written = _insert(work.session, "a@example.com", "b@example.com")
        recorded = work.record_created(
            [NewEvent(cid, "contact.created", {}, now) for cid in written], written)
    assert seen["bulk"] == ["a@example.com", "b@example.com"]
    assert sorted(seen["usual"].values()) == [("a@example.com", 0), ("b@example.com", 0)]
    assert len(recorded.event_ids) == 2


def test_the_bulk_path_records_contact_created_for_the_contacts_given_only(rt):
    cid = contact(rt, "old@example.com")
    now = rt.now()
    with rt.work(now) as work:
        with pytest.raises(ValueError, match=r"contact\.created"):
            record_created(work.session, work.subscribers,
                           [NewEvent(cid, "email.opened", {}, now)], {cid: {}}, now)
        with pytest.raises(ValueError, match=r"contact\.created"):
            record_created(work.session, work.subscribers,
                           [NewEvent(cid, "contact.created", {}, now)], {}, now)
        with pytest.raises(EventError):
            record_created(work.session, work.subscribers,
                           [NewEvent(cid, "contact.created", {"bad": "\x00"}, now)],
                           {cid: {}}, now)
    with rt.db.sessions() as session:
        assert session.scalars(select(Contact.email)).all() == ["old@example.com"]
    assert events(rt, "contact.created") == []


def test_scoring_fills_the_score_before_the_insert_and_corrects_one_that_differs(rt):
    with rt.work(rt.now()) as work:
        filled = [{**FIELDS, "email": "ann@example.com", "email_key": "ann@example.com"}]
        work.fill_created(filled)
        assert filled[0]["score"] == 40  # written with the row: no second write of it
        written = _insert(work.session, "bob@example.com", score=999)
        work.record_created([NewEvent(cid, "contact.created", {}, rt.now())
                             for cid in written], written)
    assert get_contact(rt, next(iter(written))).score == 40
