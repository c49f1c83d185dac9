"""Errors about customer accounts, each a sentence fit to show to the person who asked.

Each is a member of the one family (`nurture.errors`), which says how it is answered.
"""

from __future__ import annotations

from nurture.errors import Conflict, NotFound, NurtureError


class AccountError(NurtureError):
    """Base class: every account error carries a sentence fit to show to a person."""


class AccountNotFound(AccountError, NotFound):
    """Raised when no contact (and so no account) has the address given."""


class AccountConflict(AccountError, Conflict):
    """Raised when the account's state forbids the action: already deprovisioned or its
    data already deleted."""
