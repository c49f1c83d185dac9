"""The published API description: `/api/openapi.json` is a valid OpenAPI 3.1 document that
lists every API route the app serves, with a summary, tags and the problem document on its
errors; the old calls are flagged deprecated and say so on every answer; `/api/docs` is the
Redoc page, served from our own files under a Content-Security-Policy of its own."""

from __future__ import annotations

import re

from openapi_spec_validator import validate as validate_openapi
from werkzeug.routing import Rule

from tests.helpers import contact, signed_in
from web import create_app
from web.api_auth import KEY_DEPRECATED
from web.openapi import spec

AUTH = {"Authorization": "Bearer test-api-key"}
# A route under /api/ that is not a call of the documented API, and why.
NOT_DOCUMENTED = {
    # The browsers of the customer's own site post page views here (web/visits.py): a CORS
    # beacon with no token, called by our tracking script, not by an integration.
    ("POST", "/api/v1/visits"),
    ("OPTIONS", "/api/v1/visits"),
    # The description itself.
    ("GET", "/api/openapi.json"),
    ("GET", "/api/docs"),
}
OLD_CALLS = {
    ("post", "/api/events"): "/api/v1/events",
    ("post", "/api/bounces"): "/api/v1/bounces",
    ("post", "/api/inbound"): "/api/v1/inbound",
    ("get", "/api/scores"): "/api/v1/contacts/{id}/score",
    ("get", "/api/nps"): "/api/v1/nps/report",
    ("post", "/api/trials/{trial_id}/usage"): "/api/v1/trials/{trial_id}/usage",
}
ERRORS_OF_EVERY_CALL = {"400", "401", "403", "404", "422", "429", "503"}


def _document(rt) -> dict:
    response = create_app(rt).test_client().get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.json


def _api_routes(app) -> set[tuple[str, str]]:
    """(method, OpenAPI path) of every rule under /api/, as the document spells paths."""
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = spec.backend.parse_path(rule, None)[0] if isinstance(rule, Rule) else rule.rule
        automatic = {"HEAD", "OPTIONS"} if rule.provide_automatic_options else {"HEAD"}
        found |= {(method, path) for method in rule.methods - automatic}
    return found


def test_the_document_is_valid_openapi_3_1_and_needs_no_token(rt):
    document = _document(rt)  # no Authorization header
    assert document["openapi"].startswith("3.1")
    validate_openapi(document)
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert "nt_" in scheme["description"] and "NURTURE_API_KEY" in scheme["description"]
    assert document["security"] == [{"bearer": []}]


def test_every_api_route_is_in_the_document_and_nothing_else(rt):
    app = create_app(rt)
    documented = {(method.upper(), path) for path, operations in _document(rt)["paths"].items()
                  for method in operations}
    served = _api_routes(app) - NOT_DOCUMENTED
    assert served - documented == set(), "routes under /api/ missing from the document"
    assert documented - served == set(), "the document lists calls the app does not serve"
    assert not [rule.rule for rule in app.url_map.iter_rules() if "apidoc" in rule.rule]


def test_every_call_has_a_summary_tags_and_the_problem_document_on_its_errors(rt):
    for path, operations in _document(rt)["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation["summary"].endswith((".", ")")), where
            assert operation["tags"], where
            errors = {code for code in operation["responses"] if int(code) >= 400}
            assert errors >= ERRORS_OF_EVERY_CALL, where
            for code in errors:
                content = operation["responses"][code]["content"]
                assert list(content) == ["application/problem+json"], f"{where} {code}"
                assert content["application/problem+json"]["schema"]["$ref"].startswith(
                    "#/components/schemas/Problem."), f"{where} {code}"


def test_the_old_calls_are_deprecated_and_name_their_successor(rt):
    paths = _document(rt)["paths"]
    for (method, path), successor in OLD_CALLS.items():
        operation = paths[path][method]
        assert operation["deprecated"] is True, path
        assert successor in operation["description"], path
    deprecated = {(method, path) for path, operations in paths.items()
                  for method, operation in operations.items() if operation.get("deprecated")}
    assert deprecated == set(OLD_CALLS)
    assert "message/rfc822" in paths["/api/inbound"]["post"]["requestBody"]["content"]


def test_the_old_calls_answer_with_deprecation_and_a_successor_link(rt):
    ann = contact(rt, "ann@example.com")
    client = create_app(rt).test_client()
    score = client.get("/api/scores?email=ann@example.com", headers=AUTH)
    assert score.status_code == 200
    assert score.headers["Deprecation"] == KEY_DEPRECATED
    assert score.headers["Link"] == f'</api/v1/contacts/{ann}/score>; rel="successor-version"'
    refused = client.post("/api/trials/7/usage", json={"type": "seat_activated"})
    assert refused.status_code == 401  # refusals say it too
    assert refused.headers["Deprecation"] == KEY_DEPRECATED
    assert refused.headers["Link"] == '</api/v1/trials/7/usage>; rel="successor-version"'
    nps = client.get("/api/nps", headers=AUTH)
    assert nps.headers["Link"] == '</api/v1/nps/report>; rel="successor-version"'
    unknown = client.get("/api/scores?email=nobody@example.com", headers=AUTH)
    assert unknown.status_code == 404 and "Link" not in unknown.headers  # no id to link to
    assert "Deprecation" not in client.get("/api/openapi.json").headers


def test_the_reference_page_is_redoc_from_our_own_files(rt):
    client = create_app(rt).test_client()
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', page.text)
    assert scripts == ["/static/vendor/redoc/redoc.standalone.js"]
    assert 'spec-url="/api/openapi.json"' in page.text
    assert not re.search(r'(src|href)="(https?:)?//', page.text), "nothing from elsewhere"
    policy = page.headers["Content-Security-Policy"]
    assert "worker-src blob:" in policy and "script-src 'self';" in policy
    assert "unsafe-eval" not in policy and "https:" not in policy
    script = client.get(scripts[0])
    assert script.status_code == 200 and script.mimetype == "text/javascript"
    script.close()
    # Other pages keep the app's policy, which has no blob: worker.
    assert "blob:" not in client.get("/login").headers["Content-Security-Policy"]


def test_the_console_links_to_the_reference_beside_the_tokens(rt):
    web = signed_in(rt, "marketer")
    for page in ("/account/tokens", "/account"):
        text = web.get(page).text
        assert '<a href="/api/docs">API reference</a>' in text, page


def test_a_method_a_call_does_not_take_is_a_405_whatever_the_body(rt):
    """Found by schemathesis: `PUT /api/nps` with a token and no JSON body answered 400
    ("the body must be JSON") before the router's 405."""
    client = create_app(rt).test_client()
    for path, operations in _document(rt)["paths"].items():
        url = re.sub(r"\{[^}]+\}", "1", path)
        for method in {"get", "post", "put", "patch", "delete"} - operations.keys():
            answer = client.open(url, method=method.upper(), headers=AUTH)
            assert answer.status_code == 405, f"{method.upper()} {url}: {answer.text}"
            assert answer.mimetype == "application/problem+json"
            assert set(answer.headers["Allow"].split(", ")) >= {m.upper() for m in operations}
