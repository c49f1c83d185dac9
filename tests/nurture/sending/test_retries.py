"""`nurture sends unknown` and `nurture sends retry`: a send whose outcome is unknown goes
again only on an operator's word, as a new send (`<key>:retry-<n>`) that points to the
original and names who decided, and that itself goes at most once."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import insert

from nurture.app.cli import main
from nurture.sending.models import Send
from nurture.sending.retries import INTERRUPTED
from nurture.sending.senders import DROPPED_AFTER_DATA
from tests.helpers import contact, run_due, sends


def _sends(rt, *rows: dict) -> list[int]:
    cid = contact(rt, "ann@example.com")
    with rt.db.transaction() as session:
        return [session.execute(insert(Send).values(
            contact_id=cid, to_email="ann@example.com", template="trial-welcome",
            message_class="transactional", sent_at=rt.clock.now(), **row
        ).returning(Send.id)).scalar_one() for row in rows]


def _cli(rt, *args: str):
    return CliRunner().invoke(main, ["sends", *args], obj=rt)


def _unknown_ids(rt) -> list[str]:
    result = _cli(rt, "unknown")
    assert result.exit_code == 0, result.output
    return [line.split()[0] for line in result.stdout.splitlines()[1:]]


def test_an_operator_retries_an_unknown_outcome_once_and_it_is_delivered_once(rt):
    lost, dropped, _ = _sends(
        rt, {"send_key": "k1", "status": "failed", "reason": INTERRUPTED},
        {"send_key": "k2", "status": "failed", "reason": DROPPED_AFTER_DATA},
        {"send_key": "k3", "status": "sent"})
    assert _unknown_ids(rt) == [str(lost), str(dropped)]

    result = _cli(rt, "retry", str(lost), "--by", "ops@example.com")
    assert result.exit_code == 0, result.output
    retry = sends(rt)[-1]
    assert (retry.send_key, retry.retry_of, retry.retry_by, retry.status) == (
        "k1:retry-1", lost, "ops@example.com", "queued")
    assert f"Send {retry.id} (k1:retry-1) is queued: a retry of send {lost}" in result.output
    assert _unknown_ids(rt) == [str(dropped)]  # decided: no longer listed
    run_due(rt)
    assert sends(rt)[-1].status == "sent"
    assert len(list(rt.settings.outbox_dir.glob("*.eml"))) == 1

    again = _cli(rt, "retry", str(lost), "--by", "ops@example.com")
    assert again.exit_code == 1
    assert f"Send {lost} was already retried as send {retry.id}" in again.output
    assert len(sends(rt)) == 4


def test_a_retry_whose_own_outcome_is_unknown_needs_a_new_decision(rt):
    (lost,) = _sends(rt, {"send_key": "k1", "status": "failed", "reason": INTERRUPTED})
    assert _cli(rt, "retry", str(lost), "--by", "ann").exit_code == 0
    first = sends(rt)[-1]
    with rt.db.transaction() as session:  # its worker died inside the exchange too
        session.get(Send, first.id).status = "failed"
        session.get(Send, first.id).reason = INTERRUPTED
    run_due(rt)
    assert sends(rt)[-1].status == "failed"  # never sent again by itself
    assert _unknown_ids(rt) == [str(first.id)]
    result = _cli(rt, "retry", str(first.id), "--by", "bob")
    assert result.exit_code == 0, result.output
    second = sends(rt)[-1]
    assert (second.send_key, second.retry_of, second.retry_by) == ("k1:retry-2", lost, "bob")


def test_a_retry_of_a_send_whose_outcome_is_known_is_refused_and_nothing_is_stored(rt):
    lost, fine, failed = _sends(
        rt, {"send_key": "k1", "status": "failed", "reason": INTERRUPTED},
        {"send_key": "k2", "status": "sent"},
        {"send_key": "k3", "status": "failed", "reason": "The mail server refused it."})
    result = _cli(rt, "retry", str(lost), str(fine), str(failed), "999", "--by", "ops")
    assert result.exit_code == 1
    assert f"Send {fine} was sent, not an unknown outcome" in result.output
    assert f"Send {failed} was failed (The mail server refused it.)" in result.output
    assert "There is no send 999." in result.output
    assert "Traceback" not in result.output and len(sends(rt)) == 3  # all or none


def test_a_retry_needs_who_decided_and_ids_in_range(rt):
    (lost,) = _sends(rt, {"send_key": "k1", "status": "failed", "reason": INTERRUPTED})
    assert _cli(rt, "retry", str(lost)).exit_code == 2  # --by is required
    blank = _cli(rt, "retry", str(lost), "--by", "  ")
    assert blank.exit_code == 1 and "Name who decided the retry" in blank.output
    huge = _cli(rt, "retry", "99999999999999999999", "--by", "ops")
    assert huge.exit_code == 2 and "Traceback" not in huge.output
    assert len(sends(rt)) == 1


def test_no_unknown_outcome_is_said_in_a_sentence(rt):
    result = _cli(rt, "unknown")
    assert result.exit_code == 0 and result.output == "No send has an unknown outcome.\n"
