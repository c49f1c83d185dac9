"""Referral errors; each message is a whole sentence a marketer can read."""


class ReferralError(ValueError):
    """Raised when a referral request cannot be done; the base of the others."""


class NotFound(ReferralError):
    """Raised when a source, referral or reward does not exist."""


class Invalid(ReferralError):
    """Raised when input breaks a rule (a bad name, email, landing page or reason)."""


class Conflict(ReferralError):
    """Raised when a change is not allowed in the current state (paying a voided reward)."""
