"""Settings from the environment: a value that cannot be used stops the command with one
sentence naming the variable, never a traceback or a silent default. Every variable the
settings read is documented in the README's table and walked here with a bad value."""

from __future__ import annotations

import re
from datetime import time, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from nurture.app.cli import main
from nurture.config import ATTRIBUTION_MODELS, PROJECT_ROOT, ConfigError, Settings
from referral.attribution import MODELS


def _env(tmp_path: Path, **more: str) -> dict[str, str]:
    return {"NURTURE_VAR_DIR": str(tmp_path), "SECRET_KEY": "k", **more}


def test_numbers_are_read_and_a_bad_one_is_named(tmp_path):
    env = {"NURTURE_VAR_DIR": str(tmp_path), "SECRET_KEY": "k", "NURTURE_LEASE_SECONDS": "120",
           "NURTURE_POLL_SECONDS": "0.5"}
    settings = Settings.from_env(env)
    assert (settings.lease_seconds, settings.poll_seconds, settings.frequency_cap) == (
        120, 0.5, 3)
    with pytest.raises(ConfigError, match=r"^NURTURE_LEASE_SECONDS must be a whole number, "
                                          r"not '5m'\.$"):
        Settings.from_env({**env, "NURTURE_LEASE_SECONDS": "5m"})
    with pytest.raises(ConfigError, match="NURTURE_POLL_SECONDS must be a number"):
        Settings.from_env({**env, "NURTURE_POLL_SECONDS": "soon"})


def test_the_gross_margin_is_a_share_written_either_way(tmp_path):
    assert Settings.from_env(_env(tmp_path)).scoring.gross_margin == 0.7
    for text in ("0.55", "55%"):
        settings = Settings.from_env(_env(tmp_path, NURTURE_GROSS_MARGIN=text))
        assert settings.scoring.gross_margin == pytest.approx(0.55)


def test_trusted_proxies_are_none_unless_set(tmp_path):
    env = {"NURTURE_VAR_DIR": str(tmp_path), "SECRET_KEY": "k"}
    assert Settings.from_env(env).trusted_proxies == 0
    assert Settings.from_env({**env, "NURTURE_TRUSTED_PROXIES": " 2 "}).trusted_proxies == 2


def test_unset_or_blank_means_the_defaults_of_every_area(tmp_path):
    blank = {name: " " for name, _value, _sentence in BAD}
    blank |= {name: " " for name in FREE_TEXT if name != "SECRET_KEY"}
    for env in (_env(tmp_path), _env(tmp_path, **blank)):
        s = Settings.from_env(env)
        assert (s.api_key, s.queue_namespace, s.company_name) == (None, "nurture", "Nurture")
        assert (s.quiet_hours_start, s.quiet_hours_end) == (time(20, 0), time(8, 0))
        assert (s.nps.throttle_days, s.nps.alert_delay, s.nps.cs_email) == (
            90, timedelta(minutes=10), None)
        assert (s.trials.retention_days, s.trials.signup_rate_limit) == (30, "10 per hour")
        assert (s.referral.window, s.referral.attribution, s.referral.hold,
                s.referral.rules_file) == (timedelta(days=90), "last", timedelta(days=30), None)
        assert (s.scoring.rules_file, s.scoring.crm_webhook_url) == (None, None)
        assert (s.web.login_rate_limit, s.web.login_address_rate_limit, s.web.lock_wait) == (
            "5 per minute; 30 per hour", "30 per minute; 300 per hour", 10.0)
        assert (s.sending.retention_days, s.sending.utm, s.sending.utm_source,
                s.sending.rate) == (None, True, "nurture", None)


