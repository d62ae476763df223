"""A self-contained HTML report of a sock-puppet audit: one section of plots per persona.

Like the experiment report (:mod:`feedlab.io.report`) it inlines plotly.js once, needs no
network and writes bytes that depend only on its inputs (figure ids are fixed).
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Final

import plotly.graph_objects as go
import polars as pl
from plotly.colors import qualitative

from feedlab.io.atomic import atomic_write_text
from feedlab.io.report import html_page, white_figures

PLOTTED: Final[tuple[str, ...]] = (
    "toward_side",
    "extremity",
    "false_share",
    "outrage_share",
    "topic_diversity",
)
"""Measures drawn per persona, by step."""

_CSS: Final[str] = """
:root { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; }
body { max-width: 1400px; margin: 0 auto; padding: 1.5rem; }
table { border-collapse: collapse; font-size: 0.9rem; margin: 1rem 0; }
th, td { padding: 0.3rem 0.7rem; border-bottom: 1px solid #d0d7de; text-align: right; }
th { background: #f6f8fa; }
td.name, th.name { text-align: left; }
.grid { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); }
figure { margin: 0; padding: 0.5rem; border: 1px solid #d0d7de; border-radius: 6px; }
figure h3 { margin: 0.25rem 0.5rem; font-size: 1rem; }
pre { background: #f6f8fa; padding: 1rem; overflow-x: auto; }
.note { font-size: 0.85rem; color: #57606a; }
"""


def _number(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "–"
    return f"{value:.4g}"


def _table(frame: pl.DataFrame) -> str:
    head = "".join(f'<th class="name">{html.escape(c)}</th>' for c in frame.columns)
    body = []
    for row in frame.iter_rows():
        cells = "".join(
            f"<td>{_number(v)}</td>"
            if isinstance(v, float)
            else f'<td class="name">{html.escape(str(v))}</td>'
            for v in row
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _figure(
    frame: pl.DataFrame, persona: str, measure: str, arms: tuple[str, ...], index: int
) -> str:
    by_step = (
        frame.filter((pl.col("persona") == persona) & (pl.col("measure") == measure))
        .filter(pl.col("value").is_not_nan())
        .group_by("arm", "step")
        .agg(pl.col("value").mean())
        .sort("step")
    )
    figure = go.Figure()
    for i, arm in enumerate(arms):
        series = by_step.filter(pl.col("arm") == arm)
        figure.add_trace(
            go.Scatter(
                x=series["step"].to_list(),
                y=series["value"].to_list(),
                name=arm,
                mode="lines",
                line={"color": qualitative.Plotly[i % len(qualitative.Plotly)]},
            )
        )
    figure.update_layout(
        margin={"l": 50, "r": 10, "t": 10, "b": 40},
        xaxis_title="step",
        yaxis_title=measure,
        legend={"orientation": "h", "y": -0.25},
    )
    plot = figure.to_html(
        full_html=False, include_plotlyjs=False, div_id=f"figure-{index}", default_height="320px"
    )
    return f"<figure>\n<h3>{html.escape(measure)}</h3>\n{plot}\n</figure>"


def write_audit_report(
    path: Path,
    frame: pl.DataFrame,
    amplification: pl.DataFrame,
    summary: pl.DataFrame,
    *,
    title: str,
    description: str,
    config_toml: str,
    arms: tuple[str, ...],
    personas: tuple[str, ...] = (),
) -> None:
    """Write the audit report to ``path``, atomically.

    Args:
        path: destination file.
        frame: the long audit table (arm, seed, persona, step, measure, value).
        amplification: the amplification table.
        summary: the per-persona summary.
        title: page title.
        description: what the audit asks.
        config_toml: the resolved spec.
        arms: (audited, control) arm names, in the order drawn.
        personas: persona names in the order of their sections (default: as in ``frame``).
    """
    sections = []
    index = 0
    for persona in personas or tuple(frame["persona"].unique(maintain_order=True).to_list()):
        figures = []
        for measure in PLOTTED:
            with white_figures():
                figures.append(_figure(frame, persona, measure, arms, index))
            index += 1
        amp = amplification.filter(pl.col("persona") == persona).drop("persona")
        sections.append(
            f"<h2>Persona {html.escape(persona)}</h2>\n"
            f"<h3>Amplification (Huszár et al. 2022: exposure under {html.escape(arms[0])} "
            f"/ under {html.escape(arms[1])} − 1)</h3>\n{_table(amp)}\n"
            f'<div class="grid">\n{"".join(figures)}\n</div>'
        )
    body = f"""<p>{html.escape(description)}</p>
<p class="note">Lines: mean over puppets and seeds of what each persona was recommended at each
step. toward_side: mean true leaning of recommended posts, positive toward the persona's side.</p>
<h2>Summary (means over steps; forgetting in steps)</h2>
{_table(summary)}
{"".join(sections)}"""
    page = html_page(title, body, config_toml, "Resolved spec", css=_CSS)
    atomic_write_text(path, page)
