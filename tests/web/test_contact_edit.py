"""The contact page: a marketer edits a contact (fields, attributes, stage, owner) and sees
each change in its audit trail; bad values are answered in sentences with a 422 and change
nothing; everything about the contact downloads as one JSON file; erasing asks first."""

from __future__ import annotations

import json
import re

from tests.factories import rep
from tests.helpers import contact, csrf, events, get_contact, handoffs, signed_in


def _cells(page: str, caption: str) -> list[list[str]]:
    table = re.search(rf"<caption>{caption}</caption>(.*?)</table>", page, re.S).group(1)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S)]


def _form(page: str) -> dict[str, str]:
    """The edit form as the page fills it in."""
    form = page.split('class="edit-contact"')[1].split("</form>")[0]
    values = dict(re.findall(r'name="(\w+)" type="\w+" maxlength="\d+"\s*value="([^"]*)"',
                             form))
    values["attributes"] = re.search(r'name="attributes"[^>]*>(.*?)</textarea>', form,
                                     re.S).group(1).replace("&#34;", '"').replace("&quot;", '"')
    values["stage"] = re.search(r'name="stage".*?<option selected>(\w+)', form, re.S).group(1)
    return {"csrf_token": csrf(page), "email": "ann@example.com", **values}


def test_an_edit_is_saved_and_shown_in_the_audit_trail_with_who_and_when(rt):
    cid = contact(rt, "ann@example.com", first_name="Ann", company="Acme",
                  attributes={"plan": "silver", "old": 1})
    rep(rt, "rita@example.com")
    client = signed_in(rt, "marketer")
    page = client.get("/contacts?email=ann@example.com")
    form = {**_form(page.text), "company": "Acme Europe", "stage": "buy",
            "owner": "rita@example.com", "attributes": '{"plan": "gold"}'}

    saved = client.post("/contacts/edit", data=form)

    assert saved.status_code == 303
    row = get_contact(rt, cid)
    assert (row.company, row.stage, row.attributes) == ("Acme Europe", "buy", {"plan": "gold"})
    assert [h.assigned_to is not None for h in handoffs(rt, cid)] == [True]
    assert [e.properties for e in events(rt, "contact.updated")] == [
        {"company": "Acme Europe", "attributes": {"plan": "gold"}}]
    shown = client.get(saved.headers["Location"]).text
    trail = {(r[1], r[2], r[3], r[4]) for r in _cells(shown, "Changes made by people, newest "
                                                             "first")}
    assert trail == {("company", "Acme", "Acme Europe", "marketer@example.com"),
                     ("stage", "learn", "buy", "marketer@example.com"),
                     ("owner", "", "rita@example.com", "marketer@example.com"),
                     ("attributes.plan", "silver", "gold", "marketer@example.com"),
                     ("attributes.old", "1", "", "marketer@example.com")}
    assert "Owner: rita@example.com" in shown


def test_bad_values_are_each_answered_in_a_sentence_and_change_nothing(rt):
    cid = contact(rt, "ann@example.com", first_name="Ann")
    client = signed_in(rt, "marketer")
    form = {**_form(client.get("/contacts?email=ann@example.com").text),
            "first_name": "Annie", "company_size": "lots", "country": "France",
            "language": "not a language!", "attributes": "[1, 2]", "stage": "deprovisioned",
            "owner": "stranger@example.com"}

    refused = client.post("/contacts/edit", data=form)

    assert refused.status_code == 422
    for sentence in ("The company size must be a whole number.", "two-letter ISO 3166",
                     "is not a language tag", "must be a JSON object",
                     "set by ending the customer&#39;s service"):
        assert sentence in refused.text
    assert get_contact(rt, cid).first_name == "Ann"
    owner = client.post("/contacts/edit", data={**form, "company_size": "", "country": "",
                                                "language": "", "attributes": "{}",
                                                "stage": "learn"})
    assert owner.status_code == 422
    assert "not an active user of the console" in owner.text
    assert get_contact(rt, cid).first_name == "Ann"


def test_a_sales_rep_cannot_edit_a_contact(rt):
    contact(rt, "ann@example.com")
    client = signed_in(rt, "sales")
    token = csrf(client.get("/account").text)
    assert client.post("/contacts/edit", data={"csrf_token": token, "email": "ann@example.com",
                                               "first_name": "X"}).status_code == 403


def test_the_export_is_one_json_file_with_every_table_about_the_contact(rt):
    cid = contact(rt, "ann@example.com", first_name="Ann")
    client = signed_in(rt, "marketer")
    client.post("/contacts/edit", data={**_form(client.get(
        "/contacts?email=ann@example.com").text), "role": "CTO"})

    answer = client.get("/contacts/export?email=ANN@example.com")

    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"] == \
        f'attachment; filename="contact-{cid}.json"'
    document = json.loads(answer.data)
    assert document["tables"]["contacts"][0]["role"] == "CTO"
    assert document["tables"]["contact_changes"][0]["new"] == "CTO"
    assert document["tables"]["events"][0]["type"] == "contact.updated"
    assert client.get("/contacts/export?email=nobody@example.com").status_code == 404
    assert client.get("/contacts/export?email=not-an-address").status_code == 422


def test_a_contact_is_erased_only_once_the_box_is_ticked(rt):
    contact(rt, "ann@example.com", first_name="Ann")
    client = signed_in(rt, "marketer")
    page = client.get("/contacts/erase?email=ann@example.com")
    assert page.status_code == 200
    assert "Erase ann@example.com?" in page.text

    unticked = client.post("/contacts/erase", data={"csrf_token": csrf(page.text),
                                                    "email": "ann@example.com"})
    assert unticked.status_code == 422
    assert "Tick the box" in unticked.text
    assert client.get("/contacts?email=ann@example.com").status_code == 200

    done = client.post("/contacts/erase", data={"csrf_token": csrf(page.text),
                                                "email": "ann@example.com",
                                                "confirmed": "yes"})
    assert done.status_code == 200
    assert "Contact erased" in done.text
    assert client.get("/contacts?email=ann@example.com").status_code == 404


def test_forms_without_their_csrf_token_are_refused(rt):
    contact(rt, "ann@example.com")
    client = signed_in(rt, "marketer")
    assert client.post("/contacts/erase", data={"email": "ann@example.com",
                                                "confirmed": "yes"}).status_code == 400
    assert client.get("/contacts?email=ann@example.com").status_code == 200
