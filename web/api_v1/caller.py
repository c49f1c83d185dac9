"""Who is calling: the token's user, as the console knows them (`UserInfo`).

A token acts as its user: services that check a role or an owner (a sales rep accepting
their own hand-off) get the same `UserInfo` the console passes them. The deprecated shared
key has no user: it acts as an admin, and records its changes as "API key".
"""

from __future__ import annotations

from flask import current_app, g

from nurture.users.services import UserInfo, get_user

SHARED_KEY = "API key"


def acting_user() -> UserInfo | None:
    """The token's user; None for the shared key (an admin without a name)."""
    if "api_user" not in g:
        bearer = g.api_bearer
        user = None
        if bearer.user_id:
            with current_app.extensions["nurture"].db.sessions() as session:
                user = get_user(session, bearer.user_id)
        g.api_user = user
    return g.api_user


def acting_as() -> str:
    """The name changes are recorded under: the user's email, or "API key"."""
    user = acting_user()
    return user.email if user is not None else SHARED_KEY
