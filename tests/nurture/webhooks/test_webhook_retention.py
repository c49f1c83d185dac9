"""Finished webhook deliveries are pruned once past the retention; deliveries still being
retried, and the recent log staff look at, stay."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import insert, select

from nurture.webhooks.models import WebhookDelivery
from nurture.webhooks.retention import MIN_DAYS, retention, run_retention_jobs


def _delivery(key: str, created, status: str) -> dict:
    return {"delivery_key": key, "url": "https://crm.example/hook", "event": "sales.handoff",
            "payload": {}, "status": status, "created_at": created,
            "due_at": created if status == "pending" else None}


def test_finished_deliveries_past_the_retention_go_and_nothing_else(rt):
    now = rt.clock.now()
    old, young = now - timedelta(days=31), now - timedelta(days=29)
    rows = [_delivery(f"old-{s}", old, s) for s in ("delivered", "failed", "pending")]
    rows += [_delivery(f"older-{i}", old - timedelta(days=5), "delivered") for i in range(7)]
    rows.sort(key=lambda r: r["created_at"])  # ids in the order they were made
    rows += [_delivery("young-delivered", young, "delivered")]
    with rt.db.transaction() as session:
        session.execute(insert(WebhookDelivery), rows)
    assert run_retention_jobs(rt, rt.settings) == {"pruned": 9}
    with rt.db.sessions() as session:
        left = set(session.scalars(select(WebhookDelivery.delivery_key)))
    assert left == {"old-pending", "young-delivered"}
    assert run_retention_jobs(rt, rt.settings) == {"pruned": 0}


def test_the_retention_leaves_time_to_look_at_a_delivery_that_gave_up(rt):
    short = rt.settings.with_(retention=replace(rt.settings.retention, webhook_days=1))
    assert retention(short) == timedelta(days=MIN_DAYS) == timedelta(days=7)
    assert retention(rt.settings) == timedelta(days=30)
