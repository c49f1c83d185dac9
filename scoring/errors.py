"""Errors of the scoring package, each a whole sentence meant for the person who asked."""

from __future__ import annotations


class CLVError(ValueError):
    """Raised when transactions cannot be read, or a lifetime-value model cannot be fitted to
    them."""
