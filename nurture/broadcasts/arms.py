"""A broadcast's A/B test, read from its rows: each arm's sample sends handed over and
those with a hit of the chosen metric (human clicks, or human opens), decided by
`nurture.abtest` (Beta posteriors, a minimum sample per arm, a 95% threshold)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import distinct, func, literal, select
from sqlalchemy.orm import Session

from nurture.abtest import Arm, decide
from nurture.broadcasts import plan as plans
from nurture.broadcasts.models import Broadcast
from nurture.events.models import Event
from nurture.sending.models import Send

MIN_SAMPLE = 200  # sends per arm before the test may name a winner
THRESHOLD = 0.95
OPENED, CLICKED = "email.opened", "email.clicked"


@dataclass(frozen=True)
class ArmResult:
    name: str
    template: str
    subject: str  # the arm's subject line; "" for the template's own
    sent: int
    successes: int
    rate: float
    interval: tuple[float, float]
    probability: float


@dataclass(frozen=True)
class TestResult:
    metric: str
    arms: list[ArmResult]
    winner: str | None
    leader: str
    reason: str


def hits(session: Session, broadcast_id: int, kind: str, variants: bool = False,
          machine: bool = False) -> Counter[str]:
    """Distinct sends of the broadcast with a hit of `kind` (human ones, or machine ones),
    counted per variant (or all under "")."""
    flag = func.coalesce(Event.properties["machine"].as_boolean(), False)
    query = (select(Send.variant if variants else literal(""), func.count(distinct(Send.id)))
             .select_from(Event).join(Send, Send.send_key == Event.properties["send"].as_string())
             .where(Event.type == kind, Send.broadcast_id == broadcast_id,
                    flag.is_(machine)))
    if variants:
        query = query.group_by(Send.variant)
    return Counter({str(name or ""): int(count) for name, count in session.execute(query)})


def test_result(session: Session, row: Broadcast) -> TestResult:
    """Each arm's rate on the sample, with its 95% interval and its probability to beat
    every other arm (`nurture.abtest`), and the winner if there is one."""
    names = [plans.ARMS[i] for i in range(len(row.templates))]
    sent = Counter({str(v): int(n) for v, n in session.execute(
        select(Send.variant, func.count()).where(Send.broadcast_id == row.id,
                                                Send.status == "sent",
                                                Send.variant.in_(names))
        .group_by(Send.variant))})
    found = hits(session, row.id, CLICKED if row.metric == plans.CLICKS else OPENED, True)
    arms = [Arm(name, min(found[name], sent[name]), sent[name]) for name in names]
    decision = decide(arms, min_sample=MIN_SAMPLE, threshold=THRESHOLD)
    leader = max(names, key=lambda n: (decision.rates[n], decision.probabilities[n]))
    lines = list(row.subjects or []) + [""] * len(names)
    return TestResult(row.metric, [
        ArmResult(name, row.templates[i], lines[i], sent[name], arms[i].successes,
                  decision.rates[name], decision.intervals[name],
                  decision.probabilities[name]) for i, name in enumerate(names)],
        decision.winner, leader, decision.reason)
