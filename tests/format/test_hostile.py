"""Hostile input: the reader raises only KcapError subclasses, never hangs, never over-allocates.

Truncation tests cut the *decompressed* stream and recompress it, then check not only the error
type but that exactly the events complete before the cut were yielded; boundaries are computed
here by walking the section sizes, independently of the reader.
"""

from __future__ import annotations

import io
import resource
import struct
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import NamedTuple

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

import kcap
from kcap.errors import BadMagic, Corrupt, KcapError, LimitExceeded, Truncated
from kcap.format.detect import TRIAL_EVENTS

from .legacy import Legacy
from .samples import events as sample_events


def decompress(path: Path) -> bytes:
    with path.open("rb") as fh:
        return b"".join(zstandard.ZstdDecompressor().read_to_iter(fh))


def compress(raw: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=1).compress(raw)


def replay(data: bytes, lazy: bool = False) -> tuple[int, KcapError | None, int]:
    """(events yielded, fatal error or None, non-fatal error count). Anything else propagates."""
    n = 0
    try:
        with kcap.open(io.BytesIO(data)) as reader:
            try:
                for _ in reader.read(include_state=True, lazy=lazy):
                    n += 1
            finally:
                nonfatal = reader.stats.errors
    except KcapError as exc:
        return n, exc, 0
    return n, None, nonfatal


def event_ends(raw: bytes) -> list[int]:
    """Offsets just past each event record of a little-endian 1.x/2.x stream."""
    (count,) = struct.unpack_from("<I", raw, 20)
    p = 28
    for _ in range(count):
        (size,) = struct.unpack_from("<H", raw, p)
        p += 2 + size
    ends = []
    while p < len(raw):
        (size,) = struct.unpack_from("<I", raw, p + 6)
        p += 10 + size
        ends.append(p)
    assert p == len(raw)
    return ends


class Cut(NamedTuple):
    """One truncation to try: the bytes left, and what the reader must make of them."""

    at: int  # the offset of the cut in the original stream, for the failure message
    data: bytes  # the decompressed stream up to the cut
    complete: int  # events wholly before the cut: exactly these must be yielded
    boundary: bool  # cut on a record boundary: a shorter capture, not a truncated one


def check_cut(cut: Cut) -> str | None:
    """Replay a cut stream; return a description of any wrong behaviour, None when right."""
    try:
        n, err, nonfatal = replay(compress(cut.data))
    except Exception as exc:  # anything but KcapError is a bug
        return f"cut {cut.at}: {type(exc).__name__}: {exc}"
    if len(cut.data) < 8:
        ok = isinstance(err, BadMagic) and n == 0
    else:
        ok = (err is None if cut.boundary else isinstance(err, Truncated)) and n == cut.complete
    if nonfatal:
        ok = False
    return None if ok else f"cut {cut.at}: {n} events (want {cut.complete}), error {err!r}"


def make_cut(raw: bytes, at: int, ends: list[int]) -> Cut:
    """The cut of ``raw`` at ``at``, windowed (see `windowed`)."""
    small, small_at, small_ends = windowed(raw, at, ends)
    boundary = small_at in small_ends or small_at == _events_start(small)
    complete = sum(1 for e in small_ends if e <= small_at)
    return Cut(at, small[:small_at], complete, boundary)


def _events_start(raw: bytes) -> int:
    (count,) = struct.unpack_from("<I", raw, 20)
    p = 28
    for _ in range(count):
        (size,) = struct.unpack_from("<H", raw, p)
        p += 2 + size
    return p


# Events kept before a cut deep in the stream: more than the reader's trial, so a windowed cut
# still goes through detection first and then the batched path.
_WINDOW = TRIAL_EVENTS + 40
# Handle records kept for a cut among the events (the live capture has twenty thousand).
_HANDLES_KEPT = 64


def windowed(raw: bytes, cut: int, ends: list[int]) -> tuple[bytes, int, list[int]]:
    """The same cut with all but the last `_WINDOW` complete events before it removed, and
    the handle snapshot shortened to `_HANDLES_KEPT` records.

    How the reader meets a cut among the events depends on the sections around the cut, not
    on how many events or handles came long before it; dropping those keeps each cut cheap,
    so every offset of a fixture can be tried on both engines.
    """
    start = _events_start(raw)
    if cut <= start:
        return raw, cut, ends
    (count,) = struct.unpack_from("<I", raw, 20)
    p = 28
    for _ in range(min(count, _HANDLES_KEPT)):
        (size,) = struct.unpack_from("<H", raw, p)
        p += 2 + size
    prefix = raw[:20] + struct.pack("<I", min(count, _HANDLES_KEPT)) + raw[24:p]
    complete = sum(1 for e in ends if e <= cut)
    first_kept = ends[complete - _WINDOW - 1] if complete > _WINDOW else start
    shift = first_kept - len(prefix)
    kept = [e - shift for e in ends if e > first_kept]
    return prefix + raw[first_kept:], cut - shift, kept


