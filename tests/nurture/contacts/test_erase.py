"""Erasing a contact: nothing personal is left in any table, the address stays only as a
hash on the suppression list, and it is never mailed again without a new opt-in."""

from __future__ import annotations

import json

from sqlalchemy import select, text

from nurture.app import contact_admin
from nurture.consent.records import suppressions
from nurture.contacts import lists, privacy
from nurture.contacts.imports.models import ImportJob, ImportReject
from nurture.contacts.services import upsert_contacts
from nurture.inbound.services import handle, mailboxes
from nurture.models import Base
from nurture.webhooks.models import WebhookDelivery
from tests.factories import paying_customer, post_sign_up, rep
from tests.helpers import contact, contact_id, record, run_due, web_client

EMAIL = "annabella@zyxwright.example"
PERSONAL = ("annabella", "zyxwright", "7946 0123", "quillfeather")


def _a_contact_with_a_history(rt) -> int:
    """A sign-up (trial, consent proof, shipping address, IP), a purchase (account,
    referral code), an NPS answer, an email from them, a list, an owner and an edit."""
    client = web_client(rt)
    answer = post_sign_up(client, email=EMAIL, first_name="Annabella", last_name="Quillfeather",
                          company="Zyxwright Retail", phone="+44 20 7946 0123",
                          tech_name="Annabella Quillfeather", tech_email=EMAIL)
    assert answer.status_code == 303, answer.text
    run_due(rt)
    cid = contact_id(rt, EMAIL)
    paying_customer(rt, EMAIL)
    record(rt, cid, "nps.answered", score=4, category="detractor",
           reason="Annabella says the export is slow")
    record(rt, cid, "page.visited", url="https://zyxwright.example/pricing")
    handle(rt, mailboxes(rt.settings), f"From: Annabella <{EMAIL}>\r\nSubject: Hello from "
           "Zyxwright\r\nMessage-ID: <a1@zyxwright.example>\r\n\r\nCall me.\r\n".encode(),
           "inbound-api")
    now = rt.clock.now()
    with rt.db.transaction() as session:
        lists.add(session, lists.ensure(session, "Trade show", now), [cid], now)
        # A line of a later import refused for its stage, and what a CRM was told of them
        # (written as the import and the hand-off's webhook write them), beside another's.
        job = ImportJob(file_name="fair.csv", path="/tmp/fair.csv", created_at=now)
        session.add(job)
        session.flush()
        session.add_all([
            ImportReject(job_id=job.id, line=2, reason="The stage 'x' is unknown.",
                         raw=[EMAIL.upper(), "Annabella", "x"]),
            ImportReject(job_id=job.id, line=3, reason="The stage 'y' is unknown.",
                         raw=["bob@example.org", "Bob", "y"]),
            WebhookDelivery(delivery_key="handoff:1:opened", url="https://crm.example/hook",
                            event="handoff.opened", created_at=now,
                            payload={"lead": {"email": EMAIL, "first_name": "Annabella"}})])
    rep(rt, "rep@example.com")
    contact_admin.edit(rt, EMAIL, {"role": "Head of Zyxwright IT", "owner": "rep@example.com",
                                   "attributes": '{"nickname": "Annabella Q"}'},
                       "marketer@example.com")
    run_due(rt)
    return cid


def _personal_values_left(rt) -> list[str]:
    found = []
    with rt.db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                for column, value in row._mapping.items():
                    shown = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                    for needle in PERSONAL:
                        if needle in shown.lower():
                            found.append(f"{table.name}.{column} holds {needle!r}")
    return found


def test_after_erasure_no_table_holds_anything_personal(rt):
    _a_contact_with_a_history(rt)
    bob = contact(rt, "bob@example.org", first_name="Bob", company="Bob Bikes")
    assert _personal_values_left(rt), "the test's contact left nothing to find"

    contact_admin.erase(rt, EMAIL, "admin@example.com")

    left = _personal_values_left(rt)
    assert left == [], "\n".join(left)
    with rt.db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM contacts WHERE id = :id"),
                            {"id": bob}).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM import_rejects")).scalar() == 1


def test_an_address_is_matched_as_written_not_as_a_pattern(rt):
    contact(rt, "a_b%c@example.com")
    now = rt.clock.now()
    with rt.db.transaction() as session:
        job = ImportJob(file_name="f.csv", path="/tmp/f.csv", created_at=now)
        session.add(job)
        session.flush()
        session.add_all([ImportReject(job_id=job.id, line=n, reason="Bad.", raw=[address])
                         for n, address in enumerate(["A_B%C@example.com", "axbyc@example.com",
                                                      "a_b%cd@example.com.au"])])
    contact_admin.erase(rt, "a_b%c@example.com", "admin@example.com")
    with rt.db.engine.connect() as conn:
        left = [r[0] for r in conn.execute(text("SELECT raw FROM import_rejects ORDER BY line"))]
    assert [json.loads(r) if isinstance(r, str) else r for r in left] == [
        ["axbyc@example.com"], ["a_b%cd@example.com.au"]]


def test_an_erased_address_stays_suppressed_when_it_comes_back(rt):
    _a_contact_with_a_history(rt)
    contact_admin.erase(rt, EMAIL, "admin@example.com")
    with rt.db.transaction() as session:
        upsert_contacts(session, [{"email": EMAIL.upper(), "first_name": "Annabella"}])
    with rt.db.sessions() as session:
        assert suppressions(session, [EMAIL]) == {EMAIL: "erased"}


def test_every_table_is_walked_or_declared(rt):
    tables = Base.metadata.sorted_tables
    missing = sorted(t.name for t in tables if t.name not in privacy.covered(tables))
    assert missing == [], ("Say in nurture/contacts/privacy.py how these tables hold a "
                           f"contact (or that they do not): {missing}")


def test_every_table_that_names_a_contact_is_exported_and_erased(rt):
    tables = Base.metadata.sorted_tables
    walked = {link.table.name for link in privacy.links(tables)}
    for table in tables:
        names = {c.name for c in table.columns}
        refers = any(k.column.table.name == "contacts" for c in table.columns
                     for k in c.foreign_keys) or names & {"contact_id", "friend_id"}
        if refers:
            assert table.name in walked, table.name
        if any("email" in n or "address" in n for n in names) and table.name not in (
                "contacts", "users", "suppressions"):
            assert table.name in walked or table.name in privacy.BY_ADDRESS, table.name


def test_erasing_a_contact_twice_erases_nothing_more(rt):
    cid = contact(rt, EMAIL, first_name="Annabella")
    contact_admin.erase(rt, EMAIL, "admin@example.com")
    with rt.work(rt.clock.now()) as work:
        assert privacy.erase(work.session, Base.metadata.sorted_tables, [cid], "x",
                             rt.clock.now()) == 0
    with rt.db.sessions() as session:
        assert session.execute(select(text("count(*)")).select_from(
            text("suppressions"))).scalar() == 1
