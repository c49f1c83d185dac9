"""The predictive lead score's mathematics: an L2-regularized logistic regression on
standardized features, its per-feature explanation, and the held-out measures (ROC AUC, lift
in the top decile) on a time-based split. Plain values in, plain values out."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from scipy.stats import rankdata

from scoring.errors import TrainingError
from scoring.features import FEATURE_NAMES, HORIZON, LABELS, TrainingSet


@dataclass(frozen=True)
class FittedModel:
    """Coefficients apply to standardized inputs: (x - mean) / scale."""

    features: tuple[str, ...]
    coefficients: tuple[float, ...]
    intercept: float
    means: tuple[float, ...]
    scales: tuple[float, ...]
    l2: float


@dataclass(frozen=True)
class Contribution:
    """How much one feature moved a lead's log-odds away from the average lead's."""

    feature: str
    label: str
    value: float  # the feature as the model saw it, before standardizing
    contribution: float  # coefficient x standardized value, in log-odds


@dataclass(frozen=True)
class Split:
    train: tuple[int, ...]  # row indexes
    test: tuple[int, ...]
    cutoff: datetime


@dataclass(frozen=True)
class Evaluation:
    """A model fitted on the training leads and measured on the later, held-out ones."""

    model: FittedModel
    auc: float | None
    lift_top_decile: float | None
    n_train: int
    n_test: int
    positives: int
    positives_test: int
    cutoff: datetime


def _matrix(rows: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    return np.asarray(rows, dtype=float).reshape(len(rows), -1)


def fit(rows: Sequence[Sequence[float]] | np.ndarray, labels: Sequence[int] | np.ndarray,
        features: Sequence[str] = FEATURE_NAMES, l2: float = 1.0) -> FittedModel:
    """Minimize the summed log-loss plus l2/2 * |w|^2 (the intercept is not penalized)."""
    x = _matrix(rows)
    y = np.asarray(labels, dtype=float)
    if x.shape[0] == 0 or x.shape[1] != len(features):
        raise TrainingError(f"Training needs rows of {len(features)} features; "
                            f"got {x.shape[0]} rows of {x.shape[1]}.")
    if y.min() == y.max():
        raise TrainingError("Training needs both converted and unconverted leads; "
                            f"all {len(y)} leads have the same outcome.")
    means = x.mean(axis=0)
    scales = x.std(axis=0)
    scales[scales == 0] = 1.0  # a constant column stays at 0 after centering
    z = (x - means) / scales
    n = len(y)

    # Divided by n: the same optimum, but a well-scaled objective for L-BFGS's tolerances.
    def loss_and_gradient(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:-1], params[-1]
        margin = z @ w + b
        loss = np.sum(np.logaddexp(0.0, margin) - y * margin) + 0.5 * l2 * (w @ w)
        error = expit(margin) - y
        gradient = np.append(z.T @ error + l2 * w, error.sum())
        return loss / n, gradient / n

    start = np.append(np.zeros(x.shape[1]), math.log(y.mean() / (1 - y.mean())))
    result = minimize(loss_and_gradient, start, jac=True, method="L-BFGS-B",
                      options={"maxiter": 1000})
    return FittedModel(tuple(features), tuple(float(v) for v in result.x[:-1]),
                       float(result.x[-1]), tuple(float(v) for v in means),
                       tuple(float(v) for v in scales), float(l2))


def logits(model: FittedModel, rows: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    x = _matrix(rows)
    z = (x - np.asarray(model.means)) / np.asarray(model.scales)
    return z @ np.asarray(model.coefficients) + model.intercept


def predict_proba(model: FittedModel,
                  rows: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """The probability of conversion for each row."""
    return expit(logits(model, rows))


def explain(model: FittedModel, row: Sequence[float],
            labels: Mapping[str, str] = LABELS) -> list[Contribution]:
    """Per-feature contributions, largest first; with the intercept they sum to the logit."""
    parts = [
        Contribution(name, labels.get(name, name), float(value),
                     coefficient * (value - mean) / scale)
        for name, value, coefficient, mean, scale in zip(
            model.features, row, model.coefficients, model.means, model.scales, strict=True)
    ]
    return sorted(parts, key=lambda part: abs(part.contribution), reverse=True)


def roc_auc(scores: Sequence[float] | np.ndarray,
            labels: Sequence[int] | np.ndarray) -> float | None:
    """The chance that a random positive outscores a random negative (ties count half):
    Mann-Whitney U from average ranks. None when one class is missing."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return None
    ranks = rankdata(s)
    u = ranks[y].sum() - positives * (positives + 1) / 2
    return float(u / (positives * negatives))


def lift_in_top_decile(scores: Sequence[float] | np.ndarray,
                       labels: Sequence[int] | np.ndarray) -> float | None:
    """The conversion rate among the top 10% by score over the overall rate (1.0 = no better
    than picking at random). None when there are no conversions."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=float)
    if len(y) == 0 or y.sum() == 0:
        return None
    top = np.argsort(-s, kind="stable")[:max(1, math.ceil(len(y) / 10))]
    return float(y[top].mean() / y.mean())


def time_split(lead_times: Sequence[datetime], cutoff: datetime | None = None,
               quantile: float = 0.75, gap: timedelta = timedelta(0)) -> Split:
    """Train on leads before `cutoff` (by default the `quantile` of lead times) and test on
    the leads from `cutoff` on. With a `gap`, training keeps only leads at least `gap` before
    the cutoff: those whose outcome was already known at the cutoff."""
    if not lead_times:
        raise TrainingError("There are no leads whose 90-day window has ended.")
    if cutoff is None:
        ordered = sorted(lead_times)
        cutoff = ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]
    train = tuple(i for i, at in enumerate(lead_times) if at + gap <= cutoff and at < cutoff)
    test = tuple(i for i, at in enumerate(lead_times) if at >= cutoff)
    if not train or not test:
        raise TrainingError(f"The cutoff {cutoff:%Y-%m-%d} leaves {len(train)} leads to train "
                            f"on and {len(test)} to test on; both need some.")
    return Split(train, test, cutoff)


def train_and_evaluate(data: TrainingSet, l2: float = 1.0,
                       cutoff: datetime | None = None) -> Evaluation:
    """Fit on the leads before the cutoff, measure on the later ones. Training leads must
    have reached their 90 days by the cutoff: otherwise the model would learn from outcomes
    that were still in the future at the moment it claims to be trained."""
    split = time_split(data.lead_times, cutoff, gap=HORIZON)
    rows = np.asarray(data.rows, dtype=float).reshape(len(data.rows), -1)
    labels = np.asarray(data.labels, dtype=int)
    train, test = list(split.train), list(split.test)
    model = fit(rows[train], labels[train], FEATURE_NAMES, l2)
    scores = predict_proba(model, rows[test])
    return Evaluation(model, roc_auc(scores, labels[test]),
                      lift_in_top_decile(scores, labels[test]), len(train), len(test),
                      int(labels.sum()), int(labels[test].sum()), split.cutoff)