def test_each_area_reads_its_variables_as_typed_values(tmp_path):
    s = Settings.from_env(_env(
        tmp_path, NURTURE_API_KEY="key", NURTURE_QUEUE_NAMESPACE="acme-prod",
        NURTURE_QUIET_START="22:30", NURTURE_TZ="Europe/Paris",
        NURTURE_NPS_THROTTLE_DAYS="30", NURTURE_NPS_ALERT_DELAY_MINUTES="0",
        NURTURE_CS_EMAIL="cs@acme.example", NURTURE_TRIAL_RETENTION_DAYS="45",
        NURTURE_SIGNUP_RATE_LIMIT="3/minute", NURTURE_REFERRAL_WINDOW_DAYS="30",
        NURTURE_REFERRAL_ATTRIBUTION=" First ", NURTURE_REFERRAL_HOLD_DAYS="0",
        NURTURE_REFERRAL_RULES="acme/rewards.yaml", NURTURE_SCORING_RULES="acme/rules.yaml",
        NURTURE_CRM_WEBHOOK_URL="https://crm.acme.example/hook",
        NURTURE_LOGIN_RATE_LIMIT="3 per minute", NURTURE_WEB_LOCK_WAIT="2.5",
        NURTURE_SEND_RETENTION_DAYS="730", NURTURE_EMAIL_UTM="Off",
        NURTURE_EMAIL_UTM_SOURCE="acme-mail", NURTURE_SEND_RATE="14"))
    assert (s.api_key, s.queue_namespace, s.quiet_hours_start, s.timezone) == (
        "key", "acme-prod", time(22, 30), "Europe/Paris")
    assert (s.nps.throttle_days, s.nps.alert_delay, s.nps.cs_email) == (
        30, timedelta(0), "cs@acme.example")
    assert (s.trials.retention_days, s.trials.signup_rate_limit) == (45, "3/minute")
    assert (s.referral.window, s.referral.attribution, s.referral.hold,
            s.referral.rules_file) == (timedelta(days=30), "first", timedelta(0),
                                       Path("acme/rewards.yaml"))
    assert (s.scoring.rules_file, s.scoring.crm_webhook_url) == (
        Path("acme/rules.yaml"), "https://crm.acme.example/hook")
    assert (s.web.login_rate_limit, s.web.lock_wait) == ("3 per minute", 2.5)
    assert (s.sending.retention_days, s.sending.utm, s.sending.utm_source,
            s.sending.rate) == (730, False, "acme-mail", 14)


