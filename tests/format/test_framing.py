"""The zstd container: chunks and their unjoined pieces, frames, and the stream that reads both."""

from __future__ import annotations

import io
import random
import struct

import pytest
import zstandard

from kcap.errors import Corrupt
from kcap.format.framing import Decompressor
from kcap.format.stream import RecordStream

SKIPPABLE = (0x184D2A50).to_bytes(4, "little") + (4).to_bytes(4, "little") + b"idx!"


def frames(*payloads: bytes) -> bytes:
    return b"".join(zstandard.ZstdCompressor().compress(p) for p in payloads)


def test_pieces_join_to_the_chunks_and_the_content() -> None:
    payload = random.Random(3).randbytes(600_000)  # incompressible: many small pieces
    data = frames(payload[:250_000]) + SKIPPABLE + frames(payload[250_000:])
    chunks = list(Decompressor(io.BytesIO(data), chunk_size=1 << 16))
    dec = Decompressor(io.BytesIO(data), chunk_size=1 << 16)
    parts = list(dec.parts())
    assert len(chunks) == len(parts) > 2
    assert [b"".join(p) for p in parts] == chunks
    assert b"".join(chunks) == payload
    assert (dec.frames, dec.skippable_frames, dec.terminated) == (2, 1, True)
    assert dec.raw_bytes == len(payload) and dec.compressed_bytes == len(data)


def test_the_record_stream_reads_pieces_and_whole_chunks_alike() -> None:
    records = [bytes([i % 256]) * (i * 37 % 500 + 1) for i in range(3000)]
    blob = b"".join(len(r).to_bytes(2, "little") + r for r in records)
    data = frames(blob)

    def walk(chunks: object) -> list[bytes]:
        stream = RecordStream(chunks)  # type: ignore[arg-type]
        out = []
        while stream._fill(2):
            n = int.from_bytes(stream.peek(2), "little")
            assert stream._fill(2 + n)
            out.append(stream.buf[stream.pos + 2 : stream.pos + 2 + n])
            stream.pos += 2 + n
        return out

    small = Decompressor(io.BytesIO(data), chunk_size=4096)
    assert walk(small.parts()) == records
    assert walk(Decompressor(io.BytesIO(data), chunk_size=4096)) == records


def skippable(size: int) -> bytes:
    return (0x184D2A5E).to_bytes(4, "little") + size.to_bytes(4, "little") + b"s" * size


@pytest.mark.parametrize("size", [0, 4, 300, 5000])
def test_skippable_frames_anywhere_are_stepped_over(size: int) -> None:
    """Before the first frame, between frames (where the frame before ends inside a piece of
    input already read, so the skippable frame may lie in it in part or whole), at the end."""
    rng = random.Random(size)
    a, b = rng.randbytes(70_000), rng.randbytes(50_000)
    data = skippable(size) + frames(a) + skippable(size) + frames(b) + skippable(size)
    dec = Decompressor(io.BytesIO(data))
    assert b"".join(dec) == a + b
    assert (dec.frames, dec.skippable_frames, dec.terminated) == (2, 3, True)
    assert dec.compressed_bytes == len(data)


def test_event_runs_give_the_sections_next_event_gives_and_stop_where_it_must(engine) -> None:
    """RecordStream.event_run hands over many complete event sections at once (the native
    kernel: the pure one hands over none, and next_event reads them one by one); it stops at a
    limit, at a byte budget, and before anything next_event must read or report itself."""
    header = b"sutarbif\x02\x00" + bytes(8) + struct.pack("<BBII", 2, 1, 0, 0)
    bodies = [bytes([i]) * (40 + i) for i in range(30)]
    sections = [struct.pack("<BBII", 3, 2, 0, len(b)) + b for b in bodies]
    odd = struct.pack("<BBII", 9, 1, 0, 4) + b"abcd"  # not an event section
    raw = header + b"".join(sections[:20]) + odd + b"".join(sections[20:])

    def stream() -> RecordStream:
        s = RecordStream([raw], kernel=engine.kernel)
        s.read_header()
        s.read_handle_section()
        return s

    one_by_one = stream()
    expected = [one_by_one.next_event() for _ in range(20)]
    s = stream()
    if engine.name == "pure":
        assert s.event_run(5, 1 << 20) == ([], 0)
        return
    first, size = s.event_run(5, 1 << 20)
    assert first == expected[:5] and size == sum(len(b) for b in bodies[:5])
    budget, size = s.event_run(100, len(bodies[5]) + 1)  # stops once the budget is reached
    assert budget == expected[5:7]
    rest, _ = s.event_run(100, 1 << 20)
    assert rest == expected[7:20]  # and not past the odd section
    assert s.event_run(100, 1 << 20) == ([], 0)
    with pytest.raises(Corrupt, match="section type 9"):
        s.next_event()
