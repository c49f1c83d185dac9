"""What a trial allows when, and how long its data is kept. Pure: plain values and the
current time in, decisions out; `lifecycle.py` maps rows to `TrialFacts` and acts on them.

Who may start a trial: a contact without a running trial who is not a customer. A customer
(stage buy, onboard, adopt, renew or expand, or anyone whose trial converted) asking again
is a request for the account owner, never a move back to `try`.

The conversion choice is made once. A trial converts while it is active, or after it
expired as long as its data is still kept (the retention date has not passed): the data is
still there, so keeping it is still possible. After the retention date, or once converted,
the answer is a refusal with a sentence.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from nurture.trials.errors import TrialInvalid

CHOICE_WORDS = {
    "keep_data": "keep the trial's data and settings",
    "new_subscription": "start a new subscription with a clean account",
}
CUSTOMER_STAGES = ("buy", "onboard", "adopt", "renew", "expand")
USAGE_TYPES = {"seat_activated": "seat", "service_used": "service"}
MAX_VALUE_LENGTH = 320  # the longest email address


@dataclass(frozen=True)
class TrialFacts:
    """The parts of a trial row that the rules look at."""

    id: int
    status: str
    ends_at: datetime
    company: str = ""
    seats: int = 1
    services: tuple[str, ...] = ()
    choice: str | None = None
    converted_at: datetime | None = None
    expired_at: datetime | None = None
    retention_until: datetime | None = None
    deleted_at: datetime | None = None


@dataclass(frozen=True)
class Eligibility:
    """Whether a contact may start a trial: `start`, `running` (one is: `trial` names it)
    or `customer` (a request for the account owner instead)."""

    verdict: str
    trial: TrialFacts | None = None


def eligibility(stage: str, trials: Iterable[TrialFacts], now: datetime) -> Eligibility:
    """What a sign-up may start for a contact at `stage` with these trials."""
    trials = list(trials)
    if stage in CUSTOMER_STAGES or any(t.status == "converted" for t in trials):
        return Eligibility("customer")
    running = [t for t in trials if t.status == "active" and t.ends_at > now]
    if running:
        return Eligibility("running", max(running, key=lambda t: t.ends_at))
    return Eligibility("start")


def due_to_expire(trial: TrialFacts, now: datetime) -> bool:
    return trial.status == "active" and trial.ends_at <= now


def days_left(trial: TrialFacts, now: datetime) -> int | None:
    """Whole days until an active trial ends, a part-day counted as a day (0: it ends
    at its next expiry round); None once it is not active."""
    if trial.status != "active":
        return None
    return max(0, math.ceil((trial.ends_at - now) / timedelta(days=1)))


def due_for_deletion(trial: TrialFacts, now: datetime) -> bool:
    """Expired trials past retention, and trials converted to a clean subscription whose
    old data was kept until a retention date that has now passed."""
    if trial.retention_until is None or trial.retention_until > now:
        return False
    if trial.status == "expired":
        return True
    return (trial.status == "converted" and trial.choice == "new_subscription"
            and trial.deleted_at is None)


def conversion_refusal(trial: TrialFacts, now: datetime) -> str | None:
    """Why the trial cannot convert now, as a sentence; None when it can."""
    if trial.status == "converted":
        return (f"This trial was already converted on {day(trial.converted_at)}: you chose to "
                f"{CHOICE_WORDS.get(trial.choice or '', 'continue')}. "
                "This choice cannot be changed.")
    fresh = ("You can still start a new subscription: reply to any of our emails and we "
             "will set it up.")
    if trial.status == "deleted":
        return (f"This trial ended and its data was deleted on {day(trial.deleted_at)}, so it "
                f"can no longer be converted. {fresh}")
    if trial.status == "expired" and (trial.retention_until is None
                                      or trial.retention_until <= now):
        return (f"This trial ended and its data was kept only until "
                f"{day(trial.retention_until)}, so it can no longer be converted. {fresh}")
    if trial.status not in ("active", "expired"):
        return "This trial cannot be converted."
    return None


def retention_after_conversion(trial: TrialFacts, choice: str, now: datetime,
                               days: int) -> datetime | None:
    """Until when the trial's data is kept once converted: for good when kept; otherwise
    until the date already announced (an expired trial) or `days` from now."""
    if choice == "keep_data":
        return None
    if trial.status == "expired" and trial.retention_until is not None:
        return trial.retention_until
    return now + timedelta(days=days)


def choice_error(choice: str | None) -> str | None:
    if choice not in CHOICE_WORDS:
        return ("Please choose whether to keep the trial's data and settings or to start a "
                "new subscription.")
    return None


def confirmation_error(confirmed: bool) -> str | None:
    if not confirmed:
        return "Please tick the box to confirm that you understand this choice is final."
    return None


def usage_refusal(trial: TrialFacts) -> str | None:
    if trial.status != "active":
        return (f"Trial {trial.id} is {trial.status}, not active, so its usage can no longer "
                "be recorded.")
    return None


def clean_value(kind: Any, value: Any) -> str:
    """The seat or service named by a usage report, trimmed; raises TrialInvalid."""
    noun = USAGE_TYPES.get(kind) if isinstance(kind, str) else None
    if noun is None:
        raise TrialInvalid("The usage type must be 'seat_activated' or 'service_used'.")
    if not isinstance(value, str) or not value.strip():
        what = "an email address or account id" if noun == "seat" else "a service name"
        raise TrialInvalid(f"A {kind} report needs a '{noun}' ({what}).")
    value = value.strip()
    if len(value) > MAX_VALUE_LENGTH:
        raise TrialInvalid(f"The {noun} must be at most {MAX_VALUE_LENGTH} characters long.")
    return value


def matching_service(trial: TrialFacts, service: str) -> str:
    """The trial's own spelling of `service`: `CRM`, `crm` and `Email campaigns` match the
    ids `crm` and `email-campaigns` the sign-up stores. Raises TrialInvalid."""
    for name in trial.services:
        if _slug(name) == _slug(service):
            return name
    offered = ", ".join(trial.services) or "none"
    raise TrialInvalid(f"The service {service!r} is not part of trial {trial.id} "
                       f"(its services: {offered}).")


def _slug(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "-", name.casefold()).strip("-")


def seat_dedupe_key(trial_id: int, seat: str) -> str:
    """One event per trial and seat: `Ann@x.com` and `ann@x.com ` are the same seat."""
    digest = hashlib.sha256(seat.strip().casefold().encode()).hexdigest()[:32]
    return f"{seat_key_prefix(trial_id)}{digest}"


def seat_key_prefix(trial_id: int) -> str:
    return f"trial.seat:{trial_id}:"


def seat_refusal(trial: TrialFacts, activated: int) -> str | None:
    """Why one more (new) seat cannot be activated, given `activated` seats so far."""
    if activated >= trial.seats:
        return (f"All {trial.seats} seats of trial {trial.id} are already activated; "
                "no more seats can be activated during the trial.")
    return None


def day(moment: datetime | None) -> str:
    """A date as people read it: 2 May 2026."""
    return f"{moment.day} {moment:%B %Y}" if moment is not None else "an unknown date"
