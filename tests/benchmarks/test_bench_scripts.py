"""The benchmark scripts still run and produce what they claim (tiny inputs, no timing checks)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import kcap

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "benchmarks"

pytestmark = pytest.mark.slow

FIXED = (0, 4, 0xFFFFFFFF)  # ids the generator never shifts


def run_script(name: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "src")
    proc = subprocess.run(
        [sys.executable, str(BENCH / name), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def read_all(path: Path) -> list[kcap.Event]:
    with kcap.open(path) as reader:
        events = [ev.decode() for ev in reader.read(include_state=True)]
        assert reader.stats.errors == 0
    return events


def test_generated_capture_keeps_the_source_mix_in_the_newest_layout(
    live2022: Path, tmp_path: Path
) -> None:
    out = tmp_path / "gen.kcap"
    run_script("gen_capture.py", out, "--events", 2000, "--source", live2022)
    with kcap.open(live2022) as reader:
        source = [ev.decode() for _, ev in zip(range(2000), reader.read(include_state=True))]
    with kcap.open(out) as reader:
        assert reader.detection.layout.table == "2023c"  # written by the newest encoder
    events = read_all(out)
    assert len(events) == 2000
    assert [ev.seq for ev in events] == list(range(2000))
    assert [ev.name for ev in events] == [ev.name for ev in source]
    assert [len(ev.params) for ev in events] == [len(ev.params) for ev in source]
    with_body = [ev for ev in events if ev.process is not None]
    assert with_body, "process bodies of rundown events must be kept"
    assert len(with_body) == sum(ev.process is not None for ev in source)


def test_repetitions_differ_but_stay_consistent(live2022: Path, tmp_path: Path) -> None:
    out = tmp_path / "rep.kcap"
    n = 300  # the live capture opens with rundowns: process bodies and pid/ppid parameters
    with kcap.open(live2022) as reader:
        source = [ev.decode() for _, ev in zip(range(n), reader.read(include_state=True))]
    total = 2 * n + n // 2
    run_script("gen_capture.py", out, "--events", total, "--source", live2022, "--source-limit", n)
    events = read_all(out)
    assert len(events) == total
    assert [ev.seq for ev in events] == list(range(total))
    ns = [ev.timestamp.ns for ev in events]
    assert ns[n] > ns[n - 1] and ns[2 * n] > ns[2 * n - 1]  # each repetition comes later
    second = events[n : 2 * n]
    shift = next(ev.pid - orig.pid for orig, ev in zip(source, second) if orig.pid not in FIXED)
    assert shift and shift % 4 == 0
    shifted_params = shifted_bodies = 0
    for orig, ev in zip(source, second):
        assert ev.name == orig.name
        assert ev.pid == (orig.pid if orig.pid in FIXED else orig.pid + shift)
        for name in ("pid", "ppid"):
            value = orig.param(name)
            if isinstance(value, int) and value not in FIXED:
                assert ev.param(name) == value + shift
                shifted_params += 1
        if orig.process is not None and orig.process.pid not in FIXED:
            assert ev.process is not None
            assert ev.process.pid == orig.process.pid + shift
            assert ev.process.name == orig.process.name
            shifted_bodies += 1
    assert shifted_params and shifted_bodies
    # every other repetition takes the source's ids again, so replay state stays bounded
    assert [ev.pid for ev in events[2 * n :]] == [ev.pid for ev in source[: n // 2]]


def test_bench_rw_prints_every_scenario(live2022: Path, tmp_path: Path) -> None:
    capture = tmp_path / "small.kcap"
    run_script("gen_capture.py", capture, "--events", 2000, "--source", live2022, "--quiet")
    results = tmp_path / "results.json"
    proc = run_script(
        "bench_rw.py",
        capture,
        "--source",
        live2022,
        "--workdir",
        tmp_path / "work",
        "--repeat",
        1,
        "--rss-sizes",
        "1000,2000",
        "--plain",
        "--json",
        results,
    )
    out = proc.stdout
    assert "small.kcap: 2,000 events" in out
    assert "peak RSS (MB) by capture size" in out
    summary = json.loads(results.read_text())
    scenarios = summary[0]["scenarios"]
    assert set(scenarios) == {
        "zstd",
        "orjson",
        "orjson-touch",
        "orjson-ps",
        "full",
        "decode",
        "header",
        "header-ns",
        "write",
    }
    for key in ("full", "decode", "header", "header-ns", "write"):
        assert scenarios[key]["events"] == 2000
    for key in ("orjson", "orjson-touch", "orjson-ps"):
        assert scenarios[key]["events"] == 2000
    for res in scenarios.values():
        assert res["events_per_s"] > 0 and res["rss_mb"] > 0
    # (c) wrote a real capture: every event, a plausible size next to the input's
    write, full = scenarios["write"], scenarios["full"]
    assert 0.9 < write["out_raw"] / full["in_raw"] < 1.1
    assert 0 < write["out_compressed"] < write["out_raw"]
    assert set(summary[1]["rss_by_size"]) == {"1000", "2000"}
    # the generated captures and the JSON baseline stay in the work directory, not the repo
    assert list((tmp_path / "work").glob("gen-*-1000.kcap"))
    assert list((tmp_path / "work").glob("small-*.jsonl.zst"))


def test_profile_mode_prints_a_profile(live2022: Path, tmp_path: Path) -> None:
    capture = tmp_path / "small.kcap"
    run_script("gen_capture.py", capture, "--events", 500, "--source", live2022, "--quiet")
    proc = run_script("bench_rw.py", "--profile", "header", capture, "--workdir", tmp_path)
    assert "function calls" in proc.stdout


def test_bench_rules_runs_and_reports_both_rows(live2022: Path, tmp_path: Path) -> None:
    proc = run_script("bench_rules.py", "--events", 2000, "--repeat", 1, "--workdir", tmp_path)
    assert "replay+rules" in proc.stdout and "vs replay" in proc.stdout
