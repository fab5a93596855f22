"""Sustained live capture under load: offered rate, written, lost, capture CPU, drain time.

Run as root: ``python benchmarks/bench_capture.py [--workloads same,distinct,net,mixed]
[--rates 100000,200000,400000] [--seconds 5] [--baseline /path/to/other/checkout]``.

Each measurement starts a load generator process and, at the same time, ``capture_to_file`` in a
child process of its own (so each checkout's code is imported fresh, and its CPU time is its
own). The load runs a fixed number of iterations per second; each workload says how many
events one iteration makes:

* ``same``: open and close one file (CreateFile, CreateHandle, CloseFile, CloseHandle: 4);
* ``distinct``: the same on 100,000 files in turn, which defeats the parameter caches (4);
* ``net``: a UDP datagram sent to and received from a loopback socket (Send, Recv: 2);
* ``mixed``: open one of 1,000 files, read a byte, close it, plus one UDP exchange (7).

The offered rate is iterations x events per iteration / the load's own duration. "written"
is every event of the capture (other processes of the machine included) over the load's
duration plus the drain (what the capture needed after the stop for what was still buffered),
so falling behind shows as a lower rate. "lost" is the events the capture reports lost (a
checkout that counts only kernel records shows those, marked "rec"). "CPU" is the capture
process's CPU time over the capture (100 % = one core); "us/ev" is that CPU time per event
written, the figure that stays comparable when other work on the machine takes CPU away from
the capture; "drain" is the time the stop took; "B/ev" the file size per event. With
``--baseline`` every row runs against both checkouts, interleaved (alternating which goes
first), and the ratio column is this checkout's written rate over the baseline's. The machine
is shared, so compare within one run only.

``--soak SECONDS`` runs one workload (the first of ``--workloads``) at the first rate for that
long and prints the capture's RSS and CPU share every ``--sample`` seconds, to show both stay
flat.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

EVENTS_PER_ITERATION = {"same": 4, "distinct": 4, "net": 2, "mixed": 7}
PATHS = {"same": 1, "distinct": 100_000, "net": 0, "mixed": 1000}

LOAD = r"""
import os, socket, sys, time
workload, rate, seconds, base, npaths = (
    sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], int(sys.argv[5]))
paths = [f"{base}.{i}" for i in range(npaths)]  # created before the capture starts
rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rx.bind(("127.0.0.1", 0))
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dest = rx.getsockname()
o, c, r = os.open, os.close, os.read
send, recv = tx.sendto, rx.recv
data = b"x" * 64

def one(i):
    if workload == "net":
        send(data, dest); recv(100)
    elif workload == "mixed":
        fd = o(paths[i % npaths], os.O_RDONLY); r(fd, 1); c(fd)
        send(data, dest); recv(100)
    else:
        c(o(paths[i % npaths], os.O_RDONLY))

