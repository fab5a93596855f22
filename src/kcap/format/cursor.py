"""A bounds-checked reader over one record, for the less frequent bodies (handles, process, PE).

The hot event decoder in `events.py` uses flat closures instead; here clarity wins because these
bodies are rare (one per process) and every length in them is untrusted.
"""

from __future__ import annotations

import struct

from kcap.errors import Corrupt
from kcap.model.timestamp import Timestamp


class Cursor:
    __slots__ = ("_f64", "_u16", "_u32", "_u64", "buf", "end", "off", "prefix", "what")

    def __init__(self, buf: bytes, off: int, end: int, prefix: str, what: str) -> None:
        self.buf = buf
        self.off = off
        self.end = end
        self.what = what
        self.prefix = prefix
        self._u16 = struct.Struct(prefix + "H").unpack_from
        self._u32 = struct.Struct(prefix + "I").unpack_from
        self._u64 = struct.Struct(prefix + "Q").unpack_from
        self._f64 = struct.Struct(prefix + "d").unpack_from

    def need(self, n: int, field: str) -> int:
        off = self.off
        if off + n > self.end:
            raise Corrupt(
                f"{self.what}: {field} needs {n} byte(s) but only {self.end - off} remain",
                offset=off,
            )
        self.off = off + n
        return off

    def u8(self, field: str) -> int:
        return self.buf[self.need(1, field)]

    def bool8(self, field: str) -> bool:
        return self.buf[self.need(1, field)] != 0

    def u16(self, field: str) -> int:
        return int(self._u16(self.buf, self.need(2, field))[0])

    def u32(self, field: str) -> int:
        return int(self._u32(self.buf, self.need(4, field))[0])

    def i32(self, field: str) -> int:
        v = self.u32(field)
        return v - (1 << 32) if v & 0x80000000 else v

    def u64(self, field: str) -> int:
        return int(self._u64(self.buf, self.need(8, field))[0])

    def f64(self, field: str) -> float:
        return float(self._f64(self.buf, self.need(8, field))[0])

    def raw(self, n: int, field: str) -> bytes:
        off = self.need(n, field)
        return self.buf[off : off + n]

    def str16(self, field: str) -> str:
        n = self.u16(field + " length")
        return self.raw(n, field).decode("utf-8", "surrogateescape")

    def ts(self, field: str) -> Timestamp:
        return Timestamp(self.str16(field))

    def str_list(self, field: str) -> list[str]:
        return [self.str16(field) for _ in range(self.u16(field + " count"))]

    def pairs(self, field: str) -> list[tuple[str, str]]:
        return [(self.str16(field), self.str16(field)) for _ in range(self.u16(field + " count"))]

    def expect_end(self) -> None:
        if self.off != self.end:
            raise Corrupt(
                f"{self.what}: {self.end - self.off} byte(s) left over after the last field",
                offset=self.off,
            )
