"""`/api/v1/lists`: lists made, contacts added by id or email with a result for each
(added, already on it, not a contact), paged through, and taken off one at a time."""

from __future__ import annotations

from sqlalchemy import select

from nurture.contacts import lists
from nurture.contacts.models import ContactList, ListMember
from tests.helpers import ApiClient, contact, count, problem_of


def _on(rt, list_id: int) -> set[int]:
    with rt.db.sessions() as session:
        return set(session.scalars(select(ListMember.contact_id)
                                   .where(ListMember.list_id == list_id)))


def test_contacts_are_added_by_id_or_email_each_with_its_result_and_removed(rt):
    ann, bob = contact(rt, "ann@example.com"), contact(rt, "Bob@Example.com")
    api = ApiClient(rt, role="marketer", scope="write")
    made = api.post("/api/v1/lists", json={"name": "Trade show", "description": "Booth 4"},
                    headers={"Idempotency-Key": "l1"})
    assert made.status_code == 201, made.text
    assert made.json["members"] == 0 and made.json["name"] == "Trade show"
    url = made.headers["Location"]
    added = api.post(f"{url}/members", json={"contacts": [ann, "bob@example.com", ann,
                                                          "nobody@example.com", 999999]})
    assert added.status_code == 200, added.text
    assert added.json["added"] == 2
    assert [(r["item"], r["result"], r["contact_id"]) for r in added.json["results"]] == [
        (ann, "added", ann), ("bob@example.com", "added", bob), (ann, "already_member", ann),
        ("nobody@example.com", "not_found", None), (999999, "not_found", None)]
    list_id = made.json["id"]
    assert _on(rt, list_id) == {ann, bob}
    again = api.post(f"{url}/members", json={"contacts": ["ANN@example.com"]}).json
    assert again == {"added": 0, "results": [{"item": "ANN@example.com",
                                              "result": "already_member", "contact_id": ann}]}
    assert api.get(url).json["members"] == 2
    members = api.get(f"{url}/members").json["data"]
    assert [(m["contact_id"], m["email"]) for m in members] == [
        (ann, "ann@example.com"), (bob, "Bob@Example.com")]
    assert members[0]["source"] == "api:marketer-write-api@example.com"
    assert api.delete(f"{url}/members/{ann}").status_code == 204
    assert _on(rt, list_id) == {bob}
    gone = problem_of(api.delete(f"{url}/members/{ann}"), 404)
    assert gone["detail"] == f"Contact {ann} is not on list {list_id}."


def test_bad_lists_and_too_many_items_are_refused_with_sentences(rt):
    api = ApiClient(rt, role="marketer", scope="write")
    api.post("/api/v1/lists", json={"name": "Readers"})
    taken = problem_of(api.post("/api/v1/lists", json={"name": "Readers"}), 422)
    assert "already a list called 'Readers'" in taken["detail"]
    assert count(rt, ContactList) == 1
    problem_of(api.post("/api/v1/lists", json={"name": ""}), 422)
    too_many = problem_of(api.post("/api/v1/lists/1/members",
                                   json={"contacts": list(range(1, 1002))}), 422)
    assert too_many["errors"][0]["field"].startswith("contacts")
    problem_of(api.post("/api/v1/lists/1/members", json={"contacts": [1, True]}), 422)
    problem_of(api.post("/api/v1/lists/999/members", json={"contacts": [1]}), 404)
    problem_of(api.get("/api/v1/lists/999"), 404)
    problem_of(api.get("/api/v1/lists/999/members"), 404)


def test_members_page_by_contact_and_a_read_token_may_not_change_them(rt):
    ids = [contact(rt, f"c{i}@example.com") for i in range(5)]
    with rt.db.transaction() as session:
        list_id = lists.ensure(session, "Imported", rt.clock.now())
        lists.add(session, list_id, ids, rt.clock.now())
    reader = ApiClient(rt, role="sales", scope="read")
    seen, url = [], f"/api/v1/lists/{list_id}/members?limit=2"
    while url:
        page = reader.get(url).json
        seen += [m["contact_id"] for m in page["data"]]
        url = page["next_cursor"] and \
            f"/api/v1/lists/{list_id}/members?limit=2&cursor={page['next_cursor']}"
    assert seen == sorted(ids)
    [shown] = reader.get("/api/v1/lists").json["data"]
    assert shown["members"] == 5 and shown["name"] == "Imported"
    problem_of(reader.post(f"/api/v1/lists/{list_id}/members", json={"contacts": [ids[0]]}),
               403)
    problem_of(reader.delete(f"/api/v1/lists/{list_id}/members/{ids[0]}"), 403)
    problem_of(reader.post("/api/v1/lists", json={"name": "Mine"}), 403)
    assert _on(rt, list_id) == set(ids)
