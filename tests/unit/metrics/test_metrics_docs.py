"""Every metric the engine records is documented, and every documented metric is recorded."""

import re
from pathlib import Path

from feedlab.metrics.catalog import METRICS, summaries

DOCS = Path(__file__).parents[3] / "docs" / "metrics.md"


def test_docs_list_exactly_the_recorded_metrics() -> None:
    documented = set(re.findall(r"^\| `([a-z_0-9]+)` \|", DOCS.read_text(encoding="utf-8"), re.M))
    assert documented == {m.name for m in METRICS}


def test_every_metric_says_how_a_run_is_summarized() -> None:
    assert set(summaries().values()) <= {"mean", "final"}
    assert len(summaries()) == len(METRICS)
