"""Errors of trials and sign-ups, each a sentence fit to show to the person who asked.

Each is a member of the one family (`nurture.errors`), which says how it is answered;
`TrialError` is the common base of the trial ones, for a caller that answers them alike.
"""

from __future__ import annotations

from nurture.errors import Conflict, Invalid, NotFound, NurtureError


class TrialError(NurtureError):
    """Base class: every trial error carries a sentence fit to show to a person."""


class TrialNotFound(TrialError, NotFound):
    """Raised when no trial has the id (or the link) given."""


class TrialConflict(TrialError, Conflict):
    """Raised when the trial's state forbids the action: converted, expired or deleted."""


class TrialInvalid(TrialError, Invalid):
    """Raised when input does not fit the trial: an unknown choice or service, no seat left."""


class SignUpError(Invalid):
    """Raised when a sign-up breaks a rule the form should have caught; one sentence."""


class PendingError(NurtureError):
    """Raised when a confirmation link is malformed, tampered with, expired, replaced by a
    newer sign-up or already used; one sentence. Like a bad signed link (`TokenError`), it
    is a request that cannot be used as sent (400), not a missing or conflicting thing."""
