"""Referral settings, read from `Settings.referral` (checked at start-up), and the rewards
file, read once per change of the file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path

from nurture.config import ReferralSettings, Settings
from referral.loader import DEFAULT_FILE, load_rewards_file
from referral.rules import Rules


@dataclass(frozen=True)
class ReferralConfig:
    window: timedelta = ReferralSettings.window
    model: str = ReferralSettings.attribution  # first | last touch
    hold: timedelta = ReferralSettings.hold
    rules_file: Path = DEFAULT_FILE
    base_url: str = "http://localhost:5000"
    secure_cookie: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> ReferralConfig:
        referral = settings.referral
        return cls(
            window=referral.window,
            model=referral.attribution,
            hold=referral.hold,
            rules_file=referral.rules_file or DEFAULT_FILE,
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
