"""Settings from the environment: a value that cannot be used stops the command with one
sentence naming the variable, never a traceback or a silent default."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from nurture.app.cli import main
from nurture.config import ConfigError, Settings


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


def test_trusted_proxies_are_none_unless_set(tmp_path):
    env = {"NURTURE_VAR_DIR": str(tmp_path), "SECRET_KEY": "k"}
    assert Settings.from_env(env).trusted_proxies == 0
    assert Settings.from_env({**env, "NURTURE_TRUSTED_PROXIES": " 2 "}).trusted_proxies == 2


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
])
def test_the_command_line_says_what_to_fix(tmp_path, name, value, sentence):
    env = {"NURTURE_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/n.db",
           "SECRET_KEY": "k", "REDIS_URL": "", name: value}
    result = CliRunner().invoke(main, ["init"], env=env)
    assert result.exit_code == 1
    assert f"Error: The configuration cannot be used: {sentence}" in result.output
    assert "Traceback" not in result.output
