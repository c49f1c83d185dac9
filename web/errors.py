"""Refusals answered once: a service's error is a problem document or a styled page.

A view calls a service and renders what it returns. When the service refuses, it raises a
member of the one family (`nurture.errors`), and this module answers it for every view:
under /api/ an RFC 9457 problem document with the error's status and sentence (and, for
`Invalid`, each field and why); elsewhere the styled page of the view's area
(`@refusals_shown_on`), with the sentence and a way back, or the plain card.

A database that is busy or out of reach answers 503 with a sentence, never a 500.
Web requests wait at most NURTURE_WEB_LOCK_WAIT seconds (default 10) for a lock another
transaction holds: a worker's batch on the same contacts, an import. Past that, as on a
deadlock or a serialization failure, the request's transaction has rolled back, so nothing
was saved, and the answer says to try again (with Retry-After), as a problem document under /api/.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, render_template, request, url_for

from nurture.db import Unavailable, contention, lock_wait
from nurture.errors import Busy, Invalid, NurtureError
from web.i18n import speak_to
from web.problems import BUSY, INVALID, is_api, problem

log = logging.getLogger(__name__)
RETRY_AFTER = "5"
View = TypeVar("View", bound=Callable[..., Any])
REFUSAL_PAGE = "refusal_page"  # the attribute `refusals_shown_on` sets on a view


@dataclass(frozen=True)
class RefusalPage:
    """Where a page view shows a refusal: its area's template, the heading (None: the
    error's own title, like "Not found"), the endpoint of the way back, if any, and whether
    a reader of our emails sees it (then it is in their browser's language)."""

    template: str = "problem.html"
    title: str | None = None
    back: str | None = None
    reader: bool = False


PLAIN = RefusalPage()


def refusals_shown_on(template: str = "problem.html", title: str | None = None,
                      back: str | None = None, reader: bool = False) -> Callable[[View], View]:
    """Mark a view with the page its refusals are shown on; only presentation: the status
    and the sentence are the error's, whichever page shows them."""

    def mark(view: View) -> View:
        setattr(view, REFUSAL_PAGE, RefusalPage(template, title, back, reader))
        return view

    return mark


def init_app(app: Flask, wait: float) -> None:
    """Hold each request's lock waits to `wait` seconds (`Settings.web.lock_wait`), and
    answer a busy database with a sentence."""

    @app.before_request
    def _wait_briefly() -> None:
        g.lock_wait_token = lock_wait.set(wait)

    @app.teardown_request
    def _wait_as_before(_exc: BaseException | None) -> None:
        token = g.pop("lock_wait_token", None)
        if token is not None:
            lock_wait.reset(token)

    app.register_error_handler(Unavailable, _busy)
    app.register_error_handler(NurtureError, _refused)


def _refused(exc: NurtureError) -> Any:
    """A service said no: its status and sentence, as a document or as a page."""
    if exc.status >= 500:
        log.warning("%s %s answered %s: %s", request.method, request.path, exc.status, exc)
    headers = {"Retry-After": RETRY_AFTER} if isinstance(exc, Busy) else {}
    if is_api():
        return problem_for(exc, headers)
    view = current_app.view_functions.get(request.endpoint or "")
    shown: RefusalPage = getattr(view, REFUSAL_PAGE, PLAIN)
    if shown.reader and not g.get("reader_language"):
        speak_to(None)  # nobody is known yet: the browser's language
    return render_template(shown.template, title=shown.title or exc.title,
                           message=exc.sentence,
                           back=url_for(shown.back) if shown.back else None), \
        exc.status, headers


def problem_for(exc: NurtureError, headers: dict[str, str] | None = None) -> Response:
    """The problem document of a refusal: `Invalid` lists each field and why (the whole
    body when it names none); `Busy` is ours, with Retry-After; the others need no type
    beyond their HTTP status."""
    if isinstance(exc, Invalid):
        errors = [(v.field, v.message) for v in exc.violations] or [("(body)", exc.sentence)]
        return problem(exc.status, exc.sentence, errors, INVALID, Invalid.title, headers)
    if isinstance(exc, Busy):
        return problem(exc.status, exc.sentence, type_=BUSY, title=Busy.title,
                       headers=headers)
    return problem(exc.status, exc.sentence, headers=headers)


def _busy(exc: Unavailable) -> Any:
    conflict = contention(exc)
    log.warning("%s %s answered 503: %s", request.method, request.path,
                str(exc.orig).strip().splitlines()[0] if exc.orig else exc)
    message = ("Someone else was changing the same records at that moment, so nothing was "
               "saved. Please try again in a few seconds." if conflict else
               "The database could not be reached, so nothing was saved. Please try again "
               "in a moment.")
    headers = {"Retry-After": RETRY_AFTER}
    if is_api():
        return problem(503, message, type_=BUSY, title="Please try again", headers=headers)
    return render_template("busy.html", message=message), 503, headers
