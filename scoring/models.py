"""Scoring rows: the append-only ledger, each contact's score parts, hand-offs to sales and
the stored predictive models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base, BigId, Json, UTCDateTime, due_indexes, utcnow


class ScoreEntry(Base):
    """One change of score, never updated. Engagement deltas decay from `at`. Old
    engagement rows of a contact and rule are folded into one that adds up to the same
    points (`scoring.retention`); `entries` says how many changes it stands for."""

    __tablename__ = "score_ledger"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))  # fit | engagement
    rule: Mapped[str] = mapped_column(String(120))
    event_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    delta: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    entries: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __table_args__ = (Index("ix_score_ledger_contact_rule_at", "contact_id", "rule", "at"),)


class ContactScore(Base):
    """The parts of `contacts.score`: fit, and engagement as it stood at `engagement_at`
    (decayed from there on read), the grade, and the live predictive probability."""

    __tablename__ = "contact_scores"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    fit: Mapped[float] = mapped_column(Float, default=0.0)
    engagement: Mapped[float] = mapped_column(Float, default=0.0)
    engagement_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    grade: Mapped[str] = mapped_column(String(2), default="D")
    fit_facts: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)  # rule -> points
    predictive: Mapped[float | None] = mapped_column(Float, nullable=True)
    model_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Handoff(Base):
    """A lead handed to sales: what sales sees, who has it, and what became of it.
    `due_at` is the SLA check (due work with a lease, like sends)."""

    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(20))  # score | hand_raiser | journey | manual
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    # open -> accepted -> won | lost;  open | accepted -> rejected (back to nurture)
    score: Mapped[int] = mapped_column(Integer, default=0)
    grade: Mapped[str] = mapped_column(String(2), default="D")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    predictive: Mapped[float | None] = mapped_column(Float, nullable=True)
    explanation: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    timeline: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    assigned_to: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    outcome_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        Index("ix_handoffs_contact_created", "contact_id", "created_at"),
        Index("ix_handoffs_assigned_status", "assigned_to", "status"),
        *due_indexes("handoffs", "due_at"),
    )


class HandoffNote(Base):
    """The audit trail of a hand-off: created, assigned, escalated, accepted, rejected..."""

    __tablename__ = "handoff_notes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"),
                                            index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(30))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")


class PredictiveModel(Base):
    """A trained logistic regression, versioned; the live score uses the latest approved."""

    __tablename__ = "scoring_models"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    status: Mapped[str] = mapped_column(String(16), default="candidate")  # | approved | retired
    features: Mapped[list[str]] = mapped_column(Json, default=list)
    coefficients: Mapped[list[float]] = mapped_column(Json, default=list)
    intercept: Mapped[float] = mapped_column(Float, default=0.0)
    # Per-feature mean and scale used to standardize inputs before the coefficients apply.
    means: Mapped[list[float]] = mapped_column(Json, default=list)
    scales: Mapped[list[float]] = mapped_column(Json, default=list)
    l2: Mapped[float] = mapped_column(Float, default=1.0)
    metrics: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    approved_by: Mapped[str] = mapped_column(String(320), default="")
