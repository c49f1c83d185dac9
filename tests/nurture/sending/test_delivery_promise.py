"""The delivery promise: at most once, and a killed worker loses only a message inside the
SMTP exchange. A worker that dies while it renders or builds a message, or before the
server has the message text, leaves the send queued for the next worker; one that dies
after the send is marked leaves an unknown outcome, which is never sent again by itself."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import insert

from nurture.sending import services
from nurture.sending.models import Send
from nurture.sending.retries import INTERRUPTED
from nurture.sending.senders import Sender
from tests.helpers import contact, run_due, sends


class Killed(BaseException):
    """The worker thread dies here: nothing after it runs, as with SIGKILL."""


class _Dying(Sender):
    """Dies before the server has the text (`commit` not called) or just after the mark."""

    def __init__(self, after_mark: bool):
        self.after_mark = after_mark

    def send(self, sender, recipient, message_id, data, *, canonical=False, commit=None):
        if self.after_mark:
            commit()
        raise Killed


def _queued(rt) -> int:
    cid = contact(rt, "ann@example.com")
    with rt.db.transaction() as session:
        return session.execute(insert(Send).values(
            send_key="v1:1:1:hello:contact", contact_id=cid, to_email="ann@example.com",
            template="trial-welcome", message_class="transactional", status="queued",
            due_at=rt.clock.now()).returning(Send.id)).scalar_one()


def _deliver(rt, send_id: int) -> None:
    services.deliver(rt, rt.mailroom(), [send_id])


def _outbox(rt) -> list:
    return list(rt.settings.outbox_dir.glob("*.eml"))


def test_a_worker_dying_while_it_builds_the_message_leaves_the_send_for_the_next(
        rt, monkeypatch):
    send_id = _queued(rt)

    def dies(**_):
        raise Killed

    with monkeypatch.context() as patched:
        patched.setattr(services, "build_mime", dies)
        with pytest.raises(Killed):
            _deliver(rt, send_id)
    (send,) = sends(rt)
    assert (send.status, send.attempts, send.sent_at) == ("queued", 0, None)
    _deliver(rt, send_id)  # the next worker
    assert sends(rt)[0].status == "sent" and len(_outbox(rt)) == 1


def _deliver_dying(rt, send_id: int, after_mark: bool) -> None:
    """Deliver through a sender whose worker dies mid-exchange, then put the outbox back."""
    outbox, rt.sender = rt.sender, _Dying(after_mark=after_mark)
    try:
        with pytest.raises(Killed):
            _deliver(rt, send_id)
    finally:
        rt.sender = outbox


def test_a_worker_dying_before_the_server_has_the_text_leaves_the_send_queued(rt):
    send_id = _queued(rt)
    _deliver_dying(rt, send_id, after_mark=False)
    assert sends(rt)[0].status == "queued"
    _deliver(rt, send_id)
    assert sends(rt)[0].status == "sent" and len(_outbox(rt)) == 1


def test_a_worker_dying_inside_the_exchange_leaves_an_unknown_outcome_never_sent_again(rt):
    from nurture.app.cli import main

    send_id = _queued(rt)
    _deliver_dying(rt, send_id, after_mark=True)
    handed_at = rt.clock.now()
    (send,) = sends(rt)
    assert (send.status, send.sent_at) == ("sending", handed_at)
    rt.clock.advance(rt.lease + timedelta(seconds=1))
    run_due(rt)  # the scheduler finds the lease run out
    (send,) = sends(rt)
    assert (send.status, send.reason, send.sent_at) == ("failed", INTERRUPTED, handed_at)
    assert _outbox(rt) == []  # never sent by itself
    listed = CliRunner().invoke(main, ["sends", "unknown"], obj=rt)
    assert listed.exit_code == 0, listed.output
    rows = [line.split() for line in listed.stdout.splitlines()[1:]]
    assert rows == [[str(send_id), f"{handed_at:%Y-%m-%d}", f"{handed_at:%H:%M:%S}",
                     "trial-welcome", "ann@example.com", "v1:1:1:hello:contact"]]


def test_a_broken_template_fails_its_send_without_marking_it(rt, monkeypatch):
    send_id = _queued(rt)
    monkeypatch.setattr(services, "build_mime", lambda **_: 1 / 0)
    _deliver(rt, send_id)
    (send,) = sends(rt)
    assert (send.status, send.attempts) == ("failed", 0)
    assert send.reason.startswith("render: division by zero")


def test_a_send_stopped_while_its_message_was_built_is_not_sent(rt, monkeypatch):
    send_id = _queued(rt)
    build = services.build_mime

    def unsubscribed_meanwhile(**fields):
        with rt.db.transaction() as session:  # as an unsubscribe stops queued sends
            session.get(Send, send_id).status = "skipped"
        return build(**fields)

    monkeypatch.setattr(services, "build_mime", unsubscribed_meanwhile)
    _deliver(rt, send_id)
    assert sends(rt)[0].status == "skipped"
    assert list(rt.settings.outbox_dir.iterdir()) == []  # not even a temporary file
