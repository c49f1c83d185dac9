"""The console's navigation bar: on every console page, each role sees exactly the links
to the pages it may open (as tests/web/test_route_access.py declares them), every link
answers 200 for that role, and the page one is on is marked for screen readers."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import g

from nurture.users.services import UserInfo
from tests.helpers import signed_in, web_client
from tests.web.test_route_access import GET, ROUTES
from web import create_app
from web.auth import login_required
from web.navigation import NAV, Link, links_for

MARKETER_LINKS = ["Home", "Journeys", "Contacts", "Segments", "Broadcasts", "Imports", "Templates",
                  "Email performance",
                  "Customer value", "Acquisition", "NPS", "Referrals", "Sales", "Deliverability",
                  "Inbound", "Webhooks"]
EXPECTED = {
    "sales": ["Customer value", "Acquisition", "Sales"],
    "marketer": MARKETER_LINKS,
    "admin": [*MARKETER_LINKS, "Users"],
}


def _bar(page: str) -> list[tuple[str, str, str | None]]:
    """(label, address, aria-current) of each link in the console's bar."""
    nav = re.search(r'<nav class="console-nav" aria-label="Console">(.*?)</nav>', page, re.S)
    assert nav, "the page has no navigation bar"
    return [(label, href, current) for href, current, label in re.findall(
        r'<a href="([^"]+)"(?: aria-current="([^"]+)")?>([^<]+)</a>', nav.group(1))]


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_each_role_sees_exactly_the_links_it_may_open_and_each_answers_200(rt, role):
    web = signed_in(rt, role)
    home = "/sales" if role == "sales" else "/"
    links = _bar(web.get(home).text)
    assert [label for label, _, _ in links] == EXPECTED[role]
    for label, href, _ in links:
        assert ROUTES[(GET, href)][role] == 200, f"{label} is declared closed to {role}"
        assert web.get(href).status_code == 200, f"{label} ({href}) as {role}"


def test_no_link_is_left_out_that_the_role_may_open(rt):
    """Every entry of the bar that a role does not see is declared closed to it (or its
    page does not exist yet): the bar and the access table agree."""
    app_rules = {rule.endpoint: rule.rule for rule in create_app(rt).url_map.iter_rules()}
    for role, labels in EXPECTED.items():
        for link in NAV:
            rule = app_rules.get(link.endpoint)
            if rule is None:
                continue  # not built yet (Journeys, NPS): shown once its route exists
            opens = ROUTES[(GET, rule)][role] == 200
            assert opens == (link.label in labels), f"{link.label} for {role}"


def test_the_page_one_is_on_is_marked_and_a_deeper_page_marks_its_area(rt):
    web = signed_in(rt, "marketer")
    imports = {label: current for label, _, current in _bar(web.get("/contacts/import").text)}
    assert [label for label, current in imports.items() if current] == ["Imports"]
    assert imports["Imports"] == "page"  # not Contacts, whose address holds it too
    sources = {label: current for label, _, current in _bar(web.get("/referrals/sources").text)}
    assert [label for label, current in sources.items() if current] == ["Referrals"]
    assert sources["Referrals"] == "true"  # the referral tabs mark the page itself


def test_the_bar_is_on_error_pages_for_signed_in_users_and_absent_for_visitors(rt):
    assert [label for label, _, _ in _bar(signed_in(rt, "marketer").get("/nowhere").text)] \
        == MARKETER_LINKS
    assert "<nav class=\"console-nav\"" not in web_client(rt).get("/login").text
    assert "<nav class=\"console-nav\"" not in web_client(rt).get("/nowhere").text


def test_an_area_added_later_is_one_line_and_shows_only_to_whom_its_view_lets_in(rt):
    app = create_app(rt)
    app.add_url_rule("/experiments", "experiments.index",
                     login_required("marketer")(lambda: "experiments"))
    nav = (*NAV, Link("Experiments", "experiments.index"))
    with app.test_request_context("/experiments"):
        g.user = None
        shown = {role: [s for s in links_for(app, _user(role), "/experiments", nav)
                        if s.label == "Experiments"] for role in ("sales", "marketer")}
    assert shown["sales"] == []
    assert [(s.url, s.current) for s in shown["marketer"]] == [("/experiments", "page")]


def _user(role: str) -> UserInfo:
    return UserInfo(id=1, email=f"{role}@example.com", name=role.title(), role=role,
                    active=True, verticals=(), territories=(), created_at=datetime.now(UTC),
                    last_login_at=None, last_assigned_at=None)
