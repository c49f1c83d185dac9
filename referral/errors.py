"""Referral errors; each message is a whole sentence a marketer can read.

They are the one family's members (`nurture.errors`) under the names referral code uses;
`ReferralError` is their common base, for a caller that refuses any of them the same way.
"""

from nurture import errors


class ReferralError(errors.NurtureError):
    """Raised when a referral request cannot be done; the base of the others."""


class NotFound(ReferralError, errors.NotFound):
    """Raised when a source, referral or reward does not exist."""


class Invalid(ReferralError, errors.Invalid):
    """Raised when input breaks a rule (a bad name, email, landing page or reason)."""


class Conflict(ReferralError, errors.Conflict):
    """Raised when a change is not allowed in the current state (paying a voided reward)."""
