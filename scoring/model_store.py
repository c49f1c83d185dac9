"""The predictive model against the database: training rows from contacts and events, model
versions (candidate -> approved -> retired), the live score written to `contact_scores`, its
explanation, and the bulk writer for synthetic history. The mathematics is in `predictive`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from nurture.contacts.models import Contact
from nurture.events.models import Event
from scoring import predictive
from scoring.errors import ModelStoreError
from scoring.features import (
    CONVERSION_TYPES,
    ENGAGEMENT_TYPES,
    FEATURE_NAMES,
    HORIZON,
    WINDOW,
    Lead,
    Touch,
    TrainingSet,
    is_machine,
    live_row,
    training_set,
)
from scoring.models import ContactScore, PredictiveModel
from scoring.predictive import Contribution, FittedModel
from scoring.synthetic import History

CHUNK = 500  # ids per IN (...) list: well inside every database's parameter limit
BATCH = 2000  # rows per bulk insert


@dataclass(frozen=True)
class StoredModel:
    version: int
    status: str
    model: FittedModel
    metrics: dict[str, Any]
    approved_at: datetime | None = None
    approved_by: str = ""


@dataclass(frozen=True)
class Explanation:
    """Why a contact has its predictive score: the average lead's log-odds (`baseline`) plus
    the contributions give the contact's log-odds."""

    contact_id: int
    version: int
    probability: float
    baseline: float
    contributions: tuple[Contribution, ...] = field(default_factory=tuple)

    def as_dicts(self) -> list[dict[str, Any]]:
        return [asdict(part) for part in self.contributions]


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _touches(rows: Iterable[Any]) -> list[Touch]:
    return [Touch(contact_id, type_, at, is_machine(properties))
            for contact_id, type_, at, properties in rows]


LEAD_COLUMNS = (Contact.id, Contact.created_at, Contact.industry, Contact.company_size,
                Contact.role, Contact.country)
TOUCH_COLUMNS = (Event.contact_id, Event.type, Event.occurred_at, Event.properties)


def load_training(session: Session, now: datetime) -> TrainingSet:
    """Every lead whose 90 days have ended by `now`, labelled, with day-14 features."""
    ended = now - HORIZON
    leads = [Lead(*row) for row in session.execute(
        select(*LEAD_COLUMNS).where(Contact.created_at <= ended))]
    # Later events (repeat purchases, usage) are read too and ignored by `training_set`:
    # "within 90 days of each contact's own lead time" is date arithmetic that SQLite and
    # PostgreSQL spell differently.
    touches = _touches(session.execute(
        select(*TOUCH_COLUMNS).join(Contact, Contact.id == Event.contact_id)
        .where(Contact.created_at <= ended, Event.occurred_at >= Contact.created_at,
               Event.occurred_at < now,
               Event.type.in_(sorted(ENGAGEMENT_TYPES | CONVERSION_TYPES)))))
    return training_set(leads, touches, now)


def _stored(row: PredictiveModel) -> StoredModel:
    model = FittedModel(tuple(row.features), tuple(row.coefficients), row.intercept,
                        tuple(row.means), tuple(row.scales), row.l2)
    return StoredModel(row.version, row.status, model, dict(row.metrics or {}),
                       row.approved_at, row.approved_by)


def fit_model(session: Session, now: datetime, l2: float = 1.0,
              cutoff: datetime | None = None) -> StoredModel:
    """Train on the history up to `now` and store the model as the next candidate version.
    The stored coefficients are the ones measured on the held-out leads, so the metrics
    describe exactly the model that would be approved."""
    data = load_training(session, now)
    result = predictive.train_and_evaluate(data, l2, cutoff)
    metrics = {
        "auc": None if result.auc is None else round(result.auc, 4),
        "lift_top_decile": None if result.lift_top_decile is None
        else round(result.lift_top_decile, 3),
        "n_train": result.n_train, "n_test": result.n_test, "positives": result.positives,
        "positives_test": result.positives_test, "converted_early": data.converted_early,
        "cutoff": result.cutoff.isoformat(), "trained_at": now.isoformat(),
    }
    version = (session.scalar(select(func.max(PredictiveModel.version))) or 0) + 1
    model = result.model
    row = PredictiveModel(version=version, status="candidate", features=list(model.features),
                          coefficients=list(model.coefficients), intercept=model.intercept,
                          means=list(model.means), scales=list(model.scales), l2=model.l2,
                          metrics=metrics, created_at=now)
    session.add(row)
    session.flush()
    return _stored(row)


