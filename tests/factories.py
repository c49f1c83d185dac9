"""What a test makes through the real app, shared by several modules: trial sign-ups and
their confirmation, referral customers with a share link and the friends who follow it,
paying customers with their account and subscription, sales reps, shipped journeys and
email template folders.

The runtime, events, running the work and reading what it left are in `tests/helpers.py`.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from journeys.loader import load_file
from journeys.services import publish
from nurture.accounts.models import Account, Subscription
from nurture.app.runtime import Runtime
from nurture.config import PROJECT_ROOT
from nurture.contacts.models import Contact
from nurture.sending.render import TemplateStore
from nurture.trials import lifecycle
from nurture.users.models import User
from tests.helpers import contact, csrf, event, get_contact, referrals, run_due

# ---- the trial sign-up ---------------------------------------------------------------------

# A sign-up form that passes every check.
VALID = {
    "first_name": "Ann", "last_name": "Lee", "email": "Ann@Example.com",
    "phone": "+44 20 7946 0000", "role": "IT manager", "company": "Lee Retail",
    "company_size": "10", "industry": "retail", "country": "GB",
    "ship_street": "1 High Street", "ship_city": "London", "ship_region": "",
    "ship_postal_code": "SW1A 1AA", "ship_country": "GB",
    "tech_name": "Tom Tech", "tech_email": "tom@example.com",
    "services": ["crm", "analytics"], "seats": "5",
}
IP = {"REMOTE_ADDR": "203.0.113.9"}  # the prospect's address


def form_token(client: FlaskClient, path: str = "/l/trial") -> str:
    """The CSRF token of the form at `path`, which must answer 200."""
    page = client.get(path)
    assert page.status_code == 200
    return csrf(page.text)


def post_sign_up(client: FlaskClient, path: str = "/l/trial", **changes: Any) -> TestResponse:
    """Send the VALID form with these changes (a None leaves the field out); the response."""
    data = {**VALID, **changes, "csrf_token": form_token(client, path)}
    return client.post(path, data={k: v for k, v in data.items() if v is not None},
                       environ_base=IP, headers={"User-Agent": "pytest-browser"})


def publish_trial_journey(rt: Runtime) -> None:
    """Publish the shipped trial-nurture journey, which the sign-up starts."""
    loaded = load_file(PROJECT_ROOT / "journeys" / "library" / "trial-nurture.yaml")
    assert not loaded.violations, loaded.violations
    with rt.db.transaction() as session:
        publish(session, loaded)


def confirmation_links(rt: Runtime) -> list[str]:
    """The links to confirm a sign-up, from the emails sent so far, oldest first."""
    run_due(rt)
    files = sorted(Path(rt.settings.outbox_dir).glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    messages = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                for p in files]
    found = [re.search(r"http://localhost:5000(/signup/confirm/\S+)",
                       m.get_body(("plain",)).get_content()) for m in messages]
    return [match.group(1) for match in found if match]


def confirm_from_email(rt: Runtime, client: FlaskClient, link: str | None = None) -> str:
    """Open the latest (or the given) link to confirm and press the button: the page."""
    link = link or confirmation_links(rt)[-1]
    page = client.get(link)
    assert page.status_code == 200, page.text
    done = client.post(link, data={"csrf_token": csrf(page.text)}, environ_base=IP,
                       headers={"User-Agent": "pytest-browser"})
    assert done.status_code == 200, done.text
    return done.text


# ---- referrals -----------------------------------------------------------------------------

# The friend's sign-up form on the trial landing page.
FRIEND_FORM = {
    "first_name": "Bob", "last_name": "Stone", "email": "bob@bob-bikes.example",
    "company": "Bob Bikes", "industry": "retail", "country": "GB",
    "ship_street": "2 Low Road", "ship_city": "Leeds", "ship_postal_code": "LS1 1AA",
    "ship_country": "GB", "tech_name": "Tia Tech", "tech_email": "tia@bob-bikes.example",
    "services": ["crm"], "seats": "3",
}
FRIEND_IP = {"REMOTE_ADDR": "203.0.113.50"}


def customer(rt: Runtime, email: str = "ann@lee-retail.example", amount: float = 1200) -> str:
    """A contact who bought: a customer with their own referral code (returned)."""
    cid = contact(rt, email, first_name=email.split("@")[0].title())
    event(rt, cid, "purchase.completed", amount=amount, currency="EUR")
    code = get_contact(rt, cid).attributes["referral"]["code"]
    assert code
    return code


def visit(web: FlaskClient, code: str, **environ: Any) -> TestResponse:
    """Follow a share link as a browser does; returns the landing page response."""
    hop = web.get(f"/r/{code}", environ_base=environ or FRIEND_IP)
    assert hop.status_code == 302
    assert hop.headers["Location"].startswith("/l/")
    page = web.get(hop.headers["Location"], environ_base=environ or FRIEND_IP)
    assert page.status_code == 200
    return page


def sign_up(web: FlaskClient, page: TestResponse | None = None,
            environ: dict[str, str] | None = None, agent: str = "Friend-Browser/1.0",
            **changes: Any) -> TestResponse:
    """Send the friend's sign-up form of the landing page (fetched when not given)."""
    page = page or web.get("/l/trial", environ_base=environ or FRIEND_IP)
    hidden = dict(re.findall(r'type="hidden" name="(utm_\w+|ref)" value="([^"]*)"', page.text))
    data = {**FRIEND_FORM, **hidden, **changes, "csrf_token": csrf(page.text)}
    response = web.post("/l/trial", data=data, environ_base=environ or FRIEND_IP,
                        headers={"User-Agent": agent})
    assert response.status_code == 303, response.text
    return response


