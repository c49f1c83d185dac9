"""Fraud checks, pure: why a referral looks suspicious, as a list of rule ids.

A referral with reasons is flagged for a marketer to review, never silently dropped; its
rewards wait until the review clears it. The checks:

- `same-email`: the friend's address is the referrer's.
- `same-person`: the two addresses are one mailbox once normalised (case, dots and
  `+tags` in Gmail addresses, `+tags` anywhere, googlemail.com).
- `same-cookie`: the friend signed up from a browser the referrer signed up from.
- `same-device`: same IP address and same user agent as one of the referrer's sign-ups.
- `disposable-email`: the friend's domain is a throwaway mailbox provider.
- `velocity-source` / `velocity-ip`: too many referred sign-ups in 24 hours for the
  source, or from one IP address.
- `existing-customer`: the friend was already a customer when they signed up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import cache

from disposable_email_domains import blocklist

from referral.rules import FraudLimits

REASONS = {
    "same-email": "The friend's email address is the referrer's own.",
    "same-person": "The friend's email address is the referrer's mailbox under another "
                   "spelling.",
    "same-cookie": "The friend signed up from a browser the referrer used.",
    "same-device": "The friend signed up from the referrer's IP address and browser.",
    "disposable-email": "The friend used a disposable email address.",
    "velocity-source": "This source brought in more referrals in a day than the limit.",
    "velocity-ip": "More referred sign-ups came from this IP address in a day than the limit.",
    "existing-customer": "The friend was already a customer.",
}
GMAIL = ("gmail.com", "googlemail.com")


@dataclass(frozen=True)
class Device:
    visitor: str = ""
    ip: str = ""
    agent: str = ""  # `agent_hash(user_agent)`


@dataclass(frozen=True)
class Friend:
    email: str
    device: Device
    was_customer: bool = False


@dataclass(frozen=True)
class Referrer:
    emails: tuple[str, ...]  # the source's own address and its contact's
    devices: tuple[Device, ...]  # where the referrer signed up


@dataclass(frozen=True)
class Velocity:
    source_last_day: int  # referrals of this source in the 24 hours before this one
    ip_last_day: int  # referred sign-ups from this IP address in those 24 hours


def agent_hash(user_agent: str) -> str:
    return hashlib.sha256(user_agent.strip().encode()).hexdigest()[:16] if user_agent else ""


def normalise_email(address: str) -> str:
    """One spelling per mailbox: lower case, no `+tag`, no dots in Gmail local parts."""
    local, _, domain = address.strip().lower().rpartition("@")
    if not local:
        return address.strip().lower()
    local = local.split("+", 1)[0]
    if domain in GMAIL:
        domain, local = "gmail.com", local.replace(".", "")
    return f"{local}@{domain}"


@cache
def disposable_domains() -> frozenset[str]:
    """The maintained list of the `disposable-email-domains` package."""
    return frozenset(blocklist)


def is_disposable(address: str, domains: Collection[str] | None = None) -> bool:
    domain = address.rpartition("@")[2].strip().lower().rstrip(".")
    domains = disposable_domains() if domains is None else domains
    parts = domain.split(".")  # a subdomain of a listed domain is listed too
    return any(".".join(parts[i:]) in domains for i in range(len(parts) - 1))


def check(friend: Friend, referrer: Referrer, velocity: Velocity, limits: FraudLimits,
          domains: Collection[str] | None = None) -> tuple[str, ...]:
    """Every rule the referral breaks, in a stable order; empty when it looks fine."""
    reasons: list[str] = []
    own = {e.strip().lower() for e in referrer.emails if e}
    if friend.email.strip().lower() in own:
        reasons.append("same-email")
    elif normalise_email(friend.email) in {normalise_email(e) for e in own}:
        reasons.append("same-person")
    if friend.device.visitor and friend.device.visitor in _visitors(referrer.devices):
        reasons.append("same-cookie")
    if friend.device.ip and friend.device.agent and any(
            (d.ip, d.agent) == (friend.device.ip, friend.device.agent)
            for d in referrer.devices):
        reasons.append("same-device")
    if is_disposable(friend.email, domains):
        reasons.append("disposable-email")
    if velocity.source_last_day >= limits.per_source_per_day:
        reasons.append("velocity-source")
    if friend.device.ip and velocity.ip_last_day >= limits.per_ip_per_day:
        reasons.append("velocity-ip")
    if friend.was_customer:
        reasons.append("existing-customer")
    return tuple(reasons)


def _visitors(devices: Iterable[Device]) -> set[str]:
    return {d.visitor for d in devices if d.visitor}


def explain(reasons: Iterable[str]) -> list[str]:
    return [REASONS.get(r, r) for r in reasons]
