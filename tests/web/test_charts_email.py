"""Email performance as charts: sends, human opens and clicks per day, and each template's
open and click rates side by side."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert

from nurture.events.bus import NewEvent
from nurture.events.services import record_many
from nurture.sending.models import Send
from tests.helpers import chart_rows, contact, signed_in


def test_trends_and_templates_compared(rt):
    now = rt.clock.now()
    people = [contact(rt, f"p{i}@example.com") for i in range(4)]
    at = now - timedelta(days=2)
    with rt.db.transaction() as session:
        session.execute(insert(Send), [
            {"send_key": f"k{i}", "contact_id": cid, "to_email": f"p{i}@example.com",
             "journey_id": "trial", "template": "welcome" if i < 3 else "tips",
             "status": "sent", "message_class": "service", "created_at": at, "sent_at": at}
            for i, cid in enumerate(people)])
    record_many(rt, [NewEvent(people[0], "email.opened", {"send": "k0"}, at),
                     NewEvent(people[1], "email.opened", {"send": "k1"}, at),
                     NewEvent(people[1], "email.clicked", {"send": "k1"}, at),
                     NewEvent(people[3], "email.opened", {"send": "k3"}, at),
                     NewEvent(people[2], "email.opened", {"send": "k2", "machine": True}, at)])
    client = signed_in(rt, "marketer")
    page = client.get("/insights/email").text
    trend = chart_rows(page, "email-trend")
    assert len(trend) == 30 and trend[at.date().isoformat()] == ["4", "3", "1"]
    assert chart_rows(page, "email-templates") == {
        "tips (trial)": ["100.0", "0.0"], "welcome (trial)": ["66.7", "33.3"]}
    week = client.get("/insights/email?days=7").text
    assert len(chart_rows(week, "email-trend")) == 7
