"""Bulk inserts that skip existing keys: the same rows, defaults and ids on SQLite and on
PostgreSQL, whether the batch is small or large enough for PostgreSQL's array path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from nurture.contacts.models import Contact
from nurture.webhooks.models import WebhookDelivery
from nurture.writes import UNNEST_FROM, bulk_insert, bulk_update, insert_ignore, insert_returning
from tests.helpers import START


@pytest.mark.parametrize("count", [3, UNNEST_FROM + 7, 3000])
def test_insert_returning_gives_each_row_its_own_id_in_the_rows_order(rt, count):
    rows = [{"delivery_key": f"r{i}", "url": f"https://crm.example.com/{i}",
             "payload": {"n": i}, "due_at": START} for i in range(count)]
    with rt.db.transaction() as session:
        ids = insert_returning(session, WebhookDelivery, rows)
    with rt.db.sessions() as session:
        stored = {r.id: r.delivery_key for r in session.scalars(select(WebhookDelivery))}
    assert [stored[i] for i in ids] == [f"r{i}" for i in range(count)]


@pytest.mark.parametrize("count", [3, UNNEST_FROM + 7])
def test_insert_ignore_keeps_existing_rows_and_returns_only_new_ids(rt, count):
    first = [{"delivery_key": f"k{i}", "url": "https://crm.example.com/hook",
              "payload": {"n": i, "name": "Zoë"}, "due_at": START} for i in range(count)]
    with rt.db.transaction() as session:
        created = insert_ignore(session, WebhookDelivery, first[: count // 2], "delivery_key")
    later = START + timedelta(hours=1)
    again = [{**row, "payload": {"n": -1}, "due_at": later} for row in first]
    with rt.db.transaction() as session:
        added = insert_ignore(session, WebhookDelivery, again, "delivery_key")

    with rt.db.sessions() as session:
        rows = {r.delivery_key: r for r in session.scalars(select(WebhookDelivery))}
    assert len(rows) == count
    assert len(created) == count // 2 and len(added) == count - count // 2
    assert {rows[f"k{i}"].id for i in range(count // 2, count)} == set(added)
    kept = rows["k0"]  # an existing row is left exactly as it was
    assert kept.payload == {"n": 0, "name": "Zoë"} and kept.due_at == START
    new = rows[f"k{count - 1}"]
    assert new.payload == {"n": -1} and new.due_at == later
    # Columns the rows leave out get the model's defaults.
    assert new.status == "pending" and new.attempts == 0 and new.created_at is not None


def test_insert_ignore_applies_callable_defaults_in_bulk(rt):
    rows = [{"delivery_key": f"d{i}", "url": "https://crm.example.com/hook"}
            for i in range(UNNEST_FROM)]
    with rt.db.transaction() as session:
        ids = insert_ignore(session, WebhookDelivery, rows, "delivery_key")
    with rt.db.sessions() as session:
        stored = session.scalars(select(WebhookDelivery).where(WebhookDelivery.id.in_(ids)))
        assert [(r.payload, r.event) for r in stored] == [({}, "")] * UNNEST_FROM


def test_bulk_update_changes_only_the_columns_each_row_names(rt):
    count = UNNEST_FROM + 10
    rows = [{"delivery_key": f"u{i}", "url": "https://crm.example.com/hook",
             "payload": {"n": i}, "due_at": START} for i in range(count)]
    with rt.db.transaction() as session:
        ids = sorted(insert_ignore(session, WebhookDelivery, rows, "delivery_key"))
    later = START + timedelta(days=1)
    changes = [{"id": i, "status": "delivered", "payload": {"done": True}, "due_at": None}
               for i in ids[:UNNEST_FROM]]
    changes += [{"id": i, "last_error": "HTTP 503"} for i in ids[UNNEST_FROM:]]
    with rt.db.transaction() as session:
        bulk_update(session, WebhookDelivery, changes)
        bulk_insert(session, WebhookDelivery, [
            {"delivery_key": f"n{i}", "url": "https://crm.example.com/new", "due_at": later}
            for i in range(UNNEST_FROM)])

    with rt.db.sessions() as session:
        stored = {r.id: r for r in session.scalars(select(WebhookDelivery))}
    assert len(stored) == count + UNNEST_FROM
    done = stored[ids[0]]
    assert (done.status, done.payload, done.due_at, done.last_error) == (
        "delivered", {"done": True}, None, None)
    failed = stored[ids[-1]]
    assert (failed.status, failed.payload, failed.due_at, failed.last_error) == (
        "pending", {"n": count - 1}, START, "HTTP 503")
    new = [r for r in stored.values() if r.url.endswith("/new")]
    assert {(r.status, r.due_at) for r in new} == {("pending", later)}


def test_bulk_update_keeps_update_stamps(rt):
    count = UNNEST_FROM + 1
    with rt.db.transaction() as session:
        session.add_all([Contact(email=f"s{i}@example.com", email_key=f"s{i}@example.com",
                                 created_at=START, updated_at=START) for i in range(count)])
    with rt.db.sessions() as session:
        ids = list(session.scalars(select(Contact.id)))
    with rt.db.transaction() as session:
        bulk_update(session, Contact, [{"id": i, "stage": "buy"} for i in ids])
    with rt.db.sessions() as session:
        stored = session.scalars(select(Contact)).all()
    assert {c.stage for c in stored} == {"buy"}
    assert all(c.updated_at > START for c in stored)  # `onupdate` still applies in bulk


def test_prebuilt_arrays_read_back_as_psycopg_writes_them(rt):
    """`pgarrays` builds the binary arrays that bulk writes send to PostgreSQL: every type
    it writes comes back equal to the same values dumped by psycopg, nulls included."""
    if not rt.db.is_postgres:
        pytest.skip("binary arrays are PostgreSQL's")
    from psycopg.types.json import Jsonb

    from nurture.pgarrays import encode

    old = datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    cases = [
        ("BIGINT", [1, 2**40, -5]), ("INTEGER", [7, -2]), ("SMALLINT", [3]),
        ("FLOAT", [1.5, -2.25]), ("BOOLEAN", [True, None, False]),
        ("VARCHAR(20)", ["Zoë", None, 'a "quoted" \\ {brace}', ""]), ("TEXT", ["x"]),
        ("TIMESTAMP WITH TIME ZONE", [START, None, START, old]),
        ("JSONB", [Jsonb({"name": "Zoë", "n": [1]}), None, Jsonb([2])]),
        ("JSON", [Jsonb({"a": 1}), None]),
    ]
    with rt.db.engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()
        for sql_type, values in cases:
            encoded = encode(sql_type, values)
            assert encoded is not None, sql_type
            query = f"SELECT * FROM unnest(%(a)b::{sql_type}[]) WITH ORDINALITY ORDER BY 2"
            ours = cursor.execute(query, {"a": encoded}).fetchall()
            theirs = cursor.execute(query, {"a": values}).fetchall()
            assert ours == theirs, sql_type
    # Types it does not write, and integers with nulls, are left to psycopg.
    assert encode("NUMERIC(10, 2)", [1]) is None and encode("BIGINT", [1, None]) is None
