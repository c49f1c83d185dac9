"""The pages a reader reaches from an email (unsubscribe, preferences, confirmation, a bad
link) in the reader's language: the contact's own language when the link names them, else
the browser's, among the languages there is a catalog for. Every other page is English.

Catalogs are `web/translations/<lang>/LC_MESSAGES/messages.po`, compiled to `.mo` under
the var folder when the app starts (a few milliseconds; only when a `.po` changed).
"""

from __future__ import annotations

import os
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, current_app, g, request
from flask_babel import Babel, refresh

from nurture.contacts.language import primary

SOURCE = Path(__file__).resolve().parent / "translations"
DEFAULT = "en"


def languages() -> list[str]:
    """English and every language with a catalog."""
    return [DEFAULT, *sorted(p.name for p in SOURCE.iterdir()
                             if (p / "LC_MESSAGES" / "messages.po").is_file())]


def compile_catalogs(target: Path) -> Path:
    """Each catalog's `.mo` under `target`, rewritten when its `.po` is newer."""
    for po in SOURCE.glob("*/LC_MESSAGES/messages.po"):
        mo = target / po.relative_to(SOURCE).with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as source:
            catalog = read_po(source)
        partial = mo.with_suffix(f".{os.getpid()}.tmp")  # workers may start side by side
        with partial.open("wb") as out:
            write_mo(out, catalog)
        os.replace(partial, mo)
    return target


def init_app(app: Flask, var_dir: Path) -> None:
    target = compile_catalogs(var_dir / "translations")
    supported = languages()
    Babel(app, locale_selector=lambda: g.get("reader_language") or DEFAULT,
          default_translation_directories=str(target))
    app.config["READER_LANGUAGES"] = supported
    app.context_processor(lambda: {"page_language": g.get("reader_language") or DEFAULT})


def speak_to(language: str | None) -> None:
    """Answer this request in `language` (a contact's tag, "fr-CH" reads French) when there
    is a catalog for it, else in the browser's first supported language, else English."""
    supported = current_app.config["READER_LANGUAGES"]
    own = primary(language)
    g.reader_language = (own if own in supported
                         else request.accept_languages.best_match(supported) or DEFAULT)
    refresh()  # a locale Flask-Babel already looked up for this request is dropped
