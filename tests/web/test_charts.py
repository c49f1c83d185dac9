"""The charts module: every kind draws, with or without figures, as an image labelled by
its title, with no script left in it; and the data table's cells."""

from __future__ import annotations

import pytest

from web.charts import Chart, Series, histogram

KINDS = ("bar", "stacked", "line", "hbar")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("series", [(), (Series("Sent", []),), (Series("Sent", [0, 0]),),
                                    (Series("Sent", [3, 1]), Series("Opened", [2, None]))])
def test_every_kind_draws_with_or_without_figures(kind, series):
    chart = Chart("Emails <sent>", "day", "emails", ["Mon", "Tue"], series, kind=kind)
    svg = str(chart.svg())
    assert svg.startswith('<svg role="img" aria-labelledby="chart-emails-sent-title"')
    assert "<script" not in svg and "<!--" not in svg
    assert "Emails <sent>" not in svg  # the title is the page's caption, escaped there


def test_a_scatter_names_its_points():
    chart = Chart("Value", "CLV", "chance (%)", ["c1", "c2"],
                  [Series("Customers", points=[(120.0, 80.0), (300.5, 12.25)])],
                  kind="xy", digits=1)
    assert "<svg role=\"img\"" in str(chart.svg())
    assert chart.rows() == [("c1", ["120.0", "80.0"]), ("c2", ["300.5", "12.2"])]
    assert chart.columns() == ["CLV", "chance (%)"]


def test_names_from_data_are_escaped_in_the_drawing():
    chart = Chart("T", "x", "y", ["<b>Acme</b>"], [Series("<i>S</i>", [1])], kind="hbar")
    svg = str(chart.svg())
    assert "&lt;b&gt;Acme&lt;/b&gt;" in svg and "<b>" not in svg and "<i>" not in svg


def test_the_table_formats_and_marks_missing_figures():
    chart = Chart("T", "x", "y", ["a", "b"], [Series("S", [1234.5, None])], digits=1)
    assert chart.rows() == [("a", ["1,234.5"]), ("b", ["\N{EN DASH}"])]
    assert chart.legend() == []
    two = Chart("T", "x", "y", ["a"], [Series("S", [1]), Series("U", [2])])
    assert [name for name, _ in two.legend()] == ["S", "U"]


def test_histogram_bins_cover_the_range():
    labels, counts = histogram([0, 1, 2, 3, 10], bins=2)
    assert labels == ["0 to 5", "5 to 10"] and counts == [4, 1]
    assert histogram([]) == ([], [])
    assert histogram([7, 7], bins=3)[1] == [2, 0, 0]
