"""Contact rows, their stage history, and the lists a marketer keeps them in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, PrimaryKeyConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base, BigId, Json, UTCDateTime, utcnow


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    # Lower-cased email: unique, so Ann@Example.com and ann@example.com are one contact.
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    first_name: Mapped[str] = mapped_column(String(120), default="")
    last_name: Mapped[str] = mapped_column(String(120), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    company: Mapped[str] = mapped_column(String(200), default="")
    # The customer's company (nurture.accounts), once it has one.
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True, index=True)
    role: Mapped[str] = mapped_column(String(120), default="")
    industry: Mapped[str] = mapped_column(String(80), default="", index=True)
    company_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    country: Mapped[str] = mapped_column(String(2), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="")
    # The language emails are written in for this contact, a BCP 47 tag ("fr", "pt-BR");
    # empty: the templates' default text.
    language: Mapped[str] = mapped_column(String(35), default="", server_default="")
    stage: Mapped[str] = mapped_column(String(20), default="learn", index=True)
    score: Mapped[int] = mapped_column(Integer, default=0)
    attributes: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    consent_marketing: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    consent_source: Mapped[str] = mapped_column(String(200), default="")
    # Preference center: topics chosen (empty = all) and how often marketing may arrive.
    email_topics: Mapped[list[str]] = mapped_column(Json, default=list)
    email_frequency: Mapped[str] = mapped_column(String(20), default="normal")
    # What an anonymous form submitted for this existing contact, applied only once the
    # person confirms it from a link sent to the address on file (None: nothing pending).
    pending_change: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class StageChange(Base):
    __tablename__ = "stage_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    from_stage: Mapped[str] = mapped_column(String(20))
    to_stage: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    cause: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_stage_changes_contact", "contact_id", "at"),)


class ContactList(Base):
    """A static, named set of contacts (an import, a bulk action, a trade-show scan): unlike
    a segment, nobody enters or leaves it but by being added or removed."""

    __tablename__ = "contact_lists"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(320), default="")


class ListMember(Base):
    """One contact on one list, once: when and how it was added."""

    __tablename__ = "list_members"

    list_id: Mapped[int] = mapped_column(ForeignKey("contact_lists.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(120), default="")  # "import:42", "bulk:ann@…"

    __table_args__ = (PrimaryKeyConstraint("list_id", "contact_id"),
                      Index("ix_list_members_contact", "contact_id"))


class ContactChange(Base):
    """One field of a contact changed by a person: what it was, what it became, who made
    the change and when. Written by `nurture.contacts.audit`; the contact page shows it."""

    __tablename__ = "contact_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(200))  # "stage", "company", "attributes.plan"
    old: Mapped[str] = mapped_column(Text, default="")  # the values as shown, JSON for others
    new: Mapped[str] = mapped_column(Text, default="")
    by: Mapped[str] = mapped_column(String(320))  # the user's email, or "bulk:<user>"
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_contact_changes_contact", "contact_id", "at"),)
