"""`/api/v1` referral: sources made as the console makes them, referrals and the rewards
ledger a page at a time, and rewards an admin approves or voids, by the ledger's rules."""

from __future__ import annotations

from referral import services as referral_services
from referral.models import ReferralSource
from tests.factories import convert_friend, customer, sign_up, visit
from tests.helpers import ApiClient, count, problem_of, rewards, source, web_client


def _converted_friend(rt) -> str:
    """A customer's friend who signed up through the share link and bought: two pending
    rewards, one for each side. Returns the customer's code."""
    code = customer(rt)
    web = web_client(rt)
    sign_up(web, visit(web, code))
    convert_friend(rt)
    return code


def test_an_admin_approves_one_reward_and_voids_the_other_a_wrong_state_is_a_409(rt):
    code = _converted_friend(rt)
    api = ApiClient(rt)
    pending = api.get("/api/v1/referral/rewards?status=pending").json["data"]
    money = [r for r in pending if r["kind"] == "credit"]
    assert [r["beneficiary"] for r in money] == ["referrer", "friend"]
    first, second = money
    approved = api.post(f"/api/v1/referral/rewards/{first['id']}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json["status"] == "approved"
    voided = api.post(f"/api/v1/referral/rewards/{second['id']}/void",
                      json={"reason": "refund"})
    assert voided.json["status"] == "voided" and voided.json["reason"] == "refund"
    states = {r.id: r.status for r in rewards(rt)}
    assert states[first["id"]] == "approved" and states[second["id"]] == "voided"
    again = problem_of(api.post(f"/api/v1/referral/rewards/{second['id']}/approve"), 409)
    assert again["detail"] == "A voided reward cannot be marked approved."
    problem_of(api.post(f"/api/v1/referral/rewards/{first['id']}/void", json={}), 422)
    problem_of(api.post("/api/v1/referral/rewards/999999/approve"), 404)
    # The referral, and the source's funnel, as the API shows them.
    src = source(rt, code)
    [referral] = api.get(f"/api/v1/referrals?source_id={src.id}").json["data"]
    assert referral["status"] == "converted" and referral["friend_email"] == \
        "bob@bob-bikes.example"
    shown = api.get(f"/api/v1/referral/sources/{src.id}").json
    assert shown["counts"] == {"clicks": 1, "signups": 1, "conversions": 1}
    assert api.get("/api/v1/referrals?status=signed_up").json["data"] == []


def test_rewards_are_admin_only_actions(rt):
    _converted_friend(rt)
    reward_id = rewards(rt)[0].id
    marketer = ApiClient(rt, role="marketer", scope="write", email="m@example.com")
    assert marketer.get("/api/v1/referral/rewards").status_code == 200
    refused = problem_of(marketer.post(f"/api/v1/referral/rewards/{reward_id}/approve"), 403)
    assert "needs admin scope" in refused["detail"]
    problem_of(marketer.post(f"/api/v1/referral/rewards/{reward_id}/void",
                             json={"reason": "fraud"}), 403)
    assert rewards(rt)[0].status == "pending"


def test_a_partner_source_is_created_once_and_read_back_with_its_share_link(rt):
    api = ApiClient(rt, role="marketer", scope="write")
    body = {"type": "partner", "name": "Pat Partner", "campaign": "spring-partners",
            "expires_on": (rt.clock.now().date().replace(year=2030)).isoformat()}
    made = api.post("/api/v1/referral/sources", json=body, headers={"Idempotency-Key": "s1"})
    assert made.status_code == 201, made.text
    retry = api.post("/api/v1/referral/sources", json=body, headers={"Idempotency-Key": "s1"})
    assert retry.json == made.json and count(rt, ReferralSource) == 1
    shown = api.get(made.headers["Location"]).json
    assert shown["type"] == "partner" and shown["created_by"] == "marketer-write-api@example.com"
    assert shown["share_link"].endswith(f"/r/{shown['code']}")
    assert shown["expires_at"].startswith("2030-") and shown["counts"]["clicks"] == 0
    customer_kind = problem_of(api.post("/api/v1/referral/sources",
                                        json={**body, "type": "customer"}), 422)
    assert customer_kind["errors"][0]["field"] == "type"
    bad = problem_of(api.post("/api/v1/referral/sources",
                              json={**body, "campaign": "no spaces"}), 422)
    assert "campaign tag" in bad["detail"]
    late = problem_of(api.post("/api/v1/referral/sources",
                               json={**body, "expires_on": "2099-01-01"}), 422)
    assert "10 years" in late["detail"]
    reader = ApiClient(rt, role="marketer", scope="read", email="r@example.com")
    problem_of(reader.post("/api/v1/referral/sources", json=body), 403)
    problem_of(reader.get("/api/v1/referral/sources/999999"), 404)


def test_sources_page_through_a_filter(rt):
    for i in range(5):
        referral_services.create_source(rt, "partner" if i % 2 else "influencer", f"P{i}")
    api = ApiClient(rt, role="sales", scope="read")
    seen, url = [], "/api/v1/referral/sources?type=partner&limit=1"
    while url:
        page = api.get(url).json
        seen += [s["name"] for s in page["data"]]
        url = page["next_cursor"] and \
            f"/api/v1/referral/sources?type=partner&limit=1&cursor={page['next_cursor']}"
    assert seen == ["P1", "P3"]
