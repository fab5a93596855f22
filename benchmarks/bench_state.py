"""Throughput of the process and handle snapshotters: update + attach per event.

Streams are built in memory so that only the snapshotters are measured (no decoding):

* ``live-2022 shape``: the type mix of the live 2022 Fibratus capture (kcap-format.md §15):
  45% handle events, 25% registry, 14% image rundowns, 6% file, a few percent thread/process
  events; 230 processes with ~45 modules each.
* ``steady state``: after the rundowns, 98% events that change no state (file, registry,
  network), 2% thread/image/process lifecycle.
* ``rundown burst``: only process/thread/image rundowns (the start of every capture).

Each stream is replayed three ways:

* ``handler()``: what the reader does -- one cached handler lookup per snapshotter, call it
  if present, then attach;
* ``update()``: the convenience methods;
* ``baseline``: the same loop doing nothing but touching ``ev.type`` and ``ev.pid`` (the cost
  of the Python loop itself).

Usage: ``python benchmarks/bench_state.py [--events N] [--repeat R]``. Prints a table.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from kcap.model import Event, Param, ParamType, Process, Timestamp
from kcap.model.catalogue import by_name
from kcap.state import HandleSnapshotter, ProcessSnapshotter

LIVE_2022_MIX = {
    "CloseHandle": 16739,
    "CreateHandle": 16323,
    "ImageRundown": 9950,
    "RegOpenKey": 9924,
    "RegQueryValue": 5904,
    "RegKCBRundown": 3196,
    "RegQueryKey": 2263,
    "ReadFile": 2178,
    "ThreadRundown": 1821,
    "WriteFile": 985,
    "OpenProcess": 891,
    "CloseFile": 678,
    "CreateFile": 529,
    "ReleaseFile": 495,
    "SetFileInformation": 259,
    "ProcessRundown": 232,
    "TerminateThread": 127,
    "Recv": 105,
    "UnloadImage": 102,
    "CreateThread": 86,
    "LoadImage": 70,
    "Send": 61,
    "TerminateProcess": 4,
    "CreateProcess": 2,
}
STEADY_MIX = {
    "RegOpenKey": 30,
    "RegQueryValue": 20,
    "ReadFile": 15,
    "WriteFile": 10,
    "CreateFile": 8,
    "CloseFile": 8,
    "Recv": 4,
    "Send": 3,
    "CreateThread": 0.6,
    "TerminateThread": 0.6,
    "LoadImage": 0.4,
    "UnloadImage": 0.3,
    "CreateProcess": 0.05,
    "TerminateProcess": 0.05,
}
RUNDOWN_MIX = {"ProcessRundown": 1, "ThreadRundown": 8, "ImageRundown": 43}

START = Timestamp("2024-12-11T10:20:00.5+02:00")
SYSTEM_SID = bytes.fromhex("010100000000000512000000")  # S-1-5-18


class StreamBuilder:
    """Events of plausible shape over a fixed set of pids."""

    def __init__(self, rng: random.Random, nprocs: int = 230) -> None:
        self.rng = rng
        self.pids = [4 * (i + 2) for i in range(nprocs)]
        self.ids = {name: et.id for name, et in by_name().items()}
        self.next_pid = 100_000
        self.bases: dict[int, list[int]] = {pid: [] for pid in self.pids}

    def pid(self) -> int:
        return self.rng.choice(self.pids)

    def event(self, kind: str) -> Event:
        rng = self.rng
        pid = self.pid()
        params: list[Param] = []
        process = None
        if kind in ("CreateHandle", "CloseHandle"):
            params = [
                Param("handle_id", ParamType.UINT32, rng.randrange(4, 4096, 4)),
                Param("handle_object", ParamType.ADDRESS, 0xFFFF_0000_0000 + rng.randrange(30000)),
                Param("type_id", ParamType.UNICODE, "File"),
                Param("handle_name", ParamType.UNICODE, "C:\\x"),
            ]
        elif kind in ("ProcessRundown", "CreateProcess"):
            child = pid if kind == "ProcessRundown" else self.new_pid()
            params = [
                Param("pid", ParamType.PID, child),
                Param("ppid", ParamType.PID, self.pid()),
                Param("name", ParamType.UNICODE, "svchost.exe"),
                Param("cmdline", ParamType.UNICODE, "C:\\Windows\\system32\\svchost.exe -k x"),
                Param("exe", ParamType.UNICODE, "C:\\Windows\\system32\\svchost.exe"),
                Param("sid", ParamType.WBEM_SID, bytes(16) + SYSTEM_SID),
                Param("session_id", ParamType.UINT32, 0),
                Param("flags", ParamType.FLAGS, 0),
                Param("start_time", ParamType.TIME, START),
            ]
            process = Process(pid=pid, ppid=self.pid(), name="svchost.exe")
            if kind == "ProcessRundown":
                process.pid = child
        elif kind == "TerminateProcess":
            params = [Param("pid", ParamType.PID, self.pids[-1] if rng.random() < 0.5 else pid)]
        elif kind in ("ThreadRundown", "CreateThread", "TerminateThread"):
            params = [
                Param("pid", ParamType.PID, pid),
                Param("tid", ParamType.TID, rng.randrange(1, 20000)),
                Param("base_prio", ParamType.UINT8, 8),
                Param("ustack", ParamType.ADDRESS, 0x7000_0000),
                Param("kstack", ParamType.ADDRESS, 0xFFFF_8000_0000),
                Param("start_address", ParamType.ADDRESS, 0x7FF6_0000),
            ]
        elif kind in ("ImageRundown", "LoadImage", "UnloadImage"):
            bases = self.bases.setdefault(pid, [])
            if kind == "UnloadImage" and bases:
                base = rng.choice(bases)
            else:
                base = 0x7FF0_0000_0000 + rng.randrange(80) * 0x10_0000
                bases.append(base)
            params = [
                Param("pid", ParamType.PID, pid),
                Param("base_address", ParamType.ADDRESS, base),
                Param("image_size", ParamType.UINT64, 0x5000),
                Param("file_path", ParamType.UNICODE, "C:\\Windows\\System32\\kernel32.dll"),
                Param("checksum", ParamType.UINT32, 0),
            ]
        else:
            params = [Param("file_path", ParamType.UNICODE, "C:\\Windows\\x.txt")]
        return Event(pid=pid, type=self.ids[kind], name=kind, params=params, process=process)

    def new_pid(self) -> int:
        self.next_pid += 4
        return self.next_pid

    def stream(self, mix: dict[str, float], n: int, with_rundown: bool) -> list[Event]:
        events = []
        if with_rundown:  # every pid known, as after the rundowns that start a capture
            events += [self.event("ProcessRundown") for _ in self.pids]
            self.rng.shuffle(events)
        kinds = list(mix)
        weights = [mix[k] for k in kinds]
        events += [self.event(k) for k in self.rng.choices(kinds, weights, k=n)]
        return events


def run_handlers(events: list[Event]) -> None:
    hs = HandleSnapshotter()
    ps = ProcessSnapshotter(hs)
    hget, pget, attach = hs.handler, ps.handler, ps.attach
    for ev in events:
        t = ev.type
        h = hget(t)
        if h is not None:
            h(ev)
        h = pget(t)
        if h is not None:
            h(ev)
        attach(ev)


def run_update(events: list[Event]) -> None:
    hs = HandleSnapshotter()
    ps = ProcessSnapshotter(hs)
    for ev in events:
        hs.update(ev)
        ps.update(ev)
        ps.attach(ev)


def run_baseline(events: list[Event]) -> None:
    sink = 0
    for ev in events:
        sink ^= len(ev.type) + ev.pid


def best_of(fn: Callable[[list[Event]], None], events: list[Event], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn(events)
        best = min(best, time.process_time() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    streams = {
        "live-2022 shape": (LIVE_2022_MIX, False),
        "steady state": (STEADY_MIX, True),
        "rundown burst": (RUNDOWN_MIX, False),
    }
    rows = []
    for label, (mix, with_rundown) in streams.items():
        builder = StreamBuilder(random.Random(args.seed))
        events = builder.stream(mix, args.events, with_rundown)
        # a first ProcessRundown pass so that image/thread events find their processes
        if not with_rundown:
            events = builder.stream({"ProcessRundown": 1}, 0, True) + events
        n = len(events)
        for way, fn in (("handler()", run_handlers), ("update()", run_update)):
            secs = best_of(fn, events, args.repeat)
            rows.append((label, way, n, n / secs, secs / n * 1e9))
        base = best_of(run_baseline, events, args.repeat)
        rows.append((label, "baseline loop", n, n / base, base / n * 1e9))

    python = sys.version.split()[0]
    print(f"snapshotter update + attach, best of {args.repeat} by CPU time (Python {python})")
    header = f"{'stream':<17} {'path':<14} {'events':>9} {'events/s':>12} {'ns/event':>9}"
    print(header)
    print("-" * len(header))
    for label, way, n, rate, ns in rows:
        print(f"{label:<17} {way:<14} {n:>9,} {rate:>12,.0f} {ns:>9.0f}")


if __name__ == "__main__":
    main()