# Every variable with a value that cannot be used, and the sentence that says so.
BAD = [
    ("DATABASE_URL", "mysql://nurture:secret@db/nurture",
     "DATABASE_URL must start with sqlite:// or postgresql://, not mysql://."),
    ("REDIS_URL", "localhost:6379",
     "REDIS_URL must start with redis://, rediss:// or unix://, not localhost://."),
    ("SMTP_URL", "http://mail.example",
     "SMTP_URL must start with smtp://, smtps:// or smtp+starttls://, not http://."),
    ("SMTP_URL", "smtp://mail.example?timeout=soon",
     "SMTP_URL must give its timeout as a number of seconds more than 0, not 'soon'."),
    ("BASE_URL", "nurture.example.com",
     "BASE_URL must start with http:// or https://, not an address without a scheme."),
    ("BASE_URL", "https://", "BASE_URL must name a host after https://."),
    ("NURTURE_TZ", "Mars/Olympus",
     "NURTURE_TZ must be a time zone such as 'Europe/Paris', not 'Mars/Olympus'."),
    ("NURTURE_FREQUENCY_CAP", "0",
     "NURTURE_FREQUENCY_CAP must be a whole number, 1 or more, not '0'."),
    ("NURTURE_FREQUENCY_WINDOW_DAYS", "a week",
     "NURTURE_FREQUENCY_WINDOW_DAYS must be a whole number, not 'a week'."),
    ("NURTURE_QUIET_START", "8pm",
     "NURTURE_QUIET_START must be a time of day such as '20:00', not '8pm'."),
    ("NURTURE_QUIET_END", "25:00",
     "NURTURE_QUIET_END must be a time of day such as '20:00', not '25:00'."),
    ("NURTURE_LEASE_SECONDS", "0",
     "NURTURE_LEASE_SECONDS must be a whole number of seconds, 1 or more, not '0'."),
    ("NURTURE_POLL_SECONDS", "0",
     "NURTURE_POLL_SECONDS must be a number of seconds more than 0, not '0'."),
    ("NURTURE_CLAIM_BATCH", "0",
     "NURTURE_CLAIM_BATCH must be a whole number of rows, 1 or more, not '0'."),
    ("NURTURE_WORKER_THREADS", "many", "NURTURE_WORKER_THREADS must be a whole number, not "
                                       "'many'."),
    ("NURTURE_PRIORITY_THREADS", "0", "NURTURE_PRIORITY_THREADS must be a whole number of "
                                      "threads, 1 or more, not '0'."),
    ("NURTURE_QUEUE_NAMESPACE", "acme prod",
     "NURTURE_QUEUE_NAMESPACE must be letters, digits, dots, dashes, colons or underscores, "
     "not 'acme prod'."),
    ("NURTURE_FROM", "Nurture",
     "NURTURE_FROM must be an email address such as 'Nurture <hello@example.com>', not "
     "'Nurture'."),
    ("NURTURE_TRUSTED_PROXIES", "-1", "NURTURE_TRUSTED_PROXIES must be a whole number of "
                                      "proxies, 0 or more, not '-1'."),
    ("NURTURE_NPS_THROTTLE_DAYS", "-5",
     "NURTURE_NPS_THROTTLE_DAYS must be a whole number of days, 0 or more, not '-5'."),
    ("NURTURE_NPS_ALERT_DELAY_MINUTES", "10m",
     "NURTURE_NPS_ALERT_DELAY_MINUTES must be a whole number, not '10m'."),
    ("NURTURE_CS_EMAIL", "customer success",
     "NURTURE_CS_EMAIL must be an email address such as 'cs@example.com', not "
     "'customer success'."),
    ("NURTURE_TRIAL_RETENTION_DAYS", "soon",
     "NURTURE_TRIAL_RETENTION_DAYS must be a whole number, not 'soon'."),
    ("NURTURE_TRIAL_RETENTION_DAYS", "0",
     "NURTURE_TRIAL_RETENTION_DAYS must be a whole number of days, 1 or more, not '0'."),
    ("NURTURE_TRIAL_RETENTION_DAYS", "-5",
     "NURTURE_TRIAL_RETENTION_DAYS must be a whole number of days, 1 or more, not '-5'."),
    ("NURTURE_SIGNUP_RATE_LIMIT", "lots",
     "NURTURE_SIGNUP_RATE_LIMIT must be a rate such as '10 per hour', not 'lots'."),
    ("NURTURE_REFERRAL_WINDOW_DAYS", "0",
     "NURTURE_REFERRAL_WINDOW_DAYS must be a whole number of days, 1 or more, not '0'."),
    ("NURTURE_REFERRAL_ATTRIBUTION", "middle",
     "NURTURE_REFERRAL_ATTRIBUTION must be 'first' or 'last', not 'middle'."),
    ("NURTURE_REFERRAL_HOLD_DAYS", "a month",
     "NURTURE_REFERRAL_HOLD_DAYS must be a whole number, not 'a month'."),
    ("NURTURE_CRM_WEBHOOK_URL", "ftp://crm.example/in",
     "NURTURE_CRM_WEBHOOK_URL must start with http:// or https://, not ftp://."),
    ("NURTURE_WEBHOOK_ALLOW", "10.0.0.0/8, not a host",
     "NURTURE_WEBHOOK_ALLOW must list host names or networks such as '10.0.0.0/8', "
     "separated by commas, not 'not a host'."),
    ("NURTURE_LOGIN_RATE_LIMIT", "5 a minute",
     "NURTURE_LOGIN_RATE_LIMIT must be a rate such as '5 per minute; 30 per hour', not "
     "'5 a minute'."),
    ("NURTURE_LOGIN_ADDRESS_RATE_LIMIT", "lots",
     "NURTURE_LOGIN_ADDRESS_RATE_LIMIT must be a rate such as '30 per minute; 300 per hour', "
     "not 'lots'."),
    ("NURTURE_API_RATE_LIMIT", "fast",
     "NURTURE_API_RATE_LIMIT must be a rate such as '600 per minute', not 'fast'."),
    ("NURTURE_WEB_LOCK_WAIT", "99999",
     "NURTURE_WEB_LOCK_WAIT must be a number of seconds between 0 and 3600, not '99999'."),
    ("NURTURE_IMPORT_MAX_MB", "0",
     "NURTURE_IMPORT_MAX_MB must be a whole number of MB, 1 or more, not '0'."),
    ("NURTURE_VISIT_ORIGINS", "https://www.example.com/shop",
     "NURTURE_VISIT_ORIGINS must list origins such as https://www.example.com, without a "
     "path, not 'https://www.example.com/shop'."),
    ("NURTURE_VISIT_RATE_LIMIT", "often",
     "NURTURE_VISIT_RATE_LIMIT must be a rate such as '60 per minute; 1000 per day', not "
     "'often'."),
    ("NURTURE_SEND_RETENTION_DAYS", "two years",
     "NURTURE_SEND_RETENTION_DAYS must be a whole number, not 'two years'."),
    ("NURTURE_EMAIL_UTM", "maybe", "NURTURE_EMAIL_UTM must be 'on' or 'off', not 'maybe'."),
    ("NURTURE_ACCOUNT_RETENTION_DAYS", "0",
     "NURTURE_ACCOUNT_RETENTION_DAYS must be a whole number of days, 1 or more, not '0'."),
    ("NURTURE_DATA_EXPORT_URL", "ftp://files.example/export",
     "NURTURE_DATA_EXPORT_URL must start with http:// or https://, not ftp://."),
    ("NURTURE_SEND_RATE", "2.5", "NURTURE_SEND_RATE must be a whole number of messages per "
                                 "second, at least 1, not '2.5'."),
    ("NURTURE_GROSS_MARGIN", "170%", "NURTURE_GROSS_MARGIN must be a share between 0 and 1 "
                                     "(like 0.7 or 70%), not '170%'."),
    ("NURTURE_GROSS_MARGIN", "high", "NURTURE_GROSS_MARGIN must be a share between 0 and 1 "
                                     "(like 0.7 or 70%), not 'high'."),
    ("NURTURE_SERVICES_FILE", "no-such-services.yaml",
     "NURTURE_SERVICES_FILE cannot be used: no-such-services.yaml:1: The services file "
     "cannot be read: No such file or directory."),
    ("NURTURE_COMMITMENT_MONTHS", "a year",
     "NURTURE_COMMITMENT_MONTHS must be a whole number, not 'a year'."),
    ("NURTURE_DKIM_PRIVATE_KEY", "no-such-key.pem",
     "NURTURE_DKIM_PRIVATE_KEY is set but NURTURE_DKIM_SELECTOR is not: DKIM signing needs "
     "both."),
    ("NURTURE_SPF", "v=spf1 include:amazonses.com ~all",
     "NURTURE_SPF must be the SPF mechanisms of your relay, such as 'include:amazonses.com "
     "ip4:203.0.113.5', not 'v=spf1 include:amazonses.com ~all'."),
    ("NURTURE_DMARC_RUA", "reports",
     "NURTURE_DMARC_RUA must be an email address such as 'cs@example.com', not 'reports'."),
    ("NURTURE_DKIM_SELECTOR", "s2026",
     "NURTURE_DKIM_SELECTOR is set but NURTURE_DKIM_PRIVATE_KEY is not: DKIM signing needs "
     "both."),
    ("NURTURE_DKIM_ED25519_SELECTOR", "ed2026",
     "NURTURE_DKIM_ED25519_SELECTOR is set but NURTURE_DKIM_ED25519_PRIVATE_KEY is not: "
     "DKIM signing needs both."),
    ("NURTURE_DKIM_ED25519_PRIVATE_KEY", "no-such-key.pem",
     "NURTURE_DKIM_ED25519_PRIVATE_KEY is set but NURTURE_DKIM_ED25519_SELECTOR is not: "
     "DKIM signing needs both."),
    ("NURTURE_INBOUND_IMAP_URL", "imaps://imap.example.com/INBOX",
     "NURTURE_INBOUND_IMAP_URL must name the mailbox's user and password, as in "
     "imaps://user:password@host:993/INBOX."),
    ("NURTURE_INBOUND_WEBHOOK", "maybe",
     "NURTURE_INBOUND_WEBHOOK must be 'on' or 'off', not 'maybe'."),
    ("NURTURE_VERP", "sometimes", "NURTURE_VERP must be 'on' or 'off', not 'sometimes'."),
    ("NURTURE_BOUNCE_DOMAIN", "bounces@example.com",
     "NURTURE_BOUNCE_DOMAIN must be a domain such as 'bounces.example.com', not "
     "'bounces@example.com'."),
    ("NURTURE_GUARD_WINDOW_DAYS", "a week",
     "NURTURE_GUARD_WINDOW_DAYS must be a whole number, not 'a week'."),
    ("NURTURE_GUARD_MIN_SENDS", "0",
     "NURTURE_GUARD_MIN_SENDS must be a whole number, 1 or more, not '0'."),
    ("NURTURE_GUARD_COMPLAINT_RATE", "lots", "NURTURE_GUARD_COMPLAINT_RATE must be a share "
                                             "between 0 and 1 (like 0.7 or 70%), not 'lots'."),
    ("NURTURE_GUARD_BOUNCE_RATE", "150%", "NURTURE_GUARD_BOUNCE_RATE must be a share between "
                                          "0 and 1 (like 0.7 or 70%), not '150%'."),
]
# Free text, or a path read when it is used (an invalid rules file pauses scoring or rewards
# and `nurture scoring|referral validate` says why): no value is refused at start-up.
FREE_TEXT = ("SECRET_KEY", "NURTURE_API_KEY", "NURTURE_COMPANY", "NURTURE_POSTAL_ADDRESS",
             "NURTURE_EMAIL_UTM_SOURCE", "NURTURE_SCORING_RULES", "NURTURE_REFERRAL_RULES")


