"""Which column of a file goes to which contact field, and what each row becomes. Pure.

A mapping names, for each column of the header, a contact field (`email`, `first_name`,
...), `attribute:<key>` (kept in the contact's attributes), or "" (left out). `suggest`
proposes one from the column names ("E-mail", "Email Address", "Vorname", "Firma"); a
column it does not recognize is left out until the marketer chooses to keep it as an
attribute. `plan` checks a mapping against a header once; `convert` turns each row into
the fields to write, or a sentence saying why the row cannot be imported.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pycountry

from nurture.contacts import language
from nurture.contacts.emails import email_key, is_email
from nurture.contacts.imports.errors import MappingError
from nurture.contacts.stages import STAGES
from nurture.contacts.timezones import is_zone
from nurture.text import text_problem

ATTRIBUTE = "attribute:"
MAX_ATTRIBUTE_KEY = 80
MAX_ATTRIBUTE_VALUE = 2000
MAX_COMPANY_SIZE = 10_000_000

# Each field, its label, its column's length (models.py), and the names it goes by in
# files from spreadsheets, CRMs and other tools (compared lower-cased, letters only).
FIELDS: dict[str, tuple[str, int, tuple[str, ...]]] = {
    "email": ("Email", 320, ("email", "e-mail", "email address", "e-mail address", "mail",
                             "emailaddress", "courriel", "correo", "correo electronico",
                             "e-mail-adresse", "work email", "business email")),
    "first_name": ("First name", 120, ("first name", "firstname", "first", "given name",
                                       "forename", "vorname", "prenom", "nombre")),
    "last_name": ("Last name", 120, ("last name", "lastname", "last", "surname",
                                     "family name", "nachname", "nom", "apellido",
                                     "apellidos")),
    "company": ("Company", 200, ("company", "company name", "organization", "organisation",
                                 "account", "account name", "firma", "unternehmen",
                                 "societe", "entreprise", "empresa", "employer")),
    "phone": ("Phone", 40, ("phone", "phone number", "telephone", "tel", "mobile",
                            "mobile phone", "telefon", "telefonnummer", "telefono")),
    "role": ("Role", 120, ("role", "job title", "title", "position", "job", "jobtitle",
                           "funktion", "position", "poste", "fonction", "cargo")),
    "industry": ("Industry (vertical)", 80, ("industry", "vertical", "sector", "branche",
                                             "secteur", "industrie", "sector industrial")),
    "company_size": ("Company size", 0, ("company size", "employees", "number of employees",
                                         "employee count", "size", "headcount",
                                         "mitarbeiter", "mitarbeiterzahl", "effectif")),
    "country": ("Country", 2, ("country", "country code", "land", "pays", "pais")),
    "timezone": ("Time zone", 64, ("time zone", "timezone", "tz", "zeitzone",
                                   "fuseau horaire")),
    "language": ("Language", 35, ("language", "lang", "locale", "sprache", "langue",
                                  "idioma", "preferred language")),
    "stage": ("Stage", 20, ("stage", "lifecycle stage", "lifecycle", "lifecyclestage",
                            "phase")),
}


def _folded(name: str) -> str:
    """A column name compared as people write it: accents, case, spaces and
    punctuation aside ("E-Mail-Adresse" and "email adresse" are one)."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", plain.lower())


SYNONYMS = {_folded(alias): field for field, (_, _, aliases) in FIELDS.items()
            for alias in (field, *aliases)}


def suggest(header: Sequence[str]) -> dict[str, str]:
    """A mapping for this header: each column the field its name suggests, the first
    column only when two suggest the same field; "" for the others."""
    taken: set[str] = set()
    out: dict[str, str] = {}
    for column in header:
        field = SYNONYMS.get(_folded(column), "")
        if field in taken:
            field = ""
        taken.add(field)
        out[column] = field
    return out


def parse_pairs(pairs: Sequence[str]) -> dict[str, str]:
    """`column=field` pairs as the command line gives them (`Firma=company`,
    `Shoe size=attribute`, `Notes=skip`). Raises MappingError for a pair without `=`."""
    out: dict[str, str] = {}
    for pair in pairs:
        column, sep, field = pair.partition("=")
        if not sep or not column.strip():
            raise MappingError(f"The mapping {pair!r} is not column=field, like "
                               "'E-Mail=email' or 'Shoe size=attribute'.")
        field = field.strip()
        out[column.strip()] = "" if field in ("", "skip", "-") else (
            ATTRIBUTE + column.strip() if field == "attribute" else field)
    return out


@dataclass(frozen=True)
class Plan:
    """A mapping checked against a header: per field, its column's index; per attribute,
    its key and index."""

    header: tuple[str, ...]
    fields: tuple[tuple[str, int], ...]
    attributes: tuple[tuple[str, int], ...]
    email_at: int