_STREAM: tuple[bytes, list[int]] = (b"", [])


def _share_stream(raw: bytes, ends: list[int]) -> None:
    """Pool initializer: each worker gets the stream once (sending it, or even each cut's
    bytes, with every job was most of the time these tests took)."""
    global _STREAM
    _STREAM = (raw, ends)


def _check_cut_at(at: int) -> str | None:
    raw, ends = _STREAM
    return check_cut(make_cut(raw, at, ends))


def run_cuts(raw: bytes, cuts: list[int]) -> list[str]:
    ends = event_ends(raw)
    with ProcessPoolExecutor(
        max_workers=2, initializer=_share_stream, initargs=(raw, ends)
    ) as pool:
        results = pool.map(_check_cut_at, cuts, chunksize=64)
        return [r for r in results if r is not None]


def test_a_windowed_cut_is_the_same_cut(live2022: Path) -> None:
    """`windowed` keeps the bytes around the cut, and the boundaries, exactly."""
    raw = decompress(live2022)
    ends = event_ends(raw)
    assert len(ends) > _WINDOW + 5
    cut = ends[_WINDOW + 3] + 7
    small, small_cut, small_ends = windowed(raw, cut, ends)
    assert len(small_ends) == len(ends) - 4  # cut just after event _WINDOW + 3
    assert struct.unpack_from("<I", small, 20) == (_HANDLES_KEPT,)
    assert _events_start(small) == small_ends[0] - (ends[4] - ends[3])
    assert small[:small_cut][-200:] == raw[:cut][-200:]
    assert small[small_cut:] == raw[cut:]
    assert [e for e in small_ends if e <= small_cut] == small_ends[:_WINDOW]
    assert check_cut(make_cut(raw, cut, ends)) is None


@pytest.mark.slow
@pytest.mark.parametrize("fixture", ["cap1", "cap2"])
def test_every_truncation_offset(request, fixture: str) -> None:
    raw = decompress(request.getfixturevalue(fixture))
    failures = run_cuts(raw, list(range(len(raw) + 1)))
    assert failures == [], failures[:5]


@pytest.mark.slow
def test_sampled_truncations_of_the_live_capture(live2022: Path) -> None:
    raw = decompress(live2022)
    start = _events_start(raw)
    # Dense in the header and handle snapshot, then spread over the events.
    cuts = sorted(
        {*range(0, 64), *range(start - 40, start + 200)}
        | {int(start + (len(raw) - start) * k / 220) for k in range(221)}
        | {int(start * k / 40) for k in range(40)}
    )
    assert len(cuts) >= 300
    failures = run_cuts(raw, cuts)
    assert failures == [], failures[:5]


@settings(max_examples=200, deadline=5000)
@given(data=st.data())
def test_random_byte_flips_never_escape(data: st.DataObject) -> None:
    raw = _SMALL_RAW[data.draw(st.sampled_from(sorted(_SMALL_RAW)))]
    flips = data.draw(
        st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(1, 255)), max_size=8)
    )
    mutated = bytearray(raw)
    for pos, xor in flips:
        mutated[pos] ^= xor
    n, _err, _nonfatal = replay(compress(bytes(mutated)))
    assert n <= 100


def _small_streams() -> dict[str, bytes]:
    out = {}
    from tests.conftest import FIBRATUS, NEWEST

    for path in (FIBRATUS / "cap1.kcap", FIBRATUS / "cap2.kcap", NEWEST / "synth-newest-le.kcap"):
        if path.exists():
            out[path.name] = decompress(path)
    out["legacy-2023b"] = Legacy(major=2, width=18, table="2023b", proc_version=3).stream(
        sample_events("2023b")
    )
    return out


_SMALL_RAW = _small_streams()

# --------------------------------------------------------------------------- lying lengths

HEADER = b"sutarbif\x02\x00" + bytes(8)
NO_HANDLES = struct.pack("<BBII", 2, 1, 0, 0)


