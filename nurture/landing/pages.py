"""Landing pages: Markdown files with YAML front matter under `landing/`, and rows of the
`landing_pages` table; a row with the same slug overrides the file (an inactive row hides
it). The Markdown is rendered with markdown-it-py and sanitized with nh3, so a page can hold
basic formatting and links but never a script, an iframe or an event handler.

A file looks like this::

    ---
    slug: retail
    headline: Run your shop on Nurture, free for 30 days
    vertical: retail
    hero_image: landing/retail.svg   # under web/static/, optional
    hero_alt: A shop counter with a tablet showing today's orders
    fields: [phone, role, company_size]   # optional form fields shown; empty = all
    journey: trial-nurture
    description: One sentence for search engines and link previews.
    ---
    The body, in Markdown.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nh3
from markdown_it import MarkdownIt
from ruamel.yaml import YAML
from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.landing.errors import LandingPageError
from nurture.landing.models import LandingPage

log = logging.getLogger(__name__)

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,119}")
# A path under the static folder: no scheme, no `..`, no leading slash.
STATIC_PATH = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_./-]{0,299}")
OPTIONAL_FIELDS = ("phone", "role", "company_size", "ship_region")
KEYS = {"slug", "headline", "vertical", "hero_image", "hero_alt", "fields", "journey",
        "description", "form"}

ALLOWED_TAGS = {"p", "br", "hr", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "s",
                "del", "ul", "ol", "li", "a", "blockquote", "code", "pre", "img", "table",
                "thead", "tbody", "tr", "th", "td", "abbr", "sub", "sup"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
                      "abbr": {"title"}, "ol": {"start"}, "th": {"scope", "colspan", "rowspan"},
                      "td": {"colspan", "rowspan"}}
_MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


@dataclass(frozen=True)
class Page:
    slug: str
    headline: str
    body_html: str
    vertical: str = ""
    hero_image: str = ""
    hero_alt: str = ""
    fields: tuple[str, ...] = ()  # optional form fields shown; empty means all of them
    journey: str = "trial-nurture"
    description: str = ""
    form: str = "trial"
    source: str = ""

    def shows(self, name: str) -> bool:
        """Whether the sign-up form shows the optional field `name` on this page."""
        return name not in OPTIONAL_FIELDS or not self.fields or name in self.fields


def render_markdown(text: str) -> str:
    """Markdown to safe HTML. The page's headline is its only h1, so body headings start at
    h2; links get rel="noopener noreferrer"; anything not allowed is stripped."""
    tokens = _MARKDOWN.parse(text or "")
    for token in tokens:
        if token.type in ("heading_open", "heading_close") and token.tag == "h1":
            token.tag = "h2"
    html = _MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {})
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     clean_content_tags={"script", "style", "iframe", "object", "embed",
                                         "noscript", "template"},
                     url_schemes={"http", "https", "mailto", "tel"},
                     link_rel="noopener noreferrer")


def parse(text: str, source: str) -> Page:
    """A page from a file's text: YAML front matter between `---` lines, then Markdown."""
    match = re.match(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?\n?(.*)\Z", text, re.S | re.M)
    if not match:
        raise LandingPageError(f"{source} must start with YAML front matter between '---' "
                               "lines.")
    try:
        meta = YAML(typ="safe").load(match.group(1)) or {}
    except Exception as exc:  # ruamel raises several unrelated error types
        raise LandingPageError(f"{source} has front matter that is not valid YAML: "
                               f"{str(exc).splitlines()[0]}.") from None
    if not isinstance(meta, dict):
        raise LandingPageError(f"{source} must have front matter made of 'key: value' lines.")
    unknown = sorted(set(map(str, meta)) - KEYS)
    if unknown:
        raise LandingPageError(f"{source} has the unknown front matter key {unknown[0]!r}; "
                               f"known keys are {', '.join(sorted(KEYS))}.")
    return _page(meta, match.group(2), source)


def _page(meta: dict[str, Any], body: str, source: str) -> Page:
    slug = str(meta.get("slug") or "")
    if not SLUG.fullmatch(slug):
        raise LandingPageError(f"{source} needs a slug of lower-case letters, digits and "
                               "hyphens.")
    headline = str(meta.get("headline") or "").strip()
    if not headline:
        raise LandingPageError(f"{source} needs a headline.")
    hero = str(meta.get("hero_image") or "").strip()
    if hero and (not STATIC_PATH.fullmatch(hero) or ".." in hero):
        raise LandingPageError(f"{source} has a hero_image that is not a path under "
                               "web/static/.")
    if hero and not str(meta.get("hero_alt") or "").strip():
        raise LandingPageError(f"{source} has a hero_image without hero_alt text; describe "
                               "the image for people who cannot see it.")
    fields = meta.get("fields") or []
    if not isinstance(fields, list) or not set(map(str, fields)) <= set(OPTIONAL_FIELDS):
        raise LandingPageError(f"{source} lists fields other than the optional ones: "
                               f"{', '.join(OPTIONAL_FIELDS)}.")
    return Page(slug=slug, headline=headline[:200], body_html=render_markdown(body),
                vertical=str(meta.get("vertical") or "").strip().lower(),
                hero_image=hero, hero_alt=str(meta.get("hero_alt") or "").strip()[:300],
                fields=tuple(map(str, fields)),
                journey=str(meta.get("journey") or "trial-nurture"),
                description=str(meta.get("description") or "").strip()[:300],
                form=str(meta.get("form") or "trial"), source=source)


def from_row(row: LandingPage) -> Page:
    """A page from a database row; rows are checked like files."""
    meta = {"slug": row.slug, "headline": row.headline, "vertical": row.vertical,
            "hero_image": row.hero_image, "hero_alt": row.hero_alt, "fields": row.fields,
            "journey": row.journey_id, "form": row.form,
            "description": (row.settings or {}).get("description", "")}
    return _page(meta, row.body_markdown or "", row.source or f"landing_pages row {row.id}")


class FileCache:
    """Parsed files of one folder, re-read only when a file changes."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._parsed: dict[Path, tuple[tuple[int, int], Page | None]] = {}

    def pages(self) -> dict[str, Page]:
        found: dict[str, Page] = {}
        paths = sorted(self.folder.glob("*.md")) if self.folder.is_dir() else []
        for path in paths:
            page = self._load(path)
            if page is not None and page.slug not in found:
                found[page.slug] = page
        return found

    def _load(self, path: Path) -> Page | None:
        try:
            stat = path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            cached = self._parsed.get(path)
            if cached and cached[0] == stamp:
                return cached[1]
            page: Page | None = parse(path.read_text(encoding="utf-8"), path.name)
        except (OSError, UnicodeDecodeError, LandingPageError) as exc:
            log.warning("landing page skipped: %s", exc)  # a bad file must not break others
            page, stamp = None, (0, 0)
        self._parsed[path] = (stamp, page)
        return page


def find(session: Session, files: FileCache, slug: str) -> Page | None:
    """The page for `slug`: its database row when there is one, else its file."""
    if not SLUG.fullmatch(slug or ""):
        return None
    row = session.scalar(select(LandingPage).where(LandingPage.slug == slug))
    if row is not None:
        if not row.active:
            return None
        try:
            return from_row(row)
        except LandingPageError as exc:
            log.warning("landing page row skipped: %s", exc)
            return None
    return files.pages().get(slug)
