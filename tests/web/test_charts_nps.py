"""The NPS page: the number of answers, "too few to judge" below the threshold, the score
per month with its band, the distribution of scores, per vertical and per stage, and the
latest reasons of detractors and promoters."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

from nurture.nps.models import NPSResponse
from nurture.nps.stats import TOO_FEW, category
from tests.helpers import chart_rows, contact, signed_in

_people = count()


def _answers(rt, scores, days_ago=3, vertical="retail", stage="adopt", reason=""):
    now = rt.clock.now()
    with rt.db.transaction() as session:
        for score in scores:
            cid = contact(rt, f"p{next(_people)}@example.com")
            at = now - timedelta(days=days_ago)
            session.add(NPSResponse(contact_id=cid, survey="1", score=score,
                                    category=category(score), reason=reason,
                                    vertical=vertical, stage=stage, answered_at=at,
                                    updated_at=at))


def test_one_answer_is_too_few_to_judge(rt):
    _answers(rt, [10], reason="Great support.")
    page = signed_in(rt, "marketer").get("/insights/nps").text
    assert "1 answer in the last 12 months (NPS +100.0)" in page
    assert "too few to judge" in page and "adjusted-Wald interval" in page
    [(month, figures)] = chart_rows(page, "nps-trend").items()
    assert month.endswith("(n=1, too few)")
    assert figures == ["100.0", "\N{EN DASH}", "\N{EN DASH}"]  # no band over one answer
    assert "Great support." in page.split("Promoters: the latest")[1]
    assert "No detractors gave a reason yet." in page


def test_the_page_charts_the_month_the_scores_and_the_segments(rt):
    this_month = rt.clock.now() - timedelta(days=1)
    _answers(rt, [10] * 15 + [8] * 10 + [3] * 5, days_ago=1)
    _answers(rt, [0], days_ago=40, vertical="healthcare", stage="renew",
             reason="The export <b>broke</b> twice.")
    client = signed_in(rt, "marketer")
    page = client.get("/insights/nps").text
    assert "NPS <strong>+29.0</strong> from 31 answers" in page  # (15 - 6) / 31
    trend = chart_rows(page, "nps-trend")
    label = f"{this_month:%Y-%m} (n=30)"
    assert trend[label][0] == "33.3" and trend[label][1] != "\N{EN DASH}"  # a band: 30 answers
    assert TOO_FEW == 30  # the month above has exactly enough
    scores = chart_rows(page, "nps-scores")
    assert [scores[str(s)] for s in (0, 3, 8, 10)] == [["1"], ["5"], ["10"], ["15"]]
    assert sum(int(v[0]) for v in scores.values()) == 31
    assert chart_rows(page, "nps-vertical") == {
        "healthcare (n=1, too few)": ["-100.0"], "retail (n=30)": ["33.3"]}
    assert chart_rows(page, "nps-stage") == {
        "adopt (n=30)": ["33.3"], "renew (n=1, too few)": ["-100.0"]}
    detractors = page.split("Detractors: the latest")[1].split("</table>")[0]
    assert "The export &lt;b&gt;broke&lt;/b&gt; twice." in detractors
    assert signed_in(rt, "sales").get("/insights/nps").status_code == 403


def test_no_answers_say_so(rt):
    page = signed_in(rt, "marketer").get("/insights/nps").text
    assert "No answers in the last 12 months." in page
    assert chart_rows(page, "nps-trend") == {}
