"""Every console chart: a spec in (title, axis labels, categories, series), an SVG out.

The drawing is pygal's (server-side SVG, see docs/charts.md): no script reaches the
browser, so the page's Content-Security-Policy (`default-src 'self'`) holds and nothing is
loaded from outside. Pygal writes an inline `<script>` with its tooltip settings even when
asked for no scripts: it is removed here, as the policy would refuse it anyway.

The template `web/_chart.html` draws a spec: its title as the figure's caption, the SVG as
an image labelled by that caption, and the same figures as a table for screen readers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import pygal
from markupsafe import Markup
from pygal.style import Style

Kind = Literal["bar", "stacked", "line", "hbar", "xy"]

# The console's colours (base.html); the first two are the broadcast page's, kept.
COLOURS = ("#1f5f8b", "#c05621", "#2f855a", "#6b46c1", "#b7791f", "#c53030", "#319795")
_STYLE = Style(background="transparent", plot_background="transparent",
               foreground="#1f2933", foreground_strong="#1f2933",
               foreground_subtle="#52606d", colors=COLOURS, font_family="inherit",
               label_font_size=13, major_label_font_size=13, title_font_size=14,
               legend_font_size=13, value_font_size=13, tooltip_font_size=13,
               no_data_font_size=16, opacity=".9", opacity_hover="1")
_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Series:
    """One line or one set of bars; for an "xy" chart, its `points` instead (x, y)."""

    name: str
    values: Sequence[float | None] = ()
    points: Sequence[tuple[float, float]] = ()
    dashed: bool = False  # an interval's bounds, drawn lighter than the figure itself


@dataclass(frozen=True)
class Chart:
    """What a page wants drawn. `labels` name the categories along the x axis (or down the
    y axis of an "hbar"); an "xy" chart names each point by `labels` instead."""

    title: str
    x_label: str
    y_label: str
    labels: Sequence[str]
    series: Sequence[Series]
    kind: Kind = "bar"
    note: str = ""  # one line under the title: what the figures mean
    digits: int = 0  # decimals shown in the table
    value_range: tuple[float, float] | None = None  # the value axis; else from the data
    ticks: Sequence[str] = ()  # shorter names for the axis than `labels`, which the table keeps
    width: int = 600
    height: int = 300
    key: str = field(default="")  # the element id's stem; from the title when empty

    @property
    def slug(self) -> str:
        return self.key or _SLUG.sub("-", self.title.lower()).strip("-")[:48]

    def svg(self) -> Markup:
        return render(self)

    def rows(self) -> list[tuple[str, list[str]]]:
        """The data table's rows: a category (or point) and its figures, formatted."""
        if self.kind == "xy":
            return [(label, [cell(x, self.digits), cell(y, self.digits)])
                    for s in self.series
                    for label, (x, y) in zip(self.labels, s.points, strict=True)]
        return [(label, [cell(s.values[i] if i < len(s.values) else None, self.digits)
                         for s in self.series])
                for i, label in enumerate(self.labels)]

    def legend(self) -> list[tuple[str, str]]:
        """Each series' name and colour, for the key above a chart of several series."""
        if len(self.series) < 2:
            return []
        return [(s.name, COLOURS[i % len(COLOURS)]) for i, s in enumerate(self.series)]

    def columns(self) -> list[str]:
        if self.kind == "xy":
            return [self.x_label, self.y_label]
        return [s.name for s in self.series]


def histogram(values: Sequence[float], bins: int = 8, digits: int = 0
              ) -> tuple[list[str], list[int]]:
    """Equal-width bins over the values' range: each bin's label ("100 to 200") and count.
    The last bin holds its upper edge."""
    if not values:
        return [], []
    low, high = min(values), max(values)
    width = (high - low) / bins or 1.0
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, int((value - low) / width))] += 1
    edges = [low + i * width for i in range(bins + 1)]
    return [f"{cell(edges[i], digits)} to {cell(edges[i + 1], digits)}"
            for i in range(bins)], counts


def cell(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "\N{EN DASH}"
    return f"{value:,.{digits}f}"


_KINDS = {"bar": pygal.Bar, "stacked": pygal.StackedBar, "line": pygal.Line,
          "hbar": pygal.HorizontalBar, "xy": pygal.XY}


def render(chart: Chart) -> Markup:
    """The chart as inline SVG, labelled by its figure's caption (`<id>-title`)."""
    many = len(chart.labels) > 16
    # A horizontal bar chart draws its categories down the left and its values along the
    # bottom, so its axis titles trade places.
    x_title, y_title = ((chart.y_label, chart.x_label) if chart.kind == "hbar"
                        else (chart.x_label, chart.y_label))
    # The key is drawn by the template, above the chart: pygal's own, at the bottom, falls
    # outside the drawing once the axis has a title.
    drawing = _KINDS[chart.kind](
        style=_STYLE, width=chart.width, height=chart.height, explicit_size=False,
        disable_xml_declaration=True, js=[], x_title=x_title, y_title=y_title,
        show_legend=False, print_values=False, show_minor_x_labels=not many,
        x_labels_major_every=max(1, len(chart.labels) // 6) if many else None,
        truncate_label=-1, stroke=chart.kind in ("line", "xy"),
        # Long category names would run into each other under their bars.
        x_label_rotation=30 if chart.kind in ("bar", "stacked") and len(chart.labels) > 4
        and max(map(len, chart.ticks or chart.labels)) > 8 else 0,
        show_dots=chart.kind == "xy" or len(chart.labels) <= 40, dots_size=3,
        margin=10, include_x_axis=chart.kind != "xy", no_data_text="Nothing yet",
        range=chart.value_range, stroke_style={"width": 2})
    if chart.kind != "xy":
        drawing.x_labels = list(chart.ticks or chart.labels)
    counts = [v for s in chart.series for v in s.values if v is not None]
    # Counts get whole-number ticks, not 0.1, 0.2... when the figures are small. (Ticks
    # given to a chart without figures make pygal fail, hence `counts` first.)
    if counts and chart.kind != "xy" and chart.value_range is None and chart.digits == 0:
        top = int(max(counts, default=0))
        if chart.kind == "stacked":
            top = int(max((sum(s.values[i] or 0 for s in chart.series if i < len(s.values))
                           for i in range(len(chart.labels))), default=0))
        if top < 10:
            drawing.y_labels = list(range(max(1, top) + 1))
    for s in chart.series:
        values: list[object] = (
            [{"value": point, "label": label}
             for label, point in zip(chart.labels, s.points, strict=True)]
            if chart.kind == "xy" else list(s.values))
        drawing.add(s.name, values, stroke_style={"width": 1, "dasharray": "4, 3"}
                    if s.dashed else {"width": 2})
    svg = _COMMENT.sub("", _SCRIPT.sub("", drawing.render(is_unicode=True)))
    labelled = f'<svg role="img" aria-labelledby="chart-{chart.slug}-title"'
    return Markup(svg.replace("<svg", labelled, 1))  # pygal escapes the text it draws
