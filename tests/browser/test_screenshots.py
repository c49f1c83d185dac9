"""`make screenshots`: every console page an admin can open, photographed into
var/screenshots/ (see the README) so that a reviewer can look at them, each page checked
to have drawn its charts: an image named by its title, and the figures as a table; and
axe-core finds nothing to fault on the pages with charts."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import insert

from nurture.config import PROJECT_ROOT
from nurture.events.bus import NewEvent
from nurture.events.services import record_many
from nurture.sending.models import Send
from nurture.users import services as users
from scoring.models import ContactScore, Handoff
from tests.browser.test_charts_browser import answers
from tests.factories import rep
from tests.helpers import PASSWORD, Site, axe_report, axe_violations, contact
from web.navigation import NAV

FOLDER = PROJECT_ROOT / "var" / "screenshots"
# The pages that must draw charts, and how many at least.
CHARTS = {"/": 4, "/insights/email": 2, "/insights/customer-value": 3, "/insights/nps": 4,
          "/referrals": 2, "/sales/report": 3}


def _seed(site: Site) -> None:
    rt, rng = site.rt, random.Random(20)
    now = rt.clock.now()
    with rt.db.transaction() as session:
        users.create_user(session, "ada@nurture.example", "Ada Admin", "admin", PASSWORD,
                          now=now)
    answers(site)
    people = [contact(rt, f"reader{i}@example.com") for i in range(30)]
    sends, hits = [], []
    for i in range(240):
        at = now - timedelta(days=rng.randint(0, 29), hours=rng.randint(0, 23))
        cid = people[i % len(people)]
        sends.append({"send_key": f"s{i}", "contact_id": cid, "to_email": f"r{i}@example.com",
                      "journey_id": "onboarding", "template": ["welcome", "tips", "offer"][i % 3],
                      "status": "sent", "message_class": "marketing", "created_at": at,
                      "sent_at": at})
        for type_, chance in (("email.opened", 0.45), ("email.clicked", 0.12),
                              ("email.unsubscribed", 0.02), ("email.bounced", 0.01)):
            if rng.random() < chance:
                hits.append(NewEvent(cid, type_, {"send": f"s{i}"}, at + timedelta(hours=2)))
    for n in range(24):  # buyers, so customer value has something to value
        cid = people[n]
        day = rng.randint(150, 400)
        while day > 0:
            hits.append(NewEvent(cid, "purchase.completed",
                                 {"amount": 80 + 15 * (n % 6), "currency": "EUR"},
                                 now - timedelta(days=day)))
            day -= 40 + 20 * (n % 5) + rng.randint(0, 15)
    reps = [rep(rt, "olga@nurture.example", name="Olga"), rep(rt, "raj@nurture.example",
                                                              name="Raj")]
    with rt.db.transaction() as session:
        session.execute(insert(Send), sends)
        session.add_all([ContactScore(contact_id=cid, grade="ABCD"[i % 4])
                         for i, cid in enumerate(people)])
        for i in range(8):
            created = now - timedelta(days=3 + i)
            session.add(Handoff(contact_id=people[i], trigger="score", assigned_to=reps[i % 2],
                                status=["accepted", "won", "rejected", "open"][i % 4],
                                created_at=created,
                                accepted_at=None if i % 4 == 3
                                else created + timedelta(hours=4 + 9 * i)))
    record_many(rt, hits)


def _check_charts(page: Page, path: str) -> int:
    figures = page.locator("figure.chart")
    for i in range(figures.count()):
        figure = figures.nth(i)
        title = figure.locator("figcaption strong").inner_text()
        expect(figure.get_by_role("img", name=title)).to_be_visible()
        assert figure.locator("table caption").text_content() == f"{title}: the figures", path
        assert figure.locator("table tbody tr").count() > 0, path
    return figures.count()


def test_every_console_page_photographed_with_its_charts(site: Site, axe_page: Page):
    page = axe_page  # the pages with charts are also checked by axe-core
    _seed(site)
    FOLDER.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{site.url}/login")
    page.get_by_label("Email address").fill("ada@nurture.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    bar = page.get_by_role("navigation", name="Console")
    expect(bar).to_be_visible()
    paths = [bar.get_by_role("link", name=link.label).get_attribute("href")
             for link in NAV if bar.get_by_role("link", name=link.label, exact=True).count()]
    paths += [p for p in CHARTS if p not in paths]
    drawn: dict[str, int] = {}
    faults: dict[str, list[dict]] = {}
    for path in paths:
        response = page.goto(f"{site.url}{path}")
        assert response is not None and response.status == 200, path
        drawn[path] = _check_charts(page, path)
        if path in CHARTS:
            faults[path] = axe_violations(page)
        name = path.strip("/").replace("/", "-") or "home"
        page.screenshot(path=str(FOLDER / f"{name}.png"), full_page=True)
    short = {p: (drawn.get(p), n) for p, n in CHARTS.items() if drawn.get(p, 0) < n}
    assert not short, f"Pages with fewer charts than expected (drawn, expected): {short}"
    assert not any(faults.values()), axe_report(faults)
    assert all(Path(FOLDER / f"{(p.strip('/').replace('/', '-') or 'home')}.png").is_file()
               for p in paths)
