"""Settings, read once from the environment and passed down from there.

Every variable is parsed and checked here, in `Settings.from_env`: a value that cannot be
used stops the start-up with a `ConfigError` sentence naming it (`nurture.env`), and the
code that reads a setting gets a typed value and never parses it again. The settings of
one area are a small frozen dataclass of their own (`settings.nps`, `settings.sending`...).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from nurture import env as read
from nurture.accounts import catalog
from nurture.accounts.catalog import Catalogue
from nurture.env import ConfigError
from nurture.sending.dkim import SELECTOR, DkimKey, load_key
from nurture.sending.dnsrecords import SPF_MECHANISM
from nurture.sending.errors import DkimKeyError

__all__ = ["ConfigError", "Settings"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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


QUEUE_NAMESPACE = "nurture"  # NURTURE_QUEUE_NAMESPACE's default
# The referral attribution models (`referral.attribution.MODELS`); the ground names the
# words it accepts and imports no domain.
ATTRIBUTION_MODELS = ("first", "last")


@dataclass(frozen=True)
class NPSSettings:
    """The NPS survey throttle and the alert to an account's owner about a detractor."""

    # No survey to a contact surveyed or answering within so many days (seed 004: do not
    # bombard customers with surveys).
    throttle_days: int = 90
    alert_delay: timedelta = timedelta(minutes=10)  # a detractor's time to write a reason
    cs_email: str | None = None  # None: customer-success@ and the sender's domain


@dataclass(frozen=True)
class TrialSettings:
    """How long an expired trial's data is kept, and how often one address may sign up."""

    retention_days: int = 30
    signup_rate_limit: str = "10 per hour"


@dataclass(frozen=True)
class DepartureSettings:
    """What a departing customer is told: how long the account's data is kept after service
    and billing stop, and where the data can be exported."""

    retention_days: int = 30  # as for an expired trial's data (seed 003)
    export_url: str | None = None  # None: the notice says to reply for an export


@dataclass(frozen=True)
class ReferralSettings:
    """Which share-link visit a sign-up is credited to, and when its reward is approved."""

    window: timedelta = timedelta(days=90)  # how long a visit can still attribute a sign-up
    attribution: str = "last"  # first | last touch
    hold: timedelta = timedelta(days=30)  # a reward is pending this long
    rules_file: Path | None = None  # None: the shipped rewards file


@dataclass(frozen=True)
class ScoringSettings:
    """The lead scoring rules, and where hand-offs to sales are POSTed."""

    rules_file: Path | None = None  # None: the shipped rules file
    crm_webhook_url: str | None = None  # None: no webhook
    # The share of revenue left after the cost of serving it: CLV x margin is what one
    # customer may cost to acquire. The seeds give no figure; 0.7 suits resold cloud
    # subscriptions with the partner's own services on top.
    gross_margin: float = 0.7


@dataclass(frozen=True)
class WebSettings:
    """Limits on failed sign-ins, how long a request waits for a held lock, and how large
    a file of contacts may be uploaded."""

    login_rate_limit: str = "5 per minute; 30 per hour"  # per account and address
    login_address_rate_limit: str = "30 per minute; 300 per hour"  # per address
    api_rate_limit: str = "600 per minute"  # per API token (and for the shared API key)
    lock_wait: float = 10.0  # seconds
    import_max_mb: int = 200  # a million contacts with a dozen columns is about 150 MB
    # The customer's websites whose pages may report visits (NURTURE_VISIT_ORIGINS): the
    # only origins the visit endpoint answers with CORS headers. (): no site may.
    visit_origins: tuple[str, ...] = ()
    visit_rate_limit: str = "60 per minute; 1000 per day"  # per visitor


