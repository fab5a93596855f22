"""bench_cli.py runs and prints both of its tables (tiny input, no timing checks)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kcap.demo import write_demo_capture

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_bench_cli_prints_start_up_and_throughput(tmp_path: Path) -> None:
    capture = tmp_path / "demo.kcap"
    write_demo_capture(capture)
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    script = REPO / "benchmarks" / "bench_cli.py"
    done = subprocess.run(
        [sys.executable, str(script), str(capture), "--runs", "1", "--startup-runs", "2"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    rows = {line.split("  ")[0].strip() for line in done.stdout.splitlines()}
    for label in ("python -c pass (floor)", "kcap --version", "kcap --help", "info", "info --json"):
        assert label in rows, label
    assert "replay --format jsonl" in rows
