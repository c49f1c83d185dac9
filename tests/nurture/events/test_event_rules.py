"""The events service refuses what no caller may record (API, CLI or code alike), with
every violation and its field, before writing anything."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from nurture.events.bus import NewEvent
from nurture.events.errors import EventError
from nurture.events.models import Event
from nurture.events.services import record_for_email, record_many
from tests.helpers import contact


def _events(rt) -> int:
    with rt.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(Event))


def test_a_batch_names_every_bad_field_of_every_event_and_records_none(rt):
    cid = contact(rt, "ann@example.com")
    with pytest.raises(EventError) as refused:
        record_many(rt, [
            NewEvent(cid, "contact.updated", {"company_size": "abc", "country": "FRANCE"}),
            NewEvent(cid, "custom.ok", {}),
            NewEvent(cid, "trial.started", {"seats": [1]},
                     occurred_at=datetime(1, 1, 1, tzinfo=UTC)),
        ])
    fields = [v.field for v in refused.value.violations]
    assert fields == ["events[0].properties.company_size", "events[0].properties.country",
                      "events[2].occurred_at", "events[2].properties.seats"]
    assert str(refused.value).endswith(".)")
    assert _events(rt) == 0


def test_an_address_with_a_nul_is_a_sentence_not_a_database_error(rt):
    contact(rt, "ann@example.com")
    with pytest.raises(EventError, match="NUL"):
        record_for_email(rt, "ann@example.com\x00", "custom.x", {}, source="cli")
