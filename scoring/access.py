"""Who sees which hand-off: a sales rep reaches the leads assigned to them and the
unassigned queue; marketers and admins reach every one. Reads and actions both ask here, so
that a rep cannot open by id what their inbox does not list."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import ColumnElement, or_, true

from scoring.models import Handoff


class Viewer(Protocol):
    """A signed-in user as far as access goes (a `User` row or a `UserInfo`)."""

    id: int
    role: str


def sees_every_lead(viewer: Viewer) -> bool:
    return viewer.role != "sales"


def may_see(assigned_to: int | None, viewer: Viewer) -> bool:
    """The hand-off assigned to `assigned_to` is one the viewer may open and act on."""
    return sees_every_lead(viewer) or assigned_to in (None, viewer.id)


def visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """The same rule as a condition on `Handoff` rows."""
    if sees_every_lead(viewer):
        return true()
    return or_(Handoff.assigned_to == viewer.id, Handoff.assigned_to.is_(None))
