"""Throughput of the ``kcap`` command itself: replay to /dev/null in each format, and info.

    python benchmarks/bench_cli.py [CAPTURE] [--runs N]

Each scenario runs ``python -m kcap ...`` as a child process with stdout on /dev/null, as a
user would; the table gives events/s by wall clock and by the child's CPU time (the CPU figure
is steadier on a busy machine), and the child's peak resident set size. The best of N runs is
reported. Default capture: ../shared/fixtures/fibratus/test-live-2022.kcap.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CAPTURE = REPO / ".." / "shared" / "fixtures" / "fibratus" / "test-live-2022.kcap"


def event_counts(capture: Path) -> tuple[int, int]:
    """(replayed events, all records) of the capture."""
    sys.path.insert(0, str(REPO / "src"))
    import kcap

    with kcap.open(capture) as reader:
        replayed = sum(1 for _ in reader.read(lazy=True))
        return replayed, reader.stats.events_read


def run_child(args: list[str]) -> tuple[float, float, float]:
    """(wall s, cpu s, peak RSS MiB) of one ``python -m kcap ARGS`` run."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        subprocess.run([sys.executable, "-m", "kcap", *args], stdout=devnull, env=env, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("capture", nargs="?", type=Path, default=DEFAULT_CAPTURE)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    capture: Path = args.capture
    if not capture.exists():
        sys.exit(f"capture {capture} not found")
    replayed, records = event_counts(capture)
    scenarios = [
        ("replay --format jsonl", ["replay", str(capture), "--format", "jsonl"], replayed),
        ("replay --format json", ["replay", str(capture), "--format", "json"], replayed),
        ("replay --format text", ["replay", str(capture), "--format", "text"], replayed),
        ("info", ["info", str(capture)], records),
    ]
    print(
        f"capture: {capture.name}, {replayed:,} replayed events of {records:,} records, "
        f"best of {args.runs} runs\n"
    )
    header = (
        f"{'command':<24} {'wall s':>7} {'cpu s':>7} {'events/s wall':>14} {'events/s cpu':>13}"
    )
    print(header + f" {'peak RSS MiB':>13}")
    print("-" * (len(header) + 14))
    for label, argv, n in scenarios:
        runs = [run_child(argv) for _ in range(args.runs)]
        wall = min(r[0] for r in runs)
        cpu = min(r[1] for r in runs)
        rss = max(r[2] for r in runs)
        print(f"{label:<24} {wall:7.2f} {cpu:7.2f} {n / wall:14,.0f} {n / cpu:13,.0f} {rss:13.0f}")
    print("\n(replay rows count replayed events; info counts every record it reads)")


if __name__ == "__main__":
    main()
