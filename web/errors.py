"""A database that is busy or out of reach answers 503 with a sentence, never a 500.

Web requests wait at most NURTURE_WEB_LOCK_WAIT seconds (default 10) for a lock another
transaction holds: a worker's batch on the same contacts, an import. Past that, as on a
deadlock or a serialization failure, the request's transaction has rolled back, so nothing
was saved, and the answer says to try again (with Retry-After), as a problem document under /api/.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, render_template, request
from sqlalchemy.exc import OperationalError

from nurture.config import ConfigError
from nurture.db import lock_wait
from web.problems import BUSY, is_api, problem

log = logging.getLogger(__name__)
DEFAULT_LOCK_WAIT = 10.0
RETRY_AFTER = "5"
# PostgreSQL: deadlock, serialization failure, lock timeout; SQLite's busy timeout.
_CONFLICT_CODES = {"40P01", "40001", "55P03"}


def lock_wait_seconds(raw: str | None) -> float:
    if raw is None or not raw.strip():
        return DEFAULT_LOCK_WAIT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise ConfigError(f"NURTURE_WEB_LOCK_WAIT must be a number of seconds between 0 and "
                          f"3600, not {raw!r}.")
    return seconds


def init_app(app: Flask, settings_extra: dict[str, str]) -> None:
    wait = lock_wait_seconds(settings_extra.get("web_lock_wait"))

    @app.before_request
    def _wait_briefly() -> None:
        g.lock_wait_token = lock_wait.set(wait)

    @app.teardown_request
    def _wait_as_before(_exc: BaseException | None) -> None:
        token = g.pop("lock_wait_token", None)
        if token is not None:
            lock_wait.reset(token)

    app.register_error_handler(OperationalError, _busy)


def _conflict(exc: OperationalError) -> bool:
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in _CONFLICT_CODES or "database is locked" in str(exc.orig)


def _busy(exc: OperationalError) -> Any:
    conflict = _conflict(exc)
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