@dataclass(frozen=True)
class SendingSettings:
    """How long sends are kept, the UTM tags of email clicks, and a cap on the send rate."""

    retention_days: int | None = None  # None: as long as the links in the email live
    utm: bool = True
    utm_source: str = "nurture"
    rate: int | None = None  # messages per second across workers; None: no cap
    # Signs every message when set (NURTURE_DKIM_SELECTOR, NURTURE_DKIM_PRIVATE_KEY): off
    # by default, since many relays (Postfix with OpenDKIM, SES) sign for the sender.
    dkim: DkimKey | None = None
    # A second, Ed25519 signature beside the first (RFC 8463), when
    # NURTURE_DKIM_ED25519_SELECTOR and NURTURE_DKIM_ED25519_PRIVATE_KEY are set.
    dkim_ed25519: DkimKey | None = None
    # What `nurture dns records` proposes: the SPF mechanisms of the relay (NURTURE_SPF,
    # e.g. "include:amazonses.com") and where DMARC reports go (NURTURE_DMARC_RUA).
    spf: str | None = None
    dmarc_rua: str | None = None

    @property
    def dkim_keys(self) -> tuple[DkimKey, ...]:
        """The keys every message is signed with, in order; () when Nurture does not sign."""
        return tuple(k for k in (self.dkim, self.dkim_ed25519) if k is not None)


@dataclass(frozen=True)
class InboundSettings:
    """What reads the mail that comes back: the IMAP mailbox polled for the unsubscribe
    address and bounces, a relay that forwards it to `POST /api/inbound`, and VERP return
    paths (`bounces+TOKEN@DOMAIN`) that tie a bounce to its send."""

    imap_url: str | None = field(default=None, repr=False)  # None: no mailbox is polled
    webhook: bool = False  # a relay forwards the unsubscribe mailbox to POST /api/inbound
    verp: bool = False
    bounce_domain: str | None = None  # None: the From address's domain


