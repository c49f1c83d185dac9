"""Reading one environment variable as a typed value.

A value that cannot be used is a `ConfigError` whose sentence names the variable and says
what it must be, raised while the settings are read: the installation stops at start-up,
rather than a request failing later or a default quietly taking the value's place. An unset
or blank variable means its default. URLs are not repeated in a sentence (they may carry a
password); other values are, so that a typo can be seen."""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Collection, Mapping
from datetime import time
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import parse_many

Env = Mapping[str, str]
ON = frozenset({"on", "1", "true", "yes"})
OFF = frozenset({"off", "0", "false", "no"})
SMTP_SCHEMES = ("smtp", "smtps", "smtp+starttls")
_ADDRESS = re.compile(r"[^@\s<>]+@[^@\s<>]+")
_HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")
_NAMESPACE = re.compile(r"[A-Za-z0-9._:-]+")


class ConfigError(ValueError):
    """A setting that cannot be used, said in one sentence naming the variable."""


def raw(env: Env, name: str) -> str | None:
    """The variable's text without surrounding spaces; None when unset or blank."""
    value = env.get(name)
    return value.strip() if value is not None and value.strip() else None


def text(env: Env, name: str, default: str) -> str:
    """Free text (a name, an address, a key): any value, blank meaning the default."""
    return raw(env, name) or default


def networks(env: Env, name: str) -> tuple[str, ...]:
    """Host names or networks (`10.0.0.0/8`, `127.0.0.1`), separated by commas."""
    value = raw(env, name)
    if value is None:
        return ()
    entries = tuple(part.strip().lower() for part in value.split(",") if part.strip())
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            if not _HOST.fullmatch(entry):
                raise ConfigError(f"{name} must list host names or networks such as "
                                  f"'10.0.0.0/8', separated by commas, not {entry!r}.") from None
    return entries


