"""Contact lookup: a marketer finds one contact and sees why an email did not go out
(consent, suppression, the reason on each send), with bad input answered in a sentence."""

from __future__ import annotations

import re

from sqlalchemy import insert

from nurture.consent.records import suppress
from nurture.contacts.services import upsert_contacts
from nurture.sending.models import Send
from tests.helpers import event, signed_in


def _cells(page: str, caption: str) -> list[list[str]]:
    table = re.search(rf"<caption>{caption}</caption>(.*?)</table>", page, re.S).group(1)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S)]


def test_a_contact_shows_consent_suppression_and_why_each_email_went_or_not(rt):
    now = rt.clock.now()
    with rt.db.transaction() as session:
        ids = upsert_contacts(session, [{"email": "Ann@Example.com", "first_name": "<b>Ann</b>",
                                         "consent_marketing": True,
                                         "consent_source": "import"}])
        cid = ids["ann@example.com"]
        suppress(session, "ann@example.com", "unsubscribed", "", "one-click", now)
        session.execute(insert(Send), [
            {"send_key": "a", "contact_id": cid, "to_email": "Ann@Example.com",
             "journey_id": "trial", "template": "trial-welcome", "message_class": "transactional",
             "status": "sent", "created_at": now, "sent_at": now},
            {"send_key": "b", "contact_id": cid, "to_email": "Ann@Example.com",
             "journey_id": "trial", "template": "trial-tips", "status": "skipped",
             "reason": "suppressed:unsubscribed", "created_at": now}])
    event(rt, cid, "custom.joined")
    client = signed_in(rt, "marketer")
    page = client.get("/contacts?email=ann@EXAMPLE.com")
    assert page.status_code == 200
    assert "&lt;b&gt;Ann&lt;/b&gt;" in page.text and "<b>Ann</b>" not in page.text
    assert "Suppression list: <span class=\"error\">unsubscribed</span>" in page.text
    # Each email shows its class: who it may reach, and why it went or did not.
    assert [row[1:6] for row in _cells(page.text, "Email, newest first")] == [
        ["trial-tips", "marketing", "trial", "skipped", "suppressed:unsubscribed"],
        ["trial-welcome", "transactional", "trial", "sent", ""]]
    # Each email opens the template's preview for this contact.
    preview = re.search(r'href="(/templates/trial-welcome\?[^"]+)"', page.text).group(1)
    shown = client.get(preview.replace("&amp;", "&"))
    assert shown.status_code == 200 and "For</dt><dd>Ann@Example.com" in shown.text
    assert [row[1:3] for row in _cells(page.text, "Consent proof, newest first")] == [
        ["confirmed", "import"]]
    assert _cells(page.text, "Events, newest first")[0][1] == "custom.joined"


def test_bad_or_unknown_addresses_get_a_sentence_and_only_marketers_look(rt):
    client = signed_in(rt, "marketer")
    assert client.get("/contacts").status_code == 200
    bad = client.get("/contacts?email=ann")
    assert bad.status_code == 422
    assert "Enter a whole email address, like ann@example.com." in bad.text
    unknown = client.get("/contacts?email=nobody@example.com")
    assert unknown.status_code == 404
    assert "There is no contact with the address nobody@example.com." in unknown.text
    assert signed_in(rt, "sales").get("/contacts?email=ann@example.com").status_code == 403
