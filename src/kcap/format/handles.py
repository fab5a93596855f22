"""Handle records (kcap-format.md §6) and the §12.2 pre-release 20-byte variant."""

from __future__ import annotations

import struct

from kcap.errors import Corrupt, EncodeError
from kcap.format.cursor import Cursor
from kcap.model.process import AlpcInfo, FileInfo, Handle, HandleMeta, MutantInfo, UnknownInfo

TAG_ALPC, TAG_MUTANT, TAG_FILE, TAG_UNKNOWN, TAG_NONE = 1, 2, 3, 4, 5
MASK64 = (1 << 64) - 1
SHORT_RECORD_SIZE = 20  # pre-release: value, object, pid only
MIN_RECORD_SIZE = 25


def read_handle(cur: Cursor, end: int) -> Handle:
    """Decode one full handle record that must end exactly at ``end``."""
    saved_end = cur.end
    cur.end = end
    num = cur.u64("handle value")
    obj = cur.u64("object address")
    pid = cur.u32("owner pid")
    type_ = cur.str16("object type")
    name = cur.str16("object name")
    tag = cur.u8("metadata tag")
    meta: HandleMeta
    if tag == TAG_ALPC:
        meta = AlpcInfo(cur.u32("ALPC flags"), cur.u32("ALPC seqno"), cur.u64("ALPC context"))
    elif tag == TAG_MUTANT:
        meta = MutantInfo(cur.i32("mutant count"), cur.bool8("mutant abandoned"))
    elif tag == TAG_FILE:
        meta = FileInfo(cur.bool8("is directory"))
    elif tag == TAG_UNKNOWN:
        meta = UnknownInfo()
    elif tag == TAG_NONE:
        meta = None
    else:
        raise Corrupt(f"handle record: unknown metadata tag {tag}", offset=cur.off - 1)
    cur.expect_end()
    cur.end = saved_end
    return Handle(num, obj, pid, type_, name, meta)


def read_short_handle(cur: Cursor) -> Handle:
    return Handle(cur.u64("handle value"), cur.u64("object address"), cur.u32("owner pid"))


def read_prefixed_handles(cur: Cursor, count: int, short: bool) -> list[Handle]:
    """``count`` records each preceded by a u16 length (snapshot and process-body form)."""
    out: list[Handle] = []
    for _ in range(count):
        size = cur.u16("handle record length")
        start = cur.off
        if cur.off + size > cur.end:
            raise Corrupt(
                f"handle record of {size} bytes runs past its section "
                f"({cur.end - cur.off} bytes remain)",
                offset=start,
            )
        if short:
            h = read_short_handle(cur)
            if cur.off != start + size:
                raise Corrupt("short handle record has an unexpected length", offset=start)
        else:
            h = read_handle(cur, start + size)
        out.append(h)
    return out


def is_short_snapshot(record_sizes: list[int]) -> bool:
    """The §12.2 variant: every snapshot record is exactly 20 bytes long."""
    return bool(record_sizes) and all(s == SHORT_RECORD_SIZE for s in record_sizes)


# --------------------------------------------------------------------------- encoding


def encode_str16(value: str, field: str, prefix: str = "<") -> bytes:
    data = value.encode("utf-8", "surrogateescape")
    if len(data) > 0xFFFF:
        raise EncodeError(f"{field} is {len(data)} bytes long; kcap strings hold at most 65535")
    return struct.pack(prefix + "H", len(data)) + data


def encode_handle(h: Handle, prefix: str = "<") -> bytes:
    """One handle record without its u16 length prefix."""
    parts = [
        struct.pack(prefix + "QQI", h.num & MASK64, h.object & MASK64, h.pid & 0xFFFFFFFF),
        encode_str16(h.type, "handle type", prefix),
        encode_str16(h.name, "handle name", prefix),
    ]
    m = h.meta
    if m is None:
        parts.append(bytes((TAG_NONE,)))
    elif isinstance(m, AlpcInfo):
        parts.append(struct.pack(prefix + "BIIQ", TAG_ALPC, m.flags, m.seqno, m.context))
    elif isinstance(m, MutantInfo):
        parts.append(struct.pack(prefix + "BiB", TAG_MUTANT, m.count, 1 if m.abandoned else 0))
    elif isinstance(m, FileInfo):
        parts.append(bytes((TAG_FILE, 1 if m.is_directory else 0)))
    else:
        parts.append(bytes((TAG_UNKNOWN,)))
    return b"".join(parts)


def encode_prefixed_handles(handles: list[Handle], prefix: str = "<") -> bytes:
    out = bytearray()
    u16 = struct.Struct(prefix + "H").pack
    for h in handles:
        rec = encode_handle(h, prefix)
        out += u16(len(rec))
        out += rec
    return bytes(out)
