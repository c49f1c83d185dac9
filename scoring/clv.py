"""Customer lifetime value: the BG/NBD model of repeat purchases and the Gamma-Gamma model of
spend, each fitted by maximum likelihood, and every customer's discounted value over a horizon.

Pure numpy/scipy on plain values. Time is in one unit throughout (days or weeks, whichever the
summary was built in): `alpha`, recency, age and the horizon are all in that unit.

References: Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative
to the Pareto/NBD model", Marketing Science 24(2); Fader & Hardie (2013), "The Gamma-Gamma
model of monetary value"; Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for
customer base analysis", Journal of Marketing Research 42(4).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import betaincinv, betaln, expit, gammaln

from scoring.errors import CLVError

MIN_CUSTOMERS = 10  # fewer than this and four parameters say more about noise than customers
MIN_SPENDERS = 5  # repeat customers with a positive spend, for the three spend parameters
LOG_BOUND = 20.0  # parameters live in [e^-20, e^20]: wide, but keeps a diverging fit finite

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class CustomerSummary:
    """One customer's history up to the end of observation, in one time unit.

    frequency: repeat purchases (days with a purchase, after the first); recency: time from the
    first purchase to the last; age: time from the first purchase to the end of observation
    (Fader and Hardie's T); monetary: mean value of the repeat purchases (0 without any)."""

    customer_id: str
    frequency: int
    recency: float
    age: float
    monetary: float


@dataclass(frozen=True)
class BGNBDParams:
    """Purchase rates ~ Gamma(r, alpha); the chance of dropping out after each purchase
    ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGammaParams:
    """Each spend ~ Gamma(p, nu), with nu ~ Gamma(q, gamma) across customers."""

    p: float
    q: float
    gamma: float


@dataclass(frozen=True)
class BGNBDFit:
    params: BGNBDParams
    log_likelihood: float
    customers: int


@dataclass(frozen=True)
class GammaGammaFit:
    params: GammaGammaParams
    log_likelihood: float
    customers: int  # the repeat customers with a positive spend the model was fitted on


@dataclass(frozen=True)
class CustomerValue:
    customer_id: str
    frequency: int
    recency: float
    age: float
    monetary: float
    p_alive: float
    expected_purchases: float  # over the horizon, undiscounted
    expected_spend: float  # per purchase
    clv: float  # discounted to the end of observation


@dataclass(frozen=True)
class CLVReport:
    purchases: BGNBDFit
    spend: GammaGammaFit
    customers: tuple[CustomerValue, ...]
    horizon: int
    discount_rate: float  # annual
    periods_per_year: float

    @property
    def average_clv(self) -> float:
        return float(np.mean([c.clv for c in self.customers]))

    @property
    def total_clv(self) -> float:
        return float(np.sum([c.clv for c in self.customers]))

    def best(self, n: int) -> list[CustomerValue]:
        """The n customers of highest value, ties broken by id so the list is stable."""
        return sorted(self.customers, key=lambda c: (-c.clv, c.customer_id))[:n]


# --- BG/NBD ------------------------------------------------------------------------------


def bgnbd_log_likelihood(params: BGNBDParams, frequency: ArrayLike, recency: ArrayLike,
                         age: ArrayLike) -> Floats:
    """Each customer's log-likelihood (Fader, Hardie & Lee 2005)."""
    x, t_x, big_t = _floats(frequency), _floats(recency), _floats(age)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    alive_at_end = -(r + x) * np.log(alpha + big_t)
    # Dropping out right after the last purchase is only possible after a repeat purchase; the
    # two cases are summed as logs, because their plain values underflow for frequent buyers.
    dropped = np.full_like(alive_at_end, -np.inf)
    repeat = x > 0
    dropped[repeat] = (np.log(a) - np.log(b + x[repeat] - 1)
                       - (r + x[repeat]) * np.log(alpha + t_x[repeat]))
    return _floats(common + np.logaddexp(alive_at_end, dropped))


def fit_bgnbd(frequency: ArrayLike, recency: ArrayLike, age: ArrayLike) -> BGNBDFit:
    """The maximum-likelihood BG/NBD parameters. Raises CLVError when the data cannot tell
    them apart: too few customers, or no repeat purchases."""
    x, t_x, big_t = _floats(frequency), _floats(recency), _floats(age)
    _check_history(x, t_x, big_t)
    if len(x) < MIN_CUSTOMERS:
        raise CLVError(f"There are only {len(x)} customers; the purchase model needs at least "
                       f"{MIN_CUSTOMERS} to be fitted.")
    if not np.any(x > 0):
        raise CLVError(f"None of the {len(x)} customers bought a second time, so the purchase "
                       "model cannot be fitted: it learns from repeat purchases.")

    def negative(log_params: Floats) -> float:
        params = BGNBDParams(*np.exp(log_params))
        return -float(np.mean(bgnbd_log_likelihood(params, x, t_x, big_t)))

    # Start alpha at the mean age: alpha is in the time unit, the other three are not.
    start = (1.0, max(float(np.mean(big_t)), 1e-3), 1.0, 1.0)
    params = BGNBDParams(*_maximise(negative, start, "purchase"))
    total = float(np.sum(bgnbd_log_likelihood(params, x, t_x, big_t)))
    return BGNBDFit(params, total, len(x))


def probability_alive(params: BGNBDParams, frequency: ArrayLike, recency: ArrayLike,
                      age: ArrayLike) -> Floats:
    """The chance each customer is still a customer at the end of observation. Without a
    repeat purchase nobody is judged gone: the model only lets customers drop out right after
    a repeat purchase."""
    x, t_x, big_t = _floats(frequency), _floats(recency), _floats(age)
    odds_gone = np.full_like(x, -np.inf)  # log odds of having dropped out
    repeat = x > 0
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    odds_gone[repeat] = (np.log(a) - np.log(b + x[repeat] - 1) + (r + x[repeat])
                         * (np.log(alpha + big_t[repeat]) - np.log(alpha + t_x[repeat])))
    return _floats(expit(-odds_gone))


def expected_purchases(params: BGNBDParams, horizon: float, frequency: ArrayLike,
                       recency: ArrayLike, age: ArrayLike) -> Floats:
    """Each customer's expected number of purchases in the `horizon` after the end of
    observation: the conditional expectation of FHL 2005."""
    return _PurchaseCurve(params, frequency, recency, age).at(horizon)


class _PurchaseCurve:
    """Expected purchases from the end of observation on, for a set of customers.

    FHL 2005's conditional expectation is P(alive) times
    E[(1 - (1 + p t / (alpha + T)) ** -(r + x)) / p], over p ~ Beta(a, b + x): the dropout
    probability of a customer still alive after x repeat purchases. The paper writes that
    expectation with the Gauss hypergeometric function, but scipy's hyp2f1 returns NaN or
    nonsense for the large a and b a fit reaches when dropout hardly varies between customers,
    and for long horizons. So it is integrated here, over the quantiles of p: 8 digits or
    better across the parameter range, checked against arbitrary-precision values."""

    def __init__(self, params: BGNBDParams, frequency: ArrayLike, recency: ArrayLike,
                 age: ArrayLike) -> None:
        x, t_x, big_t = _floats(frequency), _floats(recency), _floats(age)
        self.alive = probability_alive(params, x, t_x, big_t)
        # The expectation depends on x and T only: work it out once per distinct pair.
        pairs, inverse = np.unique(np.column_stack([x, big_t]), axis=0, return_inverse=True)
        self.inverse = inverse.reshape(-1)
        counts, per_pair = np.unique(pairs[:, 0], return_inverse=True)
        self.dropout = _beta_quantiles(params.a, params.b + counts)[per_pair.reshape(-1)]
        self.shape = params.r + pairs[:, :1]
        self.time_scale = params.alpha + pairs[:, 1:]

    def at(self, horizon: float) -> Floats:
        if horizon <= 0:
            return np.zeros_like(self.alive)
        p = self.dropout
        scale = horizon / self.time_scale
        with np.errstate(divide="ignore", invalid="ignore"):
            # expm1/log1p: for small p the two terms of 1 - (1 + p s) ** -k nearly cancel.
            purchases = np.where(p > 0, -np.expm1(-self.shape * np.log1p(p * scale)) / p,
                                 self.shape * scale)
        return _floats((purchases @ _WEIGHTS)[self.inverse] * self.alive)


# Tanh-sinh (double exponential) quadrature over u in (0, 1): its nodes crowd towards both
# ends, where the Beta quantile function is singular, so 113 of them are enough.
_STEPS = np.arange(-56, 57) / 16
_Q = np.pi / 2 * np.sinh(_STEPS)
_U, _ONE_MINUS_U = expit(2 * _Q), expit(-2 * _Q)  # each exact where it is small
_WEIGHTS = np.cosh(_STEPS) / np.cosh(_Q) ** 2
_WEIGHTS /= _WEIGHTS.sum()


def _beta_quantiles(a: float, b: Floats) -> Floats:
    """The Beta(a, b_i) quantiles at the quadrature nodes: one row per b_i. Above the median
    they come from the mirrored distribution, so that 1 - u keeps its precision."""
    b = b[:, None]
    lower = betaincinv(a, b, _U)
    upper = 1 - betaincinv(b, a, _ONE_MINUS_U)
    return _floats(np.where(_U <= 0.5, lower, upper))


# --- Gamma-Gamma -------------------------------------------------------------------------


def gamma_gamma_log_likelihood(params: GammaGammaParams, frequency: ArrayLike,
                               monetary: ArrayLike) -> Floats:
    """Each customer's log-likelihood of their mean repeat spend (Fader & Hardie 2013); only
    for customers with repeat purchases of positive mean value."""
    x, m = _floats(frequency), _floats(monetary)
    p, q, gamma = params.p, params.q, params.gamma
    px = p * x
    return _floats(gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(gamma)
                   + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(gamma + m * x))


def fit_gamma_gamma(frequency: ArrayLike, monetary: ArrayLike) -> GammaGammaFit:
    """The maximum-likelihood Gamma-Gamma parameters, fitted on the customers with repeat
    purchases of positive mean value (the first purchase is not in their mean: Fader and Hardie
    leave it out). Raises CLVError when there are too few of them or the mean spend diverges."""
    x, m = _floats(frequency), _floats(monetary)
    spenders = (x > 0) & (m > 0)
    x, m = x[spenders], m[spenders]
    if len(x) < MIN_SPENDERS:
        raise CLVError(f"Only {len(x)} customers made a repeat purchase with a value; the spend "
                       f"model needs at least {MIN_SPENDERS}.")

    def negative(log_params: Floats) -> float:
        params = GammaGammaParams(*np.exp(log_params))
        return -float(np.mean(gamma_gamma_log_likelihood(params, x, m)))

    start = (1.0, 2.0, max(float(np.mean(m)), 1e-3))  # gamma is in money, the others are not
    params = GammaGammaParams(*_maximise(negative, start, "spend"))
    if params.q <= 1:
        raise CLVError(f"The spend model's q came out at {params.q:.3g}, not above 1, so the "
                       "expected spend is unbounded; the repeat purchases vary too much in value "
                       "to be valued.")
    total = float(np.sum(gamma_gamma_log_likelihood(params, x, m)))
    return GammaGammaFit(params, total, len(x))


def expected_spend(params: GammaGammaParams, frequency: ArrayLike,
                   monetary: ArrayLike) -> Floats:
    """Each customer's expected value of a purchase: their own mean, shrunk towards the
    population's by how few purchases it rests on (Fader & Hardie 2013)."""
    x, m = _floats(frequency), _floats(monetary)
    p, q, gamma = params.p, params.q, params.gamma
    return p * (gamma + m * x) / (p * x + q - 1)


# --- Lifetime value ----------------------------------------------------------------------


def lifetime_value(purchases: BGNBDParams, spend: GammaGammaParams, frequency: ArrayLike,
                   recency: ArrayLike, age: ArrayLike, monetary: ArrayLike, horizon: int,
                   discount_rate: float, periods_per_year: float) -> Floats:
    """Each customer's value over `horizon` time units, discounted at the annual
    `discount_rate`.

    Discrete, one time unit per step (weekly steps for a summary in weeks, daily in days): the
    expected purchases within each step times the expected spend, discounted from the end of
    the step. The rate per step is (1 + discount_rate) ** (1 / periods_per_year) - 1."""
    if horizon < 1:
        raise CLVError("The horizon must be at least one time unit.")
    if discount_rate < 0:
        raise CLVError("The discount rate cannot be negative.")
    curve = _PurchaseCurve(purchases, frequency, recency, age)
    steps = np.arange(horizon + 1)
    cumulative = np.array([curve.at(float(k)) for k in steps])
    per_step = np.diff(cumulative, axis=0)
    discount = (1 + discount_rate) ** (-steps[1:] / periods_per_year)
    return expected_spend(spend, frequency, monetary) * (discount @ per_step)


def value_customers(customers: Sequence[CustomerSummary], horizon: int, discount_rate: float,
                    periods_per_year: float) -> CLVReport:
    """Fit both models to the customers and value every one of them."""
    if not customers:
        raise CLVError("There are no customers to value.")
    x = _floats([c.frequency for c in customers])
    t_x = _floats([c.recency for c in customers])
    big_t = _floats([c.age for c in customers])
    m = _floats([c.monetary for c in customers])
    purchases = fit_bgnbd(x, t_x, big_t)
    spend = fit_gamma_gamma(x, m)
    alive = probability_alive(purchases.params, x, t_x, big_t)
    expected = expected_purchases(purchases.params, float(horizon), x, t_x, big_t)
    spends = expected_spend(spend.params, x, m)
    values = lifetime_value(purchases.params, spend.params, x, t_x, big_t, m, horizon,
                            discount_rate, periods_per_year)
    if not np.all(np.isfinite(values)):
        raise CLVError("Some customers' values came out undefined; the fitted models do not "
                       "describe these customers well enough to value them.")
    rows = tuple(
        CustomerValue(c.customer_id, c.frequency, c.recency, c.age, c.monetary, float(pa),
                      float(n), float(s), float(v))
        for c, pa, n, s, v in zip(customers, alive, expected, spends, values, strict=True))
    return CLVReport(purchases, spend, rows, horizon, discount_rate, periods_per_year)


# --- Helpers -----------------------------------------------------------------------------


def _floats(values: ArrayLike) -> Floats:
    return np.asarray(values, dtype=np.float64)


def _check_history(x: Floats, t_x: Floats, big_t: Floats) -> None:
    if not len(x) == len(t_x) == len(big_t):
        raise CLVError("Frequency, recency and age must have one value per customer.")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise CLVError("Frequencies must be whole numbers of zero or more.")
    if np.any(t_x < 0) or np.any(t_x > big_t):
        raise CLVError("Every recency must lie between zero and the customer's age.")


def _maximise(negative: Callable[[Floats], float], start: tuple[float, ...],
              model: str) -> list[float]:
    """Minimise `negative` over the logs of the parameters, which keeps them positive without
    constraints. Returns the parameters themselves."""
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    result = minimize(negative, np.log(start), method="L-BFGS-B", bounds=bounds)
    # Polish with Nelder-Mead: L-BFGS-B's finite-difference gradients stop it a little short.
    result = minimize(negative, result.x, method="Nelder-Mead", bounds=bounds,
                      options={"xatol": 1e-8, "fatol": 1e-12, "maxiter": 5000})
    if not np.isfinite(result.fun) or not np.all(np.isfinite(result.x)):
        raise CLVError(f"The {model} model could not be fitted: its likelihood is undefined "
                       "for these customers.")
    return [float(value) for value in np.exp(result.x)]
