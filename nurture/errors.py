"""One family of errors for every use case: a sentence for the person who asked.

A service that refuses raises one of these, whatever its domain; `web/errors.py` maps them
once (a problem document under /api/, a styled page elsewhere) and so does the CLI (the
sentence on stderr, exit status 1). Domains subclass them to say what was refused
(`TrialNotFound(NotFound)`), never to add a family of their own.

| error     | HTTP | when                                                            |
|-----------|------|-----------------------------------------------------------------|
| NotFound  | 404  | no such thing, or none this user may see (the same answer)      |
| Invalid   | 422  | the input breaks a rule; `violations` says where and why        |
| Conflict  | 409  | the thing's state forbids it now (a converted trial, a paid reward) |
| Forbidden | 403  | the user may not do this                                        |
| Busy      | 503  | not now: paused or busy; nothing was saved, try again later      |

The base itself (400) is for a request that cannot be used as sent: a link that is
damaged, expired or already used (`nurture.tokens.TokenError`, the trials' `PendingError`).
"""

from __future__ import annotations

from collections.abc import Sequence

from nurture.violations import Violation


class NurtureError(Exception):
    """The base of the family: `str(error)` is a whole sentence fit to show."""

    status = 400
    title = "The request was refused"

    def __init__(self, problem: str | Sequence[Violation] = ""):
        if isinstance(problem, str):
            self.violations: list[Violation] = []
            super().__init__(problem or self.__doc__ or self.title)
            return
        self.violations = list(problem)
        first = self.violations[0].sentence() if self.violations else "The input is not valid."
        more = len(self.violations) - 1
        super().__init__(first if not more else
                         f"{first} ({more} more problem{'s' if more > 1 else ''}: see "
                         "the list.)")

    @property
    def sentence(self) -> str:
        return str(self)


class NotFound(NurtureError):
    """There is nothing here, or nothing this user may see."""

    status = 404
    title = "Not found"


class Invalid(NurtureError, ValueError):
    """The input breaks a rule; `violations` lists each field and why."""

    status = 422
    title = "The request is not valid"


class Conflict(NurtureError):
    """The current state does not allow this."""

    status = 409
    title = "Not possible now"


class Forbidden(NurtureError):
    """You may not do this."""

    status = 403
    title = "Not allowed"


class Busy(NurtureError):
    """This cannot be done now; nothing was saved. Please try again later."""

    status = 503
    title = "Please try again"
