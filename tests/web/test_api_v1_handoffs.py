"""`/api/v1/handoffs`: the sales inbox over the API, with exactly its rules: a rep reaches
their own leads and the unassigned queue, acts on them in the order open -> accepted ->
won or lost (or back to nurture), and another rep's lead is the inbox's 404."""

from __future__ import annotations

from sqlalchemy import select

from nurture.apitokens import services as tokens
from nurture.events.bus import NewEvent
from nurture.events.services import record_many
from nurture.users import services as users
from scoring.models import Handoff
from tests.helpers import ApiClient, contact, get_contact, handoffs, problem_of, run_due
from web import create_app


class Rep(ApiClient):
    """A sales rep (covering `verticals`) calling with their own token of `scope`."""

    def __init__(self, rt, email: str, verticals: list[str], scope: str = "write",
                 role: str = "sales"):
        app = create_app(rt)
        app.config["RATELIMIT_ENABLED"] = False
        self.client = app.test_client()
        with rt.db.transaction() as session:
            user = users.create_user(session, email, "Rep", role, "correct horse battery",
                                     now=rt.clock.now(), verticals=verticals)
            secret = tokens.create_token(session, user.id, "t", scope, now=rt.clock.now()).secret
        self.headers = {"Authorization": f"Bearer {secret}"}


def _lead(rt, email, **fields) -> int:
    cid = contact(rt, email, **fields)
    record_many(rt, [NewEvent(cid, "demo.requested")])
    run_due(rt)
    with rt.db.sessions() as session:
        return session.scalar(select(Handoff.id).where(Handoff.contact_id == cid))


def test_the_owner_accepts_and_wins_the_deal_and_the_lead_shows_it(rt):
    anna = Rep(rt, "anna@sales.example", ["retail"])
    handoff = _lead(rt, "ann@lee.example", industry="retail")
    one = anna.get(f"/api/v1/handoffs/{handoff}")
    assert one.status_code == 200, one.text
    assert one.json["owner"] == "anna@sales.example" and one.json["status"] == "open"
    assert any(r["label"] for r in one.json["reasons"])
    early = problem_of(anna.post(f"/api/v1/handoffs/{handoff}/close",
                                 json={"outcome": "won"}), 422)
    assert "Accept the lead before" in early["detail"]
    accepted = anna.post(f"/api/v1/handoffs/{handoff}/accept", json={})
    assert accepted.status_code == 200 and accepted.json["status"] == "accepted", accepted.text
    again = problem_of(anna.post(f"/api/v1/handoffs/{handoff}/accept", json={}), 409)
    assert again["detail"] == "This hand-off is already accepted."
    won = anna.post(f"/api/v1/handoffs/{handoff}/close",
                    json={"outcome": "won", "amount": 12000, "detail": "Signed."})
    assert won.status_code == 200 and won.json["status"] == "won", won.text
    assert [n["action"] for n in won.json["notes"]][-2:] == ["accepted", "won"]
    assert won.json["notes"][-1]["by"] == "anna@sales.example"
    assert get_contact(rt, handoffs(rt)[0].contact_id).attributes["sales"]["status"] == "won"
    closed = problem_of(anna.post(f"/api/v1/handoffs/{handoff}/reject",
                                  json={"reason": "no-budget"}), 409)
    assert closed["detail"] == "This hand-off is already won."


def test_a_rejection_needs_a_reason_as_the_inbox_does(rt):
    anna = Rep(rt, "anna@sales.example", ["retail"])
    handoff = _lead(rt, "ann@lee.example", industry="retail")
    missing = problem_of(anna.post(f"/api/v1/handoffs/{handoff}/reject", json={}), 422)
    assert missing["errors"][0]["field"] == "reason"
    other = problem_of(anna.post(f"/api/v1/handoffs/{handoff}/reject",
                                 json={"reason": "other"}), 422)
    assert "Say in a few words" in other["detail"]
    done = anna.post(f"/api/v1/handoffs/{handoff}/reject",
                     json={"reason": "other", "detail": "Student project"})
    assert done.json["status"] == "rejected"
    assert done.json["outcome_reason"] == "Other: Student project"
    lost_amount = problem_of(anna.post(f"/api/v1/handoffs/{handoff}/close",
                                       json={"outcome": "lost", "amount": 5}), 422)
    assert "only given for a won deal" in lost_amount["detail"]


def test_another_reps_lead_is_the_inboxs_404_and_read_tokens_cannot_act(rt):
    anna = Rep(rt, "anna@sales.example", ["retail"])
    bob = Rep(rt, "bob@sales.example", ["financial-services"])
    mine = _lead(rt, "ann@lee.example", industry="retail")
    problem_of(bob.get(f"/api/v1/handoffs/{mine}"), 404)
    problem_of(bob.post(f"/api/v1/handoffs/{mine}/accept", json={}), 404)
    assert [h["id"] for h in bob.get("/api/v1/handoffs").json["data"]] == []
    assert handoffs(rt)[0].status == "open"
    reader = Rep(rt, "cy@sales.example", ["retail"], scope="read")
    refused = problem_of(reader.post(f"/api/v1/handoffs/{mine}/accept", json={}), 403)
    assert "write scope" in refused["detail"]
    # A sales token still only reads the rest of the API.
    problem_of(anna.post("/api/v1/segments", json={"name": "x", "condition": "score >= 1"}),
               403)
    # A marketer reaches every lead, as in the inbox.
    marketer = ApiClient(rt, role="marketer", scope="write")
    assert marketer.get(f"/api/v1/handoffs/{mine}").status_code == 200
    # The shared key reads every lead, but acts for nobody.
    key = create_app(rt).test_client()
    shared = {"Authorization": "Bearer test-api-key"}
    assert key.get(f"/api/v1/handoffs/{mine}", headers=shared).status_code == 200
    nobody = problem_of(key.post(f"/api/v1/handoffs/{mine}/accept", json={},
                                 headers=shared), 403)
    assert "acts for nobody" in nobody["detail"]
    assert handoffs(rt)[0].status == "open"


def test_the_list_pages_newest_first_and_filters_by_status_and_owner(rt):
    anna = Rep(rt, "anna@sales.example", ["retail"])
    ids = [_lead(rt, f"c{i}@lee.example", industry="retail") for i in range(3)]
    admin = ApiClient(rt)
    anna.post(f"/api/v1/handoffs/{ids[0]}/accept", json={})
    walked, url = [], "/api/v1/handoffs?limit=2"
    while url:
        page = anna.get(url).json
        walked += [h["id"] for h in page["data"]]
        url = page["next_cursor"] and f"/api/v1/handoffs?limit=2&cursor={page['next_cursor']}"
    assert walked == list(reversed(ids))
    accepted = anna.get("/api/v1/handoffs?status=accepted").json["data"]
    assert [h["id"] for h in accepted] == [ids[0]] and accepted[0]["reasons"] is None
    assert len(anna.get("/api/v1/handoffs?owner=me").json["data"]) == 3
    assert len(admin.get("/api/v1/handoffs?owner=ANNA@sales.example").json["data"]) == 3
    assert admin.get("/api/v1/handoffs?owner=none").json["data"] == []
    problem_of(anna.get("/api/v1/handoffs?status=closed"), 422)
