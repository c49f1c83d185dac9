"""Whether a token may do something: pure, so that the API and the tests ask one rule.

Scopes are ordered read < write < admin. A token acts as its user, so its scope is capped
by the user's role: sales people read, marketers write, admins administer. A sales user's
admin-scope token (made before a demotion, say) still only reads.
"""

from __future__ import annotations

SCOPES = ("read", "write", "admin")
_RANK = {scope: rank for rank, scope in enumerate(SCOPES)}
# The highest scope each role may act with, whatever its tokens say.
ROLE_CEILING = {"sales": "read", "marketer": "write", "admin": "admin"}


def effective_scope(token_scope: str, role: str) -> str | None:
    """The scope a token of a user with `role` acts with; None for an unknown role."""
    ceiling = ROLE_CEILING.get(role)
    if ceiling is None or token_scope not in _RANK:
        return None
    return SCOPES[min(_RANK[token_scope], _RANK[ceiling])]


def may(token_scope: str, role: str, needed: str) -> bool:
    """May a `token_scope` token of a `role` user do what needs `needed`?"""
    acting = effective_scope(token_scope, role)
    return acting is not None and _RANK[acting] >= _RANK[needed]