@pytest.mark.parametrize(("name", "value", "sentence"), BAD)
def test_a_value_that_cannot_be_used_is_a_sentence_naming_its_variable(tmp_path, name, value,
                                                                      sentence):
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(_env(tmp_path, **{name: value}))
    assert str(raised.value) == sentence


def test_a_var_dir_that_is_a_file_is_named(tmp_path):
    file = tmp_path / "var"
    file.write_text("")
    with pytest.raises(ConfigError, match=r"^NURTURE_VAR_DIR must be a folder, not the file "):
        Settings.from_env({"NURTURE_VAR_DIR": str(file), "SECRET_KEY": "k"})


def test_a_sentence_does_not_repeat_a_password_in_an_address(tmp_path):
    for name, value in (("DATABASE_URL", "mysql://nurture:hunter2@db/n"),
                        ("REDIS_URL", "http://:hunter2@cache:6379"),
                        ("SMTP_URL", "http://user:hunter2@mail.example"),
                        ("NURTURE_CRM_WEBHOOK_URL", "ftp://user:hunter2@crm.example")):
        with pytest.raises(ConfigError) as raised:
            Settings.from_env(_env(tmp_path, **{name: value}))
        assert name in str(raised.value) and "hunter2" not in str(raised.value)


class _Reading(dict[str, str]):
    """An environment that notes every variable the settings ask for."""

    def __init__(self, values: dict[str, str]):
        super().__init__(values)
        self.asked: set[str] = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.asked.add(key)
        return super().__getitem__(key)


