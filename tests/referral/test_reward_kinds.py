"""The rewards the domain names beside money, earned by a referral, fulfilled by an
automatic step or by a person (CLI and page), each with its line in the ledger: thanking
the source, referring business back, featuring them, and a gift keyed on the referred
customer's predicted lifetime value."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from nurture.app.cli import main
from nurture.events.bus import NewEvent
from nurture.events.services import record_many
from referral import services as referral_services
from tests.factories import convert_friend, customer, sign_up, visit
from tests.helpers import (
    contact,
    csrf,
    events,
    rewards,
    running,
    signed_in,
    source,
    transitions,
    web_client,
)

FULFILLED = ("thanks", "refer-back", "feature", "gift")


def _cli(rt, *args: str):
    return CliRunner().invoke(main, ["referral", *args], obj=rt)


def _kinds(rt) -> dict[str, tuple[str, str]]:
    return {r.kind: (r.rule, r.status) for r in rewards(rt) if r.kind in FULFILLED}


def _refer_and_convert(rt, code: str) -> None:
    web = web_client(rt)
    sign_up(web, visit(web, code))
    convert_friend(rt)


def test_a_customers_referral_thanks_them_at_once_and_asks_marketing_for_a_case_study(rt):
    code = customer(rt)
    referrer = source(rt, code).contact_id
    _refer_and_convert(rt, code)
    assert _kinds(rt) == {"thanks": ("thank-you", "fulfilled"),
                          "feature": ("case-study", "pending")}
    # The thank-you touch is on the referrer's timeline, and the ledger says who and when.
    [touch] = events(rt, "reward.fulfilled")
    assert touch.contact_id == referrer
    assert touch.properties["kind"] == "thanks" and touch.properties["by"] == "system"
    assert touch.properties["note"] == "A personal thank-you for the introduction"
    thanks = next(r for r in rewards(rt) if r.kind == "thanks")
    assert transitions(rt, thanks.id) == [("", "pending", "system"),
                                          ("pending", "fulfilled", "system")]
    # The case study waits for a person: listed, then fulfilled from the command line.
    listed = _cli(rt, "rewards", "--pending")
    assert listed.exit_code == 0, listed.output
    feature = next(r for r in rewards(rt) if r.kind == "feature")
    assert f"#{feature.id}  pending" in listed.output
    assert "A case study with the referrer: case-study" in listed.output
    assert f"#{thanks.id}" not in listed.output  # fulfilled already
    done = _cli(rt, "fulfil", str(feature.id), "--note", "Ann agreed; interview on 12 March",
                "--by", "mia@nurture.example")
    assert done.exit_code == 0, done.output
    assert f"Reward {feature.id} is fulfilled." in done.output
    assert transitions(rt, feature.id)[-1] == ("pending", "fulfilled", "mia@nurture.example")
    assert "No reward awaits fulfilment." in _cli(rt, "rewards", "--pending").output
    everything = _cli(rt, "rewards").output
    assert "by mia@nurture.example: Ann agreed; interview on 12 March" in everything
    assert [e.properties["kind"] for e in events(rt, "reward.fulfilled")] == ["thanks",
                                                                              "feature"]
    again = _cli(rt, "fulfil", str(feature.id), "--note", "twice")
    assert again.exit_code == 1 and "A fulfilled reward cannot be marked fulfilled." \
        in again.output


def test_a_partners_referral_is_thanked_and_referred_back_by_a_person_on_the_page(rt):
    _, code = referral_services.create_source(rt, "partner", "Pat Partner",
                                              "pat@partner.example")
    _refer_and_convert(rt, code)
    # A partner is no contact of ours: a person thanks them, and passes a lead back.
    assert _kinds(rt) == {"thanks": ("thank-you", "pending"),
                          "refer-back": ("refer-back", "pending")}
    web = signed_in(rt, "marketer")
    page = web.get("/referrals/fulfilment")
    assert page.status_code == 200
    assert "Pat Partner" in page.text and "pat@partner.example" in page.text
    assert "A lead in the partner&#39;s market" in page.text
    back = next(r for r in rewards(rt) if r.kind == "refer-back")
    token = csrf(page.text)
    no_note = web.post(f"/referrals/rewards/{back.id}/fulfil", data={"csrf_token": token})
    assert no_note.status_code == 422 and "Say what was done" in no_note.text
    no_token = web.post(f"/referrals/rewards/{back.id}/fulfil", data={"note": "x"})
    assert no_token.status_code == 400
    done = web.post(f"/referrals/rewards/{back.id}/fulfil", data={
        "csrf_token": token, "note": "Introduced Dana Diaz of Diaz Dental (dana@diaz.example)"})
    assert done.status_code == 303
    after = web.get(done.headers["Location"]).text
    assert f"Reward {back.id} is fulfilled" in after
    assert f"Fulfil #{back.id}" not in after  # awaiting no more
    assert transitions(rt, back.id)[-1] == ("pending", "fulfilled", "marketer@example.com")
    everything = web.get("/referrals/fulfilment?show=all").text
    assert "Introduced Dana Diaz of Diaz Dental" in everything
    assert "by marketer@example.com" in everything
    ledger = web.get("/referrals/rewards?status=fulfilled").text
    assert f"#{back.id} refer-back" in ledger and "pending → fulfilled by marketer" in ledger
    paid = web.post(f"/referrals/rewards/{back.id}", data={"csrf_token": token, "to": "paid"})
    assert paid.status_code == 409
    assert web.post("/referrals/rewards/999/fulfil", data={
        "csrf_token": token, "note": "x"}).status_code == 404


def _look_alike_customers(rt, n: int = 24) -> None:
    """Retail customers of Bob's size with a year of purchases: the friend's look-alikes."""
    rng = random.Random(3)
    now = rt.clock.now()
    history = []
    for i in range(n):
        cid = contact(rt, f"shop{i}@retail.example", industry="retail", company_size=5)
        day = rng.randint(200, 400)
        while day > 0:
            history.append(NewEvent(cid, "purchase.completed",
                                    {"amount": 90 + 15 * (i % 4), "currency": "EUR"},
                                    now - timedelta(days=day)))
            day -= 30 + rng.randint(0, 40)
    record_many(rt, history)


TIERS = """
currency: EUR
rewards:
  - {id: small-gift, to: referrer, gift: A box of chocolates, value: 15,
     when: {clv_at_least: 1}}
  - {id: big-gift, to: referrer, gift: A hamper, value: 60,
     when: {clv_at_least: 100000000}}
