"""Email rendering: MJML compiled once per template version, Jinja per contact (sandboxed).

A template is a folder under templates/email/: subject.txt, body.mjml and, optionally,
body.txt (derived from the HTML when absent). `<name>@<vertical>/` and `<name>@<stage>/`
are variants of `<name>/`, and a subfolder named by a language tag (`<name>/fr/`,
`<name>@retail/pt-br/`) is a translation of the folder it is in. `TemplateStore.resolve`
picks the contact's language first, then the most specific variant there is.
The HTML <title> is always the subject, since spam filters score a mismatch.
The plain-text part is read from the HTML (`plaintext.py`); MIME is built in `mime.py`.
"""

from __future__ import annotations

import hashlib
import html
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import jinja2
import mjml
from jinja2 import ChainableUndefined, nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from nurture.sending.classes import (
    CLASS_FILE,
    LEGACY_FILE,
    MARKETING,
    MESSAGE_CLASSES,
    class_of,
    declared_class,
)
from nurture.sending.compose import add_tracking
from nurture.sending.dates import long_date_filter
from nurture.sending.plaintext import text_of, tidy
from nurture.sending.promotion import promotion_problems

FOLDER = re.compile(r"[a-z0-9][a-z0-9._-]*(@[a-z0-9][a-z0-9._-]*)?")
# A translation: a lower-case language tag (`fr`, `pt-br`, `zh-hant`) as a subfolder.
LANGUAGE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})*")
TEMPLATE = re.compile(rf"{FOLDER.pattern}(/{LANGUAGE.pattern})?")
FILES = ("subject.txt", "body.mjml", "body.txt")
JINJA_TAG = re.compile(r"({{.*?}}|{%.*?%}|{#.*?#})", re.S)


class TemplateError(Exception):
    """Raised when a template is missing, does not compile or fails to render; the message
    is one sentence naming the template, the file and, when known, the line."""

    def __init__(self, template: str, reason: str, file: str | None = None,
                 line: int | None = None):
        self.template, self.file, self.line = template, file, line
        self.reason = reason.rstrip(".") + "."
        where = f"Template {template}" + (f", {file}" if file else "")
        super().__init__(f"{where}{f' line {line}' if line else ''}: {self.reason}")


class _Sandbox(SandboxedEnvironment):
    """Refuses unsafe attributes loudly: the stock sandbox returns an undefined value, which
    ChainableUndefined would print as an empty string and so hide the attempt."""

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        raise SecurityError(f"{attribute!r} of a {type(obj).__name__} value is not allowed")

    def getattr(self, obj: Any, attribute: str) -> Any:
        """`contact.first_name` on the plain dicts of a send's context is a key lookup: a
        key is data, never a Python internal, so the sandbox's checks are not needed (and
        a contact attribute called `items` means the attribute, not the dict method)."""
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


@jinja2.pass_context
def _track(context: Any, url: Any) -> str:
    """`{{ url | track }}`, which `add_tracking` writes for a link built from the context:
    a filter is called directly, where a call in the template goes through the sandbox's
    checks each time."""
    return context["track"](url)


ENV = _Sandbox(autoescape=True, undefined=ChainableUndefined)
ENV.filters["track"] = _track
TEXT_ENV = _Sandbox(autoescape=False, undefined=ChainableUndefined)
for _env in (ENV, TEXT_ENV):
    _env.filters["long_date"] = long_date_filter
_GLOBALS = dict(ENV.globals)  # Jinja's defaults (range, dict, cycler, ...), in both
_RUNTIME_ERRORS = (jinja2.TemplateError, ArithmeticError, LookupError, TypeError, ValueError)


def with_globals(context: Mapping[str, Any]) -> dict[str, Any]:
    """A context with the templates' globals under it, as `jinja2.Template.render` builds."""
    return {**_GLOBALS, **context}


