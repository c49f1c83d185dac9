"""People who sign in: users made with the service and `nurture users`, argon2 hashes, the
sign-in page and where it leads, sign-out, `login_required` and the dashboard behind it."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from sqlalchemy import select

from nurture.app.cli.users import users
from nurture.users import services
from nurture.users.errors import DuplicateEmail, InvalidUser
from nurture.users.models import User
from tests.helpers import csrf
from web import create_app
from web.auth import login_required

PASSWORD = "correct horse battery"
WRONG = "The email or password is incorrect."


def _user(rt, email: str = "sam@example.com", role: str = "sales", password: str = PASSWORD,
          name: str = "Sam Reed", **fields):
    with rt.db.transaction() as session:
        return services.create_user(session, email, name, role, password,
                                    now=rt.clock.now(), **fields)


def _row(rt, email: str) -> User:
    with rt.db.sessions() as session:
        return session.scalar(select(User).where(User.email == email))


def _sign_in(client, email: str = "sam@example.com", password: str = PASSWORD,
             path: str = "/login"):
    """Fill in the sign-in form found at `path` and send it as a browser would."""
    page = client.get(path).text
    form = re.search(r'<form method="post" action="([^"]+)"(.*?)</form>', page, re.S)
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                             form.group(2)))
    data = {**{k: html.unescape(v) for k, v in hidden.items()}, "email": email,
            "password": password}
    return client.post(html.unescape(form.group(1)), data=data)


def _signed_in_as(client) -> str | None:
    """The name in the header's "Signed in as …" (on the sign-in page, which anyone sees)."""
    found = re.search(r"Signed in as ([^·<]+?) ·", client.get("/l/trial").text)
    return found.group(1) if found else None


@pytest.fixture
def client(rt):
    return create_app(rt).test_client()


# ---- users ---------------------------------------------------------------------------

def test_a_user_is_stored_with_a_lower_cased_email_and_an_argon2id_hash(rt):
    user = _user(rt, "Sam@Example.COM", verticals=["Retail", "healthcare"],
                 territories=["gb", "US"])
    assert (user.email, user.role, user.active) == ("sam@example.com", "sales", True)
    assert (user.verticals, user.territories) == (("retail", "healthcare"), ("GB", "US"))
    stored = _row(rt, "sam@example.com").password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


@pytest.mark.parametrize(("email", "role", "password", "message"), [
    ("not-an-address", "sales", PASSWORD, "Enter an email address in the correct format"),
    ("ann@example.com", "boss", PASSWORD, "Choose a role: sales, marketer or admin."),
    ("ann@example.com", "sales", "short pass", "at least 12 characters long."),
    ("ann.lee@example.com", "sales", "Ann.Lee@Example.com",
     "must not be the same as the email address."),
])
def test_bad_users_are_refused_with_a_sentence(rt, email, role, password, message):
    with pytest.raises(InvalidUser, match=re.escape(message)):
        _user(rt, email, role, password)


def test_a_second_user_with_the_same_email_is_refused_with_a_sentence(rt):
    _user(rt, "sam@example.com")
    with pytest.raises(DuplicateEmail, match=re.escape(
            "A user with the email address sam@example.com already exists.")):
        _user(rt, "SAM@example.com", role="admin")


def test_unknown_territories_are_refused(rt):
    with pytest.raises(InvalidUser, match="is not a country code"):
        _user(rt, territories=["XX"])


