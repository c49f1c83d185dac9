"""A subject line that replaces a template's own: an A/B test's arm that differs by its
subject only (`sends.subject`). The line is a marketer's Jinja line, like subject.txt:
checked and compiled in the same sandbox, with the same personalization variables.

Decided here: the line replaces the subject of the template's default text and of its
variants (`name@retail`), which are in the same language; a translation keeps its own
subject, since a line written in one language does not belong over a body in another.

Each (template version, line) is compiled once and kept, as templates are: a batch of
sends renders it per contact, never compiles it per send.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from types import SimpleNamespace

from nurture.sending import compose
from nurture.sending.render import (
    TEXT_ENV,
    Template,
    TemplateError,
    _parse,
    _part,
    html_with_title,
)
from nurture.tokens import Tokens

MAX_LENGTH = 200  # characters of the line as written (mailbox apps show some 60 of it)
FILE = "subject line"
_KEPT = 512  # compiled lines kept; more than any few live tests use
_compiled: dict[tuple[str, str, str], Template] = {}
_lock = threading.Lock()
# Who a line is tried on before it is saved: every variable a send has, with no identity.
_SAMPLE = SimpleNamespace(id=0, email="ann.lee@example.com", email_key="sample",
                          first_name="Ann", last_name="Lee", company="Lee Retail",
                          role="Head of IT", industry="retail", language="", timezone="",
                          attributes={})


def problem(line: str) -> str | None:
    """Why `line` cannot be a subject, as a sentence; None when it can. It is parsed and
    rendered for a sample contact, so an error shows now, not on every send later."""
    line = line.strip()
    if len(line) > MAX_LENGTH:
        return f"A subject line is at most {MAX_LENGTH} characters."
    if "\n" in line or "\r" in line:
        return "A subject line is one line."
    try:
        _parse("subject", FILE, line)
        part = _part(TEXT_ENV, "subject", FILE, line, "line")
        links = compose.Links(Tokens("sample"), "https://example.com", 0, "sample")
        part.render(compose.context(_SAMPLE, links, "", ""))
    except TemplateError as exc:
        where = f" (line {exc.line})" if exc.line and exc.line > 1 else ""
        return f"The subject line {line[:60]!r} cannot be used{where}: {exc.reason}"
    return None


def override(template: Template, line: str | None) -> Template:
    """`template` with `line` as its subject and HTML <title> (spam filters score a title
    that differs from the subject); `template` itself without a line, or for a
    translation. Raises TemplateError when the line does not compile."""
    if not line or template.language is not None or not template.compiled:
        return template
    key = (template.folder, template.version, line)
    with _lock:
        found = _compiled.get(key)
    if found is not None:
        return found
    name = template.folder
    _parse(name, FILE, line)
    found = replace(template, subject=_part(TEXT_ENV, name, FILE, line, "line"),
                    html=html_with_title(name, template.compiled, line))
    with _lock:
        if len(_compiled) >= _KEPT:
            _compiled.clear()  # old versions' lines; the live ones compile again once
        _compiled[key] = found
    return found
