"""NURTURE_SEND_RATE: messages per second across every worker, counted in one-second
windows (in Redis when there is one); run here on a virtual clock, and through the real
send path."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from nurture.config import Settings
from nurture.sending.rate import Gate, memory_counter, redis_counter
from nurture.sending.senders import RateLimitedSender
from tests.helpers import HELLO, REDIS_URL, contact, event, publish_text, running, sends


class VirtualTime:
    def __init__(self, start: float):
        self.now = start

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_over_the_rate_a_message_waits_for_the_next_second():
    time_ = VirtualTime(100.25)
    gate = Gate(3, memory_counter(), time_.clock, time_.sleep)
    went = []
    for _ in range(7):
        gate.wait()
        went.append(time_.now)
    assert went == [100.25, 100.25, 100.25, 101.0, 101.0, 101.0, 102.0]


def test_the_setting_is_a_whole_number_per_second_or_a_sentence(tmp_path):
    def rate(raw: str | None) -> int | None:
        env = {"NURTURE_VAR_DIR": str(tmp_path), "SECRET_KEY": "k"}
        return Settings.from_env(env if raw is None else {**env, "NURTURE_SEND_RATE": raw}
                                 ).sending.rate

    assert rate(None) is None and rate(" ") is None
    assert rate("14") == 14
    for bad in ("0", "-3", "fast", "2.5"):
        with pytest.raises(ValueError, match="NURTURE_SEND_RATE must be a whole number of "
                                             "messages per second, at least 1"):
            rate(bad)


def test_worker_processes_count_together_in_redis():
    if not REDIS_URL:
        pytest.skip("needs Redis: set NURTURE_TEST_REDIS_URL (.ci/run does)")
    namespace = f"nurture-test-{uuid.uuid4().hex}"
    time_ = VirtualTime(500.5)
    first = Gate(4, redis_counter(REDIS_URL, namespace), time_.clock, time_.sleep)
    second = Gate(4, redis_counter(REDIS_URL, namespace), time_.clock, time_.sleep)
    for gate in (first, second, first, second):
        assert gate.wait() == 0.0
    assert second.wait() == 0.5, "the fifth message of the second waits for the next one"
    other = Gate(4, redis_counter(REDIS_URL, f"{namespace}-other"), time_.clock, time_.sleep)
    assert other.wait() == 0.0, "another installation counts apart"


def test_a_capped_installation_still_delivers_every_email(settings, clock):
    with running(settings.with_(sending=replace(settings.sending, rate=500)), clock, 2) as rt:
        assert isinstance(rt.sender, RateLimitedSender)
        publish_text(rt, HELLO)
        people = [contact(rt, f"p{i}@example.com") for i in range(5)]
        for cid in people:
            event(rt, cid, "custom.joined")
        assert sorted(s.status for s in sends(rt)) == ["sent"] * 5
        assert len(list(rt.settings.outbox_dir.glob("*.eml"))) == 5


def test_a_bad_rate_stops_the_installation_from_starting_with_a_sentence(tmp_path):
    with pytest.raises(ValueError, match="not 'lots'"):
        Settings.from_env({"NURTURE_VAR_DIR": str(tmp_path), "SECRET_KEY": "k",
                           "NURTURE_SEND_RATE": "lots"})
