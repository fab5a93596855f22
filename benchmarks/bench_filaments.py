"""Filaments: ``kcap replay -f`` with a filament that counts events by name, against
``kcap replay --format jsonl`` on the same capture, measured in the same run (issue 13).

    python benchmarks/bench_filaments.py [CAPTURE ...] [--events N] [--runs R] [--workdir DIR]

Without CAPTURE it measures test-live-2022.kcap and a generated capture of ``--events`` records
(default 1,000,000; made once by gen_capture.py under ``--workdir`` and reused). Every command
runs as a child process with stdout on /dev/null, as a user would run it; the runs of all
scenarios are interleaved so that a change in the machine's load hits them alike, and the best
of ``--runs`` is kept. Times are the child's CPU time (user + system; steadier than wall time on
a shared machine) and include its start-up. events/s counts replayed events (rundowns excluded).
Peak MiB is the child's own peak resident set size (its rusage from ``wait4``), the highest of
its runs; it must not grow with the capture's size.

Scenarios:

* ``replay --format jsonl``: the baseline (every event rendered as a JSON line);
* ``-f count_events``: the bundled filament, ``on_next_kevent`` with the dictionary of
  Fibratus up to December 2024 (``kparams``) -- the row the target applies to (>= 0.5x);
* ``-f count (on_next_event)``: the same count with the later dictionary (``params``);
* ``-f count (on_kcap_event)``: the same count on the kcap Event itself (no dictionary).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    DEFAULT_WORKDIR,
    LIVE_CAPTURE,
    child_env,
    ensure_kcap_importable,
    fmt_rate,
    fmt_ratio,
    load_average,
    print_table,
    progress,
)

ensure_kcap_importable()

import kcap  # noqa: E402

COUNT_EVENT = '''"""Counts events by name (later Fibratus API)."""
import collections
counts = collections.Counter()
def on_next_event(event):
    counts[event["name"]] += 1
def on_stop():
    print(len(counts))
'''

COUNT_KCAP = '''"""Counts events by name (kcap's own hook)."""
import collections
counts = collections.Counter()
def on_kcap_event(event):
    counts[event.name] += 1
def on_stop():
    print(len(counts))
'''


def replayed(capture: Path) -> int:
    with kcap.open(capture) as reader:
        return sum(1 for _ in reader.read(lazy=True, track_state=False))


def run_kcap(args: list[str]) -> tuple[float, float, float]:
    """(wall s, cpu s, peak RSS MiB) of one ``python -m kcap ARGS`` child (its own rusage)."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kcap", *args],
            stdout=devnull,
            stderr=subprocess.PIPE,
            env=child_env(),
        )
        assert proc.stderr is not None
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"kcap {' '.join(args)} failed: {err.decode().strip()}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024  # KiB on Linux


def measure(capture: Path, workdir: Path, runs: int) -> list[list[str]]:
    event_script = workdir / "bench_count_event.py"
    event_script.write_text(COUNT_EVENT)
    kcap_script = workdir / "bench_count_kcap.py"
    kcap_script.write_text(COUNT_KCAP)
    scenarios = [
        ("replay --format jsonl", ["--format", "jsonl"]),
        ("-f count_events", ["-f", "count_events"]),
        ("-f count (on_next_event)", ["-f", str(event_script)]),
        ("-f count (on_kcap_event)", ["-f", str(kcap_script)]),
    ]
    n = replayed(capture)
    best: dict[str, tuple[float, float, float]] = {}
    for r in range(runs):
        for label, extra in scenarios:
            progress(f"{capture.name}: {label} (run {r + 1}/{runs})")
            wall, cpu, rss = run_kcap(["replay", str(capture), *extra])
            old = best.get(label, (float("inf"), float("inf"), 0.0))
            best[label] = (min(old[0], wall), min(old[1], cpu), max(old[2], rss))
    base_cpu = best[scenarios[0][0]][1]
    rows = []
    for label, _ in scenarios:
        wall, cpu, rss = best[label]
        rows.append(
            [
                label,
                f"{n:,}",
                f"{cpu:.2f}",
                f"{wall:.2f}",
                fmt_rate(n / cpu),
                fmt_ratio(base_cpu / cpu),
                f"{rss:.0f}",
            ]
        )
    return rows


def generated(workdir: Path, events: int) -> Path:
    from bench_rw import generated as make

    return make(workdir, events, LIVE_CAPTURE)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("captures", nargs="*", type=Path, help="captures to measure")
    ap.add_argument("--events", type=int, default=1_000_000, help="size of the generated capture")
    ap.add_argument("--runs", type=int, default=3, help="runs per scenario (best kept)")
    ap.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="generated files")
    ap.add_argument("--plain", action="store_true", help="plain-text tables")
    args = ap.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    captures = args.captures or [LIVE_CAPTURE, generated(args.workdir, args.events)]
    for capture in captures:
        if not capture.exists():
            sys.exit(f"capture {capture} not found")
    for capture in captures:
        rows = measure(capture, args.workdir, args.runs)
        print_table(
            f"kcap replay under a filament: {capture.name}, best of {args.runs} "
            f"({load_average()}; CPU time, start-up included)",
            ["scenario", "events", "cpu s", "wall s", "events/s (cpu)", "vs jsonl", "peak MiB"],
            rows,
            plain=True if args.plain else None,
        )
    print("\ntarget: -f count_events >= 0.50x replay --format jsonl")
    return 0


if __name__ == "__main__":
    sys.exit(main())
