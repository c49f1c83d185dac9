"""Landing pages and the trial sign-up, through the Flask test client and the real worker:
what a prospect sees, what is stored, and which emails leave."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from journeys.loader import load_file
from journeys.services import publish
from nurture.config import PROJECT_ROOT
from nurture.consent.models import ConsentRecord
from nurture.contacts.models import Contact
from nurture.events.models import Event
from nurture.landing.models import LandingPage
from nurture.sending.models import Send
from nurture.trials.models import Trial
from tests.helpers import enrollments, run_due
from web import create_app

VALID = {
    "first_name": "Ann", "last_name": "Lee", "email": "Ann@Example.com",
    "phone": "+44 20 7946 0000", "role": "IT manager", "company": "Lee Retail",
    "company_size": "10", "industry": "retail", "country": "GB",
    "ship_street": "1 High Street", "ship_city": "London", "ship_region": "",
    "ship_postal_code": "SW1A 1AA", "ship_country": "GB",
    "tech_name": "Tom Tech", "tech_email": "tom@example.com",
    "services": ["crm", "analytics"], "seats": "5",
}
IP = {"REMOTE_ADDR": "203.0.113.9"}


def _client(rt):
    return create_app(rt).test_client()


def _token(client, path: str = "/l/trial") -> str:
    page = client.get(path)
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def _post(client, path: str = "/l/trial", **changes):
    data = {**VALID, **changes, "csrf_token": _token(client, path)}
    return client.post(path, data={k: v for k, v in data.items() if v is not None},
                       environ_base=IP, headers={"User-Agent": "pytest-browser"})


def _count(rt, model, *where) -> int:
    with rt.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def _all(rt, model, *where) -> list:
    with rt.db.sessions() as session:
        return list(session.scalars(select(model).where(*where).order_by(model.id)))


def _messages(rt) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted(Path(rt.settings.outbox_dir).glob("*.eml"))]


def _publish_trial_journey(rt) -> None:
    loaded = load_file(PROJECT_ROOT / "journeys" / "library" / "trial-nurture.yaml")
    assert not loaded.violations, loaded.violations
    with rt.db.transaction() as session:
        publish(session, loaded)


def confirmation_links(rt) -> list[str]:
    """The links to confirm a sign-up, from the emails sent so far, oldest first."""
    run_due(rt)
    files = sorted(Path(rt.settings.outbox_dir).glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    messages = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                for p in files]
    found = [re.search(r"http://localhost:5000(/signup/confirm/\S+)",
                       m.get_body(("plain",)).get_content()) for m in messages]
    return [match.group(1) for match in found if match]


def confirm_from_email(rt, client, link: str | None = None) -> str:
    """Open the latest (or the given) link to confirm and press the button: the page."""
    link = link or confirmation_links(rt)[-1]
    page = client.get(link)
    assert page.status_code == 200, page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = client.post(link, data={"csrf_token": token}, environ_base=IP,
                       headers={"User-Agent": "pytest-browser"})
    assert done.status_code == 200, done.text
    return done.text


def _nothing_stored(rt) -> None:
    assert (_count(rt, Contact), _count(rt, Trial), _count(rt, Event), _count(rt, Send)) == (
        0, 0, 0, 0)


def test_sign_up_starts_a_30_day_trial_and_welcomes_the_person_and_technical_contact(rt):
    _publish_trial_journey(rt)
    client = _client(rt)
    landing = "/l/trial?utm_source=newsletter&utm_medium=email&utm_campaign=spring&ref=ANN-42"
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(landing).text).group(1)
    page = client.get("/l/trial")  # a reload without the query keeps the attribution
    assert 'name="utm_campaign" value="spring"' in page.text
    assert 'name="ref" value="ANN-42"' in page.text
    hidden = dict(re.findall(r'type="hidden" name="(utm_\w+|ref)" value="([^"]*)"', page.text))
    response = client.post("/l/trial", data={**VALID, **hidden, "csrf_token": token},
                           environ_base=IP)
    assert response.status_code == 303
    assert response.headers["Location"] == "/l/trial/thanks"
    thanks = client.get("/l/trial/thanks")
    assert thanks.status_code == 200
    assert "check your inbox" in thanks.text and "Ann@Example.com" in thanks.text
    assert "tom@example.com" in thanks.text and "1 April 2026" in thanks.text

    [person] = _all(rt, Contact)
    assert (person.email, person.first_name, person.company, person.industry,
            person.company_size, person.country, person.role, person.stage) == (
        "Ann@Example.com", "Ann", "Lee Retail", "retail", 10, "GB", "IT manager", "try")
    assert person.attributes["technical_contact"] == "tom@example.com"
    assert person.attributes["shipping_address"]["postal_code"] == "SW1A 1AA"
    assert person.attributes["trial"]["ends_at"].startswith("2026-04-01")
    assert person.consent_marketing is False
    [trial] = _all(rt, Trial)
    assert trial.ends_at - trial.started_at == timedelta(days=30)
    assert trial.started_at == rt.clock.now()
    assert (trial.seats, trial.services, trial.status) == (5, ["crm", "analytics"], "active")
    assert (trial.technical_name, trial.technical_email) == ("Tom Tech", "tom@example.com")
    assert trial.utm == {"utm_source": "newsletter", "utm_medium": "email",
                         "utm_campaign": "spring"}
    assert (trial.referral_code, trial.landing_slug, trial.ip) == ("ANN-42", "trial",
                                                                   "203.0.113.9")
    [started] = _all(rt, Event, Event.type == "trial.started")
    assert started.properties == {
        "seats": 5, "services": ["crm", "analytics"], "days": 30, "trial_id": trial.id,
        "landing": "trial", "technical_contact": "tom@example.com",
        "journey": "trial-nurture"}
    [referred] = _all(rt, Event, Event.type == "referral.signed_up")
    assert referred.properties["code"] == "ANN-42"
    assert [e.journey_id for e in enrollments(rt, person.id)] == ["trial-nurture"]

    run_due(rt)
    welcome = {m["To"]: m for m in _messages(rt)}
    assert set(welcome) == {"Ann@Example.com", "tom@example.com"}
    for message in welcome.values():
        assert "trial is ready" in message["Subject"]
        text = message.get_body(("plain",)).get_content()
        assert "http://localhost:5000/login" in text and "2026-04-01" in text


def test_errors_are_sentences_beside_their_fields_and_typed_values_stay(rt):
    client = _client(rt)
    response = _post(client, email="ann@", seats="21", company="", services=None,
                     first_name="Ann <b>")
    assert response.status_code == 422
    page = response.text
    assert "There is a problem" in page and page.count('class="error-summary"') == 1
    assert '<a href="#email">Enter an email address in the correct format' in page
    assert re.search(r'id="email" name="email"\s+value="ann@"[^>]*'
                     r'aria-describedby="email-hint email-error" aria-invalid="true"', page)
    assert 'id="email-error"' in page
    assert "Enter your company&#39;s name." in page
    assert "Seats must be a whole number from 1 to 20." in page
    assert "Choose at least one service to try." in page
    assert 'value="Ann &lt;b&gt;"' in page, "what was typed is kept, escaped"
    assert re.search(r'id="ship_country" name="ship_country".*?<option value="GB" selected>',
                     page, re.S)
    assert "<title>Error: " in page
    _nothing_stored(rt)


@pytest.mark.parametrize(("seats", "message"), [
    ("0", "Seats must be a whole number from 1 to 20."),
    ("21", "Seats must be a whole number from 1 to 20."),
    ("abc", "Seats must be a whole number from 1 to 20."),
    ("2.5", "Seats must be a whole number from 1 to 20."),
    ("", "Enter how many seats you need."),
])
def test_seats_outside_1_to_20_get_a_sentence(rt, seats, message):
    response = _post(_client(rt), seats=seats)
    assert response.status_code == 422 and message in response.text
    assert re.search(r'value="analytics"\s+aria-describedby="services-2-hint" checked',
                     response.text), "the services ticked stay ticked"
    _nothing_stored(rt)


def test_oversized_tampered_or_invalid_input_gets_sentences_never_a_500(rt):
    client = _client(rt)
    cases = [
        ({"first_name": "A" * 121}, "Your first name must be 120 characters or fewer."),
        ({"email": "x" * 250 + "@example.com"}, "An email address must be 254 characters"),
        ({"tech_email": "tom at example"}, "Enter an email address in the correct format"),
        ({"industry": "casino"}, "Choose an industry from the list."),
        ({"country": "XX"}, "Choose a country from the list."),
        ({"services": ["crm", "mining"]}, "Choose services from the list."),
        ({"company_size": "7"}, "Choose a company size from the list."),
        ({"phone": "call me"}, "Enter a phone number using digits"),
        ({"ship_postal_code": ""}, "Enter the postcode or ZIP code."),
    ]
    for changes, message in cases:
        response = _post(client, **changes)
        assert response.status_code == 422, changes
        assert message in response.text, changes
    _nothing_stored(rt)
    # A NUL, which no database stores, is refused with a sentence (app-wide, for every
    # form); other control characters are cleaned.
    nul = _post(client, company="Lee\x00 Retail\n")
    assert nul.status_code == 422 and "cannot be stored" in nul.text
    _nothing_stored(rt)
    assert _post(client, company="Lee\x01 Retail\n").status_code == 303
    assert _all(rt, Contact)[0].company == "Lee Retail"


def test_an_address_without_postcodes_needs_none(rt):
    response = _post(_client(rt), ship_postal_code="", ship_country="HK", country="HK")
    assert response.status_code == 303


def test_tampered_csrf_token_gets_a_400_sentence_and_stores_nothing(rt):
    client = _client(rt)
    _token(client)
    response = client.post("/l/trial", data={**VALID, "csrf_token": "forged"})
    assert response.status_code == 400
    assert "nothing was saved" in response.text
    _nothing_stored(rt)


def test_filled_honeypot_pretends_success_claims_no_email_and_stores_nothing(rt):
    client = _client(rt)
    page = client.get("/l/trial").text
    assert re.search(r'<input type="text" id="website" name="website" value="" '
                     r'tabindex="-1" autocomplete="off">', page)
    response = _post(client, website="http://spam.example")
    assert response.status_code == 303
    thanks = client.get(response.headers["Location"]).text
    assert "We have received your sign-up." in thanks
    assert "inbox" not in thanks and "sent" not in thanks, "no email was queued"
    _nothing_stored(rt)


def test_sign_ups_over_the_per_ip_limit_get_a_429_page(rt):
    app = create_app(rt)
    app.config["SIGNUP_RATE_LIMIT"] = "2 per hour"
    client = app.test_client()
    statuses = [_post(client, email=f"p{n}@example.com").status_code for n in range(3)]
    assert statuses == [303, 303, 429]
    blocked = _post(client, email="p9@example.com")
    assert blocked.status_code == 429 and "too many sign-ups" in blocked.text.lower()
    assert _count(rt, Trial) == 2
    app.config["RATELIMIT_ENABLED"] = False
    assert _post(client, email="p10@example.com").status_code == 303


def test_a_repeat_sign_up_while_a_trial_runs_waits_for_confirmation_then_resends_the_welcome(rt):
    client = _client(rt)
    assert _post(client).status_code == 303
    run_due(rt)
    before = len(_messages(rt))
    again = _post(client, email="ANN@example.COM", company="Someone Else Ltd", seats="20")
    assert again.status_code == 303
    page = client.get(again.headers["Location"]).text
    assert "We sent a link to confirm to the address we have on file" in page
    assert "1 April 2026" not in page, "the page tells a stranger nothing about the trial"
    assert _count(rt, Trial) == 1 and _count(rt, Contact) == 1
    assert _all(rt, Contact)[0].company == "Lee Retail", "a repeat sign-up changes nothing"
    run_due(rt)
    [link] = _messages(rt)[before:]
    assert (link["To"], link["Subject"]) == ("Ann@Example.com",
                                              "Please confirm your sign-up with Nurture")

    confirmed = confirm_from_email(rt, client)
    assert "Your trial runs until" in confirmed and "1 April 2026" in confirmed
    assert "We sent your log-in instructions to" in confirmed
    assert _all(rt, Contact)[0].company == "Someone Else Ltd", "confirmed by the address"
    assert _count(rt, Trial) == 1 and _count(rt, Event, Event.type == "trial.started") == 1
    [resend] = _all(rt, Send, Send.send_key.like("resend-welcome:%"))
    assert (resend.template, resend.transactional, resend.to_email) == (
        "trial-welcome", True, "Ann@Example.com")
    _post(client, email="ann@example.com")
    third = confirm_from_email(rt, client)
    assert "We already sent your log-in instructions again today" in third
    assert _count(rt, Send, Send.send_key.like("resend-welcome:%")) == 1


def test_a_person_who_is_their_own_technical_contact_gets_one_welcome(rt):
    _publish_trial_journey(rt)
    client = _client(rt)
    response = _post(client, tech_email="ann@example.com", tech_name="Ann Lee")
    assert response.status_code == 303
    assert "this one email covers you both" in client.get("/l/trial/thanks").text
    run_due(rt)
    assert [m["To"] for m in _messages(rt)] == ["Ann@Example.com"]
    assert _all(rt, Trial)[0].technical_email == "ann@example.com"


def test_marketing_consent_is_only_requested_and_waits_for_double_opt_in(rt):
    client = _client(rt)
    box = re.search(r'<input type="checkbox" id="marketing_consent"[^>]*>',
                    client.get("/l/trial").text).group(0)
    assert "checked" not in box, "a separate checkbox, unticked"
    _post(client, email="no@example.com")
    _post(client, email="yes@example.com", marketing_consent="y")
    assert _count(rt, ConsentRecord) == 1
    [record] = _all(rt, ConsentRecord)
    assert (record.action, record.method, record.page, record.ip, record.user_agent) == (
        "requested", "signup-form", "/l/trial", "203.0.113.9", "pytest-browser")
    assert not any(c.consent_marketing for c in _all(rt, Contact))
    assert [s.template for s in _all(rt, Send)] == ["consent-confirm"]


def test_malformed_ref_and_utm_never_break_the_page_and_are_not_stored(rt):
    client = _client(rt)
    page = client.get("/l/trial?ref=%3Cscript%3Ex&utm_source=" + "a" * 500 + "&utm_x=1")
    assert page.status_code == 200
    assert "<script>x" not in page.text and 'name="ref" value=""' in page.text
    assert _post(client, ref="bad code!", utm_source="s\x00rc").status_code == 422
    assert _post(client, ref="bad code!", utm_source="s\x01rc").status_code == 303
    [trial] = _all(rt, Trial)
    assert trial.referral_code == "" and trial.utm == {"utm_source": "s rc"}
    assert _count(rt, Event, Event.type == "referral.signed_up") == 0


def test_markdown_is_sanitized_and_a_database_row_overrides_the_file(rt):
    with rt.db.transaction() as session:
        session.add(LandingPage(slug="trial", headline="Spring offer", journey_id="trial-nurture",
                                body_markdown="# Big\n\nHi <script>alert(1)</script>"
                                "<iframe src='https://evil.example'></iframe>"
                                '<a href="javascript:alert(2)" onclick="x()">click</a> '
                                "[docs](https://docs.example) **bold**"))
        session.add(LandingPage(slug="old", headline="Gone", active=False))
    client = _client(rt)
    page = client.get("/l/trial").text
    assert "<h1 id=\"headline\">Spring offer</h1>" in page
    assert "<h2>Big</h2>" in page and "<strong>bold</strong>" in page
    assert "alert(1)" not in page and "<iframe" not in page and "onclick" not in page
    assert "javascript:" not in page
    assert '<a href="https://docs.example" rel="noopener noreferrer">docs</a>' in page
    assert client.get("/l/old").status_code == 404


def test_pages_come_from_landing_files_with_their_hero_and_vertical(rt):
    page = _client(rt).get("/l/retail").text
    assert 'src="/static/landing/retail.svg" alt="A shop front' in page
    assert '<option value="retail" selected>' in page
    assert 'name="phone"' not in page, "the retail page does not ask for a phone number"
    assert 'name="role"' in page


def test_a_broken_landing_file_is_skipped_without_breaking_the_others(rt, tmp_path):
    (tmp_path / "good.md").write_text("---\nslug: good\nheadline: Good\n---\nHello\n")
    (tmp_path / "bad.md").write_text("---\nslug: bad\nheadline: [unclosed\n---\nHi\n")
    (tmp_path / "odd.md").write_text("no front matter")
    app = create_app(rt)
    app.config["LANDING_DIR"] = str(tmp_path)
    client = app.test_client()
    assert client.get("/l/good").status_code == 200
    assert client.get("/l/bad").status_code == 404


def test_unknown_slug_gets_a_friendly_404(rt):
    client = _client(rt)
    for path in ("/l/no-such-page", "/l/UPPER", "/l/" + "a" * 300, "/l/no-such-page/thanks"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "We could not find that page" in response.text


def test_the_form_asks_for_no_billing_information(rt):
    page = _client(rt).get("/l/trial").text
    names = set(re.findall(r'<(?:input|select)[^>]*name="([^"]+)"', page))
    assert names == {"csrf_token", "utm_source", "utm_medium", "utm_campaign", "utm_term",
                     "utm_content", "ref", "first_name", "last_name", "email", "phone", "role",
                     "company", "company_size", "industry", "country", "ship_street",
                     "ship_city", "ship_region", "ship_postal_code", "ship_country",
                     "tech_name", "tech_email", "services", "seats", "marketing_consent",
                     "website"}
    assert not re.search(r"card|billing|iban|cvc|cvv|expiry|payment", " ".join(names), re.I)
    for label in ("First name", "Work email", "Company name", "Street address",
                  "Technical contact", "Services to try", "Seats"):
        assert label in page
