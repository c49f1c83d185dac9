"""Public pages: landing (filled in by its issue)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("landing", __name__)