def list_models(session: Session) -> list[StoredModel]:
    """Every version, newest first."""
    return [_stored(row) for row in session.scalars(
        select(PredictiveModel).order_by(PredictiveModel.version.desc()))]


def approve(session: Session, version: int, by: str, now: datetime) -> StoredModel:
    """Make `version` the live model; the one approved before it is retired. Approving a
    retired version again is how a model is rolled back."""
    row = session.scalar(select(PredictiveModel).where(PredictiveModel.version == version))
    if row is None:
        raise ModelStoreError(f"There is no predictive model version {version}.")
    if row.status != "approved":
        session.execute(update(PredictiveModel)
                        .where(PredictiveModel.status == "approved",
                               PredictiveModel.version != version)
                        .values(status="retired"))
        row.status, row.approved_at, row.approved_by = "approved", now, by
        session.flush()
    return _stored(row)


def latest_approved(session: Session) -> StoredModel | None:
    """The live model, or None before any model has been approved."""
    row = session.scalar(select(PredictiveModel).where(PredictiveModel.status == "approved")
                         .order_by(PredictiveModel.approved_at.desc(),
                                   PredictiveModel.version.desc()).limit(1))
    return None if row is None else _stored(row)


def _live_rows(session: Session, model: StoredModel, contact_ids: Sequence[int],
               now: datetime) -> dict[int, np.ndarray]:
    """Feature rows for the contacts that exist, in the model's feature order."""
    missing = set(model.model.features) - set(FEATURE_NAMES)
    if missing:
        raise ModelStoreError(f"Predictive model version {model.version} uses features this "
                              f"version of Nurture does not compute ({', '.join(sorted(missing))})"
                              "; train and approve a new model.")
    order = [FEATURE_NAMES.index(name) for name in model.model.features]
    rows: dict[int, np.ndarray] = {}
    for chunk in _chunks(sorted(set(contact_ids)), CHUNK):
        leads = [Lead(*row) for row in session.execute(
            select(*LEAD_COLUMNS).where(Contact.id.in_(chunk)))]
        touches: dict[int, list[Touch]] = {}
        for touch in _touches(session.execute(
                select(*TOUCH_COLUMNS).where(Event.contact_id.in_(chunk),
                                             Event.type.in_(sorted(ENGAGEMENT_TYPES)),
                                             Event.occurred_at >= now - WINDOW,
                                             Event.occurred_at < now))):
            touches.setdefault(touch.contact_id, []).append(touch)
        for lead in leads:
            row = live_row(lead, touches.get(lead.contact_id, []), now)
            rows[lead.contact_id] = np.asarray(row, dtype=float)[order]
    return rows


def _upsert_scores(session: Session, values: list[dict[str, Any]]) -> None:
    if not values:
        return
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        raise ModelStoreError(f"Writing predictive scores is not supported on {dialect}.")
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = make(ContactScore.__table__)
    # Only the predictive columns: fit, engagement and grade belong to the rules engine.
    statement = statement.on_conflict_do_update(
        index_elements=[ContactScore.contact_id],
        set_={"predictive": statement.excluded.predictive,
              "model_version": statement.excluded.model_version,
              "updated_at": statement.excluded.updated_at})
    for batch in _chunks(values, BATCH):
        session.execute(statement, list(batch))


