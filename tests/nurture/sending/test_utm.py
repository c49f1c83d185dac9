"""UTM tags on email clicks: a prospect who clicks "Start a 30-day trial" in a nurture
email and signs up (and, being known, confirms from their inbox) is attributed to that
journey and email; a marketer's own tags win."""

from __future__ import annotations

import re
from datetime import timedelta

from nurture.config import SendingSettings
from nurture.sending.utm import email_tags, tagged
from nurture.trials.models import Trial
from tests.factories import IP, VALID, confirm_from_email
from tests.helpers import (
    advance_clock,
    contact,
    event,
    html_of,
    outbox,
    publish_text,
    signed_in,
    table_rows,
)
from web import create_app

TAGS = email_tags(SendingSettings(), "prospect-retail", "retail-nurture-5")


def test_tags_join_the_query_and_keep_the_rest_of_the_link():
    assert tagged("https://shop.example/p?id=7&x=#top", TAGS) == (
        "https://shop.example/p?id=7&x=&utm_source=nurture&utm_medium=email"
        "&utm_campaign=prospect-retail&utm_content=retail-nurture-5#top")
    assert tagged("https://shop.example/", TAGS).endswith("/?utm_source=nurture&utm_medium="
                                                          "email&utm_campaign=prospect-retail"
                                                          "&utm_content=retail-nurture-5")


def test_a_link_with_its_own_tags_or_no_web_address_is_left_as_written():
    own = "https://shop.example/?UTM_Campaign=spring-sale"
    assert tagged(own, TAGS) == own
    assert tagged("mailto:hello@example.com", TAGS) == "mailto:hello@example.com"
    assert tagged("https://shop.example/", None) == "https://shop.example/"


def test_tagging_can_be_turned_off_and_the_source_named():
    assert email_tags(SendingSettings(utm=False), "j", "t") is None
    assert email_tags(SendingSettings(utm_source="acme-mail"), None, "welcome") == {
        "utm_source": "acme-mail", "utm_medium": "email", "utm_campaign": "welcome",
        "utm_content": "welcome"}


def test_a_prospect_who_clicks_start_a_trial_signs_up_attributed_to_the_email(rt):
    publish_text(rt, """
        id: prospect-retail
        name: Retail prospects
        entry: {event: custom.joined}
        steps:
          - {id: costs, send: retail-nurture-5}
    """)
    ann = contact(rt, "ann@example.com", first_name="Ann", industry="retail",
                  consent_marketing=True)
    event(rt, ann, "custom.joined")
    [message] = outbox(rt)
    html = html_of(message)
    [cta] = re.findall(r'<a href="http://localhost:5000(/t/[^"]+)"[^>]*>\s*Start a 30-day trial',
                       html)
    advance_clock(rt, timedelta(minutes=30))
    client = create_app(rt).test_client()
    hit = client.get(cta, headers={"User-Agent": "Mozilla/5.0 Firefox/128.0"})
    assert hit.status_code == 302
    landing = hit.headers["Location"].removeprefix("http://localhost:5000")
    assert landing.startswith("/l/trial?"), "a prospect goes to the trial sign-up"
    page = client.get(landing)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    hidden = dict(re.findall(r'type="hidden" name="(utm_\w+)" value="([^"]*)"', page.text))
    signed_up = client.post("/l/trial", data={**VALID, **hidden, "csrf_token": token},
                            environ_base=IP)
    assert signed_up.status_code == 303
    # Ann is known (the email reached her), so the trial starts once she confirms from
    # her inbox; it keeps the attribution of the form she sent.
    confirm_from_email(rt, client)
    with rt.db.sessions() as session:
        [trial] = session.query(Trial).all()
    assert trial.utm == {"utm_source": "nurture", "utm_medium": "email",
                         "utm_campaign": "prospect-retail", "utm_content": "retail-nurture-5"}
    report = signed_in(rt, "marketer").get("/insights/email").text
    rows = table_rows(report.split("</figure>")[-1])  # the report's table, after its charts
    [row] = [r for r in rows if r[:2] == ["prospect-retail", "retail-nurture-5"]]
    assert (row[2], row[3], row[6]) == ("marketing", "1", "1"), "one sent, one trial from it"
