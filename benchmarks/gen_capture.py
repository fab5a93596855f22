"""Generate a large capture shaped like a real one, for the benchmarks.

    python benchmarks/gen_capture.py OUT --events 1000000 [--seed S] [--source CAPTURE]

The events of ``--source`` (default: the Fibratus fixture test-live-2022.kcap), rundowns and
process bodies included, are written again and again through `kcap.new_writer` in the newest
layout until ``--events`` records are written, so names, parameters and process bodies keep the
source's mix. Each repetition is made distinct: sequence numbers keep counting up, timestamps
move on by the source's time span, and every other repetition shifts process/thread ids by a
small random multiple of 4 (the same shift in the event header, pid/tid parameters and process
bodies, so state rebuilt on replay stays consistent, and as bounded as in the source). The
source is re-read for each repetition, never held in memory, so generating any size takes the
memory of one event at a time.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import LIVE_CAPTURE, ensure_kcap_importable, progress

ensure_kcap_importable()

import kcap  # noqa: E402
from kcap.model.params import Param, Params, ParamType  # noqa: E402
from kcap.model.process import Process  # noqa: E402
from kcap.model.timestamp import Timestamp  # noqa: E402

#: Bump when the shape of generated captures changes (names of reused files include it).
GENERATOR_VERSION = 3
#: Ids Windows reserves (idle, System) and "unknown" (-1 as u32) are never shifted.
FIXED_IDS = frozenset((0, 4, 0xFFFFFFFF))
_ID_TYPES = (ParamType.PID, ParamType.TID)


@dataclasses.dataclass
class Shift:
    """How one repetition differs from the source."""

    ns: int = 0  # added to every event timestamp
    ids: int = 0  # added to every pid/tid outside FIXED_IDS

    def id(self, value: int) -> int:
        if not self.ids or value in FIXED_IDS or value + self.ids > 0xFFFFFFFF:
            return value
        return value + self.ids


def _shift_process(proc: Process, shift: Shift) -> Process:
    # A copy: the reader's process snapshotter holds the original by its pid.
    return dataclasses.replace(
        proc,
        pid=shift.id(proc.pid),
        ppid=shift.id(proc.ppid),
        handles=[dataclasses.replace(h, pid=shift.id(h.pid)) for h in proc.handles],
    )


def _apply(ev: kcap.Event, seq: int, shift: Shift) -> None:
    ev.seq = seq
    if not shift.ns and not shift.ids:
        return
    if shift.ns:
        ts = ev.timestamp
        ev.timestamp = Timestamp.from_ns(ts.ns + shift.ns, ts.offset)
    if shift.ids:
        ev.pid = shift.id(ev.pid)
        ev.tid = shift.id(ev.tid)
        params = ev.params.all()
        if any(p.type in _ID_TYPES for p in params):
            ev.params = Params(
                Param(p.name, p.type, shift.id(p.value), p.elem)
                if p.type in _ID_TYPES and isinstance(p.value, int)
                else p
                for p in params
            )
        if ev.process is not None:
            ev.process = _shift_process(ev.process, shift)


def generate(
    out: Path,
    events: int,
    seed: int = 1,
    source: Path = LIVE_CAPTURE,
    quiet: bool = False,
    source_limit: int | None = None,
) -> kcap.WriterStats:
    """Write ``events`` records shaped like ``source`` to ``out``; return the writer's stats.

    ``source_limit`` repeats only the first that many events of the source (small tests).
    """
    id_shift = 4 * random.Random(seed).randint(1, 16)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    with kcap.open(source) as reader:
        handles = list(reader.handles)
    writer = kcap.new_writer(tmp, handles=handles)
    written = 0
    repetition = 0
    span_ns = 0
    started = time.perf_counter()
    next_report = 100_000
    try:
        while written < events:
            # Move on past the previous repetition in time. Ids alternate between the source's
            # and a shifted set (Windows ids are multiples of 4), so neighbouring repetitions
            # differ while the processes alive at any time stay as many as in a real capture:
            # a fresh set per repetition would pile up state no real capture has.
            shift = Shift(ns=repetition * span_ns, ids=id_shift if repetition % 2 else 0)
            first_ns = last_ns = None
            with kcap.open(source) as reader:
                for i, ev in enumerate(reader.read(include_state=True)):
                    if i == source_limit:
                        break
                    if first_ns is None:
                        first_ns = ev.timestamp.ns
                    last_ns = ev.timestamp.ns
                    _apply(ev, written, shift)
                    writer.write(ev)
                    written += 1
                    if written >= events:
                        break
                    if not quiet and written >= next_report:
                        rate = written / (time.perf_counter() - started)
                        progress(f"  {written:,} events written ({rate:,.0f}/s)")
                        next_report += 100_000
            if first_ns is None:
                raise SystemExit(f"{source} holds no events to repeat")
            if not repetition and last_ns is not None:
                span_ns = last_ns - first_ns + 1_000_000  # plus 1 ms between repetitions
            repetition += 1
    finally:
        stats = writer.close()
    tmp.replace(out)
    if not quiet:
        elapsed = time.perf_counter() - started
        progress(
            f"  wrote {out}: {written:,} events in {repetition} repetition(s), "
            f"{stats.capture_size or 0:,} bytes, {elapsed:.1f}s"
        )
    return stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="capture to write")
    ap.add_argument("--events", type=int, default=1_000_000, help="records to write")
    ap.add_argument("--seed", type=int, default=1, help="seed of the id shift")
    ap.add_argument("--source", type=Path, default=LIVE_CAPTURE, help="capture to repeat")
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    ap.add_argument("--source-limit", type=int, help="repeat only the first N events of the source")
    args = ap.parse_args(argv)
    if args.events <= 0:
        ap.error("--events must be positive")
    if not args.source.exists():
        ap.error(f"source capture {args.source} not found")
    if args.source_limit is not None and args.source_limit <= 0:
        ap.error("--source-limit must be positive")
    generate(args.out, args.events, args.seed, args.source, args.quiet, args.source_limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
