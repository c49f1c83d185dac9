"""Customer lifetime value: the summary, the BG/NBD and Gamma-Gamma fits checked against the
published CDNOW estimates, the CSV reader's errors, Nurture's own purchase events and the CLI."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.special import hyp2f1

from nurture.app.cli.clv import clv
from nurture.events.bus import NewEvent
from nurture.events.services import record_many
from scoring import clv as model
from scoring.clv_data import (
    Columns,
    Transaction,
    read_transactions,
    summarize,
    transaction_from_event,
    transactions_from_events,
)
from scoring.errors import CLVError
from tests.helpers import contact

DATA = Path(__file__).parent / "data"
CDNOW = DATA / "cdnow_sample.csv"
CALIBRATION_END = date(1997, 9, 30)  # 39 weeks after the first purchases on 1997-01-01
HOLDOUT_END = date(1998, 6, 30)


def arrays(customers: list[model.CustomerSummary]) -> tuple[np.ndarray, ...]:
    return tuple(np.array([getattr(c, name) for c in customers], dtype=float)
                 for name in ("frequency", "recency", "age", "monetary"))


@pytest.fixture(scope="module")
def transactions() -> list[Transaction]:
    return read_transactions(CDNOW)


@pytest.fixture(scope="module")
def calibration(transactions: list[Transaction]) -> list[model.CustomerSummary]:
    return summarize(transactions, CALIBRATION_END, "weeks")


@pytest.fixture(scope="module")
def bgnbd(calibration: list[model.CustomerSummary]) -> model.BGNBDFit:
    x, t_x, age, _ = arrays(calibration)
    return model.fit_bgnbd(x, t_x, age)


# --- The summary ----------------------------------------------------------------------------


def test_summary_reproduces_the_published_cdnow_summary_for_every_customer(calibration):
    with (DATA / "cdnow_summary.csv").open() as handle:
        published = {row["ID"]: row for row in csv.DictReader(handle)}
    assert len(calibration) == len(published) == 2357
    for ours in calibration:
        row = published[ours.customer_id]
        assert ours.frequency == int(row["x"]), ours
        assert ours.recency == pytest.approx(float(row["t_x"]), abs=0.006), ours
        assert ours.age == pytest.approx(float(row["T"]), abs=0.006), ours
        assert ours.monetary == pytest.approx(float(row["zbar"]), abs=0.006), ours


def test_summary_of_customer_1_leaves_out_the_first_and_the_later_purchases(calibration):
    # Bought 1997-01-01 (29.33), 01-18 (29.73), 08-02 (14.96), and 12-12 after the end.
    first = calibration[0]
    assert first == model.CustomerSummary("1", 2, 213 / 7, 272 / 7, (29.73 + 14.96) / 2)


def test_purchases_on_one_day_are_one_purchase_with_the_amounts_summed():
    log = [Transaction("ann", date(2024, 1, 1), 10.0), Transaction("ann", date(2024, 1, 1), 5.0),
           Transaction("ann", date(2024, 1, 8), 20.0), Transaction("ann", date(2024, 1, 8), 4.0),
           Transaction("ann", date(2024, 1, 15), 30.0)]
    [ann] = summarize(log, date(2024, 1, 29), "days")
    assert ann == model.CustomerSummary("ann", 2, 14.0, 28.0, 27.0)
    [ann_weeks] = summarize(log, date(2024, 1, 29), "weeks")
    assert (ann_weeks.recency, ann_weeks.age) == (2.0, 4.0)


def test_customers_whose_first_purchase_is_after_the_end_are_not_yet_customers():
    log = [Transaction("early", date(2024, 1, 1), 1.0), Transaction("late", date(2024, 3, 1), 1.0)]
    assert [c.customer_id for c in summarize(log, date(2024, 2, 1))] == ["early"]


# --- Fits against the published CDNOW estimates ---------------------------------------------


def test_bgnbd_fit_matches_fader_hardie_lee_on_cdnow(bgnbd):
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert getattr(bgnbd.params, name) == pytest.approx(value, rel=0.01), name
    assert bgnbd.log_likelihood == pytest.approx(-9582.4, abs=0.5)
    assert bgnbd.customers == 2357


def test_bgnbd_fit_in_days_changes_only_alpha_which_is_in_the_time_unit(transactions, bgnbd):
    x, t_x, age, _ = arrays(summarize(transactions, CALIBRATION_END, "days"))
    in_days = model.fit_bgnbd(x, t_x, age).params
    assert in_days.alpha == pytest.approx(7 * bgnbd.params.alpha, rel=0.005)
    for name in ("r", "a", "b"):
        assert getattr(in_days, name) == pytest.approx(getattr(bgnbd.params, name), rel=0.005)


def test_gamma_gamma_fit_matches_fader_hardie_on_cdnow_repeat_customers(calibration):
    x, _, _, m = arrays(calibration)
    spend = model.fit_gamma_gamma(x, m)
    assert spend.customers == 946
    assert spend.params.p == pytest.approx(6.25, rel=0.01)
    assert spend.params.q == pytest.approx(3.74, rel=0.01)
    assert spend.params.gamma == pytest.approx(15.44, rel=0.01)
    # Customer 1: two repeat purchases of mean 22.345, pulled towards the population's mean.
    expected = model.expected_spend(spend.params, [2], [22.345])[0]
    assert expected == pytest.approx(24.66, abs=0.02)


def test_customers_with_no_repeat_purchase_buy_in_the_holdout_as_published(
        transactions, calibration, bgnbd):
    """FHL 2005: the 1,411 customers without a repeat purchase in weeks 1-39 made 334 in weeks
    40-78 (0.24 each); the BG/NBD expects 0.23."""
    holdout = {c.customer_id: c.frequency for c in summarize(transactions, HOLDOUT_END)}
    zero = [c for c in calibration if c.frequency == 0]
    assert len(zero) == 1411
    assert sum(holdout[c.customer_id] for c in zero) == 334
    x, t_x, age, _ = arrays(zero)
    expected = model.expected_purchases(bgnbd.params, 39, x, t_x, age)
    assert float(np.mean(expected)) == pytest.approx(0.23, abs=0.01)


def test_expected_purchases_agree_with_the_untransformed_formula(calibration, bgnbd):
    x, t_x, age, _ = arrays(calibration)
    r, alpha, a, b = (getattr(bgnbd.params, n) for n in ("r", "alpha", "a", "b"))
    t = 39.0
    z = t / (alpha + age + t)
    direct = ((a + b + x - 1) / (a - 1) * (1 - ((alpha + age) / (alpha + age + t)) ** (r + x)
                                           * hyp2f1(r + x, b + x, a + b + x - 1, z))
              * model.probability_alive(bgnbd.params, x, t_x, age))
    ours = model.expected_purchases(bgnbd.params, t, x, t_x, age)
    assert np.allclose(ours, direct, rtol=1e-9)


def test_heavy_buyers_keep_finite_likelihoods_and_predictions(bgnbd):
    x, t_x, age = [0, 10, 500, 5000], [0.0, 39.0, 39.0, 39.0], [39.0] * 4
    assert np.all(np.isfinite(model.bgnbd_log_likelihood(bgnbd.params, x, t_x, age)))
    expected = model.expected_purchases(bgnbd.params, 52, x, t_x, age)
    assert np.all(np.isfinite(expected)) and np.all(np.diff(expected) > 0)
    # The posterior mean rate times 52 weeks, less what leaving costs: every one of those
    # purchases is also a chance to drop out.
    rate = (bgnbd.params.r + 5000) / (bgnbd.params.alpha + 39)
    assert 0.5 * rate * 52 < expected[-1] < rate * 52


def test_predictions_stay_finite_when_dropout_hardly_varies_between_customers():
    """A fit on regular buyers can send a and b far up (a Beta close to a single value), where
    the hypergeometric form of the prediction breaks down in floating point."""
    params = model.BGNBDParams(r=2.23, alpha=15.1, a=114150.5, b=282329.6)
    p = params.a / (params.a + params.b)
    x, age = np.array([0, 1, 5]), np.array([25.0, 25.0, 25.0])
    expected = model.expected_purchases(params, 52, x, age, age)
    # With p fixed: (1 - (1 + p t / (alpha + T)) ** -(r + x)) / p purchases if still alive;
    # alive unless the customer left right after the last purchase, made at T.
    alive = np.where(x > 0, 1 / (1 + params.a / (params.b + x - 1)), 1.0)
    fixed = alive * (1 - (1 + p * 52 / (params.alpha + age)) ** -(params.r + x)) / p
    assert np.allclose(expected, fixed, rtol=1e-4)


def test_a_customer_without_repeat_purchases_is_certainly_alive(bgnbd):
    alive = model.probability_alive(bgnbd.params, [0, 3, 3], [0.0, 38.0, 5.0], [38.0] * 3)
    assert alive[0] == 1.0
    assert alive[1] > alive[2]  # the same purchases, long ago, say less about being alive


# --- Lifetime value -------------------------------------------------------------------------


def test_without_discount_the_value_is_expected_purchases_times_expected_spend(bgnbd):
    spend = model.GammaGammaParams(6.25, 3.74, 15.44)
    x, t_x, age, m = [0, 2, 10], [0.0, 30.43, 35.0], [38.86] * 3, [0.0, 22.35, 50.0]
    plain = model.lifetime_value(bgnbd.params, spend, x, t_x, age, m, 52, 0.0, 52.0)
    purchases = model.expected_purchases(bgnbd.params, 52, x, t_x, age)
    assert np.allclose(plain, purchases * model.expected_spend(spend, x, m))
    discounted = model.lifetime_value(bgnbd.params, spend, x, t_x, age, m, 52, 0.10, 52.0)
    # Weekly steps, discounted from each week's end: between a year's full discount and none.
    assert np.all(plain / 1.10 < discounted) and np.all(discounted < plain)


def test_value_customers_reports_the_best_and_the_average(calibration):
    report = model.value_customers(calibration, 52, 0.10, 365.25 / 7)
    best = report.best(5)
    assert [c.customer_id for c in best] == ["509", "1081", "1516", "1560", "1981"]
    assert best[0].clv > best[-1].clv > report.average_clv
    assert report.average_clv == pytest.approx(30.7, abs=0.1)


def test_too_few_customers_or_no_repeat_purchases_cannot_be_fitted():
    with pytest.raises(CLVError, match=r"^There are only 3 customers; .* at least 10"):
        model.fit_bgnbd([1, 0, 2], [3.0, 0.0, 4.0], [5.0, 5.0, 5.0])
    with pytest.raises(CLVError, match=r"^None of the 12 customers bought a second time"):
        model.fit_bgnbd([0] * 12, [0.0] * 12, [10.0] * 12)
    with pytest.raises(CLVError, match=r"^Only 1 customers made a repeat purchase"):
        model.fit_gamma_gamma([0, 2, 0], [0.0, 12.0, 0.0])


# --- Reading CSV files ----------------------------------------------------------------------


def read(text: str, **options) -> list[Transaction]:
    return read_transactions(io.StringIO(text), **options)


def test_other_column_names_datetimes_and_date_formats_are_read():
    text = "amount,buyer,when\n12.50,ann,2024-03-01T10:15:00+01:00\n3,bob,2024-03-02 23:59\n"
    rows = read(text, columns=Columns("buyer", "when", "amount"))
    assert rows == [Transaction("ann", date(2024, 3, 1), 12.5),
                    Transaction("bob", date(2024, 3, 2), 3.0)]
    text = "customer_id,date,amount\nann,01/03/2024,7.25\n"
    assert read(text, date_format="%d/%m/%Y") == [Transaction("ann", date(2024, 3, 1), 7.25)]


@pytest.mark.parametrize(("text", "message"), [
    ("customer_id,date,amount\nann,2024-01-01,1\nann,2024-13-01,2\n",
     "Line 3 has the date '2024-13-01', which is not a date like 1997-01-31 or "
     "1997-01-31 14:05:00."),
    ("customer_id,date,amount\nann,2024-01-01,1\n\nbob,2024-01-02,12,50\n",
     "Line 4 has more fields than the header names; quote values that contain commas, and "
     "write amounts with a decimal point."),
    ("customer_id,date,amount\nann,2024-01-01,€12\n",
     "Line 2 has the amount '€12', which is not a number; write amounts with a decimal point "
     "and no currency sign, like 29.95."),
    ("customer_id,date,amount\nann,2024-01-01,-5.00\n",
     "Line 2 has the negative amount -5.00; the models value purchases, so leave refunds out "
     "or net them against their purchase."),
    ("customer_id,date,amount\nann,2024-01-01,1\nb\ud800b,2024-01-02,3\n",
     "Line 3, column 'customer_id': the text contains an unpaired surrogate (at position 2), "
     "which cannot be stored; remove it and try again."),
    ("customer_id,date,amount\nann,2024-01-01,1\nbob,2024-01-02\n",
     "Line 3 has no value in the column 'amount'."),
    ("customer,date,amount\nann,2024-01-01,1\n",
     "Line 1 names no column 'customer_id'; the columns are customer, date, amount."),
    ("", "The transactions file is empty; its first line should name the columns, such as "
         "customer_id,date,amount."),
])
def test_bad_rows_are_reported_as_a_sentence_naming_the_line(text, message):
    with pytest.raises(CLVError) as caught:
        read(text)
    assert str(caught.value) == message


def test_a_missing_file_is_a_sentence(tmp_path):
    with pytest.raises(CLVError, match=r"^There is no file .*nothing\.csv\.$"):
        read_transactions(tmp_path / "nothing.csv")


# --- Nurture's own purchases ----------------------------------------------------------------


def test_purchase_events_become_transactions_and_unvalued_ones_are_left_out(rt):
    ann, bob = contact(rt, "ann@example.com"), contact(rt, "bob@example.com")
    day = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    record_many(rt, [
        NewEvent(ann, "purchase.completed", {"amount": 40}, day),
        NewEvent(ann, "purchase.completed", {"amount": "10.50"}, day + timedelta(hours=5)),
        NewEvent(ann, "purchase.completed", {"amount": 25.0}, day + timedelta(days=27)),
        NewEvent(bob, "trial.converted", {"amount": 99, "trial_id": 7}, day + timedelta(days=36)),
        NewEvent(bob, "trial.converted", {"trial_id": 8}, day + timedelta(days=37)),
        NewEvent(bob, "purchase.completed", {"currency": "EUR"}, day + timedelta(days=38)),
        NewEvent(bob, "form.submitted", {"amount": 5}, day + timedelta(days=39)),
    ])
    with rt.db.sessions() as session:
        found = transactions_from_events(session)
    assert found == [Transaction(str(ann), date(2026, 1, 5), 40.0),
                     Transaction(str(ann), date(2026, 1, 5), 10.5),
                     Transaction(str(ann), date(2026, 2, 1), 25.0),
                     Transaction(str(bob), date(2026, 2, 10), 99.0)]
    summaries = summarize(found, date(2026, 3, 1), "days")
    assert summaries[0] == model.CustomerSummary(str(ann), 1, 27.0, 55.0, 25.0)


def test_a_sale_recorded_as_both_a_conversion_and_a_purchase_counts_once(rt):
    ann, bob = contact(rt, "ann@example.com"), contact(rt, "bob@example.com")
    day = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    record_many(rt, [  # the app records the conversion, billing the payment, same amount
        NewEvent(ann, "trial.converted", {"amount": 99, "trial_id": 3}, day),
        NewEvent(ann, "purchase.completed", {"amount": 99}, day + timedelta(minutes=10)),
        NewEvent(bob, "trial.converted", {"amount": 50, "trial_id": 4}, day),
        NewEvent(bob, "purchase.completed", {"amount": 20}, day + timedelta(days=3)),
    ])
    with rt.db.sessions() as session:
        found = transactions_from_events(session)
    assert found == [Transaction(str(ann), date(2026, 1, 5), 99.0),
                     Transaction(str(bob), date(2026, 1, 5), 50.0),
                     Transaction(str(bob), date(2026, 1, 8), 20.0)]


def test_an_event_day_is_taken_in_the_given_time_zone():
    late = datetime(2026, 1, 5, 23, 30, tzinfo=UTC)
    paris = transaction_from_event(1, {"amount": 1}, late, ZoneInfo("Europe/Paris"))
    assert paris == Transaction("1", date(2026, 1, 6), 1.0)
    assert transaction_from_event(1, {"amount": True}, late) is None


# --- The command ----------------------------------------------------------------------------


def test_cli_prints_the_parameters_the_five_best_and_the_average():
    result = CliRunner().invoke(clv, ["fit", "--transactions", str(CDNOW),
                                      "--observation-end", "1997-09-30"])
    assert result.exit_code == 0, result.output
    assert "r = 0.2426  alpha = 4.4136  a = 0.7929  b = 2.4259  log-likelihood = -9582.43" \
        in result.output
    assert "p = 6.2496  q = 3.7442  gamma = 15.4435" in result.output
    assert "average CLV         30.73" in result.output
    lines = result.output.splitlines()
    best = lines[lines.index("The 5 best customers:") + 2:]
    assert [line.split()[0] for line in best] == ["509", "1081", "1516", "1560", "1981"]


def test_cli_json_is_one_object_with_the_top_n():
    result = CliRunner().invoke(clv, ["fit", "--transactions", str(CDNOW), "--observation-end",
                                      "1997-09-30", "--unit", "days", "--horizon", "365",
                                      "--discount-rate", "0", "--top", "3", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["unit"], report["horizon"], report["customers"]) == ("days", 365, 2357)
    assert report["bgnbd"]["alpha"] == pytest.approx(7 * 4.414, rel=0.01)
    assert report["gamma_gamma"]["customers"] == 946
    assert [row["customer_id"] for row in report["top"]] == ["509", "1081", "1516"]
    assert report["top"][0]["clv"] > report["average_clv"] > 0


@pytest.mark.parametrize(("arguments", "message"), [
    (["--transactions", str(CDNOW)], "With --transactions, give --observation-end YYYY-MM-DD"),
    ([], "Give either --transactions FILE or --from-events."),
    (["--transactions", str(CDNOW), "--observation-end", "30/09/1997"],
     "The observation end '30/09/1997' is not a date like 1997-09-30."),
    (["--transactions", str(CDNOW), "--observation-end", "1996-12-31"],
     "No customer made a purchase on or before 1996-12-31."),
    (["--transactions", str(CDNOW), "--observation-end", "1997-09-30", "--amount-column",
      "price"], "Line 1 names no column 'price'; the columns are customer_id, date, amount."),
])
def test_cli_bad_input_is_an_error_sentence_not_a_traceback(arguments, message):
    result = CliRunner().invoke(clv, ["fit", *arguments])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {message}")
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_cli_values_nurtures_own_customers_from_their_purchase_events(rt, monkeypatch,
                                                                       tmp_path):
    start = datetime(2025, 9, 1, 12, 0, tzinfo=UTC)
    events = []
    for i in range(14):
        buyer = contact(rt, f"buyer{i}@example.com")
        first = start + timedelta(days=5 * i)
        for k in range(1 + i % 5):  # 0 to 4 repeat purchases, every 3 to 5 weeks
            amount = 20 + 7 * (i % 4) + 3 * k
            when = first + timedelta(weeks=k * (3 + i % 3))
            events.append(NewEvent(buyer, "purchase.completed", {"amount": amount}, when))
    record_many(rt, events)
    monkeypatch.setenv("DATABASE_URL", rt.settings.database_url)
    monkeypatch.setenv("NURTURE_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("NURTURE_TZ", "UTC")
    result = CliRunner().invoke(clv, ["fit", "--from-events", "--observation-end", "2026-03-01",
                                      "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["customers"] == 14 and report["gamma_gamma"]["customers"] == 11
    assert len(report["top"]) == 5
    assert all(row["email"].endswith("@example.com") for row in report["top"])
    assert report["top"][0]["clv"] >= report["top"][-1]["clv"] > 0


def test_cli_from_events_without_a_database_is_an_error_sentence(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.setenv("NURTURE_VAR_DIR", str(tmp_path))
    result = CliRunner().invoke(clv, ["fit", "--from-events"])
    assert result.exit_code == 1
    assert result.output == ("Error: Nurture's database could not be read (no such table: "
                             "events); is it set up? `nurture init` creates it.\n")
