import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest
from plotly.offline import get_plotlyjs

from feedlab.core.errors import ShapeError
from feedlab.experiments.summary import amplification, compare_arms
from feedlab.io.report import write_report
from feedlab.io.schema import METRICS_SCHEMA

METRICS = ("engagement", "polarisation <index>", "cascade_size")
CONFIG = '[experiment]\nname = "tiny & <quick>"\narms = ["chrono", "ranked"]\n'
DOCS = {"engagement": "Mean minutes per person per day.", "cascade_size": "Reshares & more."}
NAN = math.nan
VOID = {"meta", "link", "br", "hr", "img", "input", "col", "area", "base", "source", "wbr"}


def _frame() -> pl.DataFrame:
    rows = []
    for a, arm in enumerate(("chrono", "ranked", "bridging")):
        for seed in range(3):
            for day in range(5):
                for m, metric in enumerate(METRICS):
                    if arm == "bridging" and metric == "engagement":
                        continue  # an arm missing from one figure must not shift colours
                    value = NAN if metric == "cascade_size" and day == 0 else a + seed + day + m
                    rows.append((arm, seed, day, metric, float(value)))
    return pl.DataFrame(rows, schema=METRICS_SCHEMA, orient="row")


class _Checker(HTMLParser):
    """Collects tags, external references and nesting errors while parsing."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.urls: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in {"src", "href"} and value:
                self.urls.append(value)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
            return
        self.stack.pop()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> str:
    frame = _frame()
    comparison = compare_arms(frame, "chrono", {"cascade_size": "final"})
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_report(path, frame, comparison, title="Tiny <run>", config_toml=CONFIG, metric_docs=DOCS)
    return path.read_text(encoding="utf-8")


def _figure_traces(page: str) -> list[list[dict]]:
    decoder = json.JSONDecoder()
    figures = []
    for match in re.finditer(r'Plotly\.newPlot\(\s*"figure-\d+",\s*', page):
        data, _ = decoder.raw_decode(page, match.end())
        figures.append(data)
    return figures


def test_title_and_every_metric_appear(report: str) -> None:
    assert "<title>Tiny &lt;run&gt;</title>" in report
    assert "<h1>Tiny &lt;run&gt;</h1>" in report
    for metric in ("engagement", "polarisation &lt;index&gt;", "cascade_size"):
        assert f"<h3>{metric}</h3>" in report
        assert f"<td class='name'>{metric}</td>" in report


def test_plotly_js_is_inlined_exactly_once(report: str) -> None:
    assert report.count(get_plotlyjs()) == 1
    # config, bundle, and per metric its days and its differences side by side
    assert report.count("<script") == 2 + 2 * len(METRICS)


def test_no_external_resources(report: str) -> None:
    assert '<script src="http' not in report
    checker = _Checker()
    checker.feed(report)
    checker.close()
    assert checker.urls == []
    assert "link" not in checker.tags


def test_html_parses_with_balanced_tags(report: str) -> None:
    checker = _Checker()
    checker.feed(report)
    checker.close()
    assert checker.errors == []
    assert checker.stack == []
    assert checker.tags.count("figure") == len(METRICS)
    assert report.startswith("<!DOCTYPE html>")


def test_config_is_escaped_inside_details(report: str) -> None:
    block = re.search(r"<details>.*?<pre>(.*?)</pre>\s*</details>", report, re.S)
    assert block is not None
    assert block.group(1) == (
        "[experiment]\nname = &quot;tiny &amp; &lt;quick&gt;&quot;\n"
        "arms = [&quot;chrono&quot;, &quot;ranked&quot;]\n"
    )


def test_metric_docs_are_captions_of_their_figures(report: str) -> None:
    figures = re.findall(r"<figure>(.*?)</figure>", report, re.S)
    assert len(figures) == len(METRICS)
    assert "<figcaption>Mean minutes per person per day.</figcaption>" in figures[0]
    assert "figcaption" not in figures[1]
    assert "<figcaption>Reshares &amp; more.</figcaption>" in figures[2]


def test_each_arm_has_a_line_and_a_band_with_one_colour_everywhere(report: str) -> None:
    figures = _figure_traces(report)
    assert len(figures) == len(METRICS)
    colours: dict[str, set[str]] = {}
    for traces in figures:
        lines = [trace for trace in traces if trace.get("showlegend") is not False]
        bands = [trace for trace in traces if trace.get("fill") == "tonexty"]
        assert len(bands) == len(lines)
        for trace in lines:
            colours.setdefault(trace["name"], set()).add(trace["line"]["color"])
    assert [name for name in colours] == ["chrono", "ranked", "bridging"]
    assert all(len(used) == 1 for used in colours.values())
    assert len({next(iter(used)) for used in colours.values()}) == 3
    # "bridging" has no engagement data, yet keeps the third colour in the other figures.
    assert [trace["name"] for trace in figures[0] if "name" in trace] == ["chrono", "ranked"]


def test_lines_are_means_and_bands_span_seeds(report: str) -> None:
    traces = _figure_traces(report)[0]  # engagement: value = arm + seed + day
    upper, lower, mean = traces[3:6]  # second arm, "ranked" (a = 1)
    assert mean["name"] == "ranked"
    assert mean["y"] == [2.0, 3.0, 4.0, 5.0, 6.0]  # 1 + mean(seed) + day
    assert lower["y"] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert upper["y"] == [3.0, 4.0, 5.0, 6.0, 7.0]
    assert mean["x"] == [0, 1, 2, 3, 4]


def test_summary_table_marks_distinguishable_differences(report: str) -> None:
    table = re.search(r"<table>.*?</table>", report, re.S)
    assert table is not None
    rows = re.findall(r"<tr(?: class='baseline')?><td.*?</tr>", table.group(0))
    assert len(rows) == 8  # 3 metrics x 3 arms, minus bridging engagement
    marked = [row for row in rows if "class='mark'" in row]
    # ranked and bridging are shifted by a constant in every seed: zero-width intervals.
    assert len(marked) == 5
    assert all("chrono" not in row for row in marked)
    assert sum("baseline</td>" in row for row in rows) == 3


def test_same_inputs_give_identical_bytes(tmp_path: Path, report: str) -> None:
    frame = _frame()
    comparison = compare_arms(frame, "chrono", {"cascade_size": "final"})
    path = tmp_path / "again.html"
    write_report(path, frame, comparison, title="Tiny <run>", config_toml=CONFIG, metric_docs=DOCS)
    assert path.read_text(encoding="utf-8") == report
    assert [p.name for p in tmp_path.iterdir()] == ["again.html"]


def test_comparison_must_have_the_needed_columns(tmp_path: Path) -> None:
    frame = _frame()
    comparison = compare_arms(frame, "chrono", {}).drop("diff_ci_low")
    with pytest.raises(ShapeError, match="comparison must have a column 'diff_ci_low'"):
        write_report(tmp_path / "r.html", frame, comparison, title="t", config_toml="")
    assert list(tmp_path.iterdir()) == []


def _traces_of(page: str, div_id: str) -> list[dict]:
    match = re.search(rf'Plotly\.newPlot\(\s*"{div_id}",\s*', page)
    assert match is not None, div_id
    data, _ = json.JSONDecoder().raw_decode(page, match.end())
    return data


def test_each_metric_shows_the_arms_differences_beside_its_days(report: str) -> None:
    figures = re.findall(r"<figure>(.*?)</figure>", report, re.S)
    assert all("class='pair'" in figure and "compare-" in figure for figure in figures)
    traces = _traces_of(report, "compare-0")  # engagement: only "ranked" differs from chrono
    assert [trace["name"] for trace in traces] == ["ranked"]
    assert traces[0]["x"] == [1.0]
    assert traces[0]["marker"]["symbol"] == "circle"  # a zero-width interval excludes 0


def test_not_distinguishable_differences_are_flagged(tmp_path: Path) -> None:
    rows = []
    for seed, (base, new) in enumerate([(1.0, 2.0), (1.0, 0.5), (1.0, 1.4)]):
        rows += [("base", seed, 1, "m", base), ("new", seed, 1, "m", new)]
    frame = pl.DataFrame(rows, schema=METRICS_SCHEMA, orient="row")
    comparison = compare_arms(frame, "base", {})
    path = tmp_path / "r.html"
    write_report(path, frame, comparison, title="t", config_toml="")
    page = path.read_text(encoding="utf-8")
    assert "<td>3</td><td><span class='ns' title='interval includes 0'>n.s.</span></td>" in page
    trace = _traces_of(page, "compare-0")[0]
    assert trace["marker"]["symbol"] == "circle-open"


def _rich_frame() -> pl.DataFrame:
    rows = []
    arms = {"chrono": 0.0, "ranked": 1.0}
    for arm, shift in arms.items():
        for seed in range(3):
            for metric, value in {
                "time_spent_min": 10 + 5 * shift + seed,
                "affective_gap": 30 + shift,
                "impressions_false_share": 0.04 + 0.01 * shift,
                "wellbeing_mean": 0.6 - 0.01 * shift,
                "reach_false": 1.0 + shift + 0.1 * seed,
            }.items():
                rows.append((arm, seed, 1, metric, float(value)))
    return pl.DataFrame(rows, schema=METRICS_SCHEMA, orient="row")


def test_trade_off_chart_and_amplification(tmp_path: Path) -> None:
    frame = _rich_frame()
    comparison = compare_arms(frame, "chrono", {})
    amplified = amplification(frame, "chrono")
    path = tmp_path / "r.html"
    write_report(
        path, frame, comparison, title="t", config_toml="", amplification=amplified,
        reference="chrono",
    )  # fmt: skip
    page = path.read_text(encoding="utf-8")
    trade = _traces_of(page, "trade-off")
    assert len(trade) == 2 * 3  # two arms in three panels
    ranked = [t for t in trade if t["name"] == "ranked"]
    assert ranked[0]["x"] == [16.0] and ranked[0]["y"] == [31.0]
    assert ranked[0]["error_x"]["visible"] is True
    assert [t["error_y"]["visible"] for t in trade if t["name"] == "chrono"] == [False] * 3
    bars = _traces_of(page, "amplification")
    assert [b["name"] for b in bars] == ["ranked"]
    assert bars[0]["x"] == ["false"]
    assert "Amplification by content group" in page
