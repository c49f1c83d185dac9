"""The blueprint every `/api/v1/` resource joins; each resource is a module of this package."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")
