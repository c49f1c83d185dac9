"""Notices to staff about a pause (`guard-paused`): the send that carries one, and what its
template shows (the source, the reason, the rates against the thresholds, the console)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from nurture.config import Settings
from nurture.db import one_of
from nurture.sending.classes import TRANSACTIONAL
from nurture.sending.models import Pause, Send
from nurture.writes import insert_ignore

PAUSED_TEMPLATE = "guard-paused"


def notify_paused(session: Session, pause: Pause, contact_id: int, recipients: Sequence[str],
                  now: datetime) -> list[int]:
    """Queue the pause notice to each recipient, once per pause (its send key), as a
    transactional send about `contact_id` (a contact whose feedback counted: a send is
    always about a contact). Returns the ids of the sends made now."""
    rows = [{"send_key": f"{PAUSED_TEMPLATE}:{pause.id}:{address.lower()}",
             "contact_id": contact_id, "to_email": address, "role": "source_owner",
             "template": PAUSED_TEMPLATE, "variant": "", "message_class": TRANSACTIONAL,
             "status": "queued", "created_at": now, "due_at": now}
            for address in dict.fromkeys(a.strip() for a in recipients if a.strip())]
    return insert_ignore(session, Send, rows, "send_key") if rows else []


def for_sends(session: Session, sends: Sequence[Row], settings: Settings
              ) -> dict[int, dict[str, Any]]:
    """For each pause notice among `sends`, what its template shows, by send id."""
    wanted: dict[int, int] = {}
    for send in sends:
        if send.template == PAUSED_TEMPLATE:
            parts = send.send_key.split(":")
            if len(parts) > 1 and parts[1].isdigit():
                wanted[send.id] = int(parts[1])
    if not wanted:
        return {}
    found = {row.id: row for row in session.scalars(
        select(Pause).where(one_of(session, Pause.id, set(wanted.values()))))}
    guard = settings.guard
    facts: dict[int, dict[str, Any]] = {}
    for send_id, pause_id in wanted.items():
        if (row := found.get(pause_id)) is not None:
            facts[send_id] = {
                "source_kind": row.source_kind, "source_id": row.source_id,
                "reason": row.reason, "paused_at": row.paused_at.strftime("%Y-%m-%d %H:%M UTC"),
                "sent": row.sent or 0, "window_days": guard.window_days,
                "complaint_rate": _percent(row.complaint_rate),
                "bounce_rate": _percent(row.bounce_rate),
                "complaint_threshold": _percent(guard.complaint_rate),
                "bounce_threshold": _percent(guard.bounce_rate),
                "url": f"{settings.base_url.rstrip('/')}/deliverability"}
    return facts


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.2f}%"