def newest_body(**over: object) -> bytes:
    """One newest-layout event body; ``over`` replaces raw pieces to make it lie."""
    body = struct.pack("<QII", 1, 2, 3) + bytes(18) + b"\x00"
    for s in (b"CreateFile", b"file", b"", b"host", b"2024-01-01T00:00:00Z"):
        body += struct.pack("<H", len(s)) + s
    body += over.get("params", struct.pack("<H", 0))  # type: ignore[operator]
    body += struct.pack("<H", 0)  # metadata
    body += over.get("process", struct.pack("<BBII", 1, 4, 0, 0))  # type: ignore[operator]
    return body


def section(body: bytes, size: int | None = None) -> bytes:
    return struct.pack("<BBII", 3, 2, 0, len(body) if size is None else size) + body


def test_a_4gb_section_size_in_a_1kb_file() -> None:
    data = compress(HEADER + NO_HANDLES + section(newest_body(), 0xFFFFFFFF))
    n, err, _ = replay(data)
    assert n == 0 and isinstance(err, LimitExceeded)
    assert "4294967295" in str(err) and "byte 28" in str(err)


def test_a_section_size_past_the_end_under_the_limit_is_truncation() -> None:
    data = compress(HEADER + NO_HANDLES + section(newest_body(), 50_000))
    n, err, _ = replay(data)
    assert n == 0 and isinstance(err, Truncated)


def test_a_handle_count_of_four_billion() -> None:
    data = compress(HEADER + struct.pack("<BBII", 2, 1, 0xFFFFFFFF, 0))
    n, err, _ = replay(data)
    assert n == 0 and isinstance(err, Truncated)
    assert "4294967295" in str(err)


def _handle_record(obj: int) -> bytes:
    """One handle record with its u16 length: number, object, pid, type "File", no name, no
    metadata (tag 5)."""
    body = struct.pack("<QQI", 4, obj, 8) + struct.pack("<H", 4) + b"File"
    body += struct.pack("<H", 0) + bytes([5])
    return struct.pack("<H", len(body)) + body


def test_a_file_declaring_millions_of_identical_handles_stays_small() -> None:
    """Regression: a 17 KB file declaring 5 million identical handle records took 719 MB.
    Past the first quarter million records, a record identical to an earlier one is not kept
    again (and the repeats are reported)."""
    import tracemalloc

    count = 600_000  # more than stream.FAITHFUL_HANDLES: the repeats are no longer kept
    data = compress(HEADER + struct.pack("<BBII", 2, 1, count, 0) + _handle_record(0x1000) * count)
    assert len(data) < 20_000
    errors: list[kcap.KcapError] = []
    tracemalloc.start()
    try:
        with kcap.open(io.BytesIO(data), on_error=errors.append) as reader:
            handles = reader.handles
            assert sum(1 for _ in reader.read()) == 0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    from kcap.format.stream import FAITHFUL_HANDLES

    assert len(handles) == FAITHFUL_HANDLES and {h.object for h in handles} == {0x1000}
    assert peak < 80 << 20, f"{peak:,} bytes at the peak"
    (err,) = errors
    assert isinstance(err, LimitExceeded)
    repeats = count - FAITHFUL_HANDLES
    assert f"the handle section repeats {repeats:,} record(s) of an earlier one" in str(err)


def test_distinct_handles_beyond_the_limit_are_counted_and_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kcap.format import stream

    monkeypatch.setattr(stream, "FAITHFUL_HANDLES", 5)
    monkeypatch.setattr(stream, "MAX_HANDLES", 10)
    records = b"".join(_handle_record(0x1000 + i) for i in range(100))
    data = compress(HEADER + struct.pack("<BBII", 2, 1, 100, 0) + records)
    errors: list[kcap.KcapError] = []
    with kcap.open(io.BytesIO(data), on_error=errors.append) as reader:
        assert len(reader.handles) == 10
        assert list(reader.read()) == []
    (err,) = errors
    assert isinstance(err, LimitExceeded) and "90 distinct record(s) beyond the 10" in str(err)