def test_operators_create_list_reset_deactivate_and_reactivate_users_from_the_command_line(
        rt, client):
    runner = CliRunner()
    made = runner.invoke(users, ["create", "--email", "Mia@Example.com", "--name", "Mia Park",
                                 "--role", "marketer", "--vertical", "retail",
                                 "--territory", "FR", "--password-stdin"],
                         input=f"{PASSWORD}\n", obj=rt)
    assert made.exit_code == 0, made.output
    assert "Created marketer mia@example.com" in made.output
    assert _row(rt, "mia@example.com").password_hash.startswith("$argon2id$")
    assert _sign_in(client, "mia@example.com").headers["Location"] == "/"

    prompted = runner.invoke(users, ["create", "--email", "sam@example.com", "--name", "Sam",
                                     "--role", "sales"],
                             input=f"too short\n{PASSWORD}\n{PASSWORD}\n", obj=rt)
    assert prompted.exit_code == 0, prompted.output
    assert "at least 12 characters long." in prompted.output
    assert PASSWORD not in prompted.output

    again = runner.invoke(users, ["create", "--email", "mia@example.com", "--name", "Mia",
                                  "--role", "admin", "--password-stdin"],
                          input=PASSWORD, obj=rt)
    assert again.exit_code == 1 and "already exists." in again.output
    assert runner.invoke(users, ["create", "--email", "x@example.com", "--name", "X",
                                 "--role", "sales", "--password", PASSWORD]).exit_code == 2

    listed = runner.invoke(users, ["list"], obj=rt).output
    assert re.search(r"marketer\s+active\s+mia@example\.com\s+Mia Park\s+verticals: retail"
                     r"\s+territories: FR", listed)
    assert "sam@example.com" in listed

    new = "a different passphrase"
    changed = runner.invoke(users, ["set-password", "MIA@example.com", "--password-stdin"],
                            input=new, obj=rt)
    assert changed.exit_code == 0 and "Changed the password" in changed.output
    assert _sign_in(create_app(rt).test_client(), "mia@example.com", new).status_code == 303

    gone = runner.invoke(users, ["deactivate", "mia@example.com"], obj=rt)
    assert gone.exit_code == 0 and "can no longer sign in" in gone.output
    assert re.search(r"inactive\s+mia@example\.com", runner.invoke(users, ["list"], obj=rt)
                     .output)
    assert _sign_in(create_app(rt).test_client(), "mia@example.com", new).status_code == 401
    back = runner.invoke(users, ["activate", "Mia@example.com"], obj=rt)
    assert back.exit_code == 0 and "can sign in again" in back.output
    assert _sign_in(create_app(rt).test_client(), "mia@example.com", new).status_code == 303
    missing = runner.invoke(users, ["deactivate", "nobody@example.com"], obj=rt)
    assert missing.exit_code == 1
    assert "There is no user with the email address nobody@example.com." in missing.output


# ---- signing in ----------------------------------------------------------------------

def test_the_sign_in_page_is_labelled_for_password_managers_and_screen_readers(client):
    page = client.get("/login").text
    assert '<label for="email">Email address</label>' in page
    assert '<label for="password">Password</label>' in page
    assert 'autocomplete="username"' in page and 'autocomplete="current-password"' in page


def test_signing_in_takes_each_role_to_its_start_page(rt, client):
    _user(rt, "sam@example.com", "sales")
    _user(rt, "mia@example.com", "marketer", name="Mia Park")
    response = _sign_in(client, "  SAM@example.com ")
    assert response.status_code == 303 and response.headers["Location"] == "/sales"
    assert _signed_in_as(client) == "Sam Reed"
    assert _row(rt, "sam@example.com").last_login_at == rt.clock.now()
    cookie = client.get_cookie("session")
    assert cookie.expires - datetime.now(UTC) < timedelta(hours=12, minutes=1)

    other = create_app(rt).test_client()
    assert _sign_in(other, "mia@example.com").headers["Location"] == "/"
    assert "<h1>Home</h1>" in other.get("/").text


def test_a_wrong_password_or_unknown_email_gets_one_sentence_and_keeps_the_email(rt, client):
    _user(rt)
    for email, password in (("sam@example.com", "not the password"),
                            ("nobody@example.com", PASSWORD)):
        response = _sign_in(client, email, password)
        assert response.status_code == 401
        assert WRONG in response.text and f'value="{email}"' in response.text
        assert "not the password" not in response.text
    assert _signed_in_as(client) is None


def test_an_empty_form_asks_for_each_field(client):
    response = client.post("/login", data={"csrf_token": csrf(client.get("/login").text)})
    assert response.status_code == 422
    assert "Enter your email address." in response.text
    assert "Enter your password." in response.text


def test_an_inactive_user_cannot_sign_in_and_is_signed_out(rt, client):
    _user(rt)
    assert _sign_in(client).status_code == 303
    with rt.db.transaction() as session:
        services.deactivate(session, "sam@example.com")
    assert _signed_in_as(client) is None
    assert _sign_in(client).status_code == 401


def test_an_old_password_hash_is_upgraded_at_the_next_sign_in(rt, client):
    _user(rt)
    with rt.db.transaction() as session:
        row = session.scalar(select(User))
        row.password_hash = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    assert _sign_in(client).status_code == 303
    upgraded = _row(rt, "sam@example.com").password_hash
    assert not PasswordHasher().check_needs_rehash(upgraded)
    assert _signed_in_as(client) == "Sam Reed"


@pytest.mark.parametrize("target", ["//evil.example/x", "/\\evil.example", "https://evil.example/",
                                    "/\t/evil.example", "javascript:alert(1)"])
def test_next_never_leads_to_another_site(rt, client, target):
    _user(rt)
    response = _sign_in(client, path=f"/login?next={target}")
    assert response.headers["Location"] == "/sales"
    forged = client.post("/login", data={"email": "sam@example.com", "password": PASSWORD,
                                         "next": target,
                                         "csrf_token": csrf(client.get("/l/trial").text)})
    assert forged.headers["Location"] == "/sales"


