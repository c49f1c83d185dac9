"""Lists: a contact is on a list once, however often it is added; a removed or erased
contact is on it no more; names are checked with a sentence."""

from __future__ import annotations

import pytest
from sqlalchemy import delete

from nurture.contacts import lists
from nurture.contacts.errors import ContactError
from nurture.contacts.models import Contact
from tests.conftest import START
from tests.helpers import contact


def test_a_contact_is_on_a_list_once_and_the_counts_say_so(rt):
    ann, bob, cy = (contact(rt, f"{n}@example.com") for n in ("ann", "bob", "cy"))
    with rt.db.transaction() as session:
        fair = lists.ensure(session, "  Trade fair 2026 ", START, by="mia@acme.example")
        assert lists.ensure(session, "Trade fair 2026", START) == fair
        assert lists.add(session, fair, [ann, bob, ann], START, source="import:1") == 2
        assert lists.add(session, fair, [bob, cy], START) == 1
        vip = lists.ensure(session, "VIP", START)
        lists.add(session, vip, [ann], START)
    with rt.db.transaction() as session:
        assert [(s.name, s.members) for s in lists.summaries(session)] == [
            ("Trade fair 2026", 3), ("VIP", 1)]
        assert lists.of_contact(session, ann) == ["Trade fair 2026", "VIP"]
        assert lists.remove(session, fair, [bob, bob]) == 1
        session.execute(delete(Contact).where(Contact.id == cy))
    with rt.db.transaction() as session:
        assert [(s.name, s.members) for s in lists.summaries(session)] == [
            ("Trade fair 2026", 1), ("VIP", 1)]
        assert lists.find(session, "VIP") == vip and lists.find(session, "vip ") is None


@pytest.mark.parametrize(("name", "sentence"), [
    ("   ", "A list needs a name."),
    ("x" * 121, "A list's name is at most 120 characters; this one has 121."),
    ("a\x00b", "The text contains a NUL character (at position 2), which cannot be stored; "
               "remove it and try again."),
])
def test_a_name_that_cannot_be_a_list_is_refused_with_a_sentence(rt, name, sentence):
    with rt.db.transaction() as session, pytest.raises(ContactError) as raised:
        lists.ensure(session, name, START)
    assert str(raised.value) == sentence
