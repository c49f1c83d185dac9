"""Deciding an A/B test, the one method every test in Nurture uses (broadcasts, journey splits).

Each arm's rate has a Beta(1 + successes, 1 + failures) posterior: the uniform prior updated
by what was observed. The probability that an arm beats every other is

    P(arm i is best) = ∫₀¹ fᵢ(x) · ∏_{j≠i} Fⱼ(x) dx

(fᵢ its posterior density, Fⱼ the others' distribution functions), integrated numerically
with scipy. An arm wins once that probability reaches the threshold (95%) and every arm has
had its minimum sample (200 sends): before that the counts are too small to trust, however
lopsided they look. Pure: plain counts in, a decision out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import integrate, stats

MIN_SAMPLE = 200
THRESHOLD = 0.95
INTERVAL = 0.95


@dataclass(frozen=True)
class Arm:
    """One arm's counts: `trials` sends, of which `successes` reached the metric."""

    name: str
    successes: int
    trials: int

    def __post_init__(self) -> None:
        if self.trials < 0 or not 0 <= self.successes <= self.trials:
            raise ValueError(f"Arm {self.name!r}: successes must lie between 0 and the "
                             f"trials ({self.successes} of {self.trials}).")

    @property
    def posterior(self) -> stats.rv_continuous:
        return stats.beta(1 + self.successes, 1 + self.trials - self.successes)


@dataclass(frozen=True)
class Decision:
    """What the counts say: each arm's rate, its credible interval and its probability of
    beating every other arm; the winner if there is one, and a sentence saying why."""

    rates: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    probabilities: dict[str, float]
    winner: str | None
    reason: str


def probabilities_to_beat(arms: Sequence[Arm]) -> dict[str, float]:
    """The probability that each arm's true rate is the highest of all arms."""
    if len(arms) < 2:
        return {arm.name: 1.0 for arm in arms}
    posteriors = [arm.posterior for arm in arms]
    result = {}
    for i, arm in enumerate(arms):
        others = [p for j, p in enumerate(posteriors) if j != i]

        def integrand(x: float, mine: stats.rv_continuous = posteriors[i],
                      others: list[stats.rv_continuous] = others) -> float:
            return float(mine.pdf(x) * np.prod([other.cdf(x) for other in others]))

        # The posterior's mass sits in a narrow band once counts are large: tell quad where.
        low, high = posteriors[i].ppf([1e-12, 1 - 1e-12])
        value, _ = integrate.quad(integrand, float(low), float(high), limit=200,
                                  epsabs=1e-10, epsrel=1e-8)
        result[arm.name] = min(1.0, max(0.0, value))
    return result


def decide(arms: Sequence[Arm], *, min_sample: int = MIN_SAMPLE,
           threshold: float = THRESHOLD) -> Decision:
    """Decide the test on the counts so far."""
    if len({arm.name for arm in arms}) != len(arms) or len(arms) < 2:
        raise ValueError("An A/B test needs at least two arms with different names.")
    rates = {arm.name: arm.successes / arm.trials if arm.trials else 0.0 for arm in arms}
    tail = (1 - INTERVAL) / 2
    intervals = {arm.name: (float(arm.posterior.ppf(tail)), float(arm.posterior.ppf(1 - tail)))
                 for arm in arms}
    probabilities = probabilities_to_beat(arms)
    short = [arm for arm in arms if arm.trials < min_sample]
    if short:
        names = ", ".join(f"{arm.name} ({arm.trials})" for arm in short)
        return Decision(rates, intervals, probabilities, None,
                        f"No winner yet: every arm needs {min_sample} sends first, and "
                        f"{names} {'has' if len(short) == 1 else 'have'} fewer.")
    best = max(arms, key=lambda arm: probabilities[arm.name])
    chance = probabilities[best.name]
    if chance < threshold:
        return Decision(rates, intervals, probabilities, None,
                        f"No winner yet: the likeliest best arm, {best.name}, beats the "
                        f"others with probability {chance:.1%}, short of {threshold:.0%}.")
    return Decision(rates, intervals, probabilities, best.name,
                    f"{best.name} wins: it beats every other arm with probability "
                    f"{chance:.1%} (at least {threshold:.0%} needed).")