@pytest.mark.parametrize(
    "lie",
    [
        {"params": struct.pack("<H", 0xFFFF)},  # 65535 parameters in a tiny body
        {"params": struct.pack("<HHH", 1, 1, 0xFFFF) + b"x"},  # name of 65535 bytes
        {"params": struct.pack("<HHH", 1, 14, 1) + b"b" + struct.pack("<I", 0xFFFFFFFF)},
        {"params": struct.pack("<HHH", 1, 26, 1) + b"s8" + struct.pack("<H", 0xFFFF)},
        {"params": struct.pack("<HHH", 1, 26, 1) + b"s" + b"\x73" + struct.pack("<H", 0xFFFF)},
        {"params": struct.pack("<HHH", 1, 15, 1) + b"g"},  # guid: no value encoding
        {"params": struct.pack("<HHH", 1, 999, 1) + b"z"},  # unknown type id
        {"process": struct.pack("<BBII", 1, 4, 0, 0xFFFFFFF0)},
        {"process": struct.pack("<BBII", 1, 9, 0, 4) + b"abcd"},  # unknown process version
        {"process": struct.pack("<BBII", 7, 4, 0, 0)},  # not a process section
    ],
)
def test_lying_lengths_inside_an_event_are_skipped_and_reported(lie: dict[str, bytes]) -> None:
    good = section(newest_body())
    data = compress(HEADER + NO_HANDLES + good + section(newest_body(**lie)) + good)
    errors: list[KcapError] = []
    with kcap.open(io.BytesIO(data), on_error=errors.append) as reader:
        got = list(reader.read())
    assert len(got) == 2  # the damaged event alone is left out
    assert len(errors) == 1 and isinstance(errors[0], Corrupt)
    assert errors[0].offset is not None and errors[0].offset >= 28 + len(good)


def test_unknown_section_type_is_fatal_after_the_good_events() -> None:
    good = section(newest_body())
    data = compress(HEADER + NO_HANDLES + good + struct.pack("<BBII", 9, 1, 0, 4) + b"abcd")
    n, err, _ = replay(data)
    assert n == 1 and isinstance(err, Corrupt) and "section type 9" in str(err)


# --------------------------------------------------------------------------- not captures


def test_zero_length_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.kcap"
    path.write_bytes(b"")
    with pytest.raises(BadMagic, match="invalid kcap file magic number") as info:
        kcap.open(path)
    assert str(path) in str(info.value)


def test_not_zstd_at_all(tmp_path: Path) -> None:
    path = tmp_path / "notes.kcap"
    path.write_text("these are my notes, not a capture\n" * 50)
    with pytest.raises(BadMagic, match="not zstd-compressed"):
        kcap.open(path)


def test_zstd_but_not_a_capture(tmp_path: Path) -> None:
    path = tmp_path / "other.kcap"
    path.write_bytes(compress(b"PK\x03\x04 a zip file perhaps" * 10))
    with pytest.raises(BadMagic, match="invalid kcap file magic number"):
        kcap.open(path)


def _bomb(prefix: bytes, zeros: int) -> bytes:
    cobj = zstandard.ZstdCompressor(level=3).compressobj()
    out = [cobj.compress(prefix)]
    block = bytes(1 << 20)
    for _ in range(zeros >> 20):
        out.append(cobj.compress(block))
    out.append(cobj.flush())
    return b"".join(out)


def test_decompression_bombs_stay_bounded() -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # 1 GiB of zeros: not a capture, noticed after the first bytes.
    n, err, _ = replay(_bomb(b"", 1 << 30))
    assert n == 0 and isinstance(err, BadMagic)
    # A valid header, then 512 MiB of zeros where events should be.
    n, err, _ = replay(_bomb(HEADER + NO_HANDLES, 512 << 20))
    assert n == 0 and isinstance(err, Corrupt)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 150, f"peak memory grew by {grown_mib:.0f} MiB"


def test_unterminated_frame_cut_between_events_is_clean(cap2: Path) -> None:
    raw = decompress(cap2)
    cobj = zstandard.ZstdCompressor().compressobj()
    data = cobj.compress(raw) + cobj.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
    with kcap.open(io.BytesIO(data)) as reader:
        assert len(list(reader.read())) == 100
        assert not reader.terminated


def test_a_different_type_id_in_every_event_does_not_grow_caches() -> None:
    import sys

    cat = sys.modules["kcap.model.catalogue"]

    bodies = []
    for i in range(6000):
        body = bytearray(newest_body())
        body[16:34] = i.to_bytes(18, "big")
        bodies.append(section(bytes(body)))
    data = compress(HEADER + NO_HANDLES + b"".join(bodies))
    with kcap.open(io.BytesIO(data)) as reader:
        assert sum(1 for _ in reader.read()) == 6000
        assert len(reader.plan.infos) <= 4096 and len(reader.plan.actions) <= 4096
    assert len(cat._LOOKUP_CACHE) <= 4096 + len(cat.catalogue()) * 2
