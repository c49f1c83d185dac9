"""The plain-text part of an email, read from its compiled HTML by inscriptis: one column
of text in MJML's order, links written as `text (url)`."""

from __future__ import annotations

import re
from typing import Any

from inscriptis import get_text
from inscriptis.css_profiles import STRICT_CSS_PROFILE
from inscriptis.html_properties import Display
from inscriptis.model.config import ParserConfig
from inscriptis.model.html_element import HtmlElement
from inscriptis.model.tag import CustomHtmlTagHandlerMapping


def tidy(text: str) -> str:
    """Lines stripped, runs of blank lines cut to one."""
    lines = [line.strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def _link_start(state: Any, attrs: dict) -> None:
    state.link_target = attrs.get("href", "")


def _link_end(state: Any) -> None:
    if state.link_target and not state.link_target.startswith("#"):
        state.tags[-1].write(f" ({state.link_target})")


# MJML lays out with tables; reading them as blocks keeps one column of text in order, and
# every <div> (one per mj-text) becomes a paragraph.
_BLOCKS = {tag: HtmlElement(display=Display.block) for tag in ("table", "tbody", "tr", "td", "th")}
_TEXT_CONFIG = ParserConfig(
    css={**STRICT_CSS_PROFILE, **_BLOCKS,
         "div": HtmlElement(display=Display.block, margin_before=1, margin_after=1)},
    custom_html_tag_handler_mapping=CustomHtmlTagHandlerMapping(
        {"a": _link_start, "table": None, "tr": None, "td": None, "th": None},
        {"a": _link_end, "table": None, "td": None, "th": None}),
)


def text_of(compiled_html: str) -> str:
    """The plain-text part of an HTML email, links written as `text (url)`. Runs on the
    compiled HTML before personalization, so the Jinja tags in it survive."""
    return tidy(get_text(compiled_html, _TEXT_CONFIG))
