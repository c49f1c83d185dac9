"""The A/B decision: probabilities checked against direct integration of the posteriors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import betaln

from nurture.abtest import Arm, decide, probabilities_to_beat


def _direct_two(a: Arm, b: Arm) -> float:
    """P(rate of b > rate of a): the joint posterior density integrated over {b > a}."""
    pa, pb = a.posterior, b.posterior
    low, high = (float(v) for v in pa.ppf([1e-12, 1 - 1e-12]))  # where A's mass is
    value, _ = integrate.dblquad(lambda y, x: pa.pdf(x) * pb.pdf(y), low, high,
                                 lambda x: x, lambda x: 1, epsabs=1e-10)
    return value


def _closed_form_two(a: Arm, b: Arm) -> float:
    """Evan Miller's exact sum for P(b > a) with Beta posteriors (integer parameters)."""
    alpha_a, beta_a = 1 + a.successes, 1 + a.trials - a.successes
    alpha_b, beta_b = 1 + b.successes, 1 + b.trials - b.successes
    i = np.arange(alpha_b)
    terms = (betaln(alpha_a + i, beta_a + beta_b) - np.log(beta_b + i)
             - betaln(1 + i, beta_b) - betaln(alpha_a, beta_a))
    return float(np.exp(terms).sum())


@pytest.mark.parametrize(("a", "b"), [
    (Arm("A", 20, 250), Arm("B", 32, 250)),
    (Arm("A", 3, 40), Arm("B", 1, 35)),
    (Arm("A", 0, 0), Arm("B", 5, 10)),
    (Arm("A", 400, 5000), Arm("B", 455, 5000)),
])
def test_two_arms_match_direct_integration_and_the_closed_form(a: Arm, b: Arm) -> None:
    chances = probabilities_to_beat([a, b])
    assert chances["B"] == pytest.approx(_direct_two(a, b), abs=1e-6)
    assert chances["B"] == pytest.approx(_closed_form_two(a, b), abs=1e-6)
    assert chances["A"] + chances["B"] == pytest.approx(1.0, abs=1e-6)


def test_three_arms_match_direct_integration_and_sampling() -> None:
    arms = [Arm("A", 30, 300), Arm("B", 42, 300), Arm("C", 38, 290)]
    chances = probabilities_to_beat(arms)
    pa, pb, pc = (arm.posterior for arm in arms)
    # P(B best): the joint density of A and B integrated over {a < b}, weighted by P(C < b).
    direct, _ = integrate.dblquad(lambda a, b: pa.pdf(a) * pb.pdf(b) * pc.cdf(b),
                                  0.0, 0.4, 0.0, lambda b: b, epsabs=1e-9)
    assert chances["B"] == pytest.approx(direct, abs=1e-5)
    draws = np.column_stack([p.rvs(400_000, random_state=np.random.default_rng(7 + k))
                             for k, p in enumerate((pa, pb, pc))])
    sampled = np.bincount(draws.argmax(axis=1), minlength=3) / len(draws)
    for name, share in zip("ABC", sampled, strict=True):
        assert chances[name] == pytest.approx(share, abs=0.005)
    assert sum(chances.values()) == pytest.approx(1.0, abs=1e-6)


def test_a_clear_winner_wins_once_every_arm_has_its_minimum_sample() -> None:
    decision = decide([Arm("A", 10, 400), Arm("B", 40, 400)])
    assert decision.winner == "B"
    assert decision.probabilities["B"] > 0.99
    assert "B wins" in decision.reason
    assert decision.rates == {"A": 0.025, "B": 0.1}
    low, high = decision.intervals["B"]
    assert low < 0.1 < high


def test_no_winner_before_the_minimum_sample_however_lopsided() -> None:
    decision = decide([Arm("A", 0, 150), Arm("B", 60, 150)])
    assert decision.winner is None
    assert decision.probabilities["B"] > 0.999
    assert "200 sends" in decision.reason and "A (150), B (150) have fewer" in decision.reason


def test_no_winner_when_the_best_arm_is_short_of_the_threshold() -> None:
    decision = decide([Arm("A", 20, 300), Arm("B", 25, 300)])
    assert decision.winner is None
    assert "short of 95%" in decision.reason
    assert 0.5 < decision.probabilities["B"] < 0.95


def test_the_interval_is_the_posterior_central_95_percent() -> None:
    decision = decide([Arm("A", 20, 200), Arm("B", 30, 200)], min_sample=1)
    low, high = decision.intervals["A"]
    assert low == pytest.approx(stats.beta(21, 181).ppf(0.025))
    assert high == pytest.approx(stats.beta(21, 181).ppf(0.975))


def test_bad_counts_are_refused_with_a_sentence() -> None:
    with pytest.raises(ValueError, match="successes must lie between 0 and the trials"):
        Arm("A", 5, 3)
    with pytest.raises(ValueError, match="at least two arms"):
        decide([Arm("A", 1, 2)])