def convert_friend(rt: Runtime) -> None:
    """The latest referred friend keeps their data: their trial converts."""
    trial_id = referrals(rt)[-1].trial_id
    lifecycle.convert(rt, rt.settings, trial_id, "keep_data")
    run_due(rt)


# ---- customers -----------------------------------------------------------------------------

def paying_customer(rt: Runtime, email_: str = "ann@lee-retail.example", seats: int = 10,
                    seat_limit: int = 20, consent: bool = False, **fields: Any) -> int:
    """A contact who bought: `purchase.completed` recorded, and the company's account and
    an active subscription (12 months) if the purchase made none; the contact's id."""
    cid = contact(rt, email_, first_name=fields.pop("first_name", "Ann"),
                  company=fields.pop("company", "Lee Retail"), consent_marketing=consent,
                  **fields)
    event(rt, cid, "purchase.completed", amount=1200, currency="EUR")
    now = rt.clock.now()
    with rt.db.transaction() as session:
        row = session.get_one(Contact, cid)
        if row.account_id is None:
            account = Account(name=row.company or "", domain=email_.split("@")[-1].lower(),
                              status="customer", created_at=now)
            session.add(account)
            session.flush()
            row.account_id = account.id
        if session.query(Subscription).filter_by(account_id=row.account_id).first() is None:
            session.add(Subscription(account_id=row.account_id, services=["crm"], seats=seats,
                                     seat_limit=seat_limit, started_at=now,
                                     renews_at=now + timedelta(days=365), created_at=now))
    return cid


def colleague(rt: Runtime, of: int, email_: str, **fields: Any) -> int:
    """Another contact at the same customer's company (the same account); their id."""
    account_id = get_contact(rt, of).account_id
    cid = contact(rt, email_, **fields)
    with rt.db.transaction() as session:
        session.get_one(Contact, cid).account_id = account_id
    return cid


def publish_library(rt: Runtime, *names: str) -> None:
    """Publish these shipped journeys (file names under journeys/library, no .yaml)."""
    for name in names:
        loaded = load_file(PROJECT_ROOT / "journeys" / "library" / f"{name}.yaml")
        assert not loaded.violations, loaded.violations
        with rt.db.transaction() as session:
            publish(session, loaded)


# ---- sales ---------------------------------------------------------------------------------

def rep(rt: Runtime, email_: str, verticals: Iterable[str] = (),
        territories: Iterable[str] = (), name: str = "") -> int:
    """A sales rep who takes leads of these verticals and territories; their user id."""
    with rt.db.transaction() as session:
        user = User(email=email_, name=name or email_.split("@")[0].title(), role="sales",
                    password_hash="-", verticals=list(verticals), territories=list(territories))
        session.add(user)
        session.flush()
        return user.id


# ---- email templates -----------------------------------------------------------------------

# What a template is rendered with in the template tests.
CONTEXT = {
    "contact": {"first_name": "Ann", "email": "ann@example.com", "attributes": {}},
    "links": {"login": "https://app.example/login", "unsubscribe": "https://app.example/u/t1",
              "preferences": "https://app.example/p/t1"},
    "company": {"name": "Nurture"},
    "footer": {"postal_address": "Nurture, 1 Example Street, 75001 Paris, France"},
}


def write_template(root: Path, name: str, body: str, subject: str = "Hello",
             text: str | None = None) -> TemplateStore:
    """A template whose body.mjml is `body` inside one column, starting on line 5."""
    folder = root / "email" / name
    folder.mkdir(parents=True)
    (folder / "subject.txt").write_text(subject, encoding="utf-8")
    (folder / "body.mjml").write_text(
        "<mjml>\n  <mj-body>\n    <mj-section>\n      <mj-column>\n"
        f"{body}\n      </mj-column>\n    </mj-section>\n  </mj-body>\n</mjml>\n",
        encoding="utf-8")
    if text is not None:
        (folder / "body.txt").write_text(text, encoding="utf-8")
    return TemplateStore(root)
