"""A self-contained HTML report of one experiment, readable offline and shareable as one file.

The page holds the comparison of arms as a table, one interactive Plotly figure per metric and
the resolved config. plotly.js is inlined once, so the report needs no network; the bytes
written depend only on the inputs (figure ids are fixed, not random).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import plotly.graph_objects as go
import polars as pl
from plotly.colors import hex_to_rgb, qualitative
from plotly.offline import get_plotlyjs

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
.grid { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr)); }
figure { margin: 0; padding: 0.5rem; border: 1px solid #d0d7de; border-radius: 6px; }
figure h3 { margin: 0.25rem 0.5rem; font-size: 1rem; }
figcaption { margin: 0.25rem 0.5rem; font-size: 0.85rem; color: #57606a; }
pre { background: #f6f8fa; padding: 1rem; overflow-x: auto; }
.note { font-size: 0.85rem; color: #57606a; }
"""


def write_report(
    path: Path,
    frame: pl.DataFrame,
    comparison: pl.DataFrame,
    *,
    title: str,
    config_toml: str,
    metric_docs: Mapping[str, str] | None = None,
) -> None:
    """Write a single-file, offline HTML report of an experiment to ``path``, atomically.

    The report has the title; a table of ``comparison`` (mean of each arm, its difference from
    the baseline with the confidence interval, and a mark where the interval excludes 0); one
    figure per metric showing the value by day, one line per arm (mean over seeds) with a band
    from the minimum to the maximum over seeds; and the resolved config. Each arm keeps its
    colour in every figure.

    Args:
        path: the HTML file to write. Its folder must already exist.
        frame: the daily metrics table (:data:`~feedlab.io.schema.METRICS_SCHEMA`).
        comparison: the comparison of arms, as returned by
            :func:`feedlab.experiments.summary.compare_arms`.
        title: the page title.
        config_toml: the resolved config as TOML text, shown verbatim.
        metric_docs: metric name -> one-line definition, shown under the metric's figure.

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
    figures = [
        _figure_html(frame, metric, arms, colours, docs.get(metric), index)
        for index, metric in enumerate(metrics)
    ]
    page = _page(
        title=title,
        table=_comparison_table(comparison),
        figures=figures,
        config_toml=config_toml,
    )
    atomic_write_text(path, page)


def _page(*, title: str, table: str, figures: list[str], config_toml: str) -> str:
    """Assemble the whole HTML document."""
    escaped = html.escape(title)
    grid = "\n".join(figures)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escaped}</title>
<style>{_CSS}</style>
<script type="text/javascript">window.PlotlyConfig = {{MathJaxConfig: 'local'}};</script>
<script type="text/javascript">{get_plotlyjs()}</script>
</head>
<body>
<h1>{escaped}</h1>
<h2>Comparison with the baseline</h2>
{table}
<h2>Metrics by day</h2>
<p class="note">Lines: mean over seeds. Bands: minimum to maximum over seeds.</p>
<div class="grid">
{grid}
</div>
<h2>Configuration</h2>
<details>
<summary>Resolved config</summary>
<pre>{html.escape(config_toml)}</pre>
</details>
</body>
</html>
"""


def _comparison_table(comparison: pl.DataFrame) -> str:
    """Render the comparison as an HTML table; the baseline rows are shown as such."""
    header = (
        "<tr><th class='name'>metric</th><th class='name'>arm</th><th>mean</th>"
        "<th>diff vs baseline [CI]</th><th>rel. diff</th><th></th></tr>"
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
        css = " class='baseline'" if is_baseline else ""
        rows.append(
            f"<tr{css}><td class='name'>{html.escape(row['metric'])}</td>"
            f"<td class='name'>{html.escape(row['arm'])}</td>"
            f"<td>{_number(row['mean'])}</td><td>{diff}</td><td>{rel}</td>"
            f"<td>{mark if row['distinguishable'] else ''}</td></tr>"
        )
    note = (
        "<p class='note'>diff: mean over common seeds of the paired difference arm − "
        "baseline, with its Student-t confidence interval. ● the interval excludes 0.</p>"
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
) -> str:
    """One metric's figure (mean line and min-max band per arm) as an HTML fragment."""
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
        template="plotly_white",
        margin={"l": 50, "r": 10, "t": 10, "b": 40},
        xaxis_title="day",
        yaxis_title=metric,
        legend={"orientation": "h", "y": -0.2},
    )
    plot = figure.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=f"figure-{index}",
        config=_PLOT_CONFIG,
        default_height=_FIGURE_HEIGHT,
    )
    caption = f"<figcaption>{html.escape(doc)}</figcaption>" if doc else ""
    return f"<figure>\n<h3>{html.escape(metric)}</h3>\n{plot}\n{caption}\n</figure>"


def _number(value: float | None, *, signed: bool = False) -> str:
    """Format a statistic with four significant digits; NaN as an en dash."""
    if value is None or math.isnan(value):
        return "–"
    return f"{value:+.4g}" if signed else f"{value:.4g}"
