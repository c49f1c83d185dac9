"""Putting lifetime value to use, pure: a lead's predicted value (its own, when it is a
customer with a purchase history; else the average of customers like it), the order of the
sales inbox, and the acquisition-cost ceiling per group of customers.

Plain values in, values out: `scoring.value` reads the customers and their values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Company sizes, the bands small-business partners sell by.
SIZE_BANDS = ((1, 9, "1-9"), (10, 49, "10-49"), (50, 249, "50-249"), (250, None, "250+"))
NO_SOURCE = "(none)"


@dataclass(frozen=True)
class Profile:
    """What makes customers alike: vertical (industry), company size band, acquisition
    source. An empty field matches nothing: an unknown vertical is no look-alike."""

    vertical: str = ""
    size: str = ""
    source: str = ""


@dataclass(frozen=True)
class Estimate:
    """A predicted lifetime value and what it rests on: the customer's own history
    (`basis` "customer") or `peers` look-alikes alike in `alike` ("vertical, size, source")."""

    clv: float
    basis: str  # customer | look-alikes
    peers: int = 1
    alike: str = ""

    @property
    def label(self) -> str:
        if self.basis == "customer":
            return "predicted CLV of this customer"
        noun = "customer" if self.peers == 1 else "customers"
        return f"average predicted CLV of {self.peers} look-alike {noun} (same {self.alike})"


# From the closest look-alikes to the loosest; the first level with customers wins.
LEVELS = (("vertical", "size", "source"), ("vertical", "size"), ("vertical",))


def size_band(company_size: int | None) -> str:
    if company_size is None or company_size < 1:
        return ""
    for low, high, name in SIZE_BANDS:
        if company_size >= low and (high is None or company_size <= high):
            return name
    return ""


def estimate(own: float | None, profile: Profile, book: Mapping[int, float],
             profiles: Mapping[int, Profile]) -> Estimate | None:
    """The lead's predicted value: `own` when it has one, else the average value in `book`
    (customer id -> CLV) of the customers alike at the closest level; None without any."""
    if own is not None:
        return Estimate(own, "customer")
    for level in LEVELS:
        wanted = tuple(getattr(profile, name) for name in level)
        if not all(wanted):
            continue
        peers = [value for cid, value in book.items() if cid in profiles and
                 tuple(getattr(profiles[cid], name) for name in level) == wanted]
        if peers:
            return Estimate(sum(peers) / len(peers), "look-alikes", len(peers),
                            ", ".join(level))
    return None


def urgency(status: str, trigger: str, overdue: bool) -> int:
    """How urgent an open hand-off is: past its SLA (or escalated for it) first, then a
    hand-raiser, then any other waiting lead; a lead already accepted is being worked on."""
    if status != "open":
        return 0
    if overdue:
        return 3
    return 2 if trigger == "hand_raiser" else 1


def inbox_order(urgency: int, value: float | None, priority: int, created: float
                ) -> tuple[int, int, float, int, float]:
    """Sort key of an open hand-off: the more urgent first (a higher `urgency`), then,
    among leads as urgent, the higher predicted value (unknown last), then the priority
    (hand-raisers, grade, score) and the older first."""
    return (-urgency, value is None, -(value or 0.0), -priority, created)


@dataclass(frozen=True)
class Ceiling:
    """One group's acquisition-cost ceiling: what a customer like these may cost to win."""

    dimension: str  # source | vertical | referral source
    group: str
    customers: int
    average_clv: float
    ceiling: float  # average CLV x gross margin


def ceilings(dimension: str, values: Mapping[int, float], groups: Mapping[int, str],
             margin: float) -> list[Ceiling]:
    """Per group of customers (`groups`: customer id -> group name; customers without a
    group are left out), their number, average CLV and ceiling, the highest ceiling first."""
    members: dict[str, list[float]] = {}
    for cid, value in values.items():
        name = groups.get(cid)
        if name:
            members.setdefault(name, []).append(value)
    rows = [Ceiling(dimension, name, len(found), sum(found) / len(found),
                    sum(found) / len(found) * margin) for name, found in members.items()]
    return sorted(rows, key=lambda row: (-row.ceiling, row.group))


def all_ceilings(values: Mapping[int, float], by: Iterable[tuple[str, Mapping[int, str]]],
                 margin: float) -> list[Ceiling]:
    return [row for dimension, groups in by for row in ceilings(dimension, values, groups,
                                                                margin)]