def test_every_variable_read_is_documented_and_walked_here(tmp_path):
    env = _Reading(_env(tmp_path))
    Settings.from_env(env)
    section = (PROJECT_ROOT / "README.md").read_text().split("## Configuration", 1)[1]
    rows = [line.split("|")[1] for line in section.split("\n## ", 1)[0].splitlines()
            if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row)}
    walked = {name for name, _value, _sentence in BAD} | set(FREE_TEXT) | {"NURTURE_VAR_DIR"}
    assert env.asked == documented == walked


def test_the_attribution_words_are_the_referral_models():
    assert ATTRIBUTION_MODELS == MODELS


@pytest.mark.parametrize(("name", "value", "sentence"), [
    ("NURTURE_SEND_RATE", "lots", "NURTURE_SEND_RATE must be a whole number of messages per "
                                  "second, at least 1, not 'lots'."),
    ("SMTP_URL", "http://mail.example", "SMTP_URL must start with smtp://, smtps:// or "
                                        "smtp+starttls://, not http://."),
    ("NURTURE_FREQUENCY_CAP", "three", "NURTURE_FREQUENCY_CAP must be a whole number, "
                                       "not 'three'."),
    ("NURTURE_TRUSTED_PROXIES", "yes", "NURTURE_TRUSTED_PROXIES must be a whole number, "
                                       "not 'yes'."),
    ("NURTURE_TRUSTED_PROXIES", "-1", "NURTURE_TRUSTED_PROXIES must be a whole number of "
                                      "proxies, 0 or more, not '-1'."),
    ("NURTURE_REFERRAL_ATTRIBUTION", "middle", "NURTURE_REFERRAL_ATTRIBUTION must be 'first' "
                                               "or 'last', not 'middle'."),
])
def test_the_command_line_says_what_to_fix(tmp_path, name, value, sentence):
    env = {"NURTURE_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/n.db",
           "SECRET_KEY": "k", "REDIS_URL": "", name: value}
    result = CliRunner().invoke(main, ["init"], env=env)
    assert result.exit_code == 1
    assert f"Error: The configuration cannot be used: {sentence}" in result.output
    assert "Traceback" not in result.output


