"""Promotion in mail sent without marketing consent: `nurture templates check` flags it.

A service or transactional email goes on the contract, not on consent, so it must carry no
marketing: no trial sign-up aimed at prospects, no newsletter or marketing list to leave,
no offer code, no referral ask.
"""

from __future__ import annotations

import re

from nurture.sending.classes import MARKETING

# (pattern, what it is), each found in body.mjml or body.txt.
PROMOTIONS = (
    (re.compile(r"links\.trial\b"), "a trial sign-up link ({{ links.trial }}) is aimed at "
                                    "prospects"),
    (re.compile(r"links\.referral\b"), "a referral link ({{ links.referral }}) asks the "
                                       "reader to refer others"),
    (re.compile(r"links\.unsubscribe\b"), "an unsubscribe link ({{ links.unsubscribe }}) "
                                          "belongs to a marketing list; give the preferences "
                                          "link ({{ links.preferences }}) instead"),
    (re.compile(r"\bnewsletters?\b", re.I), "a newsletter is marketing"),
    (re.compile(r"\b(?:promo(?:tion(?:al)?)? code|coupon|discount code)\b", re.I),
     "an offer code is marketing"),
)


def promotion_problems(sources: dict[str, str | None],
                       message_class: str) -> list[tuple[str, int, str]]:
    """Every promotional part of a service or transactional template: (file, line,
    reason), the reason to be read after the template's name."""
    if message_class == MARKETING:
        return []
    problems: list[tuple[str, int, str]] = []
    for file in ("body.mjml", "body.txt"):
        source = sources.get(file)
        if not source:
            continue
        for pattern, what in PROMOTIONS:
            found = pattern.search(source)
            if found:
                line = source.count("\n", 0, found.start()) + 1
                problems.append((file, line, f"{message_class} email is sent without "
                                             f"marketing consent, so it carries no promotion, "
                                             f"but {what}"))
    return problems
