"""The home page: sends, human opens, clicks, unsubscribes, bounces and trials started per
day as charts over 30, 90 or 365 days, and what is waiting now."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert

from nurture.events.bus import NewEvent
from nurture.events.services import record_many
from nurture.sending.models import Send
from nurture.trials.models import Trial
from scoring.models import Handoff
from tests.helpers import chart_rows, contact, signed_in


def test_the_home_page_charts_what_email_and_trials_did_each_day(rt):
    now = rt.clock.now()
    ann, bob = contact(rt, "ann@example.com"), contact(rt, "bob@example.com")
    two_days_ago, forty_days_ago = now - timedelta(days=2), now - timedelta(days=40)
    with rt.db.transaction() as session:
        session.execute(insert(Send), [
            {"send_key": f"k{i}", "contact_id": ann, "to_email": "ann@example.com",
             "template": "welcome", "status": "sent", "created_at": at, "sent_at": at}
            for i, at in enumerate([two_days_ago, two_days_ago, two_days_ago, forty_days_ago])])
        session.add_all([
            Trial(contact_id=bob, status="active", started_at=two_days_ago,
                  ends_at=now + timedelta(days=3)),
            Trial(contact_id=ann, status="active", started_at=forty_days_ago,
                  ends_at=now + timedelta(days=30)),
            Handoff(contact_id=ann, trigger="score", status="open"),
            Handoff(contact_id=bob, trigger="score", status="accepted")])
    record_many(rt, [
        NewEvent(ann, "email.opened", {"send": "k0", "machine": False}, two_days_ago),
        NewEvent(ann, "email.opened", {"send": "k1", "machine": True}, two_days_ago),  # a proxy
        NewEvent(ann, "email.clicked", {"send": "k0"}, two_days_ago),
        NewEvent(bob, "email.unsubscribed", {}, two_days_ago),
        NewEvent(bob, "email.bounced", {}, now - timedelta(days=1)),
        NewEvent(bob, "trial.started", {}, two_days_ago),
        NewEvent(ann, "trial.started", {}, forty_days_ago)])
    client = signed_in(rt, "marketer")
    page = client.get("/").text
    day = two_days_ago.date().isoformat()
    sent = chart_rows(page, "home-sent")
    assert len(sent) == 30 and sent[day] == ["3"]
    assert sum(int(v[0]) for v in sent.values()) == 3  # the send 40 days ago is outside
    assert chart_rows(page, "home-engagement")[day] == ["1", "1"]  # the proxy's open is not
    losses = chart_rows(page, "home-losses")
    assert losses[day] == ["1", "0"]
    assert losses[(now - timedelta(days=1)).date().isoformat()] == ["0", "1"]
    assert chart_rows(page, "home-trials")[day] == ["1"]
    assert "Hand-offs waiting for a sales rep</th><td class=\"num\">1<" in page
    assert "Trials ending in the next 7 days</th><td class=\"num\">1<" in page
    quarter = client.get("/?days=90").text
    assert len(chart_rows(quarter, "home-sent")) == 90
    assert sum(int(v[0]) for v in chart_rows(quarter, "home-trials").values()) == 2
    assert len(chart_rows(client.get("/?days=365").text, "home-sent")) == 365
    assert len(chart_rows(client.get("/?days=nonsense").text, "home-sent")) == 30
