"""The service catalogue: what a prospect can try and a customer can buy, and where each
service is signed in to.

Read from a YAML file (`services.yaml` beside this module, or NURTURE_SERVICES_FILE) once,
with the settings: a service without a sign-in address stops the start-up with a sentence,
rather than a welcome email sending people nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ruamel.yaml.comments import CommentedMap

from nurture.yamlfile import Kind, Listed, RulesLoaded, YamlReader, line_of, load_file, load_text

DEFAULT_FILE = Path(__file__).resolve().parent / "services.yaml"
SERVICE_KEYS = frozenset({"id", "name", "description", "signin"})
SERVICES = Listed("services", "a list of services", "A service", "id, name and signin",
                  SERVICE_KEYS, "Every service", "The service id")
SERVICES_FILE = Kind("The services file", "A services file must be a mapping with "
                     "'signin' and 'services', a list of services.",
                     frozenset({"signin", "services"}))


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    description: str
    signin: str  # the service's own sign-in address


@dataclass(frozen=True)
class Catalogue:
    services: tuple[Service, ...]
    # The customer portal: one sign-in for all of a customer's services (`links.login`).
    signin: str = ""

    def __iter__(self) -> Any:
        return iter(self.services)

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(s.id for s in self.services)

    def get(self, service_id: str) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def names(self, ids: Any) -> str:
        """The services' names, in order, for a sentence ("CRM, Analytics")."""
        return ", ".join(s.name if (s := self.get(i)) else str(i) for i in ids)

    def for_templates(self) -> dict[str, dict[str, str]]:
        """`services` in email templates: each service by id, with its name and sign-in."""
        return {s.id: {"id": s.id, "name": s.name, "description": s.description,
                       "signin": s.signin} for s in self.services}


def _address(value: Any) -> str:
    text = str(value or "").strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("give an http:// or https:// address, like "
                         "https://crm.example.com/sign-in.")
    return text


def _catalogue(r: YamlReader, doc: CommentedMap) -> Catalogue:
    found: list[Service] = []
    for line, item, service_id in r.listed(doc, SERVICES, set()):
        name = str(item.get("name") or "").strip()
        if not name:
            r.bad(line, f"The service {service_id} needs a 'name'.")
        if not str(item.get("signin") or "").strip():
            r.bad(line, f"The service {service_id} has no sign-in address: add 'signin' "
                        "with the address where its users sign in.")
            continue
        signin = r.checked(_address, item["signin"], line_of(item, "signin", line),
                           f"sign-in address of {service_id}")
        if service_id and name and signin:
            found.append(Service(service_id, name, str(item.get("description") or ""), signin))
    if not found and not r.violations:
        r.bad(1, "The services file lists no service; list at least one under 'services'.")
    portal = ""
    if not str(doc.get("signin") or "").strip():
        r.bad(1, "The services file has no sign-in address for the customer portal: add "
                 "'signin' with the address where customers sign in to their services.")
    else:
        portal = r.checked(_address, doc["signin"], line_of(doc, "signin"),
                           "customer portal's sign-in address") or ""
    return Catalogue(tuple(found), portal)


LoadedCatalogue = RulesLoaded[Catalogue]


def load(path: str | Path | None = None) -> LoadedCatalogue:
    """The catalogue in `path` (the shipped file by default), or every violation."""
    return load_file(path or DEFAULT_FILE, SERVICES_FILE,
                     lambda text, file: load_text(YamlReader(file), text, SERVICES_FILE,
                                                  _catalogue, LoadedCatalogue),
                     LoadedCatalogue)


_default: Catalogue | None = None


def default() -> Catalogue:
    """The shipped catalogue, read once (settings built in code get it)."""
    global _default
    if _default is None:
        loaded = load()
        if loaded.value is None:
            raise ValueError("; ".join(str(v) for v in loaded.violations))
        _default = loaded.value
    return _default
