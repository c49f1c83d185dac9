"""Recorded events whose type an enabled endpoint subscribes to become deliveries, written
in bulk in the batch's transaction and made due with it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from nurture.events.bus import CreatedBatch, Reaction, RecordedBatch, RecordedEvent
from nurture.webhooks.endpoints import listening, matches
from nurture.webhooks.models import WebhookDelivery
from nurture.writes import insert_ignore


class WebhookSubscriber:
    """Fans each batch out to the endpoints that subscribe to its events' types."""

    def __call__(self, session: Session, batch: RecordedBatch) -> Reaction:
        return _fan_out(session, batch.events, batch.now)

    def on_created(self, session: Session, batch: CreatedBatch) -> Reaction:
        # Only the events are needed: no contact row is loaded for an import's batch.
        return _fan_out(session, batch.events, batch.now)

    def fill_created(self, rows: list) -> None:
        return None


def _fan_out(session: Session, events: Sequence[RecordedEvent], now: datetime) -> Reaction:
    reaction = Reaction()
    if not events:
        return reaction
    endpoints = listening(session)
    rows = [{"delivery_key": f"event:{event.id}:{endpoint.id}", "endpoint_id": endpoint.id,
             "event_id": event.id, "contact_id": event.contact_id, "url": endpoint.url,
             "event": event.type,
             "payload": payload(event), "status": "pending", "attempts": 0,
             "created_at": now, "due_at": now}
            for event in events for endpoint in endpoints
            if matches(endpoint.event_types, event.type)]
    if rows:
        reaction.make_due("deliver_webhooks",
                          insert_ignore(session, WebhookDelivery, rows, "delivery_key"))
    return reaction


def payload(event: RecordedEvent) -> dict:
    """The body per Standard Webhooks' recommendation: type, timestamp, data."""
    return {"type": event.type, "timestamp": event.occurred_at.isoformat(),
            "data": {"event_id": event.id, "contact_id": event.contact_id,
                     "source": event.source, "properties": dict(event.properties)}}