sys.stdin.readline()  # go
batch = max(1, int(rate) // 1000)  # paced in 1 ms steps
start = time.perf_counter()
end = start + seconds
done = 0
while True:
    now = time.perf_counter()
    if now >= end:
        break
    due = int((now - start) * rate)
    if done >= due:
        time.sleep(0.0005)
        continue
    for i in range(done, done + min(batch, due - done)):
        one(i)
    done += min(batch, due - done)
print(done, time.perf_counter() - start, flush=True)
"""

# Runs in a child with the checkout's src/ first on sys.path; prints one JSON line at the end
# (and, with a sample interval, one per interval: elapsed, RSS, CPU share).
CAPTURE = r"""
import json, os, sys, time
src, out, duration, sample = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
sys.path.insert(0, src)
from kcap.sources.linux.session import CaptureConfig, capture_to_file

def rss_mb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0

last = [time.monotonic(), time.process_time()]
def progress(p):
    now, cpu = time.monotonic(), time.process_time()
    share = 100 * (cpu - last[1]) / max(1e-9, now - last[0])
    last[:] = [now, cpu]
    print(json.dumps({"t": round(p.elapsed, 1), "rss_mb": round(rss_mb(), 1),
                      "cpu": round(share, 1), "rate": round(p.rate)}), flush=True)

def ready():
    print("READY", flush=True)

res = capture_to_file(out, CaptureConfig(), duration=duration, ready=ready,
                      progress=progress if sample else None, progress_interval=sample or 0.5)
lost_events = getattr(res, "lost_events", None)
print(json.dumps({
    "events": res.events, "records": res.records, "duration": res.duration,
    "drain": res.drain_seconds, "cpu": res.cpu_seconds,
    "lost": lost_events if lost_events is not None else res.lost,
    "lost_unit": "events" if lost_events is not None else "records",
    "size": os.path.getsize(res.path), "rss_mb": rss_mb(),
    "lost_records": getattr(res, "lost_records", res.lost),
    "skipped": getattr(res, "skipped_records", 0),
    "peak_fill": getattr(res, "peak_fill", -1.0),
}), flush=True)
"""


@dataclass
class Row:
    offered: float
    written: float
    lost: int
    lost_unit: str
    cpu: float
    drain: float
    bytes_per_event: float
    us_per_event: float  # capture CPU time per event written: robust on a busy machine
    detail: str = ""  # where the loss came from


def measure(
    src: Path, workload: str, rate: float, seconds: float, workdir: Path, sample: float = 0
) -> Row:
    target = workdir / "target"
    out = workdir / "bench.kcap"
    epi = EVENTS_PER_ITERATION[workload]
    cap = subprocess.Popen(
        [sys.executable, "-c", CAPTURE, str(src), str(out), str(seconds + 0.5), str(sample)],
        stdout=subprocess.PIPE,
        text=True,
    )
    load = subprocess.Popen(
        [
            sys.executable,
            "-c",
            LOAD,
            workload,
            str(rate / epi),
            str(seconds),
            str(target),
            str(PATHS[workload]),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert cap.stdout is not None and load.stdin is not None and load.stdout is not None
    try:
        line = cap.stdout.readline()
        if line.strip() != "READY":
            raise SystemExit(f"the capture did not start: {line}")
        load.stdin.write("go\n")
        load.stdin.flush()
        done, took = load.stdout.read().split()
        result: dict[str, object] = {}
        for line in cap.stdout:
            data = json.loads(line)
            if "events" in data:
                result = data
            else:
                print(
                    f"    t={data['t']:7.1f}s  RSS {data['rss_mb']:7.1f} MB  "
                    f"CPU {data['cpu']:5.1f}%  {data['rate']:>9,} events/s",
                    flush=True,
                )
    finally:
        load.wait()
        cap.wait()
    out.unlink(missing_ok=True)
    events = int(result["events"])  # type: ignore[call-overload]
    drain = float(result["drain"])  # type: ignore[arg-type]
    cpu = float(result["cpu"])  # type: ignore[arg-type]
    duration = float(result["duration"])  # type: ignore[arg-type]
    lost = result["lost"]
    lost_n = sum(lost.values()) if isinstance(lost, dict) else int(lost)  # type: ignore[call-overload]
    return Row(
        offered=int(done) * epi / float(took),
        written=events / (float(took) + drain),
        lost=lost_n,
        lost_unit=str(result["lost_unit"]),
        cpu=100.0 * cpu / (duration + drain),
        drain=drain,
        bytes_per_event=int(result["size"]) / max(1, events),  # type: ignore[call-overload]
        us_per_event=1e6 * cpu / max(1, events),
        detail=f"events by kind {lost}, kernel records {result['lost_records']}, "
        f"skipped at stop {result['skipped']}, peak buffer fill {result['peak_fill']}",
    )


def _cells(row: Row) -> str:
    unit = "" if row.lost_unit == "events" else " rec"
    return (
        f"{row.written:9,.0f} {row.lost:>9,}{unit:4} {row.cpu:4.0f}% {row.us_per_event:5.2f} "
        f"{row.drain:5.2f} {row.bytes_per_event:5.1f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rates", default="100000,200000,400000", help="offered events/s")
    ap.add_argument("--workloads", default="same,distinct,net,mixed")
    ap.add_argument("--baseline", type=Path, help="another checkout to compare with")
    ap.add_argument("--soak", type=float, default=0.0, help="one long run of this many seconds")
    ap.add_argument("--sample", type=float, default=10.0, help="soak sampling interval (s)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: live capture loads eBPF programs")
    rates = [float(r) for r in args.rates.split(",")]
    workloads = args.workloads.split(",")
    for w in workloads:
        if w not in EVENTS_PER_ITERATION:
            sys.exit(f"unknown workload {w}; choose from {', '.join(EVENTS_PER_ITERATION)}")
    checkouts = [("this", REPO / "src")]
    if args.baseline is not None:
        checkouts.append(("base", args.baseline.resolve() / "src"))
    with tempfile.TemporaryDirectory(prefix="kcap-bench-") as tmp:
        workdir = Path(tmp)
        for i in range(max(PATHS.values())):
            (workdir / f"target.{i}").write_bytes(b"x")
        if args.soak:
            w = workloads[0]
            print(f"soak: {w} at {rates[0]:,.0f} events/s offered for {args.soak:g} s")
            row = measure(checkouts[0][1], w, rates[0], args.soak, workdir, args.sample)
            print(f"  overall: offered {row.offered:,.0f}/s  {_cells(row)}")
            print(f"  lost: {row.detail}")
            return
        head = "written/s      lost      CPU  us/ev drain  B/ev"
        print(
            f"{args.seconds:g} s per row, all event kinds; load average "
            f"{os.getloadavg()[0]:.2f}; CPU = capture process, 100% = one core"
        )
        names = "  |  ".join(f"{n:^46}" for n, _ in checkouts)
        print(
            f"{'workload':9} {'offered/s':>10}  {names}" + ("  ratio" if len(checkouts) > 1 else "")
        )
        print(f"{'':9} {'':>10}  " + "  |  ".join(head for _ in checkouts))
        flip = False
        for w in workloads:
            for rate in rates:
                order = checkouts[::-1] if flip else checkouts
                flip = not flip
                rows: dict[str, Row] = {}
                for name, src in order:
                    rows[name] = measure(src, w, rate, args.seconds, workdir)
                    time.sleep(0.5)
                cells = "  |  ".join(_cells(rows[n]) for n, _ in checkouts)
                offered = rows["this"].offered
                line = f"{w:9} {offered:10,.0f}  {cells}"
                if "base" in rows:
                    line += f"  {rows['this'].written / max(1.0, rows['base'].written):5.2f}x"
                print(line, flush=True)


if __name__ == "__main__":
    main()
