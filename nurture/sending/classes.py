"""The three classes of message, and who may receive each (see DOMAIN.md, "Service
messages vs marketing").

- transactional: log-in instructions, opt-in confirmation, password and security mail. It
  always goes, except to a hard-bounced or complaining address.
- service: activation, onboarding, renewal, end-of-service, retention and deletion
  notices, trial tips. Part of what a customer or trialist signed up for: it goes without
  marketing consent, but never to a hard bounce, a complaint or a reader who chose "only
  what I must receive". A mere prospect gets it only with marketing consent.
- marketing: everything else; it needs consent, and honours every preference.

A template folder declares its class in `class.txt` (first word; any further lines say
why). A legacy `transactional.txt` reads as transactional; no file means marketing.
"""

from __future__ import annotations

from pathlib import Path

TRANSACTIONAL, SERVICE, MARKETING = "transactional", "service", "marketing"
MESSAGE_CLASSES = (TRANSACTIONAL, SERVICE, MARKETING)
CLASS_FILE, LEGACY_FILE = "class.txt", "transactional.txt"

# The preference-center choice "only what I must receive" (stored as the contact's email
# frequency): no service and no marketing email, transactional mail only.
MUST_RECEIVE_ONLY = "must_receive_only"

# Stages of a customer or trialist: service email about their contract reaches them
# without marketing consent. A former customer still gets its end-of-service and deletion
# notices.
CONTRACT_STAGES = frozenset({"try", "buy", "onboard", "adopt", "renew", "expand", "churned",
                             "deprovisioned"})
# Suppression reasons that stop every class of message.
ALWAYS_STOPS = frozenset({"bounced", "complained"})


def declared_class(folder: Path) -> tuple[str | None, str]:
    """The class a template folder declares and the file it is read from: (None, file)
    when the file names no known class, (MARKETING, "") when there is no file."""
    path = folder / CLASS_FILE
    if path.is_file():
        words = path.read_text(encoding="utf-8").split()
        word = words[0].lower() if words else ""
        return (word if word in MESSAGE_CLASSES else None), CLASS_FILE
    if (folder / LEGACY_FILE).is_file():
        return TRANSACTIONAL, LEGACY_FILE
    return MARKETING, ""


def class_of(folder: Path) -> str:
    """The folder's class; a file naming no known class counts as marketing, the strictest
    (`nurture templates check` reports it)."""
    return declared_class(folder)[0] or MARKETING


# A company account in one of these states is served by a contract: anyone holding a role
# there (the activation or billing contact, say) gets its service email.
CONTRACT_ACCOUNTS = frozenset({"trial", "customer", "deprovisioned"})


def under_contract(stage: str | None, attributes: dict | None,
                   account_status: str | None = None) -> bool:
    """Whether a contact is a customer or trialist, or a contact of a customer's or
    trialist's account, to whom service email goes without marketing consent."""
    return ((stage or "") in CONTRACT_STAGES or bool((attributes or {}).get("trial"))
            or (account_status or "") in CONTRACT_ACCOUNTS)


def blocked_by_class(message_class: str, suppression: str | None, consent: bool,
                     must_receive_only: bool, contract: bool) -> tuple[bool, str | None]:
    """The checks that depend on the class alone: (decided, reason). Decided with reason
    None means the send may go and the marketing preferences do not apply; not decided
    means marketing's further checks (throttles, topics, frequency) follow."""
    if message_class == TRANSACTIONAL:
        return True, f"suppressed:{suppression}" if suppression in ALWAYS_STOPS else None
    if message_class == SERVICE:
        if suppression in ALWAYS_STOPS:
            return True, f"suppressed:{suppression}"
        if must_receive_only:
            return True, "must_receive_only"
        if contract or consent:
            return True, None
        return True, "no_consent"
    if suppression:
        return True, f"suppressed:{suppression}"
    if must_receive_only:
        return True, "must_receive_only"
    if not consent:
        return True, "no_consent"
    return False, None
