"""Email performance for marketers: per journey and template, what the emails of a period
became and how many people opened and clicked them, machine opens left out."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert

from nurture.events.bus import NewEvent
from nurture.events.services import record_many
from nurture.sending.models import Send
from tests.helpers import contact, signed_in, table_rows


def _rows(page: str) -> list[list[str]]:
    """The per-template table's rows (the charts' tables come first)."""
    return table_rows(page.split("</figure>")[-1])


def test_sent_opened_and_clicked_by_journey_and_template_without_machine_opens(rt):
    now = rt.clock.now()
    people = [contact(rt, f"p{i}@example.com") for i in range(5)]
    rows, hits = [], []
    for i, cid in enumerate(people):
        status = ["sent", "sent", "sent", "sent", "failed"][i]
        rows.append({"send_key": f"k{i}", "contact_id": cid, "to_email": f"p{i}@example.com",
                     "journey_id": "trial", "template": "trial-welcome", "status": status,
                     "message_class": "service",
                     "created_at": now - timedelta(days=2), "sent_at": now - timedelta(days=2)})
    rows.append({"send_key": "skip", "contact_id": people[0], "to_email": "p0@example.com",
                 "journey_id": "trial", "template": "trial-tips", "status": "skipped",
                 "created_at": now - timedelta(days=1)})
    rows.append({"send_key": "old", "contact_id": people[1], "to_email": "p1@example.com",
                 "journey_id": "trial", "template": "trial-welcome", "status": "sent",
                 "message_class": "service", "created_at": now - timedelta(days=40),
                 "sent_at": now - timedelta(days=40)})
    with rt.db.transaction() as session:
        session.execute(insert(Send), rows)
    at = now - timedelta(days=1)
    for key, type_, machine in [("k0", "email.opened", False), ("k0", "email.opened", False),
                                ("k0", "email.clicked", False), ("k1", "email.opened", False),
                                ("k2", "email.opened", True),  # Apple's proxy, not a person
                                ("old", "email.opened", False)]:
        cid = people[int(key[1])] if key.startswith("k") else people[1]
        hits.append(NewEvent(cid, type_, {"send": key, "template": "trial-welcome",
                                          "machine": machine}, at, source="tracking"))
    record_many(rt, hits)
    client = signed_in(rt, "marketer")
    page = client.get("/insights/email")
    assert page.status_code == 200
    assert _rows(page.text) == [
        ["trial", "trial-tips", "marketing", "0", "0", "0", "0", "0", "1", "0"],
        ["trial", "trial-welcome", "service", "4", "2 (50.0%)", "1 (25.0%)", "0", "1", "0",
         "0"]]
    # The same mail summed per class: what went on the contract, what on consent.
    classes = table_rows(page.text.split("By class of message")[1])
    assert [[r[0], *r[2:]] for r in classes] == [
        ["transactional", "0", "0", "0", "0", "0", "0"],
        ["service", "4", "2 (50.0%)", "1 (25.0%)", "1", "0", "0"],
        ["marketing", "0", "0", "0", "0", "1", "0"]]
    quarter = _rows(client.get("/insights/email?days=90").text)
    assert quarter[1][:5] == ["trial", "trial-welcome", "service", "5", "3 (60.0%)"]
    assert _rows(client.get("/insights/email?days=nonsense").text) == _rows(page.text)


def test_email_performance_is_for_marketers(rt):
    assert signed_in(rt, "sales").get("/insights/email").status_code == 403
    page = signed_in(rt, "admin").get("/insights/email")
    assert "No email was created in this period." in page.text


def test_trials_started_count_sign_ups_tagged_by_the_email_and_nothing_else(rt):
    from nurture.trials.models import Trial

    now = rt.clock.now()
    ann, bob, cat, dan = (contact(rt, f"{n}@example.com") for n in ("ann", "bob", "cat", "dan"))
    tags = {"utm_source": "nurture", "utm_medium": "email"}
    with rt.db.transaction() as session:
        session.execute(insert(Send), [{
            "send_key": "s1", "contact_id": ann, "to_email": "ann@example.com",
            "journey_id": "prospect-retail", "template": "retail-nurture-5", "status": "sent",
            "created_at": now - timedelta(days=3), "sent_at": now - timedelta(days=3)}])
        session.execute(insert(Trial), [
            {"contact_id": ann, "ends_at": now, "started_at": now - timedelta(days=1),
             "utm": {**tags, "utm_campaign": "prospect-retail",
                     "utm_content": "retail-nurture-5"}},
            {"contact_id": bob, "ends_at": now, "started_at": now - timedelta(days=1),
             "utm": {**tags, "utm_campaign": "consent-confirm",
                     "utm_content": "consent-confirm"}},  # an email outside journeys
            {"contact_id": cat, "ends_at": now, "started_at": now - timedelta(days=1),
             "utm": {"utm_source": "newsletter", "utm_medium": "email",
                     "utm_campaign": "prospect-retail", "utm_content": "retail-nurture-5"}},
            {"contact_id": dan, "ends_at": now, "started_at": now - timedelta(days=45),
             "utm": {**tags, "utm_campaign": "prospect-retail",
                     "utm_content": "retail-nurture-5"}}])
    rows = _rows(signed_in(rt, "marketer").get("/insights/email").text)
    assert [(r[0], r[1], r[2], r[3], r[6]) for r in rows] == [
        ("(outside journeys)", "consent-confirm", "", "0", "1"),
        ("prospect-retail", "retail-nurture-5", "marketing", "1", "1")]
