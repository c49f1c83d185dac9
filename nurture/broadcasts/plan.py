"""A broadcast's plan, all pure: what the marketer asked for (checked into a `Plan`), when
each time zone's recipients are due, who falls in the A/B test's sample and in which arm,
and when a send over the frequency cap or in quiet hours may go instead.

Time is a parameter everywhere; nothing here reads a clock or a database.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from journeys.schedule import Pacing, next_local_time, next_send_time, zone
from nurture.broadcasts.errors import BroadcastInvalid
from nurture.violations import Violation

NOW, AT, LOCAL = "now", "at", "local"
TIMINGS = (NOW, AT, LOCAL)
CLICKS, OPENS = "clicks", "opens"
METRICS = (CLICKS, OPENS)
SEGMENT, LIST = "segment", "list"
AUDIENCES = (SEGMENT, LIST)
ARMS = "ABCDE"  # an A/B test has two to five arms
SUBJECT_MAX = 200  # characters of an arm's subject line (`sends.subject` holds 300)
DEFAULT_SAMPLE = 20  # percent of the audience that gets the test
DEFAULT_WINDOW_HOURS = 4  # how long the sample is watched before the rest gets the winner
MAX_WINDOW_HOURS = 24 * 7
# Sampling: a contact's bucket is (id * MULTIPLIER + seed) mod BUCKETS. MULTIPLIER is prime
# to BUCKETS, so consecutive ids walk all buckets evenly; the same arithmetic runs in SQL.
BUCKETS, MULTIPLIER = 1000, 761
_NAME = 120
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
DEFERRED = "deferred"  # the prefix of the reason a deferred send carries while it waits


@dataclass(frozen=True)
class Plan:
    """A broadcast as asked for, checked."""

    name: str
    audience: str  # SEGMENT | LIST
    audience_ref: str  # the segment's or list's name or id, as given
    templates: tuple[str, ...]  # one, or an arm each for an A/B test (may repeat)
    topic: str
    timing: str  # NOW | AT | LOCAL
    send_at: datetime | None = None  # AT: the moment, UTC
    local_time: time | None = None  # LOCAL: the hour in each contact's zone
    sample_percent: int = 0  # 0 without a test
    metric: str = CLICKS
    window: timedelta = timedelta(hours=DEFAULT_WINDOW_HOURS)
    # Each arm's subject line, beside `templates`: "" keeps the template's own.
    subjects: tuple[str, ...] = ()

    @property
    def tested(self) -> bool:
        return len(self.templates) > 1 and self.sample_percent > 0


def check(*, name: str, audience: str, audience_ref: str, templates: list[str], topic: str,
          timing: str, send_at: str = "", local_time: str = "", sample_percent: str = "",
          metric: str = CLICKS, window_hours: str = "", known_templates: set[str],
          now: datetime, subjects: list[str] | None = None,
          subject_problem: Callable[[str], str | None] | None = None) -> Plan:
    """The plan, or BroadcastInvalid listing every field that is wrong. `templates` and
    `subjects` are the arms in order (A, B…): an arm with a subject line and no template
    sends arm A's template with that line, so one template and two lines test a subject.
    `subject_problem` says why a line cannot be a subject (the sandbox's check)."""
    problems: list[Violation] = []
    name = " ".join(name.split())
    if not name:
        problems.append(Violation("name", "A broadcast needs a name."))
    elif len(name) > _NAME:
        problems.append(Violation("name", f"A name is at most {_NAME} characters."))
    if audience not in AUDIENCES:
        problems.append(Violation("audience", "Choose a segment or a list as the audience."))
    elif not audience_ref.strip():
        problems.append(Violation("audience", f"Choose which {audience} gets the broadcast."))
    arms = _arms(templates, subjects or [])
    chosen = [template for template, _ in arms]
    if not chosen[0]:
        problems.append(Violation("template", "Choose the email template to send."))
    if len(arms) > len(ARMS):
        problems.append(Violation("template", f"An A/B test has at most {len(ARMS)} arms."))
    if len(set(arms)) != len(arms):
        problems.append(Violation("template", "Each arm of a test differs from the others "
                                              "by its template or its subject line."))
    for template in dict.fromkeys(chosen):
        if template and template not in known_templates:
            problems.append(Violation("template", f"There is no email template "
                                                  f"{template[:80]!r}."))
    for index, (_, line) in enumerate(arms):
        why = (f"A subject line is at most {SUBJECT_MAX} characters." if len(line) >
               SUBJECT_MAX else subject_problem(line) if line and subject_problem else None)
        if why:
            field = "subject" if index == 0 else f"subject_{ARMS[index].lower()}"
            problems.append(Violation(field, f"Arm {ARMS[index]}: {why}" if len(arms) > 1
                                      else why))
    if len(topic) > 40 or (topic and not re.fullmatch(r"[a-z0-9_.-]+", topic)):
        problems.append(Violation("topic", "A topic is a short word of lower-case letters, "
                                           "digits, '-', '_' or '.'."))
    at, local = None, None
    if timing not in TIMINGS:
        problems.append(Violation("timing", "Choose when to send: now, at a moment, or at a "
                                            "time of day in each contact's zone."))
    elif timing == AT:
        at = _moment(send_at)
        if at is None:
            problems.append(Violation("send_at", "Give the moment as YYYY-MM-DD HH:MM (UTC)."))
        elif at < now - timedelta(minutes=1):
            problems.append(Violation("send_at", "The moment has passed; choose a later one, "
                                                 "or send now."))
    elif timing == LOCAL:
        match = _CLOCK.match(local_time.strip())
        if match is None:
            problems.append(Violation("local_time", "Give the time of day as HH:MM, e.g. "
                                                    "10:00."))
        else:
            local = time(int(match.group(1)), int(match.group(2)))
    percent = _whole(sample_percent, DEFAULT_SAMPLE if len(chosen) > 1 else 0)
    if percent is None or not 0 <= percent <= 100:
        problems.append(Violation("sample_percent", "The test's sample is a whole percent "
                                                    "from 0 to 100."))
    elif len(chosen) > 1 and percent == 0:
        problems.append(Violation("sample_percent", "An A/B test needs a sample: give a "
                                                    "percent above 0, e.g. 20."))
    hours = _whole(window_hours, DEFAULT_WINDOW_HOURS)
    if hours is None or not 1 <= hours <= MAX_WINDOW_HOURS:
        problems.append(Violation("window_hours", f"The test's window is a whole number of "
                                                  f"hours from 1 to {MAX_WINDOW_HOURS}."))
    if metric not in METRICS:
        problems.append(Violation("metric", "The test's metric is clicks or opens."))
    if problems:
        raise BroadcastInvalid(problems)
    return Plan(name, audience, audience_ref.strip(), tuple(chosen), topic, timing, at, local,
                percent or 0, metric, timedelta(hours=hours or DEFAULT_WINDOW_HOURS),
                tuple(line for _, line in arms))


def _arms(templates: list[str], subjects: list[str]) -> list[tuple[str, str]]:
    """The arms as (template, subject line), in order: the i-th template and the i-th
    line; an arm given neither is no arm, one given a line only sends arm A's template."""
    first = templates[0].strip() if templates else ""
    arms: list[tuple[str, str]] = []
    for index in range(max(len(templates), len(subjects), 1)):
        template = templates[index].strip() if index < len(templates) else ""
        line = " ".join(subjects[index].split()) if index < len(subjects) else ""
        if index and not template and not line:
            continue
        arms.append((template or first, line))
    return arms


def _whole(text: str, default: int) -> int | None:
    text = str(text).strip().rstrip("%").strip()
    if not text:
        return default
    return int(text) if text.isdigit() and len(text) < 6 else None


def _moment(text: str) -> datetime | None:
    text = text.strip().replace("T", " ").removesuffix("Z").removesuffix(" UTC")
    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def due(plan_timing: str, now: datetime, send_at: datetime | None, local_time: time | None,
        tz_name: str | None, default_tz: str = "UTC") -> datetime:
    """When a recipient in zone `tz_name` is due: now, the moment asked (or now, once it
    has passed), or the first `local_time` in their zone from now on."""
    if plan_timing == AT and send_at is not None:
        return max(send_at, now)
    if plan_timing == LOCAL and local_time is not None:
        return next_local_time(now - timedelta(microseconds=1), zone(tz_name, default_tz),
                               local_time)
    return now


def bucket(contact_id: int, seed: int) -> int:
    """The contact's sampling bucket, 0..BUCKETS-1 (the SQL in services computes the same)."""
    return (contact_id * MULTIPLIER + seed) % BUCKETS


def in_sample(bucket_: int, percent: int) -> bool:
    return bucket_ < percent * BUCKETS // 100


def arm(bucket_: int, arms: int) -> int:
    """The arm (0-based) of a sampled bucket: the sample split evenly between the arms."""
    return bucket_ % arms


def later(now: datetime, tz_name: str | None, recent: list[datetime],
          pacing: Pacing) -> tuple[datetime, str] | None:
    """If a marketing send may not go at `now` (the contact's `recent` marketing sends fill
    the frequency cap, or it is quiet hours in their zone): when it may, and why."""
    at, reason = next_send_time(now, zone(tz_name, pacing.default_tz), recent, pacing)
    if reason is None or at <= now:
        return None
    return at, f"{DEFERRED}: {reason}"