def whole(env: Env, name: str, default: int, *, least: int, unit: str = "") -> int:
    """A whole number, `least` or more; `unit` names what it counts in the sentence."""
    value = raw(env, name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {env[name]!r}.") from None
    if number < least:
        counted = f" of {unit}" if unit else ""
        raise ConfigError(f"{name} must be a whole number{counted}, {least} or more, not "
                          f"{env[name]!r}.")
    return number


def seconds(env: Env, name: str, default: float, *, most: float | None = None) -> float:
    """A number of seconds, more than 0 (and at most `most` when given)."""
    value = raw(env, name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if most is not None:
        if not 0 < number <= most:
            raise ConfigError(f"{name} must be a number of seconds between 0 and {most:g}, "
                              f"not {env[name]!r}.")
    elif not math.isfinite(number):
        raise ConfigError(f"{name} must be a number, not {env[name]!r}.")
    elif number <= 0:
        raise ConfigError(f"{name} must be a number of seconds more than 0, not "
                          f"{env[name]!r}.")
    return number


def fraction(env: Env, name: str, default: float) -> float:
    """A share from 0 to 1, written as 0.7 or 70%."""
    value = raw(env, name)
    if value is None:
        return default
    try:
        number = float(value[:-1]) / 100 if value.endswith("%") else float(value)
    except ValueError:
        number = math.nan
    if not 0 < number <= 1:
        raise ConfigError(f"{name} must be a share between 0 and 1 (like 0.7 or 70%), not "
                          f"{env[name]!r}.")
    return number


def per_second(env: Env, name: str) -> int | None:
    """A whole number of messages per second, at least 1; None when unset (no cap)."""
    value = raw(env, name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ConfigError(f"{name} must be a whole number of messages per second, at least "
                          f"1, not {env[name]!r}.")
    return number


def choice(env: Env, name: str, default: str, choices: Collection[str]) -> str:
    """One of `choices`, in any case."""
    value = raw(env, name)
    if value is None:
        return default
    if value.lower() not in choices:
        words = " or ".join(repr(c) for c in choices)
        raise ConfigError(f"{name} must be {words}, not {env[name]!r}.")
    return value.lower()


def switch(env: Env, name: str, default: bool) -> bool:
    """On or off: `on`, `off`, or the usual words for them (yes, no, true, false, 1, 0)."""
    value = raw(env, name)
    if value is None:
        return default
    if value.lower() in ON | OFF:
        return value.lower() in ON
    raise ConfigError(f"{name} must be 'on' or 'off', not {env[name]!r}.")


def rate(env: Env, name: str, default: str) -> str:
    """A rate limit in the words flask-limiter reads, such as '5 per minute; 30 per hour'."""
    value = raw(env, name)
    if value is None:
        return default
    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(f"{name} must be a rate such as {default!r}, not "
                          f"{env[name]!r}.") from None
    return value


def origins(env: Env, name: str) -> tuple[str, ...]:
    """Web origins (`https://www.example.com`, a port if not the scheme's own), comma
    separated, each lower-cased as browsers send it in `Origin`; () when unset."""
    value = raw(env, name)
    found: list[str] = []
    for item in (value or "").split(","):
        item = item.strip().rstrip("/")
        if not item:
            continue
        check_url(name, item, ("http", "https"))
        parts = urlsplit(item)
        if parts.path or parts.query or parts.fragment or parts.username:
            raise ConfigError(f"{name} must list origins such as https://www.example.com, "
                              f"without a path, not {item!r}.")
        found.append(f"{parts.scheme.lower()}://{parts.netloc.lower()}")
    return tuple(found)


def url(env: Env, name: str, schemes: Collection[str], *, host: bool = True) -> str | None:
    """An address starting with one of `schemes` (and naming a host, when `host`); None
    when unset."""
    value = raw(env, name)
    if value is None:
        return None
    check_url(name, value, schemes, host=host)
    return value


def check_url(name: str, value: str, schemes: Collection[str], *, host: bool = True) -> None:
    """Raise the sentence for `value` of `name` when it is not such an address."""
    parts = urlsplit(value)
    if parts.scheme.lower() not in schemes:
        starts = ", ".join(f"{s}://" for s in schemes)
        starts = " or ".join(starts.rsplit(", ", 1))
        shown = f"{parts.scheme}://" if parts.scheme else "an address without a scheme"
        raise ConfigError(f"{name} must start with {starts}, not {shown}.")
    try:
        named = parts.hostname
        _ = parts.port  # a port that is not a number raises here
    except ValueError:
        raise ConfigError(f"{name} has a port that is not a number.") from None
    if host and not named:
        raise ConfigError(f"{name} must name a host after {parts.scheme}://.")


def database_url(env: Env, name: str, default: str) -> str:
    """SQLite or PostgreSQL, with any driver SQLAlchemy knows for them."""
    value = raw(env, name)
    if value is None:
        return default
    scheme = urlsplit(value).scheme
    if scheme.lower().split("+")[0] not in ("sqlite", "postgresql"):
        shown = f"{scheme}://" if scheme else "an address without a scheme"
        raise ConfigError(f"{name} must start with sqlite:// or postgresql://, not {shown}.")
    return value


def smtp_url(env: Env, name: str) -> str | None:
    """An SMTP relay: smtp://, smtps:// or smtp+starttls://, with an optional `timeout`
    query in seconds."""
    value = raw(env, name)
    if value is None:
        return None
    check_smtp_url(name, value)
    return value


def check_smtp_url(name: str, value: str) -> None:
    """Raise the sentence for an SMTP URL that cannot be used."""
    parts = urlsplit(value)
    if parts.scheme not in SMTP_SCHEMES:
        raise ConfigError(f"{name} must start with smtp://, smtps:// or smtp+starttls://, "
                          f"not {parts.scheme}://.")
    timeout = parse_qs(parts.query, keep_blank_values=True).get("timeout", ["30"])[-1]
    try:
        if float(timeout) <= 0:
            raise ValueError(timeout)
    except ValueError:
        raise ConfigError(f"{name} must give its timeout as a number of seconds more than "
                          f"0, not {timeout!r}.") from None


def address(env: Env, name: str, default: str | None, *, with_name: bool = False
            ) -> str | None:
    """An email address (`name@domain`), or with `with_name` also `Name <name@domain>`."""
    value = raw(env, name)
    if value is None:
        return default
    plain = parseaddr(value)[1] if with_name else value
    if not _ADDRESS.fullmatch(plain):
        such = "'Nurture <hello@example.com>'" if with_name else "'cs@example.com'"
        raise ConfigError(f"{name} must be an email address such as {such}, not "
                          f"{env[name]!r}.")
    return value


def zone(env: Env, name: str, default: str) -> str:
    """A time zone name of the IANA database, such as Europe/Paris."""
    value = raw(env, name)
    if value is None:
        return default
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{name} must be a time zone such as 'Europe/Paris', not "
                          f"{env[name]!r}.") from None
    return value


def time_of_day(env: Env, name: str, default: time) -> time:
    """A time of day such as 20:00."""
    value = raw(env, name)
    if value is None:
        return default
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{name} must be a time of day such as '20:00', not "
                          f"{env[name]!r}.") from None


def namespace(env: Env, name: str, default: str) -> str:
    """A prefix of Redis keys: letters, digits and . _ : -"""
    value = raw(env, name)
    if value is None:
        return default
    if not _NAMESPACE.fullmatch(value):
        raise ConfigError(f"{name} must be letters, digits, dots, dashes, colons or "
                          f"underscores, not {env[name]!r}.")
    return value


def path(env: Env, name: str) -> Path | None:
    """A file's path, as given (relative paths are read from the working directory);
    None when unset."""
    value = raw(env, name)
    return Path(value) if value is not None else None


def folder(env: Env, name: str, default: str) -> Path:
    """A folder, created when first needed: it may not exist yet, but it is not a file."""
    found = Path(raw(env, name) or default).resolve()
    if found.exists() and not found.is_dir():
        raise ConfigError(f"{name} must be a folder, not the file {str(found)!r}.")
    return found
