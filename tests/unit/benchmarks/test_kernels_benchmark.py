"""The kernel-efficiency benchmark runs end to end on a small society and writes its table."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "kernels.py"


def test_the_kernel_benchmark_writes_rates_beside_the_machine_limits(tmp_path) -> None:
    out = tmp_path / "kernels.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--people", "400", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    table = json.loads(out.read_text())
    assert table["machine"]["matmul_gflops"] > 0
    assert table["scoring"]["candidates"] > 0
    assert 0 < table["scoring"]["share_of_matmul"] < 1
    reference = table["scoring_reference"]
    assert reference["candidates"] == table["scoring"]["candidates"]
    assert reference["candidates_per_second"] > 0
    roofline = table["roofline"]
    assert roofline["flops_per_byte"] > 0
    assert 0 < roofline["gflops"] <= table["machine"]["matmul_gflops"]
    assert "scoring roofline" in done.stdout
    assert "scoring, compiled (serving)" in done.stdout
    assert table["top_k"]["kernel_rows_per_second"] > 0
