"""Old sends are pruned once no link in their message can reach them any more; queued work,
recent sends and the links of mail still in people's inboxes stay."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select

from nurture.sending.models import Send
from nurture.sending.retention import MIN_DAYS, retention, run_send_jobs
from tests.helpers import contact


def _send(key: str, cid: int, created, status: str) -> dict:
    return {"send_key": key, "contact_id": cid, "to_email": "ann@example.com",
            "template": "trial-welcome", "status": status, "created_at": created,
            "due_at": created if status == "queued" else None}


def test_finished_sends_older_than_their_links_are_pruned_and_nothing_else(rt):
    cid = contact(rt, "ann@example.com")
    now = rt.clock.now()
    old, young = now - timedelta(days=MIN_DAYS + 1), now - timedelta(days=MIN_DAYS - 1)
    rows = [_send(f"old-{status}", cid, old, status)
            for status in ("sent", "failed", "skipped", "queued")]
    rows += [_send("young-sent", cid, young, "sent")]
    rows += [_send(f"older-{i}", cid, old - timedelta(days=30), "sent") for i in range(12)]
    with rt.db.transaction() as session:
        session.execute(insert(Send), rows)
    assert run_send_jobs(rt, rt.settings) == {"pruned": 15}
    with rt.db.sessions() as session:
        left = set(session.scalars(select(Send.send_key)))
    assert left == {"old-queued", "young-sent"}
    assert run_send_jobs(rt, rt.settings) == {"pruned": 0}


def test_the_retention_is_never_shorter_than_the_life_of_the_links():
    assert MIN_DAYS == 400
    assert retention(None) == timedelta(days=400)
    assert retention(30) == timedelta(days=400)
    assert retention(730) == timedelta(days=730)
