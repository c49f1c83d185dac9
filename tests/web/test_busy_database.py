"""A request that meets a lock held too long (a worker's batch on the same contact) answers
503 with a sentence and Retry-After, saves nothing, and works once the lock is gone; the
limit is the web's own, so workers keep waiting as long as they did."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from nurture.config import ConfigError, Settings
from nurture.contacts.models import Contact
from nurture.db import lock_wait
from nurture.events.models import Event
from nurture.sending import compose
from tests.helpers import contact, get_contact, running
from web import create_app

AUTH = {"Authorization": "Bearer test-api-key"}


@contextmanager
def _held(rt, contact_id: int) -> Iterator[None]:
    """Another transaction holding the contact's row, as a worker's batch does."""
    conn = rt.db.engine.raw_connection()
    cursor = conn.cursor()
    try:
        if rt.db.is_postgres:
            cursor.execute("SELECT id FROM contacts WHERE id = %s FOR UPDATE", (contact_id,))
        else:  # SQLite: the one writer's lock, as every write transaction takes it
            cursor.execute("BEGIN IMMEDIATE")
        yield
    finally:
        conn.rollback() if rt.db.is_postgres else cursor.execute("ROLLBACK")
        conn.close()


def _events(rt) -> int:
    with rt.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(Event))


@pytest.fixture
def brief(settings, clock):
    with running(settings.with_(web=replace(settings.web, lock_wait=0.3)),
                 clock) as runtime:
        yield runtime


def test_an_api_call_behind_a_held_lock_is_503_saves_nothing_and_works_after(brief):
    rt = brief
    ann = contact(rt, "ann@example.com")
    client = create_app(rt).test_client()
    call = {"email": "ann@example.com", "type": "contact.updated",
            "properties": {"company": "Lee Retail"}}
    with _held(rt, ann):
        busy = client.post("/api/events", headers=AUTH, json=call)
    assert busy.status_code == 503
    assert busy.headers["Retry-After"] == "5"
    assert busy.mimetype == "application/problem+json"
    assert busy.get_json()["status"] == 503
    assert busy.get_json()["detail"] == ("Someone else was changing the same records at that "
                                         "moment, so nothing was saved. Please try again in a "
                                         "few seconds.")
    assert _events(rt) == 0 and get_contact(rt, ann).company == ""
    assert lock_wait.get() is None, "the web's limit ends with its request"

    again = client.post("/api/events", headers=AUTH, json=call)
    assert again.status_code == 201
    assert _events(rt) == 1


def test_a_page_behind_a_held_lock_says_try_again_and_the_unsubscribe_is_not_lost(brief):
    rt = brief
    ann = contact(rt, "ann@example.com", consent_marketing=True)
    with rt.db.sessions() as session:
        key = session.scalar(select(Contact.email_key).where(Contact.id == ann))
    url = compose.Links(rt.tokens, "", ann, key, 1).unsubscribe
    client = create_app(rt).test_client()
    with _held(rt, ann):
        busy = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert busy.status_code == 503
    assert "nothing was saved. Please try again in a few seconds." in busy.text
    assert get_contact(rt, ann).consent_marketing is True
    assert client.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert get_contact(rt, ann).consent_marketing is False


def test_a_worker_still_waits_for_the_lock_past_the_webs_limit(brief):
    rt = brief
    ann = contact(rt, "ann@example.com")
    done = threading.Event()

    def worker_write() -> None:  # no web request: no limit but the default
        with rt.db.transaction() as session:
            session.get(Contact, ann, with_for_update=True).company = "Lee Retail"
        done.set()

    with _held(rt, ann):
        thread = threading.Thread(target=worker_write)
        thread.start()
        assert not done.wait(1.0), "the worker waits while the lock is held"
    thread.join(30)
    assert done.is_set() and get_contact(rt, ann).company == "Lee Retail"


@pytest.mark.parametrize("raw", ["soon", "0", "-1", "99999"])
def test_a_lock_wait_that_cannot_be_used_is_a_sentence(raw, tmp_path):
    def lock_wait_seconds(raw: str | None) -> float:
        env = {"NURTURE_VAR_DIR": str(tmp_path), "SECRET_KEY": "k"}
        return Settings.from_env(env if raw is None else {**env, "NURTURE_WEB_LOCK_WAIT": raw}
                                 ).web.lock_wait

    with pytest.raises(ConfigError, match="NURTURE_WEB_LOCK_WAIT must be a number of seconds"):
        lock_wait_seconds(raw)
    assert lock_wait_seconds(None) == 10.0 and lock_wait_seconds("2.5") == 2.5
