"""The ``kcap`` command itself: start-up time, and throughput of replay and info.

    python benchmarks/bench_cli.py [CAPTURE] [--runs N] [--startup-runs M]

Start-up: how long ``kcap --version``, ``kcap --help`` and a command's ``--help`` take from
exec to exit (wall clock, best and median of M runs, and the child's CPU time), beside the
interpreter's own start-up (``python -c pass``) measured in the same run; the target is
< 100 ms.

Throughput: each scenario runs ``python -m kcap ...`` as a child process with stdout on
/dev/null, as a user would; the table gives events/s by wall clock and by the child's CPU time
(the CPU figure is steadier on a busy machine), and the child's peak resident set size. The
best of N runs is reported. Default capture: ../shared/fixtures/fibratus/test-live-2022.kcap.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CAPTURE = REPO / ".." / "shared" / "fixtures" / "fibratus" / "test-live-2022.kcap"
ENV = dict(os.environ, PYTHONPATH=str(REPO / "src"))


def event_counts(capture: Path) -> tuple[int, int]:
    """(replayed events, all records) of the capture."""
    sys.path.insert(0, str(REPO / "src"))
    import kcap

    with kcap.open(capture) as reader:
        replayed = sum(1 for _ in reader.read(lazy=True))
        return replayed, reader.stats.events_read


def run_child(args: list[str]) -> tuple[float, float, float]:
    """(wall s, cpu s, peak RSS MiB) of one ``python -m kcap ARGS`` run.

    ``wait4`` gives the resource usage of that child alone (``RUSAGE_CHILDREN`` would report
    the largest peak of every child so far).
    """
    start = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        child = subprocess.Popen([sys.executable, "-m", "kcap", *args], stdout=devnull, env=ENV)
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"kcap {' '.join(args)} failed with exit status {child.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024  # Linux reports KiB


def startup_scenarios() -> list[tuple[str, list[str]]]:
    py = sys.executable
    rows = [
        ("python -c pass (floor)", [py, "-c", "pass"]),
        ("python -c 'import kcap'", [py, "-c", "import kcap"]),
        ("kcap --version", [py, "-m", "kcap", "--version"]),
        ("kcap --help", [py, "-m", "kcap", "--help"]),
        ("kcap (bare: the help)", [py, "-m", "kcap"]),
        ("kcap info --help", [py, "-m", "kcap", "info", "--help"]),
        ("kcap replay --help", [py, "-m", "kcap", "replay", "--help"]),
    ]
    # The installed console script, when this interpreter has one (pip install -e .).
    script = shutil.which("kcap", path=str(Path(py).parent))
    if script is not None:
        rows.append(("kcap --version (script)", [script, "--version"]))
    return rows


def time_startup(argv: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU (user + system) seconds of each of ``runs`` runs of ``argv``."""
    walls, cpus = [], []
    with open(os.devnull, "wb") as devnull:
        for _ in range(runs):
            start = time.perf_counter()
            child = subprocess.Popen(argv, stdout=devnull, env=ENV)
            _, status, usage = os.wait4(child.pid, 0)
            walls.append(time.perf_counter() - start)
            cpus.append(usage.ru_utime + usage.ru_stime)
            if os.waitstatus_to_exitcode(status) != 0:
                raise SystemExit(f"{' '.join(argv)} failed")
    return walls, cpus


def print_startup(runs: int) -> None:
    print(f"start-up, {runs} runs each (target < 100 ms wall); {load_average()}\n")
    header = (
        f"{'command':<26} {'wall best ms':>12} {'wall median ms':>15} {'cpu median ms':>14}"
        f" {'cpu over floor ms':>18}"
    )
    print(header)
    print("-" * len(header))
    floor = None
    for label, argv in startup_scenarios():
        walls, cpus = time_startup(argv, runs)
        cpu = statistics.median(cpus) * 1000
        if floor is None:
            floor = cpu
        print(
            f"{label:<26} {min(walls) * 1000:12.1f} {statistics.median(walls) * 1000:15.1f}"
            f" {cpu:14.1f} {cpu - floor:18.1f}"
        )
    print("\n(CPU time is what the process itself spent: steadier than wall on a busy machine)\n")


def load_average() -> str:
    try:
        return f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    except OSError:
        return f"{os.cpu_count()} cores"


def print_throughput(capture: Path, runs: int) -> None:
    replayed, records = event_counts(capture)
    scenarios = [
        ("replay --format jsonl", ["replay", str(capture), "--format", "jsonl"], replayed),
        ("replay --format json", ["replay", str(capture), "--format", "json"], replayed),
        ("replay --format text", ["replay", str(capture), "--format", "text"], replayed),
        ("info", ["info", str(capture)], records),
        ("info --json", ["info", str(capture), "--json"], records),
    ]
    print(
        f"capture: {capture.name}, {replayed:,} replayed events of {records:,} records, "
        f"best of {runs} runs\n"
    )
    header = (
        f"{'command':<24} {'wall s':>7} {'cpu s':>7} {'events/s wall':>14} {'events/s cpu':>13}"
    )
    print(header + f" {'peak RSS MiB':>13}")
    print("-" * (len(header) + 14))
    for label, argv, n in scenarios:
        measured = [run_child(argv) for _ in range(runs)]
        wall = min(r[0] for r in measured)
        cpu = min(r[1] for r in measured)
        rss = max(r[2] for r in measured)
        print(f"{label:<24} {wall:7.2f} {cpu:7.2f} {n / wall:14,.0f} {n / cpu:13,.0f} {rss:13.0f}")
    print("\n(replay rows count replayed events; info counts every record it reads)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("capture", nargs="?", type=Path, default=DEFAULT_CAPTURE)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--startup-runs", type=int, default=20)
    args = parser.parse_args()
    capture: Path = args.capture
    if not capture.exists():
        sys.exit(f"capture {capture} not found")
    print_startup(args.startup_runs)
    print_throughput(capture, args.runs)


if __name__ == "__main__":
    main()
