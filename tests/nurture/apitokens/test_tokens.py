"""API tokens: stored as a digest, shown once, refused once expired or revoked, and acting
with the lesser of their scope and their user's role."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from nurture.apitokens import services
from nurture.apitokens.errors import InvalidToken, NotYourToken, Unauthenticated
from nurture.apitokens.models import ApiToken
from nurture.apitokens.scopes import effective_scope, may
from nurture.app.cli.tokens import tokens
from nurture.users import services as users
from tests.helpers import PASSWORD


def _user(rt, role: str = "marketer", email: str | None = None) -> int:
    with rt.db.transaction() as session:
        return users.create_user(session, email or f"{role}@example.com", role.title(), role,
                                 PASSWORD, now=rt.clock.now()).id


def _token(rt, user_id: int, scope: str = "write", days: int | None = None):
    with rt.db.transaction() as session:
        return services.create_token(session, user_id, "CRM sync", scope, now=rt.clock.now(),
                                     days=days)


def _verify(rt, secret: str):
    with rt.db.transaction() as session:
        return services.verify(session, secret, now=rt.clock.now())


def test_only_the_digest_is_stored_never_the_secret(rt):
    new = _token(rt, _user(rt))
    with rt.db.sessions() as session:
        row = session.scalars(select(ApiToken)).one()
    assert new.secret.startswith(f"nt_{row.prefix}_")
    assert row.secret_hash == hashlib.sha256(new.secret.encode()).hexdigest()
    assert new.secret not in (row.secret_hash, row.prefix, row.name)
    assert _verify(rt, new.secret).scope == "write"


def test_a_wrong_or_malformed_token_is_refused(rt):
    new = _token(rt, _user(rt))
    for given in (new.secret[:-1] + ("A" if new.secret[-1] != "A" else "B"), "nt_", "x" * 500,
                  new.secret + "x", ""):
        with pytest.raises(Unauthenticated):
            _verify(rt, given)


def test_an_expired_token_is_refused(rt):
    new = _token(rt, _user(rt), days=90)
    rt.clock.advance(timedelta(days=89))
    _verify(rt, new.secret)
    rt.clock.advance(timedelta(days=1))
    with pytest.raises(Unauthenticated):
        _verify(rt, new.secret)


def test_a_revoked_token_is_refused_and_revoking_again_is_harmless(rt):
    new = _token(rt, _user(rt))
    with rt.db.transaction() as session:
        services.revoke(session, new.info.id, now=rt.clock.now())
        services.revoke(session, new.info.id, now=rt.clock.now())
    with pytest.raises(Unauthenticated):
        _verify(rt, new.secret)


def test_a_deactivated_users_token_is_refused(rt):
    new = _token(rt, _user(rt))
    with rt.db.transaction() as session:
        users.deactivate(session, "marketer@example.com")
    with pytest.raises(Unauthenticated):
        _verify(rt, new.secret)


def test_a_marketer_revokes_only_their_own_tokens(rt):
    theirs = _token(rt, _user(rt, "marketer", "other@example.com"))
    mine = _user(rt)
    with pytest.raises(NotYourToken), rt.db.transaction() as session:
        services.revoke(session, theirs.info.id, now=rt.clock.now(), by_user_id=mine,
                        by_admin=False)
    _verify(rt, theirs.secret)


def test_last_use_is_written_at_most_once_a_minute(rt):
    new = _token(rt, _user(rt))
    first = rt.clock.now()
    _verify(rt, new.secret)
    rt.clock.advance(timedelta(seconds=30))
    _verify(rt, new.secret)
    with rt.db.sessions() as session:
        assert services.list_tokens(session)[0].last_used_at == first
    rt.clock.advance(timedelta(seconds=31))
    _verify(rt, new.secret)
    with rt.db.sessions() as session:
        assert services.list_tokens(session)[0].last_used_at == rt.clock.now()


def test_scopes_are_ordered_and_capped_by_the_users_role():
    assert may("write", "marketer", "read") and may("write", "marketer", "write")
    assert not may("read", "marketer", "write")
    assert not may("admin", "marketer", "admin")
    assert effective_scope("admin", "sales") == "read"
    assert not may("admin", "sales", "write") and not may("admin", "sales", "admin")
    assert may("admin", "admin", "admin")
    assert not may("read", "nobody", "read")


@pytest.mark.parametrize("text", ["0d", "-1", "ninety", "99999d", "90 days"])
def test_an_expiry_that_is_not_a_number_of_days_is_refused(text):
    with pytest.raises(InvalidToken, match=r"number of days.*\.$"):
        services.parse_expiry(text)


def test_the_cli_creates_lists_and_revokes(rt):
    _user(rt, "sales")
    made = _cli(rt, ["create", "--user", "Sales@Example.com", "--scope", "read",
                     "--expires", "30d", "--name", "BI export"])
    assert made.exit_code == 0, made.output
    secret = made.output.strip().splitlines()[-1]
    assert _verify(rt, secret).role == "sales"
    listed = _cli(rt, ["list", "--user", "sales@example.com"])
    assert "BI export" in listed.output and "last used:" in listed.output
    assert secret not in listed.output
    token_id = listed.output.split()[0]
    assert _cli(rt, ["revoke", token_id]).exit_code == 0
    with pytest.raises(Unauthenticated):
        _verify(rt, secret)
    unknown = _cli(rt, ["create", "--user", "nobody@example.com", "--scope", "read"])
    assert unknown.exit_code == 1 and "no user" in unknown.output


def _cli(rt, args):
    return CliRunner().invoke(tokens, args, obj=rt)
