"""The zstd container: decompress a capture as a stream of chunks, and compress one.

A capture is one zstd frame (docs/format.md, "Container"); this also accepts several concatenated
frames and skippable frames (which later versions of this project use for an index), and a frame
whose writer died before closing it (no final block: every flushed block is still returned).

Memory is bounded whatever the file says: compressed input is fed in small pieces, so even a
decompression bomb produces at most ``FEED_SIZE`` x (zstd's maximum ratio, about 32 768) bytes
per step (16 MiB), and callers consume the output as it comes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import zstandard

from kcap.errors import BadMagic, Corrupt

#: Compressed bytes fed to the decompressor per step (bounds the output of one step).
FEED_SIZE = 512
#: Decompressed bytes gathered before handing a chunk to the parser.
CHUNK_SIZE = 1 << 20

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_SKIPPABLE_LOW = 0x184D2A50


def is_skippable(head: bytes) -> bool:
    return len(head) >= 4 and int.from_bytes(head[:4], "little") & 0xFFFFFFF0 == _SKIPPABLE_LOW


class Decompressor:
    """Iterate the decompressed content of a kcap file in chunks of about ``CHUNK_SIZE`` bytes.

    After iteration, ``terminated`` tells whether the last frame was closed properly,
    ``compressed_bytes`` and ``raw_bytes`` how much was consumed and produced, and ``frames``
    how many data frames were seen.
    """

    def __init__(self, fh: BinaryIO, path: str | None = None, chunk_size: int = CHUNK_SIZE):
        self._fh = fh
        self._path = path
        self._chunk_size = chunk_size
        self.terminated = True
        self.compressed_bytes = 0
        self.raw_bytes = 0
        self.frames = 0
        self.skippable_frames = 0

    def _read(self, n: int) -> bytes:
        data = self._fh.read(n)
        self.compressed_bytes += len(data)
        return data

    def __iter__(self) -> Iterator[bytes]:
        for parts in self.parts():
            yield parts[0] if len(parts) == 1 else b"".join(parts)

    def parts(self) -> Iterator[list[bytes]]:
        """The chunks as lists of the pieces the decompressor produced, not yet joined: a
        reader that joins them with bytes of its own copies each byte once, not twice."""
        dctx = zstandard.ZstdDecompressor(max_window_size=1 << 27)
        # Decompressed pieces gathered until a chunk is due.
        pending: list[bytes] = []
        pending_size = 0
        carry = b""  # compressed bytes read but not yet given to a decompressor
        first = True
        while True:
            head = carry if len(carry) >= 8 else carry + self._read(8 - len(carry))
            carry = b""
            if not head:
                break
            if is_skippable(head):
                if len(head) < 8:
                    self.terminated = False
                    break
                size = int.from_bytes(head[4:8], "little")
                # head is all that was left over from the frame before: the skippable frame's
                # content may be in it, in part or whole, and the next frame after it
                rest = head[8:]
                if len(rest) >= size:
                    carry = rest[size:]
                else:
                    self._skip(size - len(rest))
                self.skippable_frames += 1
                first = False
                continue
            if not head.startswith(ZSTD_MAGIC):
                if first:
                    raise BadMagic(
                        "invalid kcap file magic number: the file is not zstd-compressed "
                        "(is it a kcap capture?)",
                        path=self._path,
                    )
                raise Corrupt(
                    "unexpected bytes after a zstd frame "
                    f"(at compressed offset {self.compressed_bytes - len(head)})",
                    path=self._path,
                )
            first = False
            self.frames += 1
            dobj = dctx.decompressobj()
            decompress, read, chunk_size = dobj.decompress, self._fh.read, self._chunk_size
            data = head
            while True:  # once per FEED_SIZE bytes: kept to the bare minimum
                try:
                    out = decompress(data)
                except zstandard.ZstdError as exc:
                    raise Corrupt(
                        f"cannot decompress data near compressed offset "
                        f"{self.compressed_bytes}: {exc}",
                        path=self._path,
                    ) from None
                if out:
                    pending.append(out)
                    pending_size += len(out)
                    if pending_size >= chunk_size:
                        self.raw_bytes += pending_size
                        yield pending
                        pending, pending_size = [], 0
                if dobj.eof:
                    carry = dobj.unused_data
                    break
                data = read(FEED_SIZE)
                self.compressed_bytes += len(data)
                if not data:
                    # The writer never closed the frame: everything flushed was returned.
                    self.terminated = False
                    break
            if not self.terminated:
                break
        if pending:
            self.raw_bytes += pending_size
            yield pending

    def _skip(self, size: int) -> None:
        # Seek where possible; a pipe is read through in bounded pieces.
        try:
            self._fh.seek(size, 1)
            self.compressed_bytes += size
        except (OSError, ValueError):
            while size > 0:
                got = self._read(min(size, 1 << 16))
                if not got:
                    break
                size -= len(got)


class Compressor:
    """A zstd frame written to a file, flushed block by block.

    ``flush()`` ends the current block so a reader of the growing file sees everything written
    so far; ``close()`` ends the frame.
    """

    def __init__(self, fh: BinaryIO, level: int = 3) -> None:
        self._fh = fh
        self._cobj = zstandard.ZstdCompressor(level=level).compressobj()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        out = self._cobj.compress(data)
        if out:
            self._fh.write(out)

    def flush(self) -> None:
        self._fh.write(self._cobj.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK))
        self._fh.flush()

    def close(self) -> None:
        self._fh.write(self._cobj.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH))
        self._fh.flush()
