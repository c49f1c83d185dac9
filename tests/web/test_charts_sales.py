"""Scoring and sales as charts: contacts by grade, time from hand-off to acceptance against
the SLA (24 hours in the shipped rules), and accepted, rejected and won per rep."""

from __future__ import annotations

from datetime import timedelta

from scoring.models import ContactScore, Handoff
from tests.factories import rep
from tests.helpers import chart_rows, contact, signed_in


def test_grades_acceptance_times_and_reps(rt):
    now = rt.clock.now()
    ids = [contact(rt, f"lead{i}@example.com") for i in range(6)]
    olga, raj = rep(rt, "olga@nurture.example", name="Olga"), rep(rt, "raj@nurture.example",
                                                                  name="Raj")
    hours = [2, 20, 30, 60]  # 24-hour SLA: well within, within, late, very late
    with rt.db.transaction() as session:
        session.add_all([ContactScore(contact_id=cid, grade=g)
                         for cid, g in zip(ids, "AABBCD", strict=True)])
        for i, h in enumerate(hours):
            created = now - timedelta(days=5)
            session.add(Handoff(contact_id=ids[i], trigger="score", assigned_to=olga if i < 3
                                else raj, status=["won", "accepted", "rejected", "won"][i],
                                created_at=created, accepted_at=created + timedelta(hours=h)))
        session.add(Handoff(contact_id=ids[4], trigger="score", assigned_to=raj,
                            status="rejected", created_at=now - timedelta(hours=1)))
        session.add(Handoff(contact_id=ids[5], trigger="score", status="open",
                            created_at=now - timedelta(hours=30)))
    page = signed_in(rt, "marketer").get("/sales/report").text
    assert chart_rows(page, "sales-grades") == {"A": ["2"], "B": ["2"], "C": ["1"], "D": ["1"]}
    assert chart_rows(page, "sales-waits") == {
        "under 12 h": ["1"], "12 to 24 h": ["1"], "24 to 48 h": ["1"], "over 48 h": ["1"]}
    assert chart_rows(page, "sales-reps") == {"Olga": ["3", "1", "1"], "Raj": ["1", "1", "1"]}
    assert "1 still open past the 24-hour SLA" in page
    assert signed_in(rt, "sales").get("/sales/report").status_code == 200
