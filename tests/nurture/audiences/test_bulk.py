"""Bulk actions: counted first, confirmed by a token of exactly what was counted, refused
when the selection changed in between, and done in batches over a whole segment."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from nurture.app import contact_admin
from nurture.audiences import bulk
from nurture.audiences import services as segments
from nurture.consent.records import suppressions
from nurture.contacts import audit, lists
from nurture.contacts.models import Contact, ContactChange, ListMember, StageChange
from nurture.contacts.services import upsert_contacts
from tests.helpers import HELLO, contact, count, enrollments, publish_text, run_due, tampered

BY = "mia@example.com"


def _many(rt, n: int, industry: str = "retail") -> list[int]:
    with rt.db.transaction() as session:
        ids = upsert_contacts(session, [{"email": f"c{i}-{industry}@example.com",
                                         "industry": industry} for i in range(n)])
    return sorted(ids.values())


def _segment(rt, name: str, condition: str) -> None:
    with rt.db.transaction() as session:
        segments.create(session, name, condition, rt.clock.now())


def test_contacts_ticked_are_counted_then_added_to_a_list_made_for_them(rt):
    ids = _many(rt, 3)
    selection = bulk.Selection(ids=(ids[0], ids[2], 999_999))

    plan = contact_admin.plan(rt, selection, "list", " Trade show ")
    done = contact_admin.run(rt, selection, plan.token, BY)

    assert (plan.count, plan.value) == (2, "Trade show")
    assert (done.count, done.changed) == (2, 2)
    assert count(rt, ListMember) == 2
    assert contact_admin.run(rt, selection, plan.token, BY).changed == 0  # already on it
    with rt.db.sessions() as session:
        assert [(e.field, e.new, e.by) for e in audit.trail(session, ids[0])] == [
            ("list", "Trade show", f"{BY} (bulk)")]


def test_a_segment_that_changed_since_it_was_counted_is_refused_and_nothing_changes(rt):
    _many(rt, 3)
    _segment(rt, "Retail", "industry == 'retail'")
    selection = bulk.Selection(segment="Retail")
    plan = contact_admin.plan(rt, selection, "stage", "buy")
    contact(rt, "late@example.com", industry="retail")

    with pytest.raises(bulk.SelectionChanged, match="it now holds 4 contacts, not 3"):
        contact_admin.run(rt, selection, plan.token, BY)

    assert count(rt, Contact, Contact.stage == "buy") == 0


def test_a_token_altered_or_for_another_selection_is_refused(rt):
    ids = _many(rt, 2)
    plan = contact_admin.plan(rt, bulk.Selection(ids=tuple(ids)), "erase", "")
    with pytest.raises(bulk.SelectionChanged, match="expired or was altered"):
        contact_admin.run(rt, bulk.Selection(ids=tuple(ids)), tampered(plan.token), BY)
    with pytest.raises(bulk.SelectionChanged, match="changed since you confirmed"):
        contact_admin.run(rt, bulk.Selection(ids=(ids[0],)), plan.token, BY)
    assert count(rt, Contact) == 2


def test_a_whole_segment_moves_stage_in_batches_with_history_and_audit(rt):
    ids = _many(rt, bulk.BATCH * 2 + 5)
    _many(rt, 4, industry="health")
    _segment(rt, "Retail", "industry == 'retail'")
    selection = bulk.Selection(segment="Retail")

    plan = contact_admin.plan(rt, selection, "stage", "try")
    done = contact_admin.run(rt, selection, plan.token, BY)

    assert plan.count == done.count == done.changed == len(ids)
    assert count(rt, Contact, Contact.stage == "try") == len(ids)
    assert count(rt, StageChange) == len(ids)
    with rt.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ContactChange)) == len(ids)
        assert [e.by for e in audit.trail(session, ids[0])] == [f"{BY} (bulk)"]


def test_contacts_are_enrolled_in_a_live_journey_once(rt):
    publish_text(rt, HELLO)
    ids = _many(rt, 3)
    selection = bulk.Selection(ids=tuple(ids))

    first = contact_admin.run(rt, selection, contact_admin.plan(rt, selection, "journey",
                                                                "hi").token, BY)
    again = contact_admin.run(rt, selection, contact_admin.plan(rt, selection, "journey",
                                                                "hi").token, BY)
    run_due(rt)

    assert (first.changed, again.changed) == (3, 0)
    assert sorted(e.contact_id for e in enrollments(rt)) == ids


def test_a_segment_is_erased_and_its_addresses_stay_suppressed(rt):
    _many(rt, 5)
    keep = contact(rt, "keep@example.com", industry="health")
    _segment(rt, "Retail", "industry == 'retail'")
    selection = bulk.Selection(segment="Retail")

    done = contact_admin.run(rt, selection, contact_admin.plan(rt, selection, "erase",
                                                               "").token, BY)

    assert done.changed == 5
    with rt.db.sessions() as session:
        assert list(session.scalars(select(Contact.id))) == [keep]
        assert set(suppressions(session, ["c0-retail@example.com"]).values()) == {"erased"}


def test_only_the_contacts_a_journey_is_written_for_are_enrolled(rt):
    publish_text(rt, HELLO.replace("entry: {event: custom.joined}",
                                   "entry: {event: custom.joined}\n    stages: [try]"))
    trying = contact(rt, "try@example.com", stage="try")
    learning = contact(rt, "learn@example.com")
    selection = bulk.Selection(ids=(trying, learning))

    done = contact_admin.run(rt, selection, contact_admin.plan(rt, selection, "journey",
                                                               "hi").token, BY)

    assert (done.count, done.changed) == (2, 1)
    assert [e.contact_id for e in enrollments(rt)] == [trying]


@pytest.mark.parametrize(("action", "value", "sentence"), [
    ("journey", "nope", "no live journey"), ("stage", "deprovisioned", "not by hand"),
    ("list", "", "needs a name"), ("fly", "", "Choose an action")])
def test_a_bad_action_or_value_is_a_sentence(rt, action, value, sentence):
    ids = _many(rt, 1)
    with pytest.raises(bulk.BulkRefused, match=sentence):
        contact_admin.plan(rt, bulk.Selection(ids=tuple(ids)), action, value)


def test_nothing_ticked_is_a_sentence(rt):
    with pytest.raises(bulk.BulkRefused, match="Tick at least one contact"):
        contact_admin.plan(rt, bulk.Selection(), "erase", "")


def test_every_contact_on_a_list_is_enrolled_after_the_count_and_a_grown_list_is_refused(rt):
    ids = _many(rt, 4)
    publish_text(rt, HELLO)
    with rt.db.transaction() as session:
        fair = lists.ensure(session, "Fair", rt.clock.now())
        lists.add(session, fair, ids[:3], rt.clock.now())
    selection = bulk.Selection(list_name="Fair")

    plan = contact_admin.plan(rt, selection, "journey", "hi")
    assert plan.count == 3 and selection.describe() == "the list Fair"
    with rt.db.transaction() as session:
        lists.add(session, fair, ids[3:], rt.clock.now())
    with pytest.raises(bulk.SelectionChanged, match="it now holds 4 contacts, not 3"):
        contact_admin.run(rt, selection, plan.token, BY)
    assert all(not enrollments(rt, cid) for cid in ids)

    again = contact_admin.plan(rt, selection, "journey", "hi")
    with pytest.raises(bulk.SelectionChanged, match="not the one confirmed"):
        contact_admin.run(rt, bulk.Selection(segment="Fair"), again.token, BY)
    done = contact_admin.run(rt, selection, again.token, BY)
    run_due(rt)
    assert (done.count, done.changed) == (4, 4)
    assert all(len(enrollments(rt, cid)) == 1 for cid in ids)


def test_a_list_that_does_not_exist_is_a_sentence(rt):
    with pytest.raises(bulk.BulkRefused, match="There is no list called 'Nope'"):
        contact_admin.plan(rt, bulk.Selection(list_name="Nope"), "stage", "buy")
