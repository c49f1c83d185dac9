"""Errors about users; each carries a whole sentence fit to show to the person at hand.

`UserError` is the base a caller catches for "the user could not be made or changed"; each
kind is also a member of the one family (`nurture.errors`), which says how it is answered.
"""

from nurture.errors import Conflict, Invalid, NotFound, NurtureError


class UserError(NurtureError):
    """Base class: raised when a user cannot be created or changed as asked."""


class InvalidUser(UserError, Invalid):
    """Raised when an email, name, role, password, vertical or territory is not acceptable."""


class DuplicateEmail(UserError, Conflict):
    """Raised when another user already has the email address."""


class UserNotFound(UserError, NotFound):
    """Raised when no user has the email address given."""