def test_next_leads_back_to_the_page_asked_for(rt, client):
    _user(rt, role="marketer")
    asked = client.get("/?tab=recent")
    assert asked.status_code == 302
    assert asked.headers["Location"] == "/login?next=/?tab%3Drecent"
    response = _sign_in(client, path=asked.headers["Location"])
    assert response.headers["Location"] == "/?tab=recent"


def test_failed_sign_ins_over_the_per_account_and_address_limit_get_a_429(rt):
    _user(rt)
    app = create_app(rt)
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    client = app.test_client()
    assert [_sign_in(client, password="wrong wrong wrong").status_code
            for _ in range(3)] == [401, 401, 401]
    blocked = _sign_in(client)
    assert blocked.status_code == 429 and "too many failed sign-ins" in blocked.text
    app.config["RATELIMIT_ENABLED"] = False
    assert _sign_in(client).status_code == 303


# ---- signing out and sessions --------------------------------------------------------

def test_signing_out_needs_a_post_with_the_form_token(rt, client):
    _user(rt)
    _sign_in(client)
    assert client.get("/logout").status_code == 405
    forged = client.post("/logout", data={"csrf_token": "forged"})
    assert forged.status_code == 400 and "still signed in" in forged.text
    assert _signed_in_as(client) == "Sam Reed"
    header = client.get("/l/trial").text
    response = client.post("/logout", data={"csrf_token": csrf(header)})
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert "You have signed out." in client.get("/login").text
    assert _signed_in_as(client) is None


def test_changing_the_password_ends_sessions_signed_in_with_the_old_one(rt, client):
    _user(rt, role="marketer")
    _sign_in(client)
    assert client.get("/").status_code == 200
    with rt.db.transaction() as session:
        services.set_password(session, "sam@example.com", "a brand new passphrase")
    assert client.get("/").headers["Location"] == "/login?next=/"
    assert _sign_in(client).status_code == 401
    assert _sign_in(client, password="a brand new passphrase").status_code == 303


def test_a_deactivated_user_stays_signed_out_when_reactivated(rt, client):
    _user(rt, role="marketer")
    _sign_in(client)
    with rt.db.transaction() as session:
        services.deactivate(session, "sam@example.com")
        services.activate(session, "sam@example.com")
    assert client.get("/").status_code == 302


