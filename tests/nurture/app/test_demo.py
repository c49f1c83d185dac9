"""`nurture demo` (the README's quick start) leaves every part of the product something to
show: contacts in journeys, sign-in users, leads in the sales inbox, a referral program."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from journeys.models import Enrollment
from nurture.app.demo import FRIENDS, load_demo, load_sales
from nurture.contacts.models import Contact
from nurture.users.models import User
from referral.models import Referral, ReferralSource, Reward


def test_demo_data_fills_journeys_sales_and_referrals(rt):
    lines: list[str] = []
    load_demo(rt, count=40, seed=3, echo=lines.append, history_leads=0)

    with rt.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) >= 40 + len(FRIENDS)
        assert session.scalar(select(func.count()).select_from(Enrollment)) > 0
        assert session.scalar(select(func.count()).select_from(User)) == 4
        referrals = list(session.scalars(select(Referral)))
        partner = session.scalar(select(ReferralSource).where(ReferralSource.type == "partner"))
        rewards = list(session.scalars(select(Reward)))
    assert len(referrals) == len(FRIENDS)
    assert [r.reasons for r in referrals if r.review] == [["disposable-email"]]
    assert sum(r.status == "converted" for r in referrals) == 1
    assert partner is not None and partner.name == "Northwind Resellers"
    assert rewards, "the friend who bought earns their referrer a reward"
    assert any("password" in line for line in lines)
    assert lines[-1] == "Demo data is ready."


def test_a_second_demo_says_how_to_sign_in_and_how_to_set_a_new_password(rt):
    first: list[str] = []
    load_sales(rt, [], seed=3, echo=first.append)
    again: list[str] = []
    load_sales(rt, [], seed=3, echo=again.append)
    created = "\n".join(first)
    password = re.search(r"Demo users \(password (\S+)\)", created).group(1)
    note = "\n".join(again)
    assert password not in note and "Demo users (password" not in note  # only its hash is kept
    assert "already existed" in note and "marketer@demo.nurture.example" in note
    assert f"Sign in at {rt.settings.base_url.rstrip('/')}/login" in note
    assert "nurture users set-password marketer@demo.nurture.example" in note
