"""A self-contained HTML report of one experiment, readable offline and shareable as one file.

The page holds the comparison of arms as a table, one interactive Plotly figure per metric and
the resolved config. plotly.js is inlined once, so the report needs no network; the bytes
written depend only on the inputs (figure ids are fixed, not random).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import plotly.graph_objects as go
import plotly.io as pio
import polars as pl
from plotly.colors import hex_to_rgb, qualitative
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from feedlab.core.errors import ShapeError
from feedlab.io.atomic import atomic_write_text
from feedlab.io.schema import check_metrics_frame

COMPARISON_COLUMNS: Final[tuple[str, ...]] = (
    "arm",
    "metric",
    "mean",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "rel_diff",
    "distinguishable",
)
"""Columns of the comparison table the report reads (as produced by ``compare_arms``)."""

ARM_COLOURS: Final[tuple[str, ...]] = tuple(qualitative.Plotly)
"""Line colour of the i-th arm (in order of first appearance), cycled past the tenth."""

_BAND_OPACITY = 0.18
_FIGURE_HEIGHT = "380px"
_NOT_DISTINGUISHABLE = "#8c959f"

TRADE_OFF_X: Final[str] = "time_spent_min"
"""The trade-off chart's horizontal axis: what the attention economy sells."""
TRADE_OFF_Y: Final[tuple[tuple[str, str], ...]] = (
    ("affective_gap", "polarization (affective gap)"),
    ("impressions_false_share", "false-news share of impressions"),
    ("wellbeing_mean", "well-being"),
)
"""The trade-off chart's panels: (metric, label) against :data:`TRADE_OFF_X`."""
_PLOT_CONFIG: Final[dict[str, object]] = {"responsive": True, "displaylogo": False}

_CSS: Final[str] = """
:root { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; }
body { max-width: 1400px; margin: 0 auto; padding: 1.5rem; }
h1 { margin-bottom: 0.25rem; }
table { border-collapse: collapse; font-size: 0.9rem; margin: 1rem 0; }
th, td { padding: 0.3rem 0.7rem; border-bottom: 1px solid #d0d7de; text-align: right; }
th { background: #f6f8fa; }
td.name, th.name { text-align: left; }
tr.baseline td { color: #57606a; }
.mark { color: #cf222e; font-weight: bold; }
.grid { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fill, minmax(760px, 1fr)); }
figure { margin: 0; padding: 0.5rem; border: 1px solid #d0d7de; border-radius: 6px; }
figure h3 { margin: 0.25rem 0.5rem; font-size: 1rem; }
.pair { display: grid; gap: 0.5rem; grid-template-columns: 3fr 2fr; }
.wide { grid-column: 1 / -1; }
.ns { color: #57606a; font-style: italic; }
figcaption { margin: 0.25rem 0.5rem; font-size: 0.85rem; color: #57606a; }
pre { background: #f6f8fa; padding: 1rem; overflow-x: auto; }
.note { font-size: 0.85rem; color: #57606a; }
"""


@contextmanager
def white_figures() -> Iterator[None]:
    """Plotly figures made and rendered inside take the ``plotly_white`` template.

    As the default template it costs a few milliseconds a figure; named in each figure's layout
    it costs some 25 (the template is validated and copied every time), seconds per report.
    """
    previous = pio.templates.default
    pio.templates.default = "plotly_white"
    try:
        yield
    finally:
        pio.templates.default = previous


