"""The one-sheet: what the company does and who its ideal customer is, for the people who
refer us (domain: referral sources must know what you do and your ideal customer).

Marketers edit `referral/one-sheet.md` (front matter with `headline` and `description`,
then Markdown). It is rendered and sanitised like landing pages, so it can hold formatting
and links but never a script.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ruamel.yaml import YAML

from nurture.landing.pages import render_markdown

DEFAULT_FILE = Path(__file__).resolve().parent / "one-sheet.md"
FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?\n?(.*)\Z", re.S | re.M)


@dataclass(frozen=True)
class OneSheet:
    headline: str
    description: str
    body_html: str


def load(path: Path = DEFAULT_FILE) -> OneSheet:
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = 0
    return _load(str(path), stamp)


@cache
def _load(path: str, _stamp: int) -> OneSheet:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        text = ""
    meta: dict = {}
    body = text
    match = FRONT.match(text)
    if match:
        try:
            loaded = YAML(typ="safe").load(match.group(1))
            meta = loaded if isinstance(loaded, dict) else {}
        except Exception:  # ruamel raises several unrelated types; the defaults stand
            meta = {}
        body = match.group(2)
    return OneSheet(str(meta.get("headline") or "Who we help")[:200],
                    str(meta.get("description") or "")[:300], render_markdown(body))
