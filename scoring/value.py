"""Customer lifetime value put to use: every customer's value from Nurture's own purchase
events (BG/NBD + Gamma-Gamma, `scoring.clv`), who each customer is alike to (vertical,
company size, acquisition source), and the predicted value of any contact: its own, or its
look-alikes' (`scoring.lookalike`). In the caller's session.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, tzinfo

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from nurture.contacts.models import Contact
from nurture.events.models import Event
from nurture.trials.models import Trial
from scoring.errors import CLVError
from scoring.lookalike import Estimate, Profile, estimate, size_band

PURCHASES = ["purchase.completed", "trial.converted"]  # scoring.clv_data.PURCHASE_TYPES
HORIZON_WEEKS = 52  # the value of the coming year, as the insights page shows by default
DISCOUNT_RATE = 0.10


@dataclass(frozen=True)
class ValueBook:
    """Each customer's predicted lifetime value (contact id -> amount) and profile; `error`
    says why there are no values (too few customers for the models, say)."""

    values: dict[int, float] = field(default_factory=dict)
    profiles: dict[int, Profile] = field(default_factory=dict)
    error: str = ""


def value_book(session: Session, today: date, tz: tzinfo,
               horizon: int = HORIZON_WEEKS) -> ValueBook:
    """The customers' values over `horizon` weeks from their purchases up to `today`."""
    # The fit takes ~0.1 s per thousand customers and changes only with a new purchase: kept
    # per process for the day, keyed by the purchase events there are (append-only; an
    # erasure deletes some, which changes the count).
    seen = session.execute(select(func.count(Event.id), func.max(Event.id))
                           .where(Event.type.in_(PURCHASES))).one()
    key = (tuple(seen), today, horizon, str(tz))
    cache = _FITTED.setdefault(session.get_bind().engine, {})
    fitted = cache.get(key)
    if fitted is None:
        fitted = _fit(session, today, tz, horizon)
        if len(cache) >= 16:
            cache.clear()
        cache[key] = fitted
    values, error = fitted
    if error:
        return ValueBook(error=error)
    return ValueBook(dict(values), profiles(session, values))


_FITTED: weakref.WeakKeyDictionary[
    Engine, dict[tuple[object, ...], tuple[dict[int, float], str]]] = weakref.WeakKeyDictionary()


def _fit(session: Session, today: date, tz: tzinfo,
         horizon: int) -> tuple[dict[int, float], str]:
    # scipy, ~0.3 s: loaded when a value is asked for, not by every process that records
    # events (the referral subscriber imports this module).
    from scoring.clv import value_customers  # noqa: PLC0415
    from scoring.clv_data import (  # noqa: PLC0415
        periods_per_year,
        summarize,
        transactions_from_events,
    )

    summaries = summarize(transactions_from_events(session, PURCHASES, tz=tz), today, "weeks")
    if not summaries:
        return {}, "No customer has a recorded purchase yet."
    try:
        report = value_customers(summaries, horizon, DISCOUNT_RATE, periods_per_year("weeks"))
    except CLVError as exc:
        return {}, str(exc)
    return {int(c.customer_id): c.clv for c in report.customers
            if c.customer_id.isdigit()}, ""


def profiles(session: Session, contact_ids: Iterable[int]) -> dict[int, Profile]:
    """What makes each contact alike to others: vertical, size band and source."""
    ids = list(contact_ids)
    if not ids:
        return {}
    found = sources(session, ids)
    return {c.id: Profile(c.industry or "", size_band(c.company_size), found.get(c.id, ""))
            for c in session.scalars(select(Contact).where(Contact.id.in_(ids)))}


def sources(session: Session, contact_ids: Iterable[int]) -> dict[int, str]:
    """Where each contact came from: the `utm_source` of their first trial sign-up, else one
    an import gave (`attributes.source` or `attributes.utm_source`), else "" (unknown: no
    look-alike by source)."""
    ids = list(contact_ids)
    out: dict[int, str] = {}
    for contact_id, utm in session.execute(
            select(Trial.contact_id, Trial.utm).where(Trial.contact_id.in_(ids))
            .order_by(Trial.contact_id, Trial.id)):
        if contact_id not in out and isinstance(utm, dict) and utm.get("utm_source"):
            out[contact_id] = str(utm["utm_source"]).lower()[:80]
    for contact_id, attributes in session.execute(
            select(Contact.id, Contact.attributes).where(Contact.id.in_(ids))):
        if contact_id not in out:
            given = (attributes or {}).get("source") or (attributes or {}).get("utm_source")
            out[contact_id] = str(given).lower()[:80] if isinstance(given, str) and given \
                else ""
    return out


def predicted(session: Session, contact_ids: Iterable[int], book: ValueBook
              ) -> dict[int, Estimate]:
    """Each contact's predicted value, when its own or its look-alikes' can be told."""
    ids = list(contact_ids)
    mine = profiles(session, [i for i in ids if i not in book.values])
    out = {}
    for contact_id in ids:
        found = estimate(book.values.get(contact_id), mine.get(contact_id, Profile()),
                         book.values, book.profiles)
        if found is not None:
            out[contact_id] = found
    return out