def write_report(
    path: Path,
    frame: pl.DataFrame,
    comparison: pl.DataFrame,
    *,
    title: str,
    config_toml: str,
    metric_docs: Mapping[str, str] | None = None,
    amplification: pl.DataFrame | None = None,
    reference: str | None = None,
) -> None:
    """Write a single-file, offline HTML report of an experiment to ``path``, atomically.

    The report has the title; a table of ``comparison`` (mean of each arm, its difference from
    the baseline with the confidence interval and the number of seeds, a mark where the interval
    excludes 0 and "n.s." where it does not); a trade-off chart (time spent against
    polarization, false-news share and well-being, one point per arm with the confidence
    intervals of its paired differences); the amplification of content groups against the
    reference arm, if given; one figure per metric showing, side by side, the value by day (one
    line per arm, mean over seeds, with a band from the minimum to the maximum over seeds) and
    each arm's paired difference to the baseline with its interval; and the resolved config.
    Each arm keeps its colour in every figure.

    Args:
        path: the HTML file to write. Its folder must already exist.
        frame: the daily metrics table (:data:`~feedlab.io.schema.METRICS_SCHEMA`).
        comparison: the comparison of arms, as returned by
            :func:`feedlab.experiments.summary.compare_arms`.
        title: the page title.
        config_toml: the resolved config as TOML text, shown verbatim.
        metric_docs: metric name -> one-line definition, shown under the metric's figure.
        amplification: the amplification table, as returned by
            :func:`feedlab.experiments.summary.amplification` (omitted when None).
        reference: the arm amplification was measured against (for the text).

    Raises:
        ShapeError: ``frame`` does not follow the metrics schema, or ``comparison`` lacks a
            column of :data:`COMPARISON_COLUMNS`.
    """
    check_metrics_frame(frame, name="frame", allow_extra_columns=True)
    for column in COMPARISON_COLUMNS:
        if column not in comparison.columns:
            got = comparison.columns
            raise ShapeError(f"comparison must have a column {column!r}, got {got!r}.")
    docs = metric_docs or {}
    arms = frame["arm"].unique(maintain_order=True).to_list()
    colours = {arm: ARM_COLOURS[i % len(ARM_COLOURS)] for i, arm in enumerate(arms)}
    metrics = frame["metric"].unique(maintain_order=True).to_list()
    baseline = _baseline_arm(comparison)
    with white_figures():
        figures = [
            _figure_html(
                frame, metric, arms, colours, docs.get(metric), index, comparison, baseline
            )
            for index, metric in enumerate(metrics)
        ]
        trade_off = _trade_off_html(comparison, arms, colours, baseline)
        amplified = _amplification_html(amplification, arms, colours, reference)
    page = _page(
        title=title,
        table=_comparison_table(comparison),
        figures=figures,
        config_toml=config_toml,
        trade_off=trade_off,
        amplified=amplified,
    )
    atomic_write_text(path, page)


def _page(
    *,
    title: str,
    table: str,
    figures: list[str],
    config_toml: str,
    trade_off: str = "",
    amplified: str = "",
) -> str:
    """Assemble the whole HTML document."""
    grid = "\n".join(figures)
    body = f"""<h2>Comparison with the baseline</h2>
{table}
{trade_off}
{amplified}
<h2>Metrics by day and arms side by side</h2>
<p class="note">Left, lines: mean over seeds; bands: minimum to maximum over seeds. Right: each
arm's mean paired difference to the baseline with its 95% confidence interval; grey, hollow
points are not distinguishable from 0.</p>
<div class="grid">
{grid}
</div>"""
    return html_page(title, body, config_toml, "Resolved config")


def html_page(title: str, body: str, config_toml: str, config_label: str, css: str = "") -> str:
    """A self-contained report page: plotly.js inlined (opens offline), the body, the config."""
    escaped = html.escape(title)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escaped}</title>
