"""Errors of the inbound paths, each a sentence a person can act on."""

from __future__ import annotations

from nurture.errors import Busy


class MailboxError(Busy):
    """Raised when the IMAP mailbox cannot be reached, refuses the sign-in or the folder:
    nothing was taken from it, and the next poll tries again."""