@dataclass(frozen=True)
class GuardSettings:
    """When a source's complaints or hard bounces pause its marketing mail: the rolling
    window, the sends it must hold before it is judged, and the two rates (Gmail asks for
    complaints under 0.3%, 0.1% recommended; a list past 2% hard bounces is a bad list)."""

    window_days: int = 7
    min_sends: int = 1000
    complaint_rate: float = 0.001
    bounce_rate: float = 0.02


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
    quiet_hours_start: time = time(20, 0)
    quiet_hours_end: time = time(8, 0)
    # Scheduler and worker.
    lease_seconds: int = 300
    claim_batch: int = 5000  # rows leased per claim statement; enqueued in messages of 500
    claim_threads: int = 2  # on PostgreSQL, claim statements run side by side when busy
    message_batch: int = 500
    poll_seconds: float = 1.0
    worker_threads: int = 8
    # Threads of each worker that serve only the priority lane (nurture/sending/lanes.py).
    priority_threads: int = 2
    from_address: str = "Nurture <hello@nurture.localhost>"
    # Every marketing email shows the sender's postal address (CAN-SPAM, GDPR transparency).
    postal_address: str = "Nurture, 1 Example Street, 75001 Paris, France"
    company_name: str = "Nurture"
    # Reverse proxies in front of the web app whose X-Forwarded-* headers are believed; 0
    # means none: the client is the socket's address.
    trusted_proxies: int = 0
    api_key: str | None = None  # the JSON API's bearer token; None: the API is off
    # Prefix of the Redis queues and rate-limit keys: installations can share one Redis.
    queue_namespace: str = QUEUE_NAMESPACE
    nps: NPSSettings = NPSSettings()
    trials: TrialSettings = TrialSettings()
    departure: DepartureSettings = DepartureSettings()
    referral: ReferralSettings = ReferralSettings()
    scoring: ScoringSettings = ScoringSettings()
    web: WebSettings = WebSettings()
    sending: SendingSettings = SendingSettings()
    guard: GuardSettings = GuardSettings()
    # The service catalogue with each service's sign-in address (NURTURE_SERVICES_FILE).
    services: Catalogue = field(default_factory=catalog.default)
    # A purchase's commitment, in months, when the event does not say (seed 002: 12).
    commitment_months: int = 12
    inbound: InboundSettings = InboundSettings()
    # Hosts and CIDRs that webhooks may reach although private or loopback (tests, intranets).
    webhook_allow: tuple[str, ...] = ()

    @property
    def reads_unsubscribe_mail(self) -> bool:
        """Someone reads unsubscribe@: the mailbox is polled, or a relay forwards it to an
        API that is on. Only then do emails offer the mailto unsubscribe."""
        return bool(self.inbound.imap_url or (self.inbound.webhook and self.api_key))

    @property
    def verp_domain(self) -> str | None:
        """The domain of each message's return path `bounces+TOKEN@...`; None: VERP off."""
        if not self.inbound.verp:
            return None
        return self.inbound.bounce_domain or self.mail_domain

    @property
    def mail_domain(self) -> str:
        """The sender's domain: Message-IDs, List-Id and default addresses use it."""
        return self.from_address.rsplit("@", 1)[-1].strip("> ")

    @property
    def outbox_dir(self) -> Path:
        return self.var_dir / "outbox"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings in `environ` (the process's environment by default); raises a
        ConfigError naming the first variable whose value cannot be used."""
        env = os.environ if environ is None else environ
        var_dir = read.folder(env, "NURTURE_VAR_DIR", "var")
        return cls(
            database_url=read.database_url(env, "DATABASE_URL",
                                           f"sqlite:///{var_dir / 'nurture.db'}"),
            redis_url=read.url(env, "REDIS_URL", ("redis", "rediss", "unix"), host=False),
            smtp_url=read.smtp_url(env, "SMTP_URL"),
            secret_key=env.get("SECRET_KEY") or _secret_key(var_dir),
            base_url=(read.url(env, "BASE_URL", ("http", "https"))
                      or "http://localhost:5000").rstrip("/"),
            timezone=read.zone(env, "NURTURE_TZ", "UTC"),
            var_dir=var_dir,
            webhook_allow=read.networks(env, "NURTURE_WEBHOOK_ALLOW"),
            frequency_cap=read.whole(env, "NURTURE_FREQUENCY_CAP", 3, least=1),
            frequency_window_days=read.whole(env, "NURTURE_FREQUENCY_WINDOW_DAYS", 7,
                                             least=1, unit="days"),
            quiet_hours_start=read.time_of_day(env, "NURTURE_QUIET_START", time(20, 0)),
            quiet_hours_end=read.time_of_day(env, "NURTURE_QUIET_END", time(8, 0)),
            lease_seconds=read.whole(env, "NURTURE_LEASE_SECONDS", 300, least=1,
                                     unit="seconds"),
            claim_batch=read.whole(env, "NURTURE_CLAIM_BATCH", 5000, least=1, unit="rows"),
            worker_threads=read.whole(env, "NURTURE_WORKER_THREADS", 8, least=1,
                                      unit="threads"),
            priority_threads=read.whole(env, "NURTURE_PRIORITY_THREADS", 2, least=1,
                                        unit="threads"),
            from_address=read.address(env, "NURTURE_FROM", "Nurture <hello@nurture.localhost>",
                                      with_name=True) or "",
            poll_seconds=read.seconds(env, "NURTURE_POLL_SECONDS", 1.0),
            postal_address=read.text(env, "NURTURE_POSTAL_ADDRESS",
                                     "Nurture, 1 Example Street, 75001 Paris, France"),
            company_name=read.text(env, "NURTURE_COMPANY", "Nurture"),
            trusted_proxies=read.whole(env, "NURTURE_TRUSTED_PROXIES", 0, least=0,
                                       unit="proxies"),
            api_key=read.raw(env, "NURTURE_API_KEY"),
            queue_namespace=read.namespace(env, "NURTURE_QUEUE_NAMESPACE", QUEUE_NAMESPACE),
            nps=_nps(env),
            trials=_trials(env),
            departure=_departure(env),
            referral=_referral(env),
            scoring=_scoring(env),
            web=_web(env),
            sending=_sending(env),
            guard=_guard(env),
            services=_services(env),
            commitment_months=read.whole(env, "NURTURE_COMMITMENT_MONTHS", 12, least=1,
                                         unit="months"),
            inbound=_inbound(env),
        )

    def with_(self, **changes: Any) -> Settings:
        """A copy with some settings changed (tests pass their own settings)."""
        return replace(self, **changes)


def _nps(env: Mapping[str, str]) -> NPSSettings:
    default = NPSSettings()
    return NPSSettings(
        throttle_days=read.whole(env, "NURTURE_NPS_THROTTLE_DAYS", default.throttle_days,
                                 least=0, unit="days"),
        alert_delay=timedelta(minutes=read.whole(
            env, "NURTURE_NPS_ALERT_DELAY_MINUTES", default.alert_delay // timedelta(minutes=1),
            least=0, unit="minutes")),
        cs_email=read.address(env, "NURTURE_CS_EMAIL", default.cs_email))


def _trials(env: Mapping[str, str]) -> TrialSettings:
    default = TrialSettings()
    return TrialSettings(
        retention_days=read.whole(env, "NURTURE_TRIAL_RETENTION_DAYS", default.retention_days,
                                  least=1, unit="days"),
        signup_rate_limit=read.rate(env, "NURTURE_SIGNUP_RATE_LIMIT",
                                    default.signup_rate_limit))


def _departure(env: Mapping[str, str]) -> DepartureSettings:
    default = DepartureSettings()
    return DepartureSettings(
        retention_days=read.whole(env, "NURTURE_ACCOUNT_RETENTION_DAYS",
                                  default.retention_days, least=1, unit="days"),
        export_url=read.url(env, "NURTURE_DATA_EXPORT_URL", ("http", "https")))


def _referral(env: Mapping[str, str]) -> ReferralSettings:
    default = ReferralSettings()
    return ReferralSettings(
        window=timedelta(days=read.whole(env, "NURTURE_REFERRAL_WINDOW_DAYS",
                                         default.window.days, least=1, unit="days")),
        attribution=read.choice(env, "NURTURE_REFERRAL_ATTRIBUTION", default.attribution,
                                ATTRIBUTION_MODELS),
        hold=timedelta(days=read.whole(env, "NURTURE_REFERRAL_HOLD_DAYS", default.hold.days,
                                       least=0, unit="days")),
        rules_file=read.path(env, "NURTURE_REFERRAL_RULES"))


def _scoring(env: Mapping[str, str]) -> ScoringSettings:
    return ScoringSettings(
        rules_file=read.path(env, "NURTURE_SCORING_RULES"),
        crm_webhook_url=read.url(env, "NURTURE_CRM_WEBHOOK_URL", ("http", "https")),
        gross_margin=read.fraction(env, "NURTURE_GROSS_MARGIN", ScoringSettings.gross_margin))


def _web(env: Mapping[str, str]) -> WebSettings:
    default = WebSettings()
    return WebSettings(
        login_rate_limit=read.rate(env, "NURTURE_LOGIN_RATE_LIMIT", default.login_rate_limit),
        login_address_rate_limit=read.rate(env, "NURTURE_LOGIN_ADDRESS_RATE_LIMIT",
                                           default.login_address_rate_limit),
        api_rate_limit=read.rate(env, "NURTURE_API_RATE_LIMIT", default.api_rate_limit),
        lock_wait=read.seconds(env, "NURTURE_WEB_LOCK_WAIT", default.lock_wait, most=3600),
        import_max_mb=read.whole(env, "NURTURE_IMPORT_MAX_MB", default.import_max_mb,
                                 least=1, unit="MB"),
        visit_origins=read.origins(env, "NURTURE_VISIT_ORIGINS"),
        visit_rate_limit=read.rate(env, "NURTURE_VISIT_RATE_LIMIT", default.visit_rate_limit))


def _guard(env: Mapping[str, str]) -> GuardSettings:
    default = GuardSettings()
    return GuardSettings(
        window_days=read.whole(env, "NURTURE_GUARD_WINDOW_DAYS", default.window_days, least=1,
                               unit="days"),
        min_sends=read.whole(env, "NURTURE_GUARD_MIN_SENDS", default.min_sends, least=1),
        complaint_rate=read.fraction(env, "NURTURE_GUARD_COMPLAINT_RATE",
                                     default.complaint_rate),
        bounce_rate=read.fraction(env, "NURTURE_GUARD_BOUNCE_RATE", default.bounce_rate))


def _sending(env: Mapping[str, str]) -> SendingSettings:
    default = SendingSettings()
    return SendingSettings(
        retention_days=read.whole(env, "NURTURE_SEND_RETENTION_DAYS", 0, least=0,
                                  unit="days") or default.retention_days,
        utm=read.switch(env, "NURTURE_EMAIL_UTM", default.utm),
        utm_source=read.text(env, "NURTURE_EMAIL_UTM_SOURCE", default.utm_source),
        rate=read.per_second(env, "NURTURE_SEND_RATE"),
        dkim=_dkim(env),
        dkim_ed25519=_dkim_ed25519(env),
        spf=_spf(env),
        dmarc_rua=read.address(env, "NURTURE_DMARC_RUA", None))


def _spf(env: Mapping[str, str]) -> str | None:
    value = read.raw(env, "NURTURE_SPF")
    if value is None:
        return None
    if not all(SPF_MECHANISM.match(term) for term in value.split()):
        raise ConfigError(f"NURTURE_SPF must be the SPF mechanisms of your relay, such as "
                          f"'include:amazonses.com ip4:203.0.113.5', not {value!r}.")
    return value


def _dkim(env: Mapping[str, str], prefix: str = "NURTURE_DKIM") -> DkimKey | None:
    """A DKIM key, read once here; both variables or neither."""
    names = (f"{prefix}_SELECTOR", f"{prefix}_PRIVATE_KEY")
    selector, path = read.raw(env, names[0]), read.path(env, names[1])
    if selector is None and path is None:
        return None
    if selector is None or path is None:
        given, missing = names[::-1] if selector is None else names
        raise ConfigError(f"{given} is set but {missing} is not: DKIM signing needs both.")
    if not SELECTOR.match(selector):
        raise ConfigError(f"{names[0]} must be letters, digits, dashes and dots, "
                          f"not {selector!r}.")
    try:
        return load_key(selector, path)
    except DkimKeyError as exc:
        raise ConfigError(f"{names[1]} cannot be used: {exc}") from None


def _dkim_ed25519(env: Mapping[str, str]) -> DkimKey | None:
    """The optional second key, which signs beside the first: Ed25519 beside RSA, since
    many receivers do not verify Ed25519 yet (RFC 8463 recommends signing with both)."""
    key = _dkim(env, "NURTURE_DKIM_ED25519")
    if key is None:
        return None
    if key.algorithm != "ed25519-sha256":
        raise ConfigError("NURTURE_DKIM_ED25519_PRIVATE_KEY holds an RSA key: the second "
                          "signature is an Ed25519 one (nurture dkim keygen --ed25519).")
    first = _dkim(env)
    if first is None or first.algorithm != "rsa-sha256":
        raise ConfigError("NURTURE_DKIM_ED25519_SELECTOR signs beside an RSA key, and "
                          "NURTURE_DKIM_SELECTOR names none: set the RSA key too, or give "
                          "the Ed25519 key as NURTURE_DKIM_SELECTOR alone.")
    if first.selector == key.selector:
        raise ConfigError(f"Both DKIM keys use the selector {key.selector!r}: each key is "
                          "published under its own selector.")
    return key


def _services(env: Mapping[str, str]) -> Catalogue:
    path = read.path(env, "NURTURE_SERVICES_FILE")
    loaded = catalog.load(path)
    if loaded.value is None:
        first = loaded.violations[0]
        named = "NURTURE_SERVICES_FILE" if path else "The shipped services file"
        raise ConfigError(f"{named} cannot be used: {first}")
    return loaded.value


_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def _inbound(env: Mapping[str, str]) -> InboundSettings:
    imap_url = read.url(env, "NURTURE_INBOUND_IMAP_URL", ("imap", "imaps"))
    if imap_url is not None:
        parts = urlsplit(imap_url)
        if not (parts.username and parts.password):
            raise ConfigError("NURTURE_INBOUND_IMAP_URL must name the mailbox's user and "
                              "password, as in imaps://user:password@host:993/INBOX.")
    domain = read.raw(env, "NURTURE_BOUNCE_DOMAIN")
    if domain is not None and not _DOMAIN.match(domain.lower()):
        raise ConfigError(f"NURTURE_BOUNCE_DOMAIN must be a domain such as "
                          f"'bounces.example.com', not {domain!r}.")
    return InboundSettings(
        imap_url=imap_url, webhook=read.switch(env, "NURTURE_INBOUND_WEBHOOK", False),
        # A bounce domain of its own says VERP is wanted.
        verp=read.switch(env, "NURTURE_VERP", domain is not None),
        bounce_domain=domain.lower() if domain else None)