def plan(header: Sequence[str], mapping: Mapping[str, str]) -> Plan:
    """Check `mapping` against `header` (columns it leaves out are not imported). Raises
    MappingError with every problem found, one sentence each."""
    problems: list[str] = []
    index = {column: i for i, column in reversed(list(enumerate(header)))}
    fields: dict[str, int] = {}
    attributes: dict[str, int] = {}
    for column, target in mapping.items():
        if column not in index:
            problems.append(f"The file has no column {column!r}; its columns are "
                            f"{_listed(header)}.")
            continue
        if not target:
            continue
        if target.startswith(ATTRIBUTE):
            key = target[len(ATTRIBUTE):].strip()
            problem = _attribute_key_problem(key)
            if problem:
                problems.append(problem)
            elif key in attributes:
                problems.append(f"Two columns are kept as the attribute {key!r}.")
            else:
                attributes[key] = index[column]
        elif target not in FIELDS:
            problems.append(f"The field {target!r} (for the column {column!r}) is unknown; "
                            f"fields are {', '.join(FIELDS)}, or attribute:<name>.")
        elif target in fields:
            problems.append(f"Two columns are mapped to {target}: choose one.")
        else:
            fields[target] = index[column]
    if "email" not in fields and not problems:
        problems.append("No column is mapped to the email address; every contact needs one.")
    if problems:
        raise MappingError(" ".join(problems))
    return Plan(tuple(header), tuple(fields.items()), tuple(attributes.items()),
                fields["email"])


def _attribute_key_problem(key: str) -> str | None:
    if not key:
        return "An attribute needs a name."
    if len(key) > MAX_ATTRIBUTE_KEY:
        return f"The attribute name {key[:40]!r}... is longer than {MAX_ATTRIBUTE_KEY} " \
               "characters."
    return text_problem(key)


def _listed(header: Sequence[str]) -> str:
    shown = ", ".join(repr(c) for c in header[:12])
    return shown + (f" and {len(header) - 12} more" if len(header) > 12 else "")


@dataclass(frozen=True)
class Accepted:
    """A row to write: the contact's key, the fields the file gives (non-empty), and the
    attributes kept."""

    email_key: str
    fields: dict[str, Any]
    attributes: dict[str, str]


def convert(cells: Sequence[str], the_plan: Plan, line: int) -> Accepted | str:
    """The row as fields to write, or why it cannot be imported: a sentence naming the
    line (and the column, when one cell is at fault)."""
    if not cells:
        return f"Line {line} cannot be read as CSV (a cell longer than 100,000 characters, " \
               "or a quote left open); the rows after it were read."
    if text_problem("\x1f".join(cells)) is not None:  # one search for the usual row
        for i, cell in enumerate(cells):
            if (problem := text_problem(cell)) is not None:
                return f"Line {line}, column {_column(the_plan, i)!r}: " \
                       f"{problem[0].lower()}{problem[1:]}"
    width = len(cells)
    address = cells[the_plan.email_at].strip() if the_plan.email_at < width else ""
    if not address:
        return f"Line {line} has no email address."
    if not is_email(address):
        return f"Line {line}: the email address {address[:80]!r} is not valid."
    fields: dict[str, Any] = {"email": address}
    for name, at in the_plan.fields:
        value = cells[at].strip() if at < width else ""
        if not value or name == "email":
            continue
        checked = _field(name, value)
        if isinstance(checked, _Problem):
            return f"Line {line}, column {_column(the_plan, at)!r}: {checked.sentence}"
        fields[name] = checked
    attributes: dict[str, str] = {}
    for key, at in the_plan.attributes:
        value = cells[at].strip() if at < width else ""
        if len(value) > MAX_ATTRIBUTE_VALUE:
            return f"Line {line}, column {_column(the_plan, at)!r}: the value is " \
                   f"{len(value):,} characters long; an attribute holds at most " \
                   f"{MAX_ATTRIBUTE_VALUE:,}."
        if value:
            attributes[key] = value
    return Accepted(email_key(address), fields, attributes)


def _column(the_plan: Plan, at: int) -> str:
    return the_plan.header[at] if at < len(the_plan.header) else f"#{at + 1}"


@dataclass(frozen=True)
class _Problem:
    sentence: str


def _field(name: str, value: str) -> Any:
    """The value to store for one field, or a _Problem."""
    label, length, _ = FIELDS[name]
    if name == "company_size":
        digits = re.sub(r"[\s,.'_]", "", value)
        if not digits.isdigit() or int(digits) > MAX_COMPANY_SIZE:
            return _Problem(f"the company size {value[:40]!r} is not a whole number of "
                            f"employees (0 to {MAX_COMPANY_SIZE:,}).")
        return int(digits)
    if name == "stage":
        stage = value.lower()
        return stage if stage in STAGES else _Problem(
            f"the stage {value[:40]!r} is unknown; stages are {', '.join(STAGES)}.")
    if name == "country":
        code = _country(value)
        return code if code else _Problem(
            f"the country {value[:40]!r} is not known; give its two-letter ISO code, like "
            "DE, or its English name.")
    if name == "timezone":
        return value if is_zone(value) else _Problem(
            f"the time zone {value[:64]!r} is unknown; give an IANA name, like Europe/Paris.")
    if name == "language":
        tag = _language(value)
        return tag if tag else _Problem(language.problem(value)[0].lower()
                                        + language.problem(value)[1:])
    if len(value) > length:
        return _Problem(f"the {label.lower()} is {len(value):,} characters long; at most "
                        f"{length} fit.")
    return value


@lru_cache(maxsize=4096)  # bounded: a hostile file may give a million different values
def _language(value: str) -> str | None:
    return language.standard_tag(value)  # a file says "de" a million times


@lru_cache(maxsize=4096)
def _country(value: str) -> str | None:
    try:
        found = pycountry.countries.lookup(value)
    except LookupError:
        return None
    return str(found.alpha_2)
