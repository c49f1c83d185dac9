"""What a contact's fields may hold, declared once: for imports, the API and the
`contact.updated` event alike. Lengths are the columns' (`models.py`)."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any
from zoneinfo import available_timezones

import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr


def _country(code: str) -> str:
    if code and (len(code) != 2 or pycountry.countries.get(alpha_2=code) is None
                 or code != code.upper()):
        raise ValueError("Give the country as its two-letter ISO 3166 code in capitals, "
                         "like FR")
    return code


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _timezone(name: str) -> str:
    if name and name not in _zones():
        raise ValueError("Give the time zone as an IANA name, like Europe/Paris")
    return name


def text(limit: int) -> Any:
    return Annotated[StrictStr, Field(max_length=limit)]


class ContactFields(BaseModel):
    """The fields a contact update may set; absent ones are left as they are."""

    model_config = ConfigDict(extra="forbid")

    first_name: text(120) = ""
    last_name: text(120) = ""
    phone: text(40) = ""
    company: text(200) = ""
    role: text(120) = ""
    industry: text(80) = ""
    company_size: Annotated[StrictInt, Field(ge=0, le=10_000_000)] | None = None
    country: Annotated[StrictStr, AfterValidator(_country)] = ""
    timezone: Annotated[StrictStr, Field(max_length=64), AfterValidator(_timezone)] = ""
    language: Annotated[StrictStr, Field(max_length=35)] | None = None  # checked as BCP 47
