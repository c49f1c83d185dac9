"""/api/v1/contacts: a contact created, read, changed (audited as the token's user), upserted,
erased; the list filtered as the console's; a contact's sends with why one did not go; and
the console's rules for who may do what."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import insert, update

from nurture.audiences.models import Segment
from nurture.consent.models import ConsentRecord, Suppression
from nurture.consent.records import erased_key
from nurture.contacts import lists
from nurture.contacts.models import Contact, ContactChange, StageChange
from nurture.events.bus import NewEvent
from nurture.events.models import Event
from nurture.events.services import record_many
from nurture.sending.models import Send
from tests.factories import rep
from tests.helpers import ApiClient, contact, count, get_contact, problem_of, rows

BASIS = {"basis": "Signed up at the Berlin fair", "at": "2026-01-02T10:00:00Z"}


def test_a_contact_created_is_read_back_and_a_patch_is_audited_as_the_tokens_user(rt):
    api = ApiClient(rt, role="marketer", scope="write", email="mia@example.com")
    made = api.post("/api/v1/contacts", json={
        "email": "Ann@Example.com", "first_name": "Ann", "company": "Acme",
        "company_size": 40, "country": "DE", "attributes": {"plan": "gold"}})
    assert made.status_code == 201, made.text
    cid = made.json["id"]
    assert made.headers["Location"] == f"/api/v1/contacts/{cid}"
    read = api.get(made.headers["Location"])
    assert read.json["email"] == "Ann@Example.com" and read.json["stage"] == "learn"
    assert read.json["attributes"] == {"plan": "gold"}
    assert read.json["consent"]["marketing"] is False
    assert read.json["created_at"].endswith("Z") or "+00:00" in read.json["created_at"]
    assert count(rt, Event, Event.contact_id == cid, Event.type == "contact.created") == 1
    assert api.get(f"/api/v1/contacts/{cid}",
                   headers={"If-None-Match": read.headers["ETag"]}).status_code == 304

    changed = api.patch(f"/api/v1/contacts/{cid}", headers={"If-Match": read.headers["ETag"]},
                        json={"company": "Acme GmbH", "stage": "try",
                              "attributes": {"plan": None, "seats": 5}})
    assert changed.status_code == 200, changed.text
    assert changed.json["company"] == "Acme GmbH" and changed.json["stage"] == "try"
    assert changed.json["attributes"] == {"seats": 5}
    trail = {(c.field, c.old, c.new, c.by) for c in rows(rt, ContactChange)}
    assert trail == {("company", "Acme", "Acme GmbH", "mia@example.com"),
                     ("stage", "learn", "try", "mia@example.com"),
                     ("attributes.plan", "gold", "", "mia@example.com"),
                     ("attributes.seats", "", "5", "mia@example.com")}
    assert count(rt, Event, Event.type == "contact.updated", Event.source == "api") == 1
    assert count(rt, StageChange, StageChange.contact_id == cid) == 1
    # The first read's ETag is stale now: a blind overwrite is refused, nothing changes.
    stale = api.patch(f"/api/v1/contacts/{cid}", headers={"If-Match": read.headers["ETag"]},
                      json={"company": "Other"})
    problem_of(stale, 412)
    assert get_contact(rt, cid).company == "Acme GmbH"


def test_a_bad_value_is_a_422_sentence_by_the_consoles_rules_and_nothing_is_saved(rt):
    api = ApiClient(rt, role="marketer", scope="write")
    answer = api.post("/api/v1/contacts", json={
        "email": "ann@example.com", "country": "de", "stage": "deprovisioned",
        "timezone": "Mars/Olympus"})
    assert answer.status_code == 422, answer.text
    bad = answer.json
    assert bad["detail"].endswith("(2 more problems: see the list.)")
    fields = {e["field"] for e in bad["errors"]}
    assert fields == {"country", "stage", "timezone"}
    assert "set by ending the customer's service" in str(bad["errors"])
    problem_of(api.post("/api/v1/contacts", json={"email": "not-an-address"}), 422)
    cid = contact(rt, "bob@example.com")
    problem_of(api.patch(f"/api/v1/contacts/{cid}", json={"owner": "nobody@example.com"}),
               422)
    assert count(rt, Contact) == 1 and count(rt, ContactChange) == 0


def test_an_existing_address_is_a_409_naming_the_contact_and_a_retry_replays(rt):
    api = ApiClient(rt, role="marketer", scope="write")
    cid = contact(rt, "ann@example.com")
    taken = problem_of(api.post("/api/v1/contacts", json={"email": "ANN@example.com"}), 409)
    assert f"(id {cid})" in taken["detail"]
    key = {"Idempotency-Key": "4a7e0e52-6a43-4df4-9a47-1d1f8a7d3c11"}
    first = api.post("/api/v1/contacts", json={"email": "bob@example.com"}, headers=key)
    again = api.post("/api/v1/contacts", json={"email": "bob@example.com"}, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and again.json == first.json
    assert count(rt, Contact) == 2


def test_marketing_consent_needs_its_basis_and_is_kept_as_proof(rt):
    api = ApiClient(rt, role="marketer", scope="write")
    no_date = problem_of(api.post("/api/v1/contacts", json={
        "email": "ann@example.com", "consent": {"basis": "Berlin fair"}}), 422)
    assert no_date["errors"][0]["field"] == "consent.at"
    problem_of(api.post("/api/v1/contacts", json={
        "email": "ann@example.com", "consent_marketing": True}), 422)
    future = problem_of(api.post("/api/v1/contacts", json={
        "email": "ann@example.com",
        "consent": {"basis": "Berlin fair", "at": "2099-01-01T00:00:00Z"}}), 422)
    assert "future" in future["detail"]
    made = api.post("/api/v1/contacts", json={"email": "ann@example.com", "consent": BASIS})
    assert made.json["consent"]["marketing"] is True
    assert made.json["consent"]["source"] == "api: Signed up at the Berlin fair"
    proof = rows(rt, ConsentRecord)
    assert [(p.action, p.method, p.page) for p in proof] == [
        ("confirmed", "api", "Signed up at the Berlin fair")]


def test_an_upsert_creates_then_updates_and_never_consents_over_an_unsubscribe(rt):
    api = ApiClient(rt, role="marketer", scope="write", email="mia@example.com")
    first = api.post("/api/v1/contacts/upsert", json={
        "email": "ann@example.com", "first_name": "Ann", "attributes": {"plan": "gold"}})
    assert first.status_code == 201, first.text
    second = api.post("/api/v1/contacts/upsert", json={
        "email": "ANN@example.com", "last_name": "Lee", "attributes": {"seats": 3}})
    assert second.status_code == 200, second.text
    assert second.json["id"] == first.json["id"]
    assert (second.json["first_name"], second.json["last_name"]) == ("Ann", "Lee")
    assert second.json["attributes"] == {"plan": "gold", "seats": 3}
    assert {c.field for c in rows(rt, ContactChange)} == {"last_name", "attributes.seats"}
    assert count(rt, Contact) == 1
    # Someone who unsubscribed is not opted in again by a stated consent.
    bob = contact(rt, "bob@example.com")
    with rt.db.transaction() as session:
        session.add(Suppression(email_key="bob@example.com", reason="unsubscribed",
                                source="one-click", created_at=rt.clock.now()))
    kept = api.post("/api/v1/contacts/upsert", json={"email": "bob@example.com",
                                                     "consent": BASIS})
    assert kept.status_code == 200 and kept.json["consent"]["marketing"] is False
    assert kept.json["consent"]["suppressed"] == "unsubscribed"
    assert get_contact(rt, bob).consent_marketing is False


def test_a_bulk_upsert_answers_each_item_and_bad_ones_do_not_stop_good_ones(rt):
    api = ApiClient(rt, role="marketer", scope="write")
    old = contact(rt, "old@example.com", first_name="Old")
    answer = api.post("/api/v1/contacts/bulk", json={"items": [
        {"email": "a@example.com", "first_name": "A"},
        {"email": "old@example.com", "first_name": "Renewed"},
        {"email": "b@example.com", "country": "Germany"},
        {"email": "c@example.com", "stage": "try"},
        {"email": 42},
    ]})
    assert answer.status_code == 200, answer.text
    body = answer.json
    assert (body["created"], body["updated"], body["failed"]) == (2, 1, 2)
    assert [r["status"] for r in body["results"]] == [
        "created", "updated", "error", "created", "error"]
    assert body["results"][1]["id"] == old
    assert body["results"][2]["errors"][0]["field"] == "country"
    assert body["results"][4]["errors"][0]["field"] == "email"
    assert get_contact(rt, old).first_name == "Renewed"
    assert count(rt, Contact) == 3


def test_a_bulk_of_1001_is_refused_with_a_sentence_and_1000_go_in_quickly(rt):
    api = ApiClient(rt, role="marketer", scope="write")
    items = [{"email": f"p{i:04d}@example.com", "company": "Acme"} for i in range(1001)]
    refused = problem_of(api.post("/api/v1/contacts/bulk", json={"items": items}), 422)
    assert "more than 1000 items" in refused["detail"]
    assert count(rt, Contact) == 0
    started = time.monotonic()
    done = api.post("/api/v1/contacts/bulk", json={"items": items[:1000]})
    took = time.monotonic() - started
    assert done.status_code == 200 and done.json["created"] == 1000, done.text[:300]
    assert count(rt, Contact) == 1000
    assert took < 5, f"1,000 contacts took {took:.1f} s"
    again = api.post("/api/v1/contacts/bulk", json={"items": [
        {**item, "company": "Beta"} for item in items[:1000]]})
    assert again.json["updated"] == 1000
    assert count(rt, Contact, Contact.company == "Beta") == 1000


def test_an_erased_contact_is_gone_leaving_only_a_hash_on_the_suppression_list(rt):
    api = ApiClient(rt, role="marketer", scope="write", email="mia@example.com")
    cid = api.post("/api/v1/contacts", json={"email": "ann@example.com",
                                             "consent": BASIS}).json["id"]
    export = api.get(f"/api/v1/contacts/{cid}/export")
    assert export.status_code == 200 and export.json["email"] == "ann@example.com"
    assert export.json["tables"]["consent_records"]
    assert api.delete(f"/api/v1/contacts/{cid}").status_code == 204
    problem_of(api.get(f"/api/v1/contacts/{cid}"), 404)
    problem_of(api.delete(f"/api/v1/contacts/{cid}"), 404)
    assert count(rt, Contact) == 0 and count(rt, ConsentRecord) == 0
    kept = rows(rt, Suppression)
    assert [s.email_key for s in kept] == [erased_key("ann@example.com")]


def _people(rt) -> dict[str, int]:
    ids = {}
    for i, (stage, vertical, consent) in enumerate([
            ("learn", "retail", True), ("try", "retail", False), ("try", "health", True),
            ("buy", "retail", True), ("learn", "health", False)]):
        ids[f"p{i}"] = contact(rt, f"p{i}@example.com", first_name=f"Person{i}", stage=stage,
                               industry=vertical, consent_marketing=consent,
                               consent_source="test")
    return ids


def _walk(api: ApiClient, path: str) -> list[str]:
    found, url = [], path
    while url:
        page = api.get(url)
        assert page.status_code == 200, page.text
        found += [c["email"] for c in page.json["data"]]
        cursor = page.json["next_cursor"]
        url = f"{path}{'&' if '?' in path else '?'}cursor={cursor}" if cursor else None
    return found


def test_the_list_pages_by_id_and_filters_as_the_consoles(rt):
    ids = _people(rt)
    api = ApiClient(rt, role="marketer", scope="read")
    assert _walk(api, "/api/v1/contacts?limit=2") == [f"p{i}@example.com" for i in range(5)]
    assert _walk(api, "/api/v1/contacts?stage=try&limit=1") == ["p1@example.com",
                                                                 "p2@example.com"]
    assert _walk(api, "/api/v1/contacts?vertical=retail&consent=true") == [
        "p0@example.com", "p3@example.com"]
    assert _walk(api, "/api/v1/contacts?q=person4") == ["p4@example.com"]
    assert _walk(api, "/api/v1/contacts?email=P2@EXAMPLE.COM") == ["p2@example.com"]
    now = rt.clock.now()
    with rt.db.transaction() as session:
        list_id = lists.ensure(session, "VIP", now)
        lists.add(session, list_id, [ids["p1"], ids["p3"]], now)
        session.add(Segment(name="buyers", condition='stage == "buy"', created_at=now,
                            updated_at=now))
    segment_id = rows(rt, Segment)[0].id
    assert _walk(api, f"/api/v1/contacts?list={list_id}") == ["p1@example.com",
                                                              "p3@example.com"]
    assert _walk(api, f"/api/v1/contacts?segment={segment_id}") == ["p3@example.com"]
    unknown = problem_of(api.get("/api/v1/contacts?segment=999"), 422)
    assert unknown["errors"][0]["field"] == "segment"
    with rt.db.transaction() as session:  # all of them last changed an hour ago
        session.execute(update(Contact).values(updated_at=now))
    rt.clock.advance(timedelta(hours=1))
    writer = ApiClient(rt, role="marketer", scope="write", email="w@example.com")
    writer.patch(f"/api/v1/contacts/{ids['p4']}", json={"company": "Late"})
    since = (rt.clock.now() - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    assert _walk(api, f"/api/v1/contacts?updated_since={since}") == ["p4@example.com"]


def test_a_contacts_sends_newest_first_with_why_one_did_not_go(rt):
    cid = contact(rt, "ann@example.com")
    now = rt.clock.now()
    with rt.db.transaction() as session:
        session.execute(insert(Send), [
            {"send_key": f"k{i}", "contact_id": cid, "to_email": "ann@example.com",
             "journey_id": "trial", "template": f"t{i}", "status": "sent",
             "created_at": now + timedelta(minutes=i), "sent_at": now + timedelta(minutes=i)}
            for i in range(3)] + [
            {"send_key": "skip", "contact_id": cid, "to_email": "ann@example.com",
             "journey_id": "trial", "template": "tips", "status": "skipped",
             "reason": "suppressed:unsubscribed", "created_at": now + timedelta(hours=1)}])
    rt.clock.advance(timedelta(hours=2))
    later = rt.clock.now()
    record_many(rt, [NewEvent(cid, "email.opened", {"send": "k2", "machine": False}, later),
                     NewEvent(cid, "email.opened", {"send": "k2", "machine": True}, later),
                     NewEvent(cid, "email.clicked", {"send": "k2", "machine": False,
                                                     "url": "https://x.io", "link": 0}, later)])
    api = ApiClient(rt, role="marketer", scope="read")
    first = api.get(f"/api/v1/contacts/{cid}/sends?limit=2")
    assert first.status_code == 200, first.text
    assert [(s["template"], s["status"], s["reason"], s["opens"], s["clicks"])
            for s in first.json["data"]] == [
        ("tips", "skipped", "suppressed:unsubscribed", 0, 0), ("t2", "sent", None, 1, 1)]
    rest = api.get(f"/api/v1/contacts/{cid}/sends?limit=2&cursor={first.json['next_cursor']}")
    assert [s["template"] for s in rest.json["data"]] == ["t1", "t0"]
    assert rest.json["next_cursor"] is None
    problem_of(api.get("/api/v1/contacts/999/sends"), 404)


def test_a_read_token_cannot_write_and_sales_read_scores_only_as_in_the_console(rt):
    cid = contact(rt, "ann@example.com")
    reader = ApiClient(rt, role="marketer", scope="read")
    assert reader.get(f"/api/v1/contacts/{cid}").status_code == 200
    for answer in (reader.post("/api/v1/contacts", json={"email": "b@example.com"}),
                   reader.patch(f"/api/v1/contacts/{cid}", json={"company": "X"}),
                   reader.post("/api/v1/contacts/bulk", json={"items": [{"email": "b@x.io"}]}),
                   reader.delete(f"/api/v1/contacts/{cid}")):
        assert "needs write scope" in problem_of(answer, 403)["detail"]
    sales = ApiClient(rt, role="sales", scope="read", email="rep@example.com")
    for path in ("/api/v1/contacts", f"/api/v1/contacts/{cid}",
                 f"/api/v1/contacts/{cid}/sends", f"/api/v1/contacts/{cid}/export"):
        assert "marketers and admins" in problem_of(sales.get(path), 403)["detail"]
    card = sales.get(f"/api/v1/contacts/{cid}/score")
    assert card.status_code == 200, card.text
    assert card.json["contact_id"] == cid and card.json["email"] == "ann@example.com"
    problem_of(sales.get("/api/v1/contacts/999/score"), 404)
    assert count(rt, Contact) == 1


def test_an_owner_named_by_patch_owns_the_lead_in_the_list_and_the_trail(rt):
    ids = _people(rt)
    rep(rt, "rep@example.com")
    api = ApiClient(rt, role="admin", scope="admin", email="boss@example.com")
    named = api.patch(f"/api/v1/contacts/{ids['p2']}", json={"owner": "rep@example.com"})
    assert named.status_code == 200, named.text
    assert named.json["owner"] == "rep@example.com"
    assert _walk(api, "/api/v1/contacts?owner=rep@example.com") == ["p2@example.com"]
    assert [(c.field, c.new, c.by) for c in rows(rt, ContactChange)] == [
        ("owner", "rep@example.com", "boss@example.com")]
