"""Behind a reverse proxy: NURTURE_TRUSTED_PROXIES believes that many hops of
X-Forwarded-For/-Proto/-Host (werkzeug's ProxyFix), so failed sign-ins are limited per
client, per account and client (guessing) and per client across accounts (spraying), and
a stranger cannot lock a user out; with no trusted proxy, the headers change nothing."""

from __future__ import annotations

import pytest
from flask import request

from nurture.users import services
from tests.helpers import running
from web import create_app

PASSWORD = "correct horse battery"
WRONG = "not the password at all"
PROXY = {"REMOTE_ADDR": "10.0.0.2"}  # the proxy: every request arrives from it


def _users(rt, *emails: str) -> None:
    with rt.db.transaction() as session:
        for email in emails:
            services.create_user(session, email, email.split("@")[0].title(), "marketer",
                                 PASSWORD, now=rt.clock.now())


def _app(rt, pair: str = "3 per minute", address: str = "5 per minute"):
    app = create_app(rt)
    app.config.update(WTF_CSRF_ENABLED=False, LOGIN_RATE_LIMIT=pair,
                      LOGIN_ADDRESS_RATE_LIMIT=address)
    return app


def _sign_in(app, client: str, email: str, password: str = PASSWORD) -> int:
    """A sign-in from `client`, forwarded by the proxy; its status."""
    return app.test_client().post(
        "/login", data={"email": email, "password": password}, environ_base=PROXY,
        headers={"X-Forwarded-For": client}).status_code


@pytest.fixture
def proxied(settings, clock):
    with running(settings.with_(trusted_proxies=1), clock, workers=1) as runtime:
        yield runtime


def test_guessing_one_account_from_one_address_is_stopped_but_the_user_signs_in_elsewhere(
        proxied):
    _users(proxied, "sam@example.com", "mia@example.com")
    app = _app(proxied)
    stranger, sam = "198.51.100.7", "203.0.113.9"
    assert [_sign_in(app, stranger, "sam@example.com", WRONG) for _ in range(3)] == [401] * 3
    assert _sign_in(app, stranger, "sam@example.com") == 429, "the right password too"
    assert _sign_in(app, sam, "sam@example.com") == 303, "a stranger cannot lock sam out"
    assert _sign_in(app, stranger, "mia@example.com") == 303, "the limit is per account"


def test_spraying_many_accounts_from_one_address_is_stopped_and_no_account_is_locked(proxied):
    _users(proxied, "sam@example.com")
    app = _app(proxied)
    sprayer = "198.51.100.8"
    assert [_sign_in(app, sprayer, f"user{n}@example.com", WRONG)
            for n in range(5)] == [401] * 5
    blocked = app.test_client().post(
        "/login", data={"email": "sam@example.com", "password": PASSWORD},
        environ_base=PROXY, headers={"X-Forwarded-For": sprayer})
    assert blocked.status_code == 429 and "too many failed sign-ins" in blocked.text
    assert int(blocked.headers["Retry-After"]) > 0
    assert _sign_in(app, "203.0.113.9", "sam@example.com") == 303


def test_the_forwarded_address_scheme_and_host_are_the_clients(proxied):
    app = create_app(proxied)
    app.add_url_rule("/whoami-test", view_func=lambda: {
        "addr": request.remote_addr, "scheme": request.scheme, "host": request.host})
    seen = app.test_client().get("/whoami-test", environ_base=PROXY, headers={
        "X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "nurture.example"}).get_json()
    assert seen == {"addr": "203.0.113.9", "scheme": "https", "host": "nurture.example"}


def test_without_trusted_proxies_x_forwarded_for_is_ignored(rt):
    _users(rt, "sam@example.com")
    app = _app(rt)
    app.add_url_rule("/whoami-test", view_func=lambda: {"addr": request.remote_addr})
    assert app.test_client().get("/whoami-test", environ_base=PROXY, headers={
        "X-Forwarded-For": "203.0.113.9"}).get_json() == {"addr": "10.0.0.2"}
    # A new made-up address each time still counts against the one real address.
    assert [_sign_in(app, f"198.51.100.{n}", "sam@example.com", WRONG)
            for n in range(3)] == [401] * 3
    assert _sign_in(app, "198.51.100.99", "sam@example.com") == 429


def test_the_sign_up_limit_is_per_visitor_behind_the_proxy(proxied):
    app = create_app(proxied)
    app.config.update(WTF_CSRF_ENABLED=False, SIGNUP_RATE_LIMIT="1 per hour")

    def honeypot(client: str) -> int:  # a sign-up that counts and stores nothing
        return app.test_client().post("/l/trial", data={"website": "bot"}, environ_base=PROXY,
                                      headers={"X-Forwarded-For": client}).status_code

    assert [honeypot("198.51.100.7"), honeypot("198.51.100.7")] == [303, 429]
    assert honeypot("203.0.113.9") == 303, "another visitor is not blocked"
