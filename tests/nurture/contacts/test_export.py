"""The data-access export: everything stored about a contact, found by walking the
schema, in one JSON document; nothing about anyone else."""

from __future__ import annotations

import json

from nurture.app import contact_admin
from nurture.contacts import lists
from nurture.inbound.services import handle, mailboxes
from tests.factories import paying_customer
from tests.helpers import contact, record


def test_the_export_holds_every_table_about_the_contact_and_nothing_of_others(rt):
    cid = paying_customer(rt, "ann@lee-retail.example", company="Lee Retail")
    bob = contact(rt, "bob@example.org", first_name="Bob")
    record(rt, bob, "page.visited", url="https://example.org/bob")
    record(rt, cid, "nps.answered", score=9, category="promoter", reason="Fast support")
    now = rt.clock.now()
    with rt.db.transaction() as session:
        lists.add(session, lists.ensure(session, "VIP", now), [cid, bob], now)
    handle(rt, mailboxes(rt.settings), b"From: ann@lee-retail.example\r\nSubject: Hi\r\n"
           b"Message-ID: <x1@lee-retail.example>\r\n\r\nHello\r\n", "inbound-api")
    contact_admin.edit(rt, "ann@lee-retail.example", {"role": "CFO"}, "mia@example.com")

    document = contact_admin.export(rt, "ANN@lee-retail.example")

    text = json.dumps(document)  # it is JSON as it is
    tables = document["tables"]
    assert {"contacts", "events", "list_members", "contact_changes",
            "inbound_messages", "accounts", "referral_sources"} <= set(tables)
    assert tables["contacts"][0]["email"] == "ann@lee-retail.example"
    assert {e["type"] for e in tables["events"]} >= {"purchase.completed", "nps.answered"}
    assert "Fast support" in text
    assert tables["accounts"][0]["name"] == "Lee Retail"
    assert all(row["contact_id"] == cid for row in tables["events"])
    assert "bob@example.org" not in text and "example.org/bob" not in text
