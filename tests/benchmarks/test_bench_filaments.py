"""bench_filaments.py still runs and reports every scenario (a tiny capture, no timing checks)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_bench_filaments_reports_each_scenario(cap1: Path, tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    script = REPO / "benchmarks" / "bench_filaments.py"
    args = [str(cap1), "--runs", "1", "--workdir", str(tmp_path), "--plain"]
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    labels = [row.split("|")[1].strip() for row in rows[1:]]
    assert labels == [
        "replay --format jsonl",
        "-f count_events",
        "-f count (on_next_event)",
        "-f count (on_kcap_event)",
    ]
    assert all(row.split("|")[2].strip() == "100" for row in rows[1:])  # events of cap1
    header = [cell.strip() for cell in rows[0].split("|")[1:-1]]
    baseline = dict(zip(header, (cell.strip() for cell in rows[1].split("|")[1:-1])))
    assert baseline["vs jsonl"] == "1.00x"
    assert float(baseline["peak MiB"]) > 0
