"""The timed scenarios of bench_rw.py: each reads (or writes) one capture once.

They run in a child process of bench_rw.py, which times them and reports their peak RSS;
`Outcome` says what each one read or wrote.
"""

from __future__ import annotations

import cProfile
import io
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
import zstandard
from _consumer import touch_event, touch_json

import kcap


@dataclass
class Outcome:
    events: int
    out_compressed: int | None = None  # bytes of the file a scenario wrote
    out_raw: int | None = None
    in_raw: int | None = None  # decompressed bytes of the input


def run_full(path: Path) -> Outcome:
    n = 0
    acc = 0
    with kcap.open(path) as reader:
        for ev in reader.read(include_state=True):
            acc += touch_event(ev)
            n += 1
        return Outcome(n, in_raw=reader.raw_bytes)


def run_decode_only(path: Path) -> Outcome:
    n = 0
    with kcap.open(path) as reader:
        for _ev in reader.read(include_state=True):
            n += 1
        return Outcome(n, in_raw=reader.raw_bytes)


def run_header(path: Path) -> Outcome:
    n = 0
    acc = 0
    with kcap.open(path) as reader:
        for ev in reader.read(include_state=True, lazy=True):
            acc += ev.seq + ev.pid + len(ev.name) + (ev.timestamp is not None)
            n += 1
        return Outcome(n, in_raw=reader.raw_bytes)


def run_header_ns(path: Path) -> Outcome:
    n = 0
    acc = 0
    with kcap.open(path) as reader:
        for ev in reader.read(include_state=True, lazy=True):
            acc += ev.seq + ev.pid + len(ev.name) + ev.timestamp.ns
            n += 1
        return Outcome(n, in_raw=reader.raw_bytes)


def _stream_size(path: Path) -> int:
    """Decompressed size of a zstd file (untimed bookkeeping)."""
    total = 0
    with path.open("rb") as fh:
        rd = zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True)
        while chunk := rd.read(1 << 20):
            total += len(chunk)
    return total


def timed_write(
    path: Path,
    out: Path,
    chunk: int,
    clock: Callable[[], float] = time.process_time,
    prof: cProfile.Profile | None = None,
) -> tuple[float, Outcome]:
    """Time only `Writer.write` and `close`; reading the chunks to write is not timed.

    ``prof``, when given, is enabled only while writing, like the clock.
    """
    elapsed = 0.0
    n = 0
    resume = prof.enable if prof is not None else _nothing
    pause = prof.disable if prof is not None else _nothing
    with kcap.open(path) as reader:
        handles = reader.handles
        events = reader.read(include_state=True)
        writer = kcap.new_writer(out, handles=handles)
        write = writer.write
        while batch := list(itertools.islice(events, chunk)):
            resume()
            start = clock()
            for ev in batch:
                write(ev)
            elapsed += clock() - start
            pause()
            n += len(batch)
            del batch
        resume()
        start = clock()
        stats = writer.close()
        elapsed += clock() - start
        pause()
    if stats.write_errors:
        raise SystemExit(f"{stats.write_errors} event(s) could not be written")
    return elapsed, Outcome(n, out_compressed=out.stat().st_size, out_raw=_stream_size(out))


def _nothing() -> None:
    pass


def run_zstd(path: Path) -> Outcome:
    raw = 0
    with path.open("rb") as fh:
        rd = zstandard.ZstdDecompressor().stream_reader(
            fh, read_size=1 << 17, read_across_frames=True
        )
        while chunk := rd.read(1 << 20):
            raw += len(chunk)
    return Outcome(0, in_raw=raw)


def run_orjson(jsonl: Path, touch: bool = False) -> Outcome:
    n = 0
    acc = 0
    loads = orjson.loads
    with jsonl.open("rb") as fh:
        lines = io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(fh), 1 << 20)
        if touch:
            for line in lines:
                acc += touch_json(loads(line))
                n += 1
        else:
            for line in lines:
                loads(line)
                n += 1
    return Outcome(n)


READERS: dict[str, Callable[[Path], Outcome]] = {
    "full": run_full,
    "decode": run_decode_only,
    "header": run_header,
    "header-ns": run_header_ns,
    "zstd": run_zstd,
}