<style>{css or _CSS}</style>
<script type="text/javascript">window.PlotlyConfig = {{MathJaxConfig: 'local'}};</script>
<script type="text/javascript">{get_plotlyjs()}</script>
</head>
<body>
<h1>{escaped}</h1>
{body}
<h2>Configuration</h2>
<details>
<summary>{config_label}</summary>
<pre>{html.escape(config_toml)}</pre>
</details>
</body>
</html>
"""


def _comparison_table(comparison: pl.DataFrame) -> str:
    """Render the comparison as an HTML table; the baseline rows are shown as such."""
    header = (
        "<tr><th class='name'>metric</th><th class='name'>arm</th><th>mean</th>"
        "<th>diff vs baseline [CI]</th><th>rel. diff</th><th>n seeds</th><th></th></tr>"
    )
    baseline = _baseline_arm(comparison)
    rows = []
    for row in comparison.iter_rows(named=True):
        is_baseline = row["arm"] == baseline
        if is_baseline:
            diff = "baseline"
        elif math.isnan(row["diff_ci_low"]):
            diff = _number(row["diff"], signed=True)
        else:
            low, high = _number(row["diff_ci_low"]), _number(row["diff_ci_high"])
            diff = f"{_number(row['diff'], signed=True)} [{low}, {high}]"
        rel = "" if is_baseline or math.isnan(row["rel_diff"]) else f"{row['rel_diff']:+.1%}"
        mark = "<span class='mark' title='interval excludes 0'>●</span>"
        not_shown = "<span class='ns' title='interval includes 0'>n.s.</span>"
        flag = "" if is_baseline else (mark if row["distinguishable"] else not_shown)
        pairs = row.get("n_pairs", row.get("n_seeds"))
        n = str(row["n_seeds"]) if is_baseline or pairs is None else str(pairs)
        css = " class='baseline'" if is_baseline else ""
        rows.append(
            f"<tr{css}><td class='name'>{html.escape(row['metric'])}</td>"
            f"<td class='name'>{html.escape(row['arm'])}</td>"
            f"<td>{_number(row['mean'])}</td><td>{diff}</td><td>{rel}</td>"
            f"<td>{n}</td><td>{flag}</td></tr>"
        )
    note = (
        "<p class='note'>diff: mean over common seeds of the paired difference arm − "
        "baseline, with its Student-t confidence interval; n seeds: the pairs it rests on. "
        "● the interval excludes 0; n.s. the difference is not distinguishable from 0.</p>"
    )
    return f"<table>\n{header}\n" + "\n".join(rows) + f"\n</table>\n{note}"


def _baseline_arm(comparison: pl.DataFrame) -> str | None:
    """The arm compared with itself: the only one whose every diff is 0 with no interval."""
    self_compared = comparison.group_by("arm").agg(
        ((pl.col("diff") == 0) & pl.col("diff_ci_low").is_nan()).all().alias("is_self")
    )
    candidates = self_compared.filter(pl.col("is_self"))["arm"].to_list()
    return candidates[0] if len(candidates) == 1 else None


def _figure_html(
    frame: pl.DataFrame,
    metric: str,
    arms: list[str],
    colours: Mapping[str, str],
    doc: str | None,
    index: int,
    comparison: pl.DataFrame | None = None,
    baseline: str | None = None,
) -> str:
    """One metric's figure as an HTML fragment: its days beside the arms' differences.

    Left: mean line and min-max band per arm by day. Right: each arm's paired difference to
    the baseline with its interval.
    """
    finite = pl.col("value").filter(pl.col("value").is_not_nan())
    daily = (
        frame.filter(pl.col("metric") == metric)
        .group_by("arm", "day")
        .agg(
            finite.mean().alias("mean"),
            finite.min().alias("low"),
            finite.max().alias("high"),
        )
        .sort("day")
    )
    figure = go.Figure()
    for arm in arms:
        series = daily.filter(pl.col("arm") == arm)
        if series.height == 0:
            continue
        days = series["day"].to_list()
        colour = colours[arm]
        red, green, blue = hex_to_rgb(colour)
        band = f"rgba({red}, {green}, {blue}, {_BAND_OPACITY})"
        common = {"x": days, "mode": "lines", "legendgroup": arm}
        figure.add_trace(
            go.Scatter(
                y=series["high"].to_list(),
                line={"width": 0},
                showlegend=False,
                hoverinfo="skip",
                **common,
            )
        )
        figure.add_trace(
            go.Scatter(
                y=series["low"].to_list(),
                line={"width": 0},
                fill="tonexty",
                fillcolor=band,
                showlegend=False,
                hoverinfo="skip",
                **common,
            )
        )
        figure.add_trace(
            go.Scatter(y=series["mean"].to_list(), name=arm, line={"color": colour}, **common)
        )
    figure.update_layout(
        margin={"l": 50, "r": 10, "t": 10, "b": 40},
        xaxis_title="day",
        yaxis_title=metric,
        legend={"orientation": "h", "y": -0.2},
    )
    plot = _plot(figure, f"figure-{index}", _FIGURE_HEIGHT)
    caption = f"<figcaption>{html.escape(doc)}</figcaption>" if doc else ""
    side = _difference_html(comparison, metric, arms, colours, baseline, index)
    body = f"<div class='pair'>\n{plot}\n{side}\n</div>" if side else plot
    return f"<figure>\n<h3>{html.escape(metric)}</h3>\n{body}\n{caption}\n</figure>"


def _difference_html(
    comparison: pl.DataFrame | None,
    metric: str,
    arms: list[str],
    colours: Mapping[str, str],
    baseline: str | None,
    index: int,
) -> str:
    """Each arm's paired difference to the baseline with its interval, one row per arm."""
    if comparison is None or baseline is None:
        return ""
    rows = comparison.filter((pl.col("metric") == metric) & (pl.col("arm") != baseline))
    if rows.height == 0:
        return ""
    by_arm = {row["arm"]: row for row in rows.iter_rows(named=True)}
    figure = go.Figure()
    for arm in arms:
        row = by_arm.get(arm)
        if row is None:
            continue
        clear = bool(row["distinguishable"])
        colour = colours[arm] if clear else _NOT_DISTINGUISHABLE
        figure.add_trace(
            go.Scatter(
                x=[row["diff"]],
                y=[arm],
                mode="markers",
                name=arm,
                showlegend=False,
                marker={
                    "color": colour,
                    "size": 10,
                    "symbol": "circle" if clear else "circle-open",
                },
                error_x=_bar(row, baseline, colour),
            )
        )
    figure.add_vline(x=0.0, line={"color": "#57606a", "width": 1, "dash": "dot"})
    figure.update_layout(
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
        xaxis_title=f"difference to {baseline}",
        yaxis={"autorange": "reversed", "automargin": True},
    )
    return _plot(figure, f"compare-{index}", _FIGURE_HEIGHT)


