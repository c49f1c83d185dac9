"""What a contact's fields may hold, declared once: for imports, the API and the
`contact.updated` event alike. Lengths are the columns' (`models.py`)."""

from __future__ import annotations

from functools import cache
from typing import Annotated
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


Text40 = Annotated[StrictStr, Field(max_length=40)]
Text80 = Annotated[StrictStr, Field(max_length=80)]
Text120 = Annotated[StrictStr, Field(max_length=120)]
Text200 = Annotated[StrictStr, Field(max_length=200)]


class ContactFields(BaseModel):
    """The fields a contact update may set; absent ones are left as they are."""

    model_config = ConfigDict(extra="forbid")

    first_name: Text120 = ""
    last_name: Text120 = ""
    phone: Text40 = ""
    company: Text200 = ""
    role: Text120 = ""
    industry: Text80 = ""
    company_size: Annotated[StrictInt, Field(ge=0, le=10_000_000)] | None = None
    country: Annotated[StrictStr, AfterValidator(_country)] = ""
    timezone: Annotated[StrictStr, Field(max_length=64), AfterValidator(_timezone)] = ""
    language: Annotated[StrictStr, Field(max_length=35)] | None = None  # checked as BCP 47
