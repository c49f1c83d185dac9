"""What the roof reads about landing pages: the page for a slug, in one read session of
its own (`pages.find`: the database row when there is one, else the file)."""

from __future__ import annotations

from nurture.db import Database
from nurture.landing.pages import FileCache, Page, find


def page(db: Database, files: FileCache, slug: str) -> Page | None:
    """The active page for `slug`, or None."""
    with db.sessions() as session:
        return find(session, files, slug)
