"""Public pages: nps (filled in by its issue)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("nps", __name__)