def test_a_service_without_a_sign_in_address_stops_the_start_up(tmp_path):
    services = tmp_path / "services.yaml"
    services.write_text("signin: https://my.example.com/\nservices:\n"
                        "  - id: crm\n    name: CRM\n    signin: https://crm.example.com/\n"
                        "  - id: analytics\n    name: Analytics\n")
    env = {"NURTURE_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/n.db",
           "SECRET_KEY": "k", "NURTURE_SERVICES_FILE": str(services)}
    sentence = (f"NURTURE_SERVICES_FILE cannot be used: {services}:6: The service analytics "
                "has no sign-in address: add 'signin' with the address where its users "
                "sign in.")
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(env)
    assert str(raised.value) == sentence
    result = CliRunner().invoke(main, ["init"], env=env)
    assert result.exit_code == 1
    assert f"Error: The configuration cannot be used: {sentence}" in result.output
    services.write_text("services:\n  - id: crm\n    name: CRM\n"
                        "    signin: https://crm.example.com/sign-in\n")
    with pytest.raises(ConfigError, match=r":1: The services file has no sign-in address for "
                                          r"the customer portal: add 'signin' with the "
                                          r"address where customers sign in"):
        Settings.from_env(env)
    services.write_text("signin: https://my.example.com/\n" + services.read_text())
    catalogue = Settings.from_env(env).services
    assert [(s.id, s.signin) for s in catalogue] == [("crm", "https://crm.example.com/sign-in")]
    assert catalogue.signin == "https://my.example.com/"
