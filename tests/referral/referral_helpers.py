"""Helpers for the referral tests: customers with codes, share-link visits and sign-ups
through the real web app, and the rows they leave."""

from __future__ import annotations

import re

from sqlalchemy import select

from nurture.app.runtime import Runtime
from nurture.contacts.models import Contact
from referral.models import Referral, ReferralSource, Reward, RewardTransition
from tests.helpers import contact, event, get_contact
from web import create_app

FORM = {
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


def client(rt: Runtime):
    return create_app(rt).test_client()


def visit(web, code: str, **environ):
    """Follow a share link as a browser does; returns the landing page response."""
    hop = web.get(f"/r/{code}", environ_base=environ or FRIEND_IP)
    assert hop.status_code == 302
    assert hop.headers["Location"].startswith("/l/")
    page = web.get(hop.headers["Location"], environ_base=environ or FRIEND_IP)
    assert page.status_code == 200
    return page


def sign_up(web, page=None, environ=None, agent: str = "Friend-Browser/1.0", **changes):
    """Send the sign-up form of the landing page (fetched when not given)."""
    page = page or web.get("/l/trial", environ_base=environ or FRIEND_IP)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    hidden = dict(re.findall(r'type="hidden" name="(utm_\w+|ref)" value="([^"]*)"', page.text))
    data = {**FORM, **hidden, **changes, "csrf_token": token}
    response = web.post("/l/trial", data=data, environ_base=environ or FRIEND_IP,
                        headers={"User-Agent": agent})
    assert response.status_code == 303, response.text
    return response


def referrals(rt: Runtime) -> list[Referral]:
    with rt.db.sessions() as session:
        return list(session.scalars(select(Referral).order_by(Referral.id)))


def rewards(rt: Runtime) -> list[Reward]:
    with rt.db.sessions() as session:
        return list(session.scalars(select(Reward).order_by(Reward.id)))


def transitions(rt: Runtime, reward_id: int) -> list[tuple[str, str, str]]:
    with rt.db.sessions() as session:
        return [(t.from_status, t.to_status, t.actor) for t in session.scalars(
            select(RewardTransition).where(RewardTransition.reward_id == reward_id)
            .order_by(RewardTransition.id))]


def source(rt: Runtime, code: str) -> ReferralSource:
    with rt.db.sessions() as session:
        return session.scalar(select(ReferralSource).where(ReferralSource.code == code))


def contact_id(rt: Runtime, email: str) -> int:
    with rt.db.sessions() as session:
        return session.scalar(select(Contact.id).where(Contact.email_key == email.lower()))
