"""Errors about users; each carries a whole sentence fit to show to the person at hand."""


class UserError(ValueError):
    """Base class: raised when a user cannot be created or changed as asked."""


class InvalidUser(UserError):
    """Raised when an email, name, role, password, vertical or territory is not acceptable."""


class DuplicateEmail(UserError):
    """Raised when another user already has the email address."""


class UserNotFound(UserError):
    """Raised when no user has the email address given."""
