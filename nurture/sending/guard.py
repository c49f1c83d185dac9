"""The guard's rule, pure: a source's complaint and hard-bounce rates over a window, judged
against thresholds once enough mail went out for a rate to mean something.

A postmaster watches both: mailbox providers throttle and then block a domain whose
complaints pass 0.3% (Gmail recommends staying under 0.1%), and a list that hard-bounces
past 2% is an old or bought one. One bad journey must not cost every other mail its inbox.
"""

from __future__ import annotations

from dataclasses import dataclass

COMPLAINTS = "paused: complaints"
BOUNCES = "paused: bounces"


@dataclass(frozen=True)
class Thresholds:
    """The rates that pause a source, and the sends a window needs before it is judged."""

    complaint_rate: float = 0.001
    bounce_rate: float = 0.02
    min_sends: int = 1000


@dataclass(frozen=True)
class Counts:
    """One source's mail in the window: sent, and of those, complained of and hard-bounced."""

    sent: int = 0
    complaints: int = 0
    bounces: int = 0

    @property
    def complaint_rate(self) -> float:
        return self.complaints / self.sent if self.sent else 0.0

    @property
    def bounce_rate(self) -> float:
        return self.bounces / self.sent if self.sent else 0.0


def judge(counts: Counts, thresholds: Thresholds) -> str | None:
    """The reason to pause this source (`paused: complaints` first: it costs the domain
    most), or None when its rates are within bounds or too few sends went out to tell."""
    if counts.sent < thresholds.min_sends:
        return None
    if counts.complaint_rate > thresholds.complaint_rate:
        return COMPLAINTS
    if counts.bounce_rate > thresholds.bounce_rate:
        return BOUNCES
    return None
