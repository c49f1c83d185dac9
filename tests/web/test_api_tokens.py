"""API tokens over HTTP: a Bearer token opens the existing endpoints within its scope and
limit; the old shared key still works, marked deprecated; the console shows a new token
once and keeps the forms behind CSRF."""

from __future__ import annotations

from datetime import timedelta

from nurture.apitokens import services
from nurture.users import services as users
from tests.helpers import PASSWORD, contact, csrf, signed_in
from web import create_app

EVENT = {"email": "ann@example.com", "type": "trial.started"}


def _token(rt, role: str = "marketer", scope: str = "write", days: int | None = None) -> str:
    with rt.db.transaction() as session:
        user = users.create_user(session, f"{role}-api@example.com", "API", role, PASSWORD,
                                 now=rt.clock.now())
        return services.create_token(session, user.id, "CRM", scope, now=rt.clock.now(),
                                     days=days).secret


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.mimetype == "application/problem+json"
    assert response.json["detail"].endswith(".")
    return response.json


def test_a_write_token_records_an_event_and_reads_a_score(rt):
    contact(rt, "ann@example.com")
    client = create_app(rt).test_client()
    secret = _token(rt)
    assert client.post("/api/events", headers=_bearer(secret), json=EVENT).status_code == 201
    read = client.get("/api/scores?email=ann@example.com", headers=_bearer(secret))
    assert read.status_code == 200
    # The old call is deprecated (for its /api/v1 successor), not the token.
    assert 'rel="successor-version"' in read.headers["Link"]
    with rt.db.sessions() as session:
        assert services.list_tokens(session)[0].last_used_at == rt.clock.now()


def test_revoked_expired_and_unknown_tokens_get_a_401_problem(rt):
    contact(rt, "ann@example.com")
    client = create_app(rt).test_client()
    expiring, revoked = _token(rt, days=1), _token(rt, "admin")
    with rt.db.transaction() as session:
        services.revoke(session, services.list_tokens(session)[0].id, now=rt.clock.now())
    rt.clock.advance(timedelta(days=1))
    for secret in (expiring, revoked, "nt_00000000_" + "A" * 43, "nonsense"):
        body = _problem(client.post("/api/events", headers=_bearer(secret), json=EVENT), 401)
        assert "token" in body["detail"]


def test_a_read_token_cannot_post(rt):
    contact(rt, "ann@example.com")
    client = create_app(rt).test_client()
    body = _problem(client.post("/api/events", headers=_bearer(_token(rt, scope="read")),
                                json=EVENT), 403)
    assert "read scope" in body["detail"] and "write scope" in body["detail"]


def test_a_sales_users_admin_token_acts_with_read_scope_only(rt):
    contact(rt, "ann@example.com")
    client = create_app(rt).test_client()
    secret = _token(rt, "sales", scope="admin")
    assert client.get("/api/scores?email=ann@example.com",
                      headers=_bearer(secret)).status_code == 200
    body = _problem(client.post("/api/events", headers=_bearer(secret), json=EVENT), 403)
    assert "sales user" in body["detail"]


def test_a_token_over_its_rate_limit_gets_429_with_retry_after(rt):
    contact(rt, "ann@example.com")
    app = create_app(rt)
    app.config["API_RATE_LIMIT"] = "3 per minute"
    client = app.test_client()
    secret, other = _token(rt), _token(rt, "admin")
    for _ in range(3):
        assert client.get("/api/scores?email=ann@example.com",
                          headers=_bearer(secret)).status_code == 200
    over = client.get("/api/scores?email=ann@example.com", headers=_bearer(secret))
    _problem(over, 429)
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    # Each token has its own count.
    assert client.get("/api/scores?email=ann@example.com",
                      headers=_bearer(other)).status_code == 200


def test_the_shared_api_key_still_works_and_says_it_is_deprecated(rt):
    contact(rt, "ann@example.com")
    client = create_app(rt).test_client()
    response = client.post("/api/events", headers=_bearer("test-api-key"), json=EVENT)
    assert response.status_code == 201
    assert response.headers["Deprecation"].startswith("@")


def test_the_console_shows_a_new_token_once_and_it_works(rt):
    contact(rt, "ann@example.com")
    client = signed_in(rt, "marketer")
    page = client.get("/account/tokens").text
    made = client.post("/account/tokens", data={"csrf_token": csrf(page), "name": "CRM sync",
                                                "scope": "write", "expires": "90d"})
    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"
    secret = made.text.split('id="new-token" type="text" readonly value="')[1].split('"')[0]
    assert secret.startswith("nt_")
    again = client.get("/account/tokens").text
    assert secret not in again and "CRM sync" in again and "never" in again
    api = create_app(rt).test_client()
    assert api.post("/api/events", headers=_bearer(secret), json=EVENT).status_code == 201
    assert "Last used" in client.get("/account/tokens").text


def test_a_marketer_revokes_their_token_but_not_anothers(rt):
    others = _token(rt, "admin")
    client = signed_in(rt, "marketer")
    page = client.get("/account/tokens").text
    assert "CRM" not in page  # an admin's token is not in a marketer's list
    with rt.db.sessions() as session:
        admins_id = services.list_tokens(session)[0].id
    refused = client.post(f"/account/tokens/{admins_id}/revoke",
                          data={"csrf_token": csrf(page)})
    assert refused.status_code == 403 and "only your own" in refused.text
    made = client.post("/account/tokens", data={"csrf_token": csrf(page), "name": "Mine",
                                                "scope": "read", "expires": ""})
    with rt.db.sessions() as session:
        mine = next(t for t in services.list_tokens(session) if t.name == "Mine")
    assert made.status_code == 201
    done = client.post(f"/account/tokens/{mine.id}/revoke", data={"csrf_token": csrf(page)})
    assert done.status_code == 303
    assert "is revoked" in client.get("/account/tokens").text
    api = create_app(rt).test_client()
    assert api.get("/api/scores?email=x@example.com",
                   headers=_bearer(others)).status_code == 404  # still valid: no such contact


def test_an_admin_makes_a_token_for_someone_else(rt):
    with rt.db.transaction() as session:
        sales = users.create_user(session, "s@example.com", "S", "sales", PASSWORD,
                                  now=rt.clock.now())
    client = signed_in(rt, "admin")
    page = client.get("/account/tokens").text
    made = client.post("/account/tokens", data={"csrf_token": csrf(page), "name": "Export",
                                                "scope": "read", "user_id": str(sales.id)})
    assert made.status_code == 201 and "for s@example.com" in made.text


def test_bad_console_input_is_a_422_with_sentences(rt):
    client = signed_in(rt, "marketer")
    page = client.get("/account/tokens").text
    bad = client.post("/account/tokens", data={"csrf_token": csrf(page), "name": "",
                                               "scope": "root", "expires": "forever"})
    assert bad.status_code == 422
    assert "Choose the scope" in bad.text and "number of days" in bad.text
    noname = client.post("/account/tokens", data={"csrf_token": csrf(page), "name": " ",
                                                  "scope": "read"})
    assert noname.status_code == 422 and "Give the token a name" in noname.text
    with rt.db.sessions() as session:
        assert services.list_tokens(session) == []


def test_the_console_forms_need_the_csrf_token(rt):
    client = signed_in(rt, "marketer")
    refused = client.post("/account/tokens", data={"name": "CRM", "scope": "read"})
    assert refused.status_code == 400
    with rt.db.sessions() as session:
        assert services.list_tokens(session) == []
