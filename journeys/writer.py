"""Turns engine decisions into rows, collected per batch and written in bulk."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from journeys import decisions as d
from journeys.engine import Advance
from journeys.facts import attribute_path
from journeys.models import Activity, Enrollment
from nurture.contacts.models import Contact, StageChange
from nurture.events.effects import merge_attributes
from nurture.sending.lanes import lane_of
from nurture.sending.models import Send
from nurture.webhooks.models import WebhookDelivery
from nurture.writes import bulk_insert, bulk_update, insert_ignore


@dataclass
class Batch:
    """Rows to write for one batch of enrollments, and the work to kick after commit.
    An enrollment (`row`) is only read: an ORM object or a Core row of `enrollments`."""

    now: datetime
    # New sends are kicked right after commit: this lease keeps the scheduler from
    # enqueueing them a second time (it takes them only if that message is lost).
    lease_until: datetime | None = None
    activities: list[dict[str, Any]] = field(default_factory=list)
    sends: list[dict[str, Any]] = field(default_factory=list)
    webhooks: list[dict[str, Any]] = field(default_factory=list)
    stage_changes: list[dict[str, Any]] = field(default_factory=list)
    enrollment_updates: list[dict[str, Any]] = field(default_factory=list)
    handoffs: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    changed_contacts: set[int] = field(default_factory=set)
    # What the batch changed on its contacts, by id, to write back: the contacts it is given
    # may be plain objects rather than ORM ones.
    contact_changes: dict[int, dict[str, Any]] = field(default_factory=dict)
    # The new sends' ids by lane (nurture/sending/lanes.py): each lane is kicked apart.
    send_ids: dict[str, list[int]] = field(default_factory=dict)
    webhook_ids: list[int] = field(default_factory=list)

    def activity(self, row: Any, kind: str, step_id: str | None,
                 reason: str | None = None) -> None:
        self.activities.append({
            "enrollment_id": row.id, "contact_id": row.contact_id,
            "journey_version_id": row.journey_version_id, "step_id": step_id, "kind": kind,
            "reason": reason, "at": self.now,
        })

    def apply(self, row: Any, contact: Any, result: Advance) -> None:
        step_id = row.step_id
        for decision in result.decisions:
            if isinstance(decision, d.StepEntered):
                step_id = decision.step_id
            self._decision(row, contact, decision, step_id)
        update_row: dict[str, Any] = {
            "id": row.id, "state": result.state.to_json(), "step_id": result.state.step_id,
            "next_run_at": result.next_run_at, "lease_until": None,
        }
        if result.finished is not None:
            update_row |= {"status": "completed" if result.finished == "completed" else "exited",
                           "ended_at": self.now, "exit_reason": result.finished,
                           "next_run_at": None}
        self.enrollment_updates.append(update_row)

    def _decision(self, row: Any, contact: Any, decision: d.Decision,
                  current: str | None) -> None:
        match decision:
            case d.StepEntered(step_id=step_id):
                self.activity(row, "entered", step_id)
            case d.StepCompleted(step_id=step_id):
                self.activity(row, "completed", step_id)
            case d.Deferred(step_id=step_id, reason=reason, until=until):
                self.activity(row, "deferred", step_id, f"{reason} until {until.isoformat()}")
            case d.Finished(reason=reason):
                self.activity(row, "exited", current, reason)
            case d.SendEmail():
                self._send(row, contact, decision)
            case d.SetStage(step_id=step_id, from_stage=old, to_stage=new):
                contact.stage = new
                self.contact_changes.setdefault(contact.id, {})["stage"] = new
                self.stage_changes.append({
                    "contact_id": contact.id, "from_stage": old, "to_stage": new, "at": self.now,
                    "cause": f"journey {row.journey_id} step {step_id}",
                })
                self.changed_contacts.add(contact.id)
            case d.SetAttributes(values=values):
                contact.attributes = merge_attributes(contact.attributes or {}, values)
                self.contact_changes.setdefault(contact.id, {})["attributes"] = \
                    contact.attributes
                self.changed_contacts.add(contact.id)
            case d.HandOff(step_id=step_id, reason=reason):
                self.handoffs.append((contact.id, {"journey": row.journey_id, "step": step_id,
                                                   "reason": reason}))
            case d.CallWebhook(step_id=step_id, seq=seq, url=url, event=event):
                key = f"{row.journey_version_id}:{row.id}:{seq}:{step_id}"
                self.webhooks.append({
                    "delivery_key": key, "url": url, "event": event, "due_at": self.now,
                    "payload": {"event": event or "journey.webhook", "journey": row.journey_id,
                                "step": step_id, "occurred_at": self.now.isoformat(),
                                "contact": {"id": contact.id, "email": contact.email,
                                            "stage": contact.stage}},
                })

    def _send(self, row: Any, contact: Any, decision: d.SendEmail) -> None:
        for role in decision.to:
            address = contact.email if role == "contact" else attribute_path(
                contact.attributes or {}, role)
            if not isinstance(address, str) or "@" not in address:
                self.activity(row, "skipped", decision.step_id, f"no_recipient:{role}")
                continue
            key = f"{row.journey_version_id}:{row.id}:{decision.seq}:{decision.step_id}:{role}"
            self.sends.append({
                "send_key": key, "contact_id": contact.id, "to_email": address, "role": role,
                "enrollment_id": row.id, "journey_id": row.journey_id,
                "step_id": decision.step_id, "template": decision.template,
                "variant": decision.variant, "message_class": decision.message_class,
                "lane": lane_of(decision.message_class), "topic": decision.topic,
                "status": "queued", "created_at": self.now, "due_at": self.now,
                "lease_until": self.lease_until,
            })

    def write(self, session: Session) -> None:
        bulk_update(session, Contact, [{"id": cid, **changes}
                                       for cid, changes in self.contact_changes.items()])
        bulk_update(session, Enrollment, self.enrollment_updates)
        bulk_insert(session, Activity, self.activities)
        bulk_insert(session, StageChange, self.stage_changes)
        # Ids of rows created now, to deliver after commit; a row that already existed
        # (a message processed twice) was kicked by whoever created it.
        lanes: dict[str, list[dict[str, Any]]] = {}
        for send in self.sends:  # a batch is nearly always of one lane: one statement
            lanes.setdefault(send["lane"], []).append(send)
        self.send_ids = {lane: insert_ignore(session, Send, rows, "send_key")
                         for lane, rows in lanes.items()}
        self.webhook_ids = insert_ignore(session, WebhookDelivery, self.webhooks,
                                         "delivery_key")