"""


def test_a_gift_keyed_on_the_friends_predicted_value_waits_for_the_hold_then_a_person(
        settings, clock, tmp_path: Path):
    rules = tmp_path / "tiers.yaml"
    rules.write_text(TIERS, encoding="utf-8")
    tiered = settings.with_(referral=replace(settings.referral, rules_file=rules))
    with running(tiered, clock) as rt:
        _look_alike_customers(rt)
        code = customer(rt)
        web = web_client(rt)
        sign_up(web, visit(web, code), company_size="1")
        convert_friend(rt)
        # The friend has no purchase history: their look-alikes' value counts, and it
        # reaches the first tier, never the second.
        gifts = [r for r in rewards(rt) if r.kind == "gift"]
        assert [(g.rule, g.amount_cents, g.status) for g in gifts] == [
            ("small-gift", 1500, "pending")]
        early = CliRunner().invoke(main, ["referral", "fulfil", str(gifts[0].id), "--note",
                                          "sent"], obj=rt)
        assert early.exit_code == 1
        assert "A gift is sent once the hold period is over" in early.output
        rt.clock.advance(tiered.referral.hold + timedelta(minutes=1))
        assert referral_services.approve_due(rt) >= 1
        contact(rt, "ann@lee-retail.example", attributes={"shipping_address": {
            "street": "1 Market Street", "city": "Leeds", "country": "GB"}})
        listed = CliRunner().invoke(main, ["referral", "rewards", "--pending"], obj=rt)
        assert "gift worth €15.00" in listed.output and "A box of chocolates" in listed.output
        assert "ship to 1 Market Street, Leeds, GB" in listed.output
        sent = CliRunner().invoke(main, ["referral", "fulfil", str(gifts[0].id), "--note",
                                         "Posted by courier, tracking 123"], obj=rt)
        assert sent.exit_code == 0, sent.output
        assert transitions(rt, gifts[0].id)[-1] == ("approved", "fulfilled", "cli")