@dataclass(frozen=True)
class Part:
    """One compiled file of a template. `mode` tidies the output: "line" for a subject
    (one line, so a contact's name cannot add headers), "text" for a derived text part."""

    template: str
    file: str
    jinja: jinja2.Template
    mode: str = ""
    # The HTML part is compiled twice: with tracked links (`jinja`, rendered when the context
    # has a tracker) and as written (`plain`, for previews); `links` are its written links.
    plain: jinja2.Template | None = None
    links: tuple[str, ...] = ()

    def render(self, context: Mapping[str, Any]) -> str:
        return self.render_with(with_globals(context))

    def render_with(self, variables: dict[str, Any]) -> str:
        """Render with `variables` from `with_globals`, which the parts of one message share:
        `jinja2.Template.render` would copy the environment's globals (a ChainMap, slow to
        iterate) into a fresh dict for every part, half of a subject's render time."""
        jinja = self.jinja if self.plain is None or "track" in variables else self.plain
        # `long_date` writes dates in the language of the translation being rendered.
        variables.setdefault("date_language", self.template.partition("/")[2])
        try:
            try:
                out = jinja.environment.concat(
                    jinja.root_render_func(jinja.new_context(variables, shared=True)))
            except Exception:
                jinja.environment.handle_exception()  # re-raises with the template's lines
        except _RUNTIME_ERRORS as exc:
            line = _template_line(exc) if self.file != "body.mjml" else None
            raise TemplateError(self.template, _reason(exc), self.file, line) from exc
        if self.mode == "line":
            return " ".join(out.split())
        return tidy(out) if self.mode == "text" else out


@dataclass(frozen=True)
class Template:
    name: str
    version: str
    subject: Part
    html: Part
    text: Part
    folder: str = ""  # the folder used: the name itself, a variant, or a translation
    message_class: str = MARKETING  # see nurture/sending/classes.py
    language: str | None = None  # a translation's language tag; None for the default text
    # MJML's output, before personalization: another subject line's HTML part is made from
    # it without compiling the MJML again (nurture/sending/subjects.py).
    compiled: str = field(default="", repr=False)

    def render(self, context: Mapping[str, Any]) -> tuple[str, str, str]:
        """Subject, HTML and text for one message's context."""
        variables = with_globals(context)
        return (self.subject.render_with(variables), self.html.render_with(variables),
                self.text.render_with(variables))