def score_contacts(session: Session, contact_ids: Sequence[int],
                   now: datetime) -> dict[int, float]:
    """Score the contacts with the approved model and store the probabilities in
    `contact_scores`. Without an approved model nothing is scored and the result is empty
    (so `.get(contact_id)` is None)."""
    stored = latest_approved(session)
    if stored is None or not contact_ids:
        return {}
    rows = _live_rows(session, stored, contact_ids, now)
    if not rows:
        return {}
    ids = list(rows)
    probabilities = predictive.predict_proba(stored.model, np.vstack([rows[i] for i in ids]))
    scores = {cid: float(p) for cid, p in zip(ids, probabilities, strict=True)}
    _upsert_scores(session, [{"contact_id": cid, "predictive": p,
                              "model_version": stored.version, "updated_at": now}
                             for cid, p in scores.items()])
    return scores


def score_all(session: Session, now: datetime, batch: int = 2000) -> int:
    """Score every contact (after an approval, say); returns how many were scored."""
    done, after = 0, 0
    while True:
        ids = list(session.scalars(select(Contact.id).where(Contact.id > after)
                                   .order_by(Contact.id).limit(batch)))
        if not ids:
            return done
        done += len(score_contacts(session, ids, now))
        after = ids[-1]


def explain_contact(session: Session, contact_id: int, now: datetime) -> Explanation | None:
    """The contact's live score and each feature's part in it; None without an approved
    model or without such a contact."""
    stored = latest_approved(session)
    if stored is None:
        return None
    row = _live_rows(session, stored, [contact_id], now).get(contact_id)
    if row is None:
        return None
    model = stored.model
    probability = float(predictive.predict_proba(model, row.reshape(1, -1))[0])
    return Explanation(contact_id, stored.version, probability, model.intercept,
                       tuple(predictive.explain(model, row.tolist())))


@dataclass(frozen=True)
class Written:
    contacts: int
    events: int
    skipped: int  # contacts already present (same email): left as they were


def write_history(session: Session, history: History) -> Written:
    """Write generated contacts and their events as history: straight into the tables in
    bulk (source "synthetic"), not through the live event pipeline, so no journey or rule
    reacts to events that "happened" months ago. Writing the same history twice adds
    nothing the second time."""
    keys = [person.email.lower() for person in history.contacts]
    existing: set[str] = set()
    for chunk in _chunks(keys, CHUNK):
        existing.update(session.scalars(select(Contact.email_key)
                                        .where(Contact.email_key.in_(chunk))))
    fresh = [i for i, key in enumerate(keys) if key not in existing]
    # No marketing consent: these people are invented, and no journey should mail them.
    contacts = [{**{name: getattr(history.contacts[i], name) for name in (
        "email", "first_name", "last_name", "company", "role", "industry", "company_size",
        "country", "timezone", "stage", "created_at")}, "email_key": keys[i],
        "updated_at": history.contacts[i].created_at, "consent_marketing": False,
        "attributes": {"synthetic": True}} for i in fresh]
    for batch in _chunks(contacts, BATCH):
        session.execute(insert(Contact.__table__), list(batch))
    ids: dict[str, int] = {}
    for chunk in _chunks([keys[i] for i in fresh], CHUNK):
        ids.update((key, cid) for cid, key in session.execute(
            select(Contact.id, Contact.email_key).where(Contact.email_key.in_(chunk))))
    wanted = set(fresh)
    # recorded_at = occurred_at: the history reads as if it had been recorded as it happened.
    events = [{"contact_id": ids[keys[e.contact]], "type": e.type, "properties": e.properties,
               "occurred_at": e.occurred_at, "recorded_at": e.occurred_at,
               "source": "synthetic"} for e in history.events if e.contact in wanted]
    for batch in _chunks(events, BATCH):
        session.execute(insert(Event.__table__), list(batch))
    return Written(len(contacts), len(events), len(existing))
