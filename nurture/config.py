"""Settings, read once from the environment and passed down from there."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A setting that cannot be used, said in one sentence naming the variable."""


def _number(env: Any, name: str, default: float, kind: type = int) -> Any:
    raw = env.get(name)
    if raw is None or not str(raw).strip():
        return default
    try:
        return kind(str(raw).strip())
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{name} must be {what}, not {raw!r}.") from None


def _hops(env: Any, name: str) -> int:
    """How many reverse proxies stand in front of the app: a whole number, 0 or more."""
    hops = _number(env, name, 0)
    if hops < 0:
        raise ConfigError(f"{name} must be a whole number of proxies, 0 or more, not "
                          f"{env.get(name)!r}.")
    return hops


def _secret_key(var_dir: Path) -> str:
    """The SECRET_KEY, generated once and kept under var/ when the environment has none."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


# Settings of one area, read by that area from `Settings.extra` (empty means its default).
EXTRA_ENV = {
    "nps_throttle_days": "NURTURE_NPS_THROTTLE_DAYS",
    "nps_alert_delay_minutes": "NURTURE_NPS_ALERT_DELAY_MINUTES",
    "cs_email": "NURTURE_CS_EMAIL",
    "trial_retention_days": "NURTURE_TRIAL_RETENTION_DAYS",
    "signup_rate_limit": "NURTURE_SIGNUP_RATE_LIMIT",
    "referral_window_days": "NURTURE_REFERRAL_WINDOW_DAYS",
    "referral_attribution": "NURTURE_REFERRAL_ATTRIBUTION",
    "referral_hold_days": "NURTURE_REFERRAL_HOLD_DAYS",
    "referral_rules": "NURTURE_REFERRAL_RULES",
    "scoring_rules": "NURTURE_SCORING_RULES",
    "crm_webhook_url": "NURTURE_CRM_WEBHOOK_URL",
    "login_rate_limit": "NURTURE_LOGIN_RATE_LIMIT",
    "login_address_rate_limit": "NURTURE_LOGIN_ADDRESS_RATE_LIMIT",
    "send_retention_days": "NURTURE_SEND_RETENTION_DAYS",
    "email_utm": "NURTURE_EMAIL_UTM",
    "email_utm_source": "NURTURE_EMAIL_UTM_SOURCE",
    "send_rate": "NURTURE_SEND_RATE",
    "web_lock_wait": "NURTURE_WEB_LOCK_WAIT",
}


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one Nurture installation."""

    database_url: str
    redis_url: str | None
    smtp_url: str | None
    secret_key: str
    base_url: str
    timezone: str
    var_dir: Path
    templates_dir: Path = PROJECT_ROOT / "templates"
    journeys_dir: Path = PROJECT_ROOT / "journeys" / "library"
    # Journey pacing defaults; the domain asks for numbers a marketer can change.
    frequency_cap: int = 3
    frequency_window_days: int = 7
    quiet_hours_start: str = "20:00"
    quiet_hours_end: str = "08:00"
    # Scheduler and worker.
    lease_seconds: int = 300
    claim_batch: int = 5000  # rows leased per claim statement; enqueued in messages of 500
    claim_threads: int = 2  # on PostgreSQL, claim statements run side by side when busy
    message_batch: int = 500
    poll_seconds: float = 1.0
    worker_threads: int = 8
    from_address: str = "Nurture <hello@nurture.localhost>"
    # Every marketing email shows the sender's postal address (CAN-SPAM, GDPR transparency).
    postal_address: str = "Nurture, 1 Example Street, 75001 Paris, France"
    company_name: str = "Nurture"
    # Reverse proxies in front of the web app whose X-Forwarded-* headers are believed; 0
    # means none: the client is the socket's address.
    trusted_proxies: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def mail_domain(self) -> str:
        """The sender's domain: Message-IDs, List-Id and default addresses use it."""
        return self.from_address.rsplit("@", 1)[-1].strip("> ")

    @property
    def outbox_dir(self) -> Path:
        return self.var_dir / "outbox"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        var_dir = Path(env.get("NURTURE_VAR_DIR", "var")).resolve()
        return cls(
            database_url=env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'nurture.db'}",
            redis_url=env.get("REDIS_URL") or None,
            smtp_url=env.get("SMTP_URL") or None,
            secret_key=env.get("SECRET_KEY") or _secret_key(var_dir),
            base_url=(env.get("BASE_URL") or "http://localhost:5000").rstrip("/"),
            timezone=env.get("NURTURE_TZ") or "UTC",
            var_dir=var_dir,
            frequency_cap=_number(env, "NURTURE_FREQUENCY_CAP", 3),
            frequency_window_days=_number(env, "NURTURE_FREQUENCY_WINDOW_DAYS", 7),
            quiet_hours_start=env.get("NURTURE_QUIET_START", "20:00"),
            quiet_hours_end=env.get("NURTURE_QUIET_END", "08:00"),
            lease_seconds=_number(env, "NURTURE_LEASE_SECONDS", 300),
            worker_threads=_number(env, "NURTURE_WORKER_THREADS", 8),
            from_address=env.get("NURTURE_FROM", "Nurture <hello@nurture.localhost>"),
            poll_seconds=_number(env, "NURTURE_POLL_SECONDS", 1.0, float),
            postal_address=env.get("NURTURE_POSTAL_ADDRESS",
                                   "Nurture, 1 Example Street, 75001 Paris, France"),
            company_name=env.get("NURTURE_COMPANY", "Nurture"),
            trusted_proxies=_hops(env, "NURTURE_TRUSTED_PROXIES"),
            extra={"api_key": env.get("NURTURE_API_KEY", ""),
                   "queue_namespace": env.get("NURTURE_QUEUE_NAMESPACE", "nurture"),
                   **{key: env[name] for key, name in EXTRA_ENV.items() if env.get(name)}},
        )

    def with_(self, **changes: object) -> Settings:
        """A copy with some settings changed (tests pass their own settings)."""
        return replace(self, **changes)
