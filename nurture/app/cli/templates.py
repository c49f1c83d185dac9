"""`nurture templates ...`: list, check and preview the email templates."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import click

from nurture.app.cli.refusals import Group
from nurture.config import Settings
from nurture.contacts.language import problem as language_problem
from nurture.contacts.language import standard_tag
from nurture.sending.preview import languages, names, render_preview
from nurture.sending.render import TemplateError, TemplateStore

EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")
CONTACT_FIELDS = ("first_name", "last_name", "company", "role", "industry", "stage",
                  "language")


@click.group(cls=Group)
@click.option("--dir", "templates_dir", type=click.Path(file_okay=False, path_type=Path),
              help="The templates folder (holding email/); default: the configured one.")
@click.pass_context
def templates(ctx: click.Context, templates_dir: Path | None) -> None:
    """List, check and preview email templates."""
    ctx.obj = templates_dir


def _store(ctx: click.Context) -> TemplateStore:
    return TemplateStore(ctx.obj or Settings.from_env().templates_dir)


@templates.command("list")
@click.pass_context
def list_(ctx: click.Context) -> None:
    """Each template with its variants, translations and subject line."""
    store = _store(ctx)
    for name, folders in names(store).items():
        try:
            subject = (store.root / name / "subject.txt").read_text(encoding="utf-8").strip()
        except OSError:
            subject = "(no subject.txt)"
        variants = ",".join(f.partition("@")[2] for f in folders)
        translated = ",".join(languages(store, [name, *folders]))
        click.echo(f"{name:<34} {variants or '-':<32} {translated or '-':<10} {subject}")


@templates.command()
@click.argument("names", nargs=-1)
@click.pass_context
def check(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Compile every template (or the NAMES given) and apply the content rules; print each
    problem as PATH:LINE: sentence and exit 1 if there is any."""
    store = _store(ctx)
    folders = store.all_folders()  # with each one's translations
    chosen = [f for f in folders if f.partition("/")[0] in names
              or f.partition("@")[0].partition("/")[0] in names] if names else folders
    if names and not chosen:
        raise click.UsageError(f"There is no template named {', '.join(names)}.")
    bad = 0
    for folder in chosen:
        problems = store.check(folder)
        for problem in problems:
            click.echo(_located(store, problem))
        bad += bool(problems)
    click.echo(f"{len(chosen) - bad} of {len(chosen)} templates are fine.", err=True)
    sys.exit(1 if bad else 0)


def _located(store: TemplateStore, problem: TemplateError) -> str:
    path = store.root / problem.template / (problem.file or "")
    try:
        shown = os.path.relpath(path)
    except ValueError:  # another drive, on Windows
        shown = str(path)
    line = f"{problem.line}:" if problem.line else ""
    return f"{shown}:{line} {problem.reason[:1].upper()}{problem.reason[1:]}"


@templates.command()
@click.argument("name")
@click.option("--contact-json", "contact_file", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help='A JSON object: {"email": ..., "first_name": ..., "attributes": {...}}.')
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for message.eml and index.html (created if needed).")
@click.option("--vertical", help="Pick the variant for this vertical (default: the "
                                 "contact's industry).")
@click.option("--stage", help="Pick the variant for this lifecycle stage (default: the "
                              "contact's stage).")
@click.option("--variant", help="A journey variant folder, such as NAME@retail.")
@click.option("--language", help="Pick the translation for this language, such as fr "
                                 "(default: the contact's language; 'default' for none).")
@click.pass_context
def render(ctx: click.Context, name: str, contact_file: Path, out: Path, vertical: str | None,
           stage: str | None, variant: str | None, language: str | None) -> None:
    """Render NAME for one contact: OUT/message.eml as it would be sent (without click
    tracking), and OUT/index.html to preview in a browser."""
    store, settings = _store(ctx), Settings.from_env()
    if name not in {f.partition("@")[0] for f in store.folders()}:
        raise click.UsageError(f"There is no template named {name!r}; "
                               "`nurture templates list` shows the templates there are.")
    if language not in (None, "default") and standard_tag(language) is None:
        raise click.UsageError(language_problem(language))
    contact = _load_contact(contact_file)
    try:
        shown = render_preview(store, settings, name, contact, variant=variant,
                               language="" if language == "default" else language,
                               vertical=vertical, stage=stage)
    except TemplateError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "message.eml").write_bytes(shown.message)
        (out / "index.html").write_text(shown.html, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"Could not write to {out}: {exc.strerror or exc}.") from None
    click.echo(f"Wrote {out / 'message.eml'} and {out / 'index.html'} from "
               f"templates/email/{shown.folder}.")


def _load_contact(path: Path) -> Any:
    """The contact in a JSON file, shaped like the contact rows the context reads."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise click.UsageError(f"The contact file {path} could not be read: "
                               f"{exc.strerror or exc}.") from None
    except UnicodeDecodeError:
        raise click.UsageError(f"The contact file {path} is not UTF-8 text.") from None
    except json.JSONDecodeError as exc:
        raise click.UsageError(f"The contact file {path} is not valid JSON: {exc.msg} at "
                               f"line {exc.lineno}, column {exc.colno}.") from None
    if not isinstance(data, dict):
        raise click.UsageError(f"The contact file {path} must hold one JSON object, such as "
                               '{"email": "ann@example.com", "first_name": "Ann"}.')
    email = data.get("email")
    if not isinstance(email, str) or not EMAIL.fullmatch(email.strip()):
        raise click.UsageError(f"The contact in {path} needs an \"email\" field holding one "
                               "email address.")
    attributes = data.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise click.UsageError(f"The \"attributes\" of the contact in {path} must be a JSON "
                               "object.")
    fields = {f: data[f] if isinstance(data.get(f), str) else None for f in CONTACT_FIELDS}
    contact_id = data.get("id") if isinstance(data.get("id"), int) else 0
    return SimpleNamespace(id=contact_id, email=email.strip(), email_key="preview",
                           attributes=attributes, **fields)
