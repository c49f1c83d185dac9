"""The NPS report for marketers and admins: how many answered, the score per month with its
95% band, the distribution of scores, the score per vertical and per stage, and the latest
reasons of detractors and promoters. Below `stats.TOO_FEW` answers a score is shown with
its count and called too few to judge, never with an interval that looks like a verdict."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, render_template

from nurture.nps import queries, stats
from web.auth import login_required
from web.charts import Chart, Series

bp = Blueprint("nps_report", __name__)
MONTHS = 12  # the months the report covers, this one included


@bp.get("/insights/nps")
@login_required("marketer")  # and admins
def page():
    rt = current_app.extensions["nurture"]
    rows = queries.answer_rows(rt.db, rt.clock.now() - timedelta(days=31 * MONTHS))
    overall = stats.nps(*_counts(rows))
    return render_template(
        "insights/nps.html", overall=overall, enough=stats.enough(overall.n),
        too_few=stats.TOO_FEW, interval=stats.INTERVAL, months=MONTHS,
        charts=charts(rows),
        detractors=queries.latest_reasons(rt.db, "detractor"),
        promoters=queries.latest_reasons(rt.db, "promoter"))


def _counts(rows: list[stats.AnswerRow]) -> tuple[int, int, int]:
    kinds = [stats.category(r.score) for r in rows]
    return kinds.count("promoter"), kinds.count("passive"), kinds.count("detractor")


def _label(name: str, result: stats.NPSResult) -> str:
    judged = "" if stats.enough(result.n) else ", too few"
    return f"{name} (n={result.n}{judged})"


def charts(rows: list[stats.AnswerRow]) -> list[Chart]:
    months = stats.by_period_and_segment(rows, "month")
    # Only the months with enough answers get a band: a band over a handful of answers
    # spans most of the scale and reads as a verdict it is not.
    band = [(m.result.low, m.result.high) if stats.enough(m.result.n) else (None, None)
            for m in months]
    trend = Chart(
        "NPS per month", "month", "NPS (-100 to +100)",
        [_label(m.period, m.result) for m in months],
        [Series("NPS", [m.result.score for m in months]),
         Series("95% low", [low for low, _ in band], dashed=True),
         Series("95% high", [high for _, high in band], dashed=True)],
        kind="line", digits=1, key="nps-trend", value_range=(-100, 100),
        ticks=[m.period for m in months],
        note=f"The band is drawn for months with {stats.TOO_FEW} answers or more.")
    counts = stats.distribution(r.score for r in rows)
    spread = Chart("Answers by score", "score (0 to 10)", "answers",
                   [str(score) for score in range(11)], [Series("Answers", counts)],
                   key="nps-scores",
                   note="0 to 6: detractors, 7 and 8: passives, 9 and 10: promoters.")
    segments = [
        Chart(f"NPS per {segment}", segment, "NPS (-100 to +100)",
              [_label(line.segment, line.result) for line in lines],
              [Series("NPS", [line.result.score for line in lines])],
              kind="hbar", digits=1, key=f"nps-{segment}", value_range=(-100, 100),
              height=max(160, 60 + 28 * len(lines)))
        for segment in stats.SEGMENTS
        for lines in [stats.by_segment(rows, segment)]]
    return [trend, spread, *segments]
