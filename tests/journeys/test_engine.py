"""The journey engine on plain values: a definition, a state, a contact's facts and `now` in;
decisions out. No database and no clock: every test runs in milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from journeys import decisions as d
from journeys.definition import (
    Branch,
    Case,
    DateTrigger,
    EventTrigger,
    Exit,
    Handoff,
    Journey,
    Path,
    Send,
    SetFields,
    Split,
    Wait,
    WaitFor,
)
from journeys.engine import State, advance
from journeys.facts import ContactFacts, EventRecord, Facts

# A Tuesday, 10:00 UTC: outside the default quiet hours (20:00-08:00) everywhere in Europe.
NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
SIGNED_UP = EventTrigger("trial.requested")


def journey(*steps, trigger=SIGNED_UP, topic="product") -> Journey:
    return Journey("welcome", "Welcome", trigger, tuple(steps), topic=topic)


def facts(**contact) -> Facts:
    return Facts(ContactFacts(id=contact.pop("id", 1), email="ada@example.com", **contact))


def sends(outcome) -> list[d.SendEmail]:
    return [x for x in outcome.decisions if isinstance(x, d.SendEmail)]


def test_a_new_enrollment_sends_its_first_email_and_sleeps_until_the_wait_is_over():
    flow = journey(Send("hello", "welcome"), Wait("pause", duration=timedelta(days=2)),
                   Send("tips", "tips"))
    first = advance(flow, State(), facts(), NOW)
    assert [s.template for s in sends(first)] == ["welcome"]
    assert sends(first)[0].topic == "product"
    assert first.state.step_id == "pause"
    assert first.next_run_at == NOW + timedelta(days=2)
    assert first.finished is None

    later = advance(flow, first.state, facts(), NOW + timedelta(days=2))
    assert [s.template for s in sends(later)] == ["tips"]
    assert later.finished == "completed"
    assert later.decisions[-1] == d.Finished("completed")


def test_looking_again_before_a_wait_is_over_decides_nothing():
    flow = journey(Wait("pause", duration=timedelta(days=2)), Send("tips", "tips"))
    first = advance(flow, State(), facts(), NOW)
    early = advance(flow, first.state, facts(), NOW + timedelta(days=1))
    assert early.decisions == []
    assert early.next_run_at == NOW + timedelta(days=2)


def test_every_step_entered_gets_a_new_sequence_number_so_send_keys_never_repeat():
    flow = journey(Send("a", "one"), Send("b", "two"), Send("c", "three"))
    outcome = advance(flow, State(), facts(), NOW)
    assert [(s.step_id, s.seq) for s in sends(outcome)] == [("a", 1), ("b", 2), ("c", 3)]


def test_a_marketing_email_in_the_contacts_quiet_hours_is_deferred_to_their_morning():
    flow = journey(Send("hello", "welcome"))
    late_in_paris = datetime(2026, 3, 3, 21, 30, tzinfo=UTC)  # 22:30 in Paris
    outcome = advance(flow, State(), facts(timezone="Europe/Paris"), late_in_paris)
    assert sends(outcome) == []
    deferred = [x for x in outcome.decisions if isinstance(x, d.Deferred)]
    assert [(x.reason, x.until) for x in deferred] == [
        ("quiet_hours", datetime(2026, 3, 4, 7, 0, tzinfo=UTC))]  # 08:00 in Paris
    assert outcome.next_run_at == datetime(2026, 3, 4, 7, 0, tzinfo=UTC)


def test_a_transactional_email_ignores_quiet_hours_and_the_frequency_cap():
    flow = journey(Send("login", "login-instructions", message_class="transactional"))
    busy = facts(timezone="Europe/Paris")
    busy.capped_sends.extend(NOW - timedelta(hours=h) for h in (1, 2, 3))
    outcome = advance(flow, State(), busy, datetime(2026, 3, 3, 23, 0, tzinfo=UTC))
    assert [s.template for s in sends(outcome)] == ["login-instructions"]
    assert outcome.finished == "completed"


def test_a_service_email_waits_for_the_contacts_morning_and_for_the_frequency_cap():
    flow = journey(Send("welcome", "onboarding-welcome", message_class="service"),
                   Send("news", "newsletter"))
    quiet = facts(timezone="Europe/Paris")
    late_in_paris = datetime(2026, 3, 3, 21, 30, tzinfo=UTC)
    night = advance(flow, State(), quiet, late_in_paris)
    assert sends(night) == []
    assert [(x.reason, x.until) for x in night.decisions if isinstance(x, d.Deferred)] == [
        ("quiet_hours", datetime(2026, 3, 4, 7, 0, tzinfo=UTC))]
    # Three emails of other journeys in the window: the service email waits, not dropped.
    busy = facts(timezone="Europe/Paris")
    oldest = NOW - timedelta(days=3)
    busy.capped_sends.extend([oldest, NOW - timedelta(days=2), NOW - timedelta(days=1)])
    held = advance(flow, State(), busy, NOW)
    assert sends(held) == []
    assert [(x.reason, x.until) for x in held.decisions if isinstance(x, d.Deferred)] == [
        ("frequency_cap", oldest + timedelta(days=7))]


def test_a_service_email_counts_towards_the_cap_and_log_in_instructions_do_not():
    flow = journey(Send("login", "log-in", message_class="transactional"),
                   Send("welcome", "onboarding-welcome", message_class="service"),
                   Send("admin", "onboarding-administration", message_class="service"),
                   Send("news", "newsletter"), Send("more", "newsletter-2"))
    outcome = advance(flow, State(), facts(), NOW)
    assert [s.template for s in sends(outcome)] == [
        "log-in", "onboarding-welcome", "onboarding-administration", "newsletter"]
    assert [x.reason for x in outcome.decisions if isinstance(x, d.Deferred)] == [
        "frequency_cap"]


def test_a_contact_at_the_frequency_cap_waits_until_the_oldest_email_leaves_the_window():
    capped = facts()
    oldest = NOW - timedelta(days=6)
    capped.capped_sends.extend([oldest, NOW - timedelta(days=2), NOW - timedelta(days=1)])
    outcome = advance(journey(Send("hello", "welcome")), State(), capped, NOW)
    assert sends(outcome) == []
    assert [(x.reason, x.until) for x in outcome.decisions if isinstance(x, d.Deferred)] == [
        ("frequency_cap", oldest + timedelta(days=7))]


def test_emails_sent_in_one_run_count_towards_the_cap_of_the_next_send():
    flow = journey(*(Send(f"s{n}", f"mail-{n}") for n in range(4)))
    outcome = advance(flow, State(), facts(), NOW)
    assert [s.template for s in sends(outcome)] == ["mail-0", "mail-1", "mail-2"]
    assert outcome.state.step_id == "s3"
    assert outcome.next_run_at == NOW + timedelta(days=7)


def test_a_branch_takes_the_first_case_that_holds_and_the_default_otherwise():
    flow = journey(
        Branch("fork", (Case("score >= 50", "hot"), Case("industry == 'retail'", "shop")),
               default="cold"),
        Send("hot", "demo-offer", next="end"), Send("shop", "retail-guide", next="end"),
        Send("cold", "newsletter", next="end"), Exit("end", "done"))
    assert [s.template for s in sends(advance(flow, State(), facts(score=70), NOW))] == [
        "demo-offer"]
    assert [s.template for s in sends(advance(flow, State(), facts(industry="retail"),
                                              NOW))] == ["retail-guide"]
    cold = advance(flow, State(), facts(score=10), NOW)
    assert [s.template for s in sends(cold)] == ["newsletter"]
    assert cold.finished == "done"


def test_a_wait_for_an_event_goes_on_as_soon_as_the_event_is_in_the_facts():
    flow = journey(WaitFor("seats", "trial.seat_activated", timedelta(days=3), "thanks", "nudge"),
                   Send("thanks", "thanks", next="end"), Send("nudge", "nudge", next="end"),
                   Exit("end"))
    waiting = advance(flow, State(), facts(), NOW)
    assert waiting.next_run_at == NOW + timedelta(days=3)

    arrived = facts()
    arrived.events.append(EventRecord("trial.seat_activated", NOW + timedelta(hours=5)))
    on_event = advance(flow, waiting.state, arrived, NOW + timedelta(hours=6))
    assert [s.template for s in sends(on_event)] == ["thanks"]


def test_a_wait_for_an_event_that_never_comes_takes_the_timeout_path():
    flow = journey(WaitFor("seats", "trial.seat_activated", timedelta(days=3), "thanks", "nudge"),
                   Send("thanks", "thanks", next="end"), Send("nudge", "nudge", next="end"),
                   Exit("end"))
    waiting = advance(flow, State(), facts(), NOW)
    timed_out = advance(flow, waiting.state, facts(), NOW + timedelta(days=3))
    assert [s.template for s in sends(timed_out)] == ["nudge"]


def test_an_event_from_before_the_wait_began_does_not_count():
    flow = journey(WaitFor("seats", "trial.seat_activated", timedelta(days=3), "thanks", "nudge"),
                   Send("thanks", "thanks", next="end"), Send("nudge", "nudge", next="end"),
                   Exit("end"))
    old = facts()
    old.events.append(EventRecord("trial.seat_activated", NOW - timedelta(days=1)))
    assert sends(advance(flow, State(), old, NOW)) == []


def test_a_split_sends_the_same_contact_down_the_same_path_every_time():
    flow = journey(Split("ab", (Path(1, "a"), Path(1, "b"))), Send("a", "short", next="end"),
                   Send("b", "long", next="end"), Exit("end"))
    chosen = {c: sends(advance(flow, State(), facts(id=c), NOW))[0].template for c in range(40)}
    again = {c: sends(advance(flow, State(), facts(id=c), NOW))[0].template for c in range(40)}
    assert chosen == again
    assert set(chosen.values()) == {"short", "long"}  # both paths are used


def test_setting_a_stage_decides_the_change_and_later_conditions_see_it():
    flow = journey(SetFields("buy", stage="buy"),
                   Branch("check", (Case("stage == 'buy'", "won"),), default="end"),
                   Handoff("won", "Bought on the trial journey"), Exit("end"))
    outcome = advance(flow, State(), facts(stage="try"), NOW)
    assert d.SetStage("buy", "try", "buy") in outcome.decisions
    assert [x.reason for x in outcome.decisions if isinstance(x, d.HandOff)] == [
        "Bought on the trial journey"]


def test_a_date_trigger_waits_for_its_date_and_ends_when_the_date_is_gone():
    before_trial_ends = DateTrigger("trial.ends_at", -timedelta(days=5))
    flow = journey(Send("reminder", "trial-ending"), trigger=before_trial_ends)
    ends = NOW + timedelta(days=10)
    waiting = advance(flow, State(), facts(attributes={"trial": {"ends_at": ends.isoformat()}}),
                      NOW)
    assert waiting.next_run_at == ends - timedelta(days=5)
    assert sends(waiting) == []
    gone = advance(flow, State(), facts(), NOW)
    assert gone.finished == "date_removed"


def test_a_journey_that_loops_without_waiting_is_stopped_with_a_reason():
    flow = journey(Branch("a", (), default="b"), Branch("b", (), default="a"))
    assert advance(flow, State(), facts(), NOW).finished == "loop_without_wait"


def test_an_enrollment_state_survives_its_round_trip_through_json():
    flow = journey(Send("hello", "welcome"), Wait("pause", duration=timedelta(days=2)))
    state = advance(flow, State(), facts(), NOW).state
    assert State.from_json(state.to_json()) == state
