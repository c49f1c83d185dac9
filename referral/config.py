"""Referral settings, read from `Settings.extra` (empty means the default), and the rewards
file, read once per change of the file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path

from nurture.config import Settings
from referral.attribution import MODELS
from referral.loader import DEFAULT_FILE, load_rewards_file
from referral.rules import Rules

DEFAULT_WINDOW_DAYS = 90
DEFAULT_HOLD_DAYS = 30


@dataclass(frozen=True)
class ReferralConfig:
    window: timedelta = timedelta(days=DEFAULT_WINDOW_DAYS)
    model: str = "last"  # first | last touch
    hold: timedelta = timedelta(days=DEFAULT_HOLD_DAYS)
    rules_file: Path = DEFAULT_FILE
    base_url: str = "http://localhost:5000"
    secure_cookie: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> ReferralConfig:
        extra = settings.extra
        model = (extra.get("referral_attribution") or "last").strip().lower()
        if model not in MODELS:
            raise ValueError("NURTURE_REFERRAL_ATTRIBUTION must be 'first' or 'last'.")
        return cls(
            window=timedelta(days=int(extra.get("referral_window_days")
                                      or DEFAULT_WINDOW_DAYS)),
            model=model,
            hold=timedelta(days=int(extra.get("referral_hold_days") or DEFAULT_HOLD_DAYS)),
            rules_file=Path(extra.get("referral_rules") or DEFAULT_FILE),
            base_url=settings.base_url,
            secure_cookie=settings.base_url.startswith("https"),
        )

    @property
    def rules(self) -> Rules | None:
        """The reward rules; None while the file is invalid (rewards wait, nothing breaks:
        referrals are still tied and converted, and `nurture referral validate` says why)."""
        path = self.rules_file
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            stamp = 0
        return _load(str(path), stamp)


@cache
def _load(path: str, _stamp: int) -> Rules | None:
    return load_rewards_file(path).rules
