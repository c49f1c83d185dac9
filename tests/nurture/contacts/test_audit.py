"""The audit trail: who changed which field of a contact and when, kept by the edit
service; an edit reaches the rest of the system as a `contact.updated` event."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nurture.contacts import audit, editing
from nurture.contacts.errors import ContactError
from nurture.contacts.models import StageChange
from tests.helpers import contact, events, get_contact, record, rows


def _trail(rt, cid):
    with rt.db.sessions() as session:
        return audit.trail(session, cid)


def test_each_change_is_kept_with_who_made_it_and_when_newest_first(rt):
    cid = contact(rt, "ann@example.com", first_name="Ann", company="Acme")
    editing.apply(rt, cid, editing.parse({"company": "Acme Europe"}), "mia@example.com")
    rt.clock.advance(timedelta(hours=1))
    editing.apply(rt, cid, editing.parse({"company": "Acme Group", "stage": "try"}),
                  "leo@example.com")

    trail = _trail(rt, cid)

    assert [(e.field, e.old, e.new, e.by) for e in trail] == [
        ("company", "Acme Europe", "Acme Group", "leo@example.com"),
        ("stage", "learn", "try", "leo@example.com"),
        ("company", "Acme", "Acme Europe", "mia@example.com")]
    assert trail[0].at == trail[2].at + timedelta(hours=1)


def test_an_edit_that_changes_nothing_is_not_kept_and_records_no_event(rt):
    cid = contact(rt, "ann@example.com", first_name="Ann")
    assert editing.apply(rt, cid, editing.parse({"first_name": "Ann"}), "mia@example.com") == []
    assert _trail(rt, cid) == []
    assert events(rt, "contact.updated") == []


def test_a_stage_edit_keeps_its_history_like_an_event_would(rt):
    cid = contact(rt, "ann@example.com")
    editing.apply(rt, cid, editing.parse({"stage": "buy"}), "mia@example.com")
    assert [(s.from_stage, s.to_stage, s.cause) for s in rows(rt, StageChange)] == [
        ("learn", "buy", "edited by mia@example.com")]


def test_a_departed_customer_stage_is_not_changed_by_hand(rt):
    cid = contact(rt, "ann@example.com")
    record(rt, cid, "purchase.completed", amount=10, currency="EUR")
    record(rt, cid, "account.deprovisioned")
    assert get_contact(rt, cid).stage == "deprovisioned"
    with pytest.raises(editing.StageRefused, match="service has ended"):
        editing.apply(rt, cid, editing.parse({"stage": "learn"}), "mia@example.com")
    with pytest.raises(ContactError, match="not by hand"):
        editing.parse({"stage": "deprovisioned"})


def test_every_bad_field_is_named_at_once(rt):
    with pytest.raises(ContactError) as refused:
        editing.parse({"first_name": "x" * 200, "company_size": "-3", "timezone": "Mars/Base",
                       "attributes": '{"a": 1', "stage": "nowhere"})
    assert {v.field for v in refused.value.violations} == {
        "first_name", "company_size", "timezone", "attributes", "stage"}
