"""The email address check every way in uses (forms, the API, imports), and the key that
makes Ann@Example.com and ann@example.com one contact. Pure."""

from __future__ import annotations

import re

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EMAIL = 320  # the column's length


def email_key(email: str) -> str:
    return email.strip().lower()


def is_email(address: str) -> bool:
    """Whether `address` (trimmed) can be a contact's address."""
    return len(address) <= MAX_EMAIL and EMAIL.match(address) is not None
