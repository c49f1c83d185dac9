"""What the marketer chose for an import, checked once: the duplicate policy, the list,
the consent basis and whether journeys start. Pure."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from nurture.contacts.imports.errors import MappingError
from nurture.text import text_problem

POLICIES = {
    "update": "update existing contacts with the values the file gives",
    "fill": "fill only the fields existing contacts have empty",
    "skip": "leave existing contacts as they are",
}
MAX_BASIS = 500  # the consent record's column
MAX_LIST = 120  # a list's name (nurture.contacts.lists)


@dataclass(frozen=True)
class Options:
    policy: str = "update"
    list_name: str = ""
    # How and when these people consented to marketing ("Signed up at the Berlin fair");
    # without it imported contacts get service messages only.
    consent_basis: str = ""
    consented_at: datetime | None = None
    start_journeys: bool = False

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["consented_at"] = self.consented_at.isoformat() if self.consented_at else None
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Options:
        at = data.get("consented_at")
        return cls(policy=data.get("policy", "update"), list_name=data.get("list_name", ""),
                   consent_basis=data.get("consent_basis", ""),
                   consented_at=datetime.fromisoformat(at) if at else None,
                   start_journeys=bool(data.get("start_journeys")))


def checked(policy: str, list_name: str, basis: str, consented_at: str | datetime | None,
            start_journeys: bool, now: datetime) -> Options:
    """Options from what a form or the command line gave. Raises MappingError with a
    sentence when they cannot be used."""
    if policy not in POLICIES:
        raise MappingError(f"The policy {policy!r} is unknown; choose update, fill or skip.")
    basis, list_name = basis.strip(), list_name.strip()
    for value in (basis, list_name):
        if (problem := text_problem(value)) is not None:
            raise MappingError(problem)
    if len(list_name) > MAX_LIST:
        raise MappingError(f"A list's name is at most {MAX_LIST} characters; this one has "
                           f"{len(list_name)}.")
    if len(basis) > MAX_BASIS:
        raise MappingError(f"The consent basis is {len(basis)} characters long; at most "
                           f"{MAX_BASIS} fit.")
    at = _moment(consented_at) if consented_at not in (None, "") else None
    if basis and at is None:
        raise MappingError("Give the date the contacts consented, as well as how, for the "
                           "consent basis to count.")
    if at is not None and not basis:
        raise MappingError("Give the consent basis (how the contacts consented, such as "
                           "'Signed up at the Berlin fair') with its date.")
    if at is not None and at > now:
        raise MappingError("The date of consent is in the future; give the day the "
                           "contacts consented.")
    return Options(policy, list_name, basis, at, start_journeys)


def _moment(value: str | datetime | None) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        at = datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise MappingError(f"The date of consent {str(value)[:40]!r} is not a date; write it "
                           "as 2026-10-02 (or 2026-10-02T14:30).") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)