def _trade_off_html(
    comparison: pl.DataFrame,
    arms: list[str],
    colours: Mapping[str, str],
    baseline: str | None,
) -> str:
    """Time spent against polarization, false-news share and well-being: one point per arm.

    A point is the arm's mean over seeds; its bars are the 95% confidence intervals of the
    arm's paired differences to the baseline, placed around the point (the baseline has none).
    """
    by = {(row["arm"], row["metric"]): row for row in comparison.iter_rows(named=True)}
    panels = [(m, label) for m, label in TRADE_OFF_Y if any(key[1] == m for key in by)]
    if not panels or not any(key[1] == TRADE_OFF_X for key in by):
        return ""
    figure = make_subplots(rows=1, cols=len(panels), horizontal_spacing=0.08)
    for col, (metric, label) in enumerate(panels, start=1):
        for arm in arms:
            x, y = by.get((arm, TRADE_OFF_X)), by.get((arm, metric))
            if x is None or y is None:
                continue
            figure.add_trace(
                go.Scatter(
                    x=[x["mean"]],
                    y=[y["mean"]],
                    mode="markers+text",
                    text=[arm],
                    textposition="top center",
                    name=arm,
                    legendgroup=arm,
                    showlegend=col == 1,
                    marker={"color": colours[arm], "size": 11},
                    error_x=_bar(x, baseline, colours[arm]),
                    error_y=_bar(y, baseline, colours[arm]),
                ),
                row=1,
                col=col,
            )
        figure.update_xaxes(title_text="time spent (min/person/day)", row=1, col=col)
        figure.update_yaxes(title_text=label, row=1, col=col)
    figure.update_layout(
        margin={"l": 50, "r": 10, "t": 10, "b": 40},
        legend={"orientation": "h", "y": -0.25},
    )
    plot = _plot(figure, "trade-off", "420px")
    return (
        "<h2>Trade-offs</h2>\n<p class='note'>One point per arm: its mean over seeds. Bars: the "
        "95% confidence interval of its paired difference to the baseline, around the point. "
        "Further right is more time spent.</p>\n"
        f"<div class='chart'>\n{plot}\n</div>"
    )