class TemplateStore:
    """Templates under templates/email/<name>/, compiled once per version (content hash).

    A folder declares its class of message in `class.txt` (transactional, service or
    marketing; a legacy `transactional.txt` is transactional, no file marketing): only
    marketing email needs an unsubscribe link."""

    def __init__(self, root: Path):
        self.root = root / "email"
        self._cache: dict[str, tuple[tuple, Template | TemplateError]] = {}
        self._lock = threading.Lock()

    def folders(self) -> list[str]:
        """The template folders: each name and its variants, without translations."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and FOLDER.fullmatch(p.name))

    def translations(self, folder: str) -> list[str]:
        """The language tags `folder` has a translation for, such as ["de", "fr"]."""
        path = self.root / folder
        if not FOLDER.fullmatch(folder) or not path.is_dir():
            return []
        return sorted(p.name for p in path.iterdir()
                      if LANGUAGE.fullmatch(p.name) and (p / "body.mjml").is_file())

    def all_folders(self) -> list[str]:
        """Every folder a send can use: the templates, their variants and translations."""
        return [path for folder in self.folders()
                for path in (folder, *(f"{folder}/{tag}" for tag in self.translations(folder)))]

    def resolve(self, name: str, *, variant: str | None = None, vertical: str | None = "",
                stage: str | None = "", language: str | None = "") -> Template:
        """The contact's language first, then the most specific folder there is: the
        journey's variant, then `<name>@<vertical>`, `<name>@<stage>`, then `<name>`."""
        return self.get(self.folder_for(name, variant=variant, vertical=vertical, stage=stage,
                                         language=language))

    def folder_for(self, name: str, *, variant: str | None = None, vertical: str | None = "",
                   stage: str | None = "", language: str | None = "") -> str:
        choices = [variant if variant and "@" in variant else f"{name}@{_slug(variant)}"]
        choices += [f"{name}@{_slug(vertical)}", f"{name}@{_slug(stage)}"]
        folders = [folder for folder in choices
                   if not folder.endswith("@") and FOLDER.fullmatch(folder)
                   and (self.root / folder / "body.mjml").is_file()] + [name]
        # `pt-BR` reads pt-br/, then pt/, in whichever variant has it; else the default text.
        for tag in language_candidates(language):
            for folder in folders:
                if FOLDER.fullmatch(folder) and (self.root / folder / tag / "body.mjml").is_file():
                    return f"{folder}/{tag}"
        return folders[0]

    def get(self, name: str) -> Template:
        stamp = self._stamp(name)  # a few stat calls: reading every file per send costs more
        with self._lock:
            cached = self._cache.get(name)
            if cached is None or cached[0] != stamp:
                sources, message_class = self._read(name)
                version = hashlib.sha256("\0".join(
                    [*(s if s is not None else "\0" for s in sources.values()),
                     message_class]).encode()).hexdigest()[:16]
                try:
                    result: Template | TemplateError = _compile(name, version, sources,
                                                                message_class)
                except TemplateError as exc:
                    result = exc  # a broken version fails every send fast, compiled once
                self._cache[name] = cached = (stamp, result)
        if isinstance(cached[1], TemplateError):
            raise cached[1]
        return cached[1]

    def check(self, name: str) -> list[TemplateError]:
        """Everything wrong with one folder: compile errors, then content rules."""
        try:
            template = self.get(name)
        except TemplateError as exc:
            return [exc]
        sources, _ = self._read(name)
        problems = _content_problems(name, sources, template.message_class)
        problems += self._class_problems(name, sources, template.message_class)
        folder, _, language = name.partition("/")
        if language:
            problems += _language_problems(name, language, sources["body.mjml"] or "")
        base = folder.partition("@")[0]
        if base != folder and not (self.root / base / "body.mjml").is_file():
            problems.append(TemplateError(name, f"there is no template {base} to fall back on "
                                                "for contacts this variant does not fit"))
        return problems

    def _stamp(self, name: str) -> tuple[tuple[int, int] | None, ...]:
        if not TEMPLATE.fullmatch(name):
            raise TemplateError(name, f"there is no template {name} under {self.root}")
        stamp: list[tuple[int, int] | None] = []
        for path in (*(self.root / name / file for file in FILES), *self._markers(name)):
            try:
                stat = path.stat()
                stamp.append((stat.st_mtime_ns, stat.st_size))
            except OSError:
                stamp.append(None)
        if stamp[1] is None:
            raise TemplateError(name, f"there is no template {name} under {self.root}")
        return tuple(stamp)

    def _read(self, name: str) -> tuple[dict[str, str | None], str]:
        folder = self.root / name
        sources: dict[str, str | None] = {}
        for file in FILES:
            path = folder / file
            try:
                sources[file] = path.read_text(encoding="utf-8") if path.exists() else None
            except (OSError, UnicodeDecodeError) as exc:
                raise TemplateError(name, f"the file could not be read ({exc})", file) from None
        for file in ("subject.txt", "body.mjml"):
            if sources[file] is None:
                raise TemplateError(name, "the file is missing", file)
        return sources, class_of(self.root / name.partition("/")[0])

    def _markers(self, name: str) -> tuple[Path, Path]:
        """class.txt and the legacy transactional.txt: a translation is the same class of
        email as its folder."""
        folder = self.root / name.partition("/")[0]
        return folder / CLASS_FILE, folder / LEGACY_FILE

    def message_class(self, name: str) -> str:
        """The class of the template a journey names (its folder's, variants aside);
        marketing for a name with no folder."""
        if not FOLDER.fullmatch(name):
            return MARKETING
        return class_of(self.root / name)

    def _class_problems(self, name: str, sources: dict[str, str | None],
                        message_class: str) -> list[TemplateError]:
        """A class.txt that names no class; promotion in mail sent without consent."""
        if "/" not in name and declared_class(self.root / name)[0] is None:
            return [TemplateError(name, "the first word of class.txt must be one of "
                                        f"{', '.join(MESSAGE_CLASSES)}", CLASS_FILE, 1)]
        return [TemplateError(name, reason, file, line)
                for file, line, reason in promotion_problems(sources, message_class)]


