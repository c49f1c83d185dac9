"""A contact's language as an IETF BCP 47 tag ("fr", "pt-BR"), chosen by the email
templates' translations (`templates/email/<name>/<tag>/`)."""

from __future__ import annotations

import langcodes

MAX_LENGTH = 35


def standard_tag(value: object) -> str | None:
    """The standard form of a language tag (`pt_br` gives "pt-BR", `iw` gives "he"); None
    when `value` is not a well-formed tag for a language."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_LENGTH:
        return None
    try:
        tag = langcodes.standardize_tag(value.strip().replace("_", "-"))
    except (ValueError, langcodes.LanguageTagError):
        return None
    return tag if langcodes.tag_is_valid(tag) and tag != "und" else None


def primary(tag: str | None) -> str:
    """The language without its region or script, lower-case: "fr-CH" gives "fr"."""
    return (tag or "").split("-")[0].lower()


def problem(value: object) -> str:
    """The sentence for a value `standard_tag` refused."""
    return (f"The language {str(value)[:40]!r} is not a language tag; use one such as "
            "'fr', 'de' or 'pt-BR'.")


def from_browser(preferences: list[tuple[str, float]]) -> str:
    """The reader's first language from an Accept-Language header (werkzeug's parsed
    values, best first), or "" when it names none."""
    for value, quality in preferences:
        tag = standard_tag(value) if quality > 0 and value != "*" else None
        if tag:
            return tag
    return ""