def _bar(row: Mapping[str, object], baseline: str | None, colour: str) -> dict[str, object]:
    """Plotly error bar of a comparison row's paired-difference interval, around its mean."""
    low, high, diff = row["diff_ci_low"], row["diff_ci_high"], row["diff"]
    if row["arm"] == baseline or not isinstance(low, float) or math.isnan(low):
        return {"visible": False}
    assert isinstance(high, float) and isinstance(diff, float)
    return {
        "type": "data",
        "symmetric": False,
        "array": [high - diff],
        "arrayminus": [diff - low],
        "color": colour,
        "visible": True,
    }


def _amplification_html(
    amplification: pl.DataFrame | None,
    arms: list[str],
    colours: Mapping[str, str],
    reference: str | None,
) -> str:
    """Amplification of each content group by each arm, as a bar chart and a table."""
    if amplification is None or amplification.height == 0:
        return ""
    groups = amplification["group"].unique(maintain_order=True).to_list()
    figure = go.Figure()
    rows = []
    for arm in arms:
        part = amplification.filter(pl.col("arm") == arm)
        if part.height == 0:
            continue
        by_group = {row["group"]: row for row in part.iter_rows(named=True)}
        values = [by_group[g]["amplification"] if g in by_group else None for g in groups]
        upper = [
            by_group[g]["ci_high"] - by_group[g]["amplification"] if g in by_group else 0.0
            for g in groups
        ]
        lower = [
            by_group[g]["amplification"] - by_group[g]["ci_low"] if g in by_group else 0.0
            for g in groups
        ]
        figure.add_trace(
            go.Bar(
                x=groups,
                y=values,
                name=arm,
                marker={"color": colours[arm]},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [0.0 if math.isnan(u) else u for u in upper],
                    "arrayminus": [0.0 if math.isnan(v) else v for v in lower],
                },
            )
        )
        for row in part.iter_rows(named=True):
            if math.isnan(row["ci_low"]):
                ci = ""
            else:
                ci = f" [{row['ci_low']:+.1%}, {row['ci_high']:+.1%}]"
            flag = (
                "<span class='mark' title='interval excludes 0'>●</span>"
                if row["distinguishable"]
                else "<span class='ns' title='interval includes 0'>n.s.</span>"
            )
            rows.append(
                f"<tr><td class='name'>{html.escape(row['group'])}</td>"
                f"<td class='name'>{html.escape(arm)}</td>"
                f"<td>{_number(row['reach'])}</td><td>{_number(row['reference_reach'])}</td>"
                f"<td>{row['amplification']:+.1%}{ci}</td><td>{row['n_seeds']}</td>"
                f"<td>{flag}</td></tr>"
            )
    figure.add_hline(y=0.0, line={"color": "#57606a", "width": 1})
    figure.update_layout(
        barmode="group",
        margin={"l": 50, "r": 10, "t": 10, "b": 40},
        yaxis={"title": "amplification", "tickformat": "+.0%"},
        legend={"orientation": "h", "y": -0.2},
    )
    plot = _plot(figure, "amplification", "400px")
    against = html.escape(reference) if reference else "the reference arm"
    header = (
        "<tr><th class='name'>group</th><th class='name'>arm</th><th>reach</th>"
        f"<th>reach under {against}</th><th>amplification [CI]</th><th>n seeds</th><th></th></tr>"
    )
    return (
        "<h2>Amplification by content group</h2>\n<p class='note'>Reach (impressions per person "
        f"per day) of each content group under each arm, divided by its reach under {against}, "
        "minus 1 (Huszár et al. 2022): 0 is no amplification, +100% doubles the reach. Paired by "
        "seed, with Student-t 95% intervals.</p>\n"
        f"<div class='chart'>\n{plot}\n</div>\n<table>\n{header}\n" + "\n".join(rows) + "\n</table>"
    )


def _plot(figure: go.Figure, div_id: str, height: str) -> str:
    """A figure as an HTML fragment with a fixed id (plotly.js is inlined once per page)."""
    return str(
        figure.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=div_id,
            config=_PLOT_CONFIG,
            default_height=height,
        )
    )


def _number(value: float | None, *, signed: bool = False) -> str:
    """Format a statistic with four significant digits; NaN as an en dash."""
    if value is None or math.isnan(value):
        return "–"
    return f"{value:+.4g}" if signed else f"{value:.4g}"