_stores: dict[Path, TemplateStore] = {}


def store_for(root: Path) -> TemplateStore:
    """One store per templates folder in a process, so each version compiles once."""
    store = _stores.get(root)
    return store if store is not None else _stores.setdefault(root, TemplateStore(root))


def _compile(name: str, version: str, sources: dict[str, str | None],
             message_class: str) -> Template:
    subject, body, text = sources["subject.txt"], sources["body.mjml"], sources["body.txt"]
    if subject is None or body is None:  # `_read` refuses a folder without them already
        raise TemplateError(name, "the file is missing",
                            "subject.txt" if subject is None else "body.mjml")
    subject = subject.strip()
    for file, source in (("subject.txt", subject), ("body.mjml", body), ("body.txt", text)):
        if source is not None:
            _parse(name, file, source)
    try:
        compiled = mjml.mjml2html(body, fonts={})  # no web fonts: they leak readers' addresses
    except ValueError as exc:
        raise TemplateError(name, f"MJML could not compile it ({exc})", "body.mjml") from None
    lost = len(re.findall(r"{{|{%", body)) - len(re.findall(r"{{|{%", compiled))
    if lost > 0:
        raise TemplateError(name, f"MJML dropped {lost} Jinja tag(s) placed directly between "
                                  "MJML elements; wrap them in <mj-raw>", "body.mjml")
    html_part = html_with_title(name, compiled, subject)
    text_part = (_part(TEXT_ENV, name, "body.txt", text) if text is not None
                 else _part(TEXT_ENV, name, "body.mjml", text_of(compiled), "text", True))
    folder, _, language = name.partition("/")
    return Template(folder.partition("@")[0], version,
                    _part(TEXT_ENV, name, "subject.txt", subject, "line"),
                    html_part, text_part, name, message_class, language or None, compiled)


def html_with_title(name: str, compiled: str, subject: str) -> Part:
    """The HTML part of MJML's output with `subject` (a Jinja line) as its <title>, its
    links tracked: compiled once per template version (and per A/B subject line)."""
    title = "".join(part if i % 2 else html.escape(part, quote=False)
                    for i, part in enumerate(JINJA_TAG.split(subject)))
    compiled = re.sub(r"<title>.*?</title>", lambda _: f"<title>{title}</title>", compiled,
                      count=1, flags=re.S)
    tracked, links = add_tracking(compiled)
    return replace(_part(ENV, name, "body.mjml", tracked, after_mjml=True),
                   plain=_part(ENV, name, "body.mjml", compiled, after_mjml=True).jinja,
                   links=links)


def language_candidates(language: str | None) -> list[str]:
    """The translation folders to look for, most specific first: `pt-BR` gives pt-br, pt."""
    tag = (language or "").strip().lower().replace("_", "-")
    if not LANGUAGE.fullmatch(tag):
        return []
    parts = tag.split("-")
    return ["-".join(parts[:k]) for k in range(len(parts), 0, -1)]


def _language_problems(name: str, language: str, body: str) -> list[TemplateError]:
    """A translation says which language it is in, for screen readers and mail clients."""
    found = re.search(r"<mjml\b[^>]*\blang=\"([^\"]*)\"", body)
    if found and found.group(1).lower().split("-")[0] == language.split("-")[0]:
        return []
    return [TemplateError(name, f'a translation declares its language: start it with '
                                f'<mjml lang="{language}">', "body.mjml", 1)]


