"""Errors about API tokens; each carries a whole sentence fit to show."""

from nurture.errors import Forbidden, Invalid, NotFound, NurtureError


class TokenError(NurtureError):
    """Base class: raised when a token cannot be made, used or changed as asked."""


class InvalidToken(TokenError, Invalid):
    """Raised when a token's name, scope or expiry is not acceptable."""


class TokenNotFound(TokenError, NotFound):
    """Raised when no token (that this user may manage) has the id given."""


class NotYourToken(TokenError, Forbidden):
    """Raised when a user who is not an admin manages another user's token."""


class Unauthenticated(TokenError):
    """Raised when a bearer token is unknown, malformed, revoked, expired or its user is
    inactive; the sentence never says which, so guessing learns nothing."""

    status = 401
    title = "Not authenticated"
