"""Errors of the scoring package, each a whole sentence meant for the person who asked.

Each is a member of the one family (`nurture.errors`), which says how it is answered: a
hand-off that is already closed is a `Conflict` (409), a missing reason is `Invalid` (422).
"""

from __future__ import annotations

from nurture.errors import Busy, Conflict, Invalid, NotFound, NurtureError


class CLVError(Invalid):
    """Raised when transactions cannot be read, or a lifetime-value model cannot be fitted to
    them."""


class TrainingError(Invalid):
    """Raised when the leads at hand cannot train or evaluate a model."""


class ModelStoreError(Invalid):
    """Raised when a model version does not exist or cannot score with today's features."""


class HandoffError(NurtureError):
    """The base of the hand-off errors: the asked transition cannot be made."""


class HandoffInvalid(HandoffError, Invalid):
    """Raised when the input does not allow the transition: no reason given, a deal amount
    that is not a sane number, a lead not accepted yet, an account that is not active."""


class HandoffConflict(HandoffError, Conflict):
    """Raised when the hand-off's state forbids the transition: it is already closed."""


class HandoffNotFound(HandoffError, NotFound):
    """Raised when there is no hand-off with the id, or none the user may see: the two are
    the same answer, so that an id does not tell a rep whether another rep's lead exists."""


class ScoringPaused(Busy):
    """Raised when the scoring rules file is invalid, so nothing can be scored."""
