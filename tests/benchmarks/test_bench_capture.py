"""bench_capture.py still runs every workload, the side-by-side mode and the soak (tiny runs)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "bench_capture.py"

pytestmark = [pytest.mark.live, pytest.mark.slow]


def run(*args: str) -> str:
    if os.geteuid() != 0:
        pytest.skip("live capture needs root (the CI runs as root)")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_every_workload_against_a_baseline_checkout() -> None:
    out = run(
        "--seconds",
        "0.5",
        "--rates",
        "2000",
        "--workloads",
        "same,distinct,net,mixed",
        "--baseline",
        str(REPO),
    )
    rows = [line for line in out.splitlines() if re.match(r"^(same|distinct|net|mixed) ", line)]
    assert [r.split()[0] for r in rows] == ["same", "distinct", "net", "mixed"]
    for row in rows:
        assert row.count("|") == 1 and row.rstrip().endswith("x")  # both checkouts, a ratio
        offered = float(row.split()[1].replace(",", ""))
        assert 1000 < offered < 3000


def test_soak_samples_rss_and_cpu() -> None:
    out = run("--soak", "2", "--sample", "0.5", "--rates", "2000", "--workloads", "mixed")
    samples = [line for line in out.splitlines() if "RSS" in line and "CPU" in line]
    assert len(samples) >= 2
    assert "overall:" in out and "lost: events by kind" in out