def _copy_session(client, rt):
    """Another browser holding a copy of `client`'s session cookie."""
    thief = create_app(rt).test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def test_a_session_cookie_copied_before_signing_out_no_longer_opens_the_console(rt, client):
    _user(rt, role="marketer")
    _sign_in(client)
    copy = _copy_session(client, rt)
    assert copy.get("/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf(client.get("/").text)})
    replayed = copy.get("/")
    assert replayed.status_code == 302 and replayed.headers["Location"] == "/login?next=/"
    assert _sign_in(client).status_code == 303, "signing in again works"
    assert client.get("/").status_code == 200 and copy.get("/").status_code == 302


def test_a_user_signs_out_everywhere_from_their_account_page(rt, client):
    _user(rt, role="marketer")
    _user(rt, "mia@example.com", "marketer", name="Mia Park")
    _sign_in(client)
    laptop, mia = create_app(rt).test_client(), create_app(rt).test_client()
    _sign_in(laptop)
    _sign_in(mia, "mia@example.com")
    page = client.get("/account")
    assert page.status_code == 200 and "sam@example.com" in page.text
    assert "Sign out everywhere" in page.text and '/users"' not in page.text
    assert client.post("/account/sign-out-everywhere").status_code == 400, "needs the token"
    done = client.post("/account/sign-out-everywhere", data={"csrf_token": csrf(page.text)})
    assert done.status_code == 303 and done.headers["Location"] == "/login"
    assert "every session you had, on any device, has ended." in client.get("/login").text
    assert [c.get("/").status_code for c in (client, laptop, mia)] == [302, 302, 200]
    assert create_app(rt).test_client().get("/account").headers["Location"] == \
        "/login?next=/account"


def test_an_admin_signs_any_user_out_everywhere_from_the_users_page(rt, client):
    _user(rt, role="marketer")
    _user(rt, "ada@example.com", "admin", name="Ada")
    _sign_in(client)
    admin = create_app(rt).test_client()
    _sign_in(admin, "ada@example.com")
    assert client.get("/users").status_code == 403
    sam = _row(rt, "sam@example.com").id
    token = csrf(client.get("/").text)
    assert client.post(f"/users/{sam}/sign-out", data={"csrf_token": token}).status_code == 403
    page = admin.get("/users")
    assert page.status_code == 200 and "sam@example.com" in page.text
    assert '<a href="/users">Users</a>' in admin.get("/account").text
    done = admin.post(f"/users/{sam}/sign-out", data={"csrf_token": csrf(page.text)})
    assert done.status_code == 303 and done.headers["Location"] == "/users"
    assert "sam@example.com is signed out everywhere" in admin.get("/users").text
    assert client.get("/").status_code == 302 and admin.get("/").status_code == 200
    assert admin.post("/users/999999/sign-out",
                      data={"csrf_token": csrf(page.text)}).status_code == 404
    ada = _row(rt, "ada@example.com").id
    own = admin.post(f"/users/{ada}/sign-out", data={"csrf_token": csrf(page.text)})
    assert own.headers["Location"] == "/login" and admin.get("/users").status_code == 302


def test_an_operator_signs_a_user_out_everywhere_from_the_command_line(rt, client):
    _user(rt, role="marketer")
    _sign_in(client)
    runner = CliRunner()
    done = runner.invoke(users, ["sign-out", "SAM@example.com"], obj=rt)
    assert done.exit_code == 0, done.output
    assert "Signed out sam@example.com everywhere" in done.output
    assert client.get("/").status_code == 302
    assert _sign_in(client).status_code == 303 and client.get("/").status_code == 200
    missing = runner.invoke(users, ["sign-out", "nobody@example.com"], obj=rt)
    assert missing.exit_code == 1
    assert "There is no user with the email address nobody@example.com." in missing.output


# ---- login_required and the dashboard ------------------------------------------------

def test_login_required_sends_visitors_to_sign_in_and_refuses_other_roles(rt):
    app = create_app(rt)
    app.add_url_rule("/inbox-test", view_func=login_required("sales")(lambda: "the inbox"))
    _user(rt, "sam@example.com", "sales")
    _user(rt, "mia@example.com", "marketer")
    _user(rt, "ada@example.com", "admin")
    anonymous = app.test_client()
    assert anonymous.get("/inbox-test").headers["Location"] == "/login?next=/inbox-test"
    sales, marketer, admin = (app.test_client() for _ in range(3))
    _sign_in(sales, "sam@example.com")
    _sign_in(marketer, "mia@example.com")
    _sign_in(admin, "ada@example.com")
    assert sales.get("/inbox-test").text == "the inbox"
    assert admin.get("/inbox-test").text == "the inbox"
    refused = marketer.get("/inbox-test")
    assert refused.status_code == 403
    assert "This page is for sales and admins" in refused.text
    with pytest.raises(ValueError, match=re.escape("Unknown roles: boss.")):
        login_required("boss")


def test_the_dashboard_is_for_marketers_and_admins_only(rt, client):
    _user(rt, "sam@example.com", "sales")
    _user(rt, "ada@example.com", "admin", name="Ada")
    assert client.get("/").headers["Location"] == "/login?next=/"
    assert client.get("/healthz").get_json() == {"ok": True}
    _sign_in(client)
    refused = client.get("/")
    assert refused.status_code == 403 and "This page is for marketers and admins" in refused.text
    admin = create_app(rt).test_client()
    _sign_in(admin, "ada@example.com")
    assert "<h1>Home</h1>" in admin.get("/").text


def test_public_pages_show_the_senders_name_and_only_staff_get_the_console_link(rt):
    from nurture.app.composition import build

    acme = build(rt.settings.with_(company_name="Acme <Health>"), with_transport=False)
    try:
        client = create_app(acme).test_client()
        page = client.get("/login").text
        header = re.search(r"<header>(.*?)</header>", page, re.S).group(1)
        assert "Acme &lt;Health&gt;" in header and 'href="/"' not in header
        _user(acme, "ada@example.com", "admin")
        _sign_in(client, "ada@example.com")
        header = re.search(r"<header>(.*?)</header>", client.get("/").text, re.S).group(1)
        assert '<a href="/">Nurture</a>' in header
    finally:
        acme.close()


def test_a_login_limit_that_is_not_a_rate_stops_the_app_with_a_sentence(tmp_path):
    from nurture.config import ConfigError, Settings

    with pytest.raises(ConfigError, match=re.escape(
            "NURTURE_LOGIN_ADDRESS_RATE_LIMIT must be a rate such as "
            "'30 per minute; 300 per hour', not 'lots'.")):
        Settings.from_env({"NURTURE_VAR_DIR": str(tmp_path), "SECRET_KEY": "k",
                           "NURTURE_LOGIN_ADDRESS_RATE_LIMIT": "lots"})