def _parse(name: str, file: str, source: str) -> None:
    """Syntax errors and reaches for Python internals, with the line in the author's file."""
    try:
        tree = ENV.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(name, exc.message or "invalid syntax", file, exc.lineno) from None
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Include,
                               nodes.Import, nodes.FromImport, nodes.Extends)):
        if isinstance(node, nodes.Include | nodes.Import | nodes.FromImport | nodes.Extends):
            raise TemplateError(name, "templates cannot include or import other templates",
                                file, node.lineno)
        attr = (node.attr if isinstance(node, nodes.Getattr)
                else getattr(node.arg, "value", None) if isinstance(node, nodes.Getitem)
                else getattr(node.args[0], "value", None)
                if isinstance(node, nodes.Filter) and node.name == "attr" and node.args
                else None)
        if isinstance(attr, str) and attr.startswith("_"):
            raise TemplateError(name, f"{attr!r} is not allowed: templates cannot reach "
                                      "Python internals", file, node.lineno)


def _part(env: _Sandbox, name: str, file: str, source: str, mode: str = "",
          after_mjml: bool = False) -> Part:
    try:
        return Part(name, file, env.from_string(source), mode)
    except jinja2.TemplateSyntaxError as exc:
        hint = " after MJML compilation; keep Jinja tags inside <mj-text> or <mj-raw>"
        message = (exc.message or "invalid syntax") + (hint if after_mjml else "")
        raise TemplateError(name, message, file,
                            None if after_mjml else exc.lineno) from None


def _slug(value: str | None) -> str:
    return re.sub(r"[^a-z0-9]+", "-", (value or "").strip().lower()).strip("-")


def _reason(exc: Exception) -> str:
    if isinstance(exc, SecurityError):
        return f"{exc}: templates cannot reach Python internals"
    return str(exc) if isinstance(exc, jinja2.TemplateError) else f"{type(exc).__name__}: {exc}"


def _template_line(exc: BaseException) -> int | None:
    """Jinja rewrites tracebacks so that template frames carry the template's own lines."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _content_problems(name: str, sources: dict[str, str | None],
                      message_class: str) -> list[TemplateError]:
    """The house rules every email keeps: the postal address, an unsubscribe link in
    marketing email, text a phone can read, alt text, and no white preview text."""
    problems: list[TemplateError] = []
    for file in ("body.mjml", "body.txt"):
        source = sources[file]
        if source is None:
            continue
        end = source.count("\n") + 1
        if "footer.postal_address" not in source:
            problems.append(TemplateError(name, "the postal address "
                                          "({{ footer.postal_address }}) is missing", file, end))
        if message_class == MARKETING and "links.unsubscribe" not in source:
            problems.append(TemplateError(
                name, "marketing email needs a visible unsubscribe link "
                      "({{ links.unsubscribe }}); add a class.txt holding service or "
                      "transactional if it is not marketing", file, end))
    body = sources["body.mjml"] or ""
    rules = [
        (r"font-size[=:]\s*\"?(\d+(?:\.\d+)?)px", lambda m: float(m.group(1)) < 14,
         "text smaller than 14px is hard to read on a phone"),
        (r"<mj-preview\b", lambda m: True, "mj-preview writes white text that spam filters "
         "score (HTML_FONT_LOW_CONTRAST); use a hidden <mj-raw> div as the preheader"),
        (r"<(?:mj-image|img)\b[^>]*>", lambda m: "alt=" not in m.group(0),
         "images need alt text for readers who do not load them"),
    ]
    for pattern, bad, reason in rules:
        for match in re.finditer(pattern, body):
            if bad(match):
                line = body.count("\n", 0, match.start()) + 1
                problems.append(TemplateError(name, reason, "body.mjml", line))
    return problems
