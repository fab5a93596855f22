"""Sustained live capture under an open/close load: offered rate, captured, lost, capture CPU.

Run as root: ``python benchmarks/bench_capture.py [--seconds 5] [--rates 5000,10000,...]``.

A load generator process opens and closes a file in a loop at a fixed rate (iterations per
second). Each iteration produces four events in the capture (CreateFile, CreateHandle,
CloseFile, CloseHandle), so the offered event rate is four times the iteration rate. The
capture runs in this process with all event kinds and writes a real capture file; the table
shows what it wrote per second, what the kernel dropped, and its CPU use (100 % = one core).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from kcap.sources.linux.session import CaptureConfig, capture_to_file

EVENTS_PER_ITERATION = 4

LOAD = r"""
import os, sys, time
rate, seconds, path = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
batch = max(1, rate // 1000)          # pace in 1 ms steps
start = time.perf_counter()
done = 0
end = start + seconds
o, c = os.open, os.close
while True:
    now = time.perf_counter()
    if now >= end:
        break
    due = int((now - start) * rate)
    if done >= due:
        time.sleep(0.0005)
        continue
    for _ in range(min(batch, due - done)):
        c(o(path, os.O_RDONLY))
    done += min(batch, due - done)
print(done, time.perf_counter() - start)
"""


def run(rate: int, seconds: float, workdir: Path) -> tuple[float, float, float, int, float]:
    target = workdir / "target"
    target.write_bytes(b"x")
    out = workdir / f"bench-{rate}.kcap"
    result_box: dict[str, object] = {}
    started = threading.Event()

    def load() -> None:
        started.wait()
        proc = subprocess.run(
            [sys.executable, "-c", LOAD, str(rate), str(seconds), str(target)],
            capture_output=True,
            text=True,
            check=True,
        )
        done, took = proc.stdout.split()
        result_box["iterations"] = int(done)
        result_box["took"] = float(took)

    th = threading.Thread(target=load)
    th.start()
    res = capture_to_file(
        str(out),
        CaptureConfig(kinds=frozenset({"process", "thread", "image", "file", "net", "handle"})),
        duration=seconds + 0.5,
        ready=started.set,
    )
    th.join()
    iterations = int(result_box["iterations"])  # type: ignore[call-overload]
    took = float(result_box["took"])  # type: ignore[arg-type]
    offered = iterations * EVENTS_PER_ITERATION / took
    written = res.events / res.duration
    cpu = 100.0 * res.cpu_seconds / res.duration
    size = out.stat().st_size
    out.unlink()
    return offered, written, cpu, res.lost, size / max(1, res.events)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rates", default="2500,5000,10000,20000,30000,40000")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: live capture loads eBPF programs")
    rates = [int(r) for r in args.rates.split(",")]
    print(
        f"{'offered ev/s':>13} {'written ev/s':>13} {'lost':>8} {'capture CPU':>12} "
        f"{'bytes/event':>12}"
    )
    with tempfile.TemporaryDirectory(prefix="kcap-bench-") as tmp:
        for rate in rates:
            offered, written, cpu, lost, bpe = run(rate, args.seconds, Path(tmp))
            print(f"{offered:13,.0f} {written:13,.0f} {lost:8,} {cpu:11.0f}% {bpe:12.1f}")
            time.sleep(0.5)


if __name__ == "__main__":
    main()
