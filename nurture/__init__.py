"""Nurture: an open-source marketing automation and nurture engine."""

__version__ = "0.1.0"
