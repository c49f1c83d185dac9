"""Landing pages and the trial sign-up, through the Flask test client and the real worker:
what a prospect sees, what is stored, and which emails leave."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from nurture.consent.models import ConsentRecord
from nurture.contacts.models import Contact
from nurture.events.models import Event
from nurture.landing.models import LandingPage
from nurture.sending.models import Send
from nurture.trials.models import Trial
from tests.factories import (
    IP,
    VALID,
    confirm_from_email,
    form_token,
    post_sign_up,
    publish_trial_journey,
)
from tests.helpers import (
    advance_clock,
    count,
    enrollments,
    mail_to,
    outbox,
    rows,
    run_due,
    web_client,
)
from web import create_app


def _nothing_stored(rt) -> None:
    assert (count(rt, Contact), count(rt, Trial), count(rt, Event), count(rt, Send)) == (
        0, 0, 0, 0)


def test_sign_up_starts_a_30_day_trial_and_welcomes_the_person_and_technical_contact(rt):
    publish_trial_journey(rt)
    client = web_client(rt)
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

    person, tom = rows(rt, Contact)  # the technical contact is a contact of the account
    assert (tom.email, tom.first_name, tom.last_name, tom.account_id, tom.stage) == (
        "tom@example.com", "Tom", "Tech", person.account_id, "learn")
    assert (person.email, person.first_name, person.company, person.industry,
            person.company_size, person.country, person.role, person.stage) == (
        "Ann@Example.com", "Ann", "Lee Retail", "retail", 10, "GB", "IT manager", "try")
    assert person.attributes["technical_contact"] == "tom@example.com"
    assert person.attributes["shipping_address"]["postal_code"] == "SW1A 1AA"
    assert person.attributes["trial"]["ends_at"].startswith("2026-04-01")
    assert person.consent_marketing is False
    [trial] = rows(rt, Trial)
    assert trial.ends_at - trial.started_at == timedelta(days=30)
    assert trial.started_at == rt.clock.now()
    assert (trial.seats, trial.services, trial.status) == (5, ["crm", "analytics"], "active")
    assert (trial.technical_name, trial.technical_email) == ("Tom Tech", "tom@example.com")
    assert trial.utm == {"utm_source": "newsletter", "utm_medium": "email",
                         "utm_campaign": "spring"}
    assert (trial.referral_code, trial.landing_slug, trial.ip) == ("ANN-42", "trial",
                                                                   "203.0.113.9")
    [started] = rows(rt, Event, Event.type == "trial.started")
    assert started.properties == {
        "seats": 5, "services": ["crm", "analytics"], "days": 30, "trial_id": trial.id,
        "landing": "trial", "technical_contact": "tom@example.com",
        "journey": "trial-nurture"}
    [referred] = rows(rt, Event, Event.type == "referral.signed_up")
    assert referred.properties["code"] == "ANN-42"
    assert [e.journey_id for e in enrollments(rt, person.id)] == ["trial-nurture"]

    run_due(rt)
    welcome = {m["To"]: m for m in outbox(rt)}
    assert set(welcome) == {"Ann@Example.com", "tom@example.com"}
    assert welcome["Ann@Example.com"]["Subject"] == "Your Nurture trial is ready, Ann"
    assert welcome["tom@example.com"]["Subject"] == "Your Nurture trial is ready, Tom"
    for message in welcome.values():
        text = message.get_body(("plain",)).get_content()
        assert "http://localhost:5000/login" not in text and "1 April 2026" in text
        assert "CRM: https://crm.nurture.example/sign-in" in text
        assert "Analytics: https://analytics.nurture.example/sign-in" in text
        assert "campaigns.nurture.example" not in text  # a service not chosen
    assert "Hi Tom," in welcome["tom@example.com"].get_body(("plain",)).get_content()
    assert "Ann" not in welcome["tom@example.com"].get_body(("plain",)).get_content()


def test_later_trial_emails_send_the_reader_to_the_customer_portal_not_our_console(rt):
    publish_trial_journey(rt)
    post_sign_up(web_client(rt))
    advance_clock(rt, timedelta(days=26), step=timedelta(days=1))
    [ending] = [m for m in mail_to(rt, "Ann@Example.com") if "ends" in m["Subject"]]
    text = ending.get_body(("plain",)).get_content()
    assert "https://my.nurture.example/sign-in" in text
    assert "localhost:5000/login" not in text


def test_errors_are_sentences_beside_their_fields_and_typed_values_stay(rt):
    client = web_client(rt)
    response = post_sign_up(client, email="ann@", seats="21", company="", services=None,
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
    response = post_sign_up(web_client(rt), seats=seats)
    assert response.status_code == 422 and message in response.text
    assert re.search(r'value="analytics"\s+aria-describedby="services-2-hint" checked',
                     response.text), "the services ticked stay ticked"
    _nothing_stored(rt)


def test_oversized_tampered_or_invalid_input_gets_sentences_never_a_500(rt):
    client = web_client(rt)
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
        response = post_sign_up(client, **changes)
        assert response.status_code == 422, changes
        assert message in response.text, changes
    _nothing_stored(rt)
    # A NUL, which no database stores, is refused with a sentence (app-wide, for every
    # form); other control characters are cleaned.
    nul = post_sign_up(client, company="Lee\x00 Retail\n")
    assert nul.status_code == 422 and "cannot be stored" in nul.text
    _nothing_stored(rt)
    assert post_sign_up(client, company="Lee\x01 Retail\n").status_code == 303
    assert rows(rt, Contact)[0].company == "Lee Retail"


def test_an_address_without_postcodes_needs_none(rt):
    response = post_sign_up(web_client(rt), ship_postal_code="", ship_country="HK", country="HK")
    assert response.status_code == 303


def test_tampered_csrf_token_gets_a_400_sentence_and_stores_nothing(rt):
    client = web_client(rt)
    form_token(client)
    response = client.post("/l/trial", data={**VALID, "csrf_token": "forged"})
    assert response.status_code == 400
    assert "nothing was saved" in response.text
    _nothing_stored(rt)


def test_filled_honeypot_pretends_success_claims_no_email_and_stores_nothing(rt):
    client = web_client(rt)
    page = client.get("/l/trial").text
    assert re.search(r'<input type="text" id="website" name="website" value="" '
                     r'tabindex="-1" autocomplete="off">', page)
    response = post_sign_up(client, website="http://spam.example")
    assert response.status_code == 303
    thanks = client.get(response.headers["Location"]).text
    assert "We have received your sign-up." in thanks
    assert "inbox" not in thanks and "sent" not in thanks, "no email was queued"
    _nothing_stored(rt)


def test_sign_ups_over_the_per_ip_limit_get_a_429_page(rt):
    app = create_app(rt)
    app.config["SIGNUP_RATE_LIMIT"] = "2 per hour"
    client = app.test_client()
    statuses = [post_sign_up(client, email=f"p{n}@example.com").status_code for n in range(3)]
    assert statuses == [303, 303, 429]
    blocked = post_sign_up(client, email="p9@example.com")
    assert blocked.status_code == 429 and "too many sign-ups" in blocked.text.lower()
    assert count(rt, Trial) == 2
    app.config["RATELIMIT_ENABLED"] = False
    assert post_sign_up(client, email="p10@example.com").status_code == 303


def test_a_repeat_sign_up_while_a_trial_runs_waits_for_confirmation_then_resends_the_welcome(rt):
    client = web_client(rt)
    assert post_sign_up(client).status_code == 303
    run_due(rt)
    before = len(outbox(rt))
    again = post_sign_up(client, email="ANN@example.COM", company="Someone Else Ltd", seats="20")
    assert again.status_code == 303
    page = client.get(again.headers["Location"]).text
    assert "We sent a link to confirm to the address we have on file" in page
    assert "1 April 2026" not in page, "the page tells a stranger nothing about the trial"
    assert count(rt, Trial) == 1 and count(rt, Contact) == 2  # Ann and her technical contact
    assert rows(rt, Contact)[0].company == "Lee Retail", "a repeat sign-up changes nothing"
    run_due(rt)
    [link] = outbox(rt)[before:]
    assert (link["To"], link["Subject"]) == ("Ann@Example.com",
                                              "Please confirm your sign-up with Nurture")

    confirmed = confirm_from_email(rt, client)
    assert "Your trial runs until" in confirmed and "1 April 2026" in confirmed
    assert "We sent your log-in instructions to" in confirmed
    assert rows(rt, Contact)[0].company == "Someone Else Ltd", "confirmed by the address"
    assert count(rt, Trial) == 1 and count(rt, Event, Event.type == "trial.started") == 1
    [resend] = rows(rt, Send, Send.send_key.like("resend-welcome:%"))
    assert (resend.template, resend.message_class, resend.to_email) == (
        "trial-welcome", "transactional", "Ann@Example.com")
    post_sign_up(client, email="ann@example.com")
    third = confirm_from_email(rt, client)
    assert "We already sent your log-in instructions again today" in third
    assert count(rt, Send, Send.send_key.like("resend-welcome:%")) == 1


def test_a_person_who_is_their_own_technical_contact_gets_one_welcome(rt):
    publish_trial_journey(rt)
    client = web_client(rt)
    response = post_sign_up(client, tech_email="ann@example.com", tech_name="Ann Lee")
    assert response.status_code == 303
    assert "this one email covers you both" in client.get("/l/trial/thanks").text
    run_due(rt)
    assert [m["To"] for m in outbox(rt)] == ["Ann@Example.com"]
    assert rows(rt, Trial)[0].technical_email == "ann@example.com"


def test_marketing_consent_is_only_requested_and_waits_for_double_opt_in(rt):
    client = web_client(rt)
    box = re.search(r'<input type="checkbox" id="marketing_consent"[^>]*>',
                    client.get("/l/trial").text).group(0)
    assert "checked" not in box, "a separate checkbox, unticked"
    post_sign_up(client, email="no@example.com")
    post_sign_up(client, email="yes@example.com", marketing_consent="y")
    assert count(rt, ConsentRecord) == 1
    [record] = rows(rt, ConsentRecord)
    assert (record.action, record.method, record.page, record.ip, record.user_agent) == (
        "requested", "signup-form", "/l/trial", "203.0.113.9", "pytest-browser")
    assert not any(c.consent_marketing for c in rows(rt, Contact))
    assert [s.template for s in rows(rt, Send)] == ["consent-confirm"]


def test_malformed_ref_and_utm_never_break_the_page_and_are_not_stored(rt):
    client = web_client(rt)
    page = client.get("/l/trial?ref=%3Cscript%3Ex&utm_source=" + "a" * 500 + "&utm_x=1")
    assert page.status_code == 200
    assert "<script>x" not in page.text and 'name="ref" value=""' in page.text
    assert post_sign_up(client, ref="bad code!", utm_source="s\x00rc").status_code == 422
    assert post_sign_up(client, ref="bad code!", utm_source="s\x01rc").status_code == 303
    [trial] = rows(rt, Trial)
    assert trial.referral_code == "" and trial.utm == {"utm_source": "s rc"}
    assert count(rt, Event, Event.type == "referral.signed_up") == 0


def test_markdown_is_sanitized_and_a_database_row_overrides_the_file(rt):
    with rt.db.transaction() as session:
        session.add(LandingPage(slug="trial", headline="Spring offer", journey_id="trial-nurture",
                                body_markdown="# Big\n\nHi <script>alert(1)</script>"
                                "<iframe src='https://evil.example'></iframe>"
                                '<a href="javascript:alert(2)" onclick="x()">click</a> '
                                "[docs](https://docs.example) **bold**"))
        session.add(LandingPage(slug="old", headline="Gone", active=False))
    client = web_client(rt)
    page = client.get("/l/trial").text
    assert "<h1 id=\"headline\">Spring offer</h1>" in page
    assert "<h2>Big</h2>" in page and "<strong>bold</strong>" in page
    assert "alert(1)" not in page and "<iframe" not in page and "onclick" not in page
    assert "javascript:" not in page
    assert '<a href="https://docs.example" rel="noopener noreferrer">docs</a>' in page
    assert client.get("/l/old").status_code == 404


def test_pages_come_from_landing_files_with_their_hero_and_vertical(rt):
    page = web_client(rt).get("/l/retail").text
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
    client = web_client(rt)
    for path in ("/l/no-such-page", "/l/UPPER", "/l/" + "a" * 300, "/l/no-such-page/thanks"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "We could not find that page" in response.text


def test_the_form_asks_for_no_billing_information(rt):
    page = web_client(rt).get("/l/trial").text
    names = set(re.findall(r'<(?:input|select)[^>]*name="([^"]+)"', page))
    assert names == {"csrf_token", "utm_source", "utm_medium", "utm_campaign", "utm_term",
                     "utm_content", "ref", "timezone", "first_name", "last_name", "email",
                     "phone", "role",
                     "company", "company_size", "industry", "country", "ship_street",
                     "ship_city", "ship_region", "ship_postal_code", "ship_country",
                     "tech_name", "tech_email", "services", "seats", "marketing_consent",
                     "website"}
    assert not re.search(r"card|billing|iban|cvc|cvv|expiry|payment", " ".join(names), re.I)
    for label in ("First name", "Work email", "Company name", "Street address",
                  "Technical contact", "Services to try", "Seats"):
        assert label in page
