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


_FAST: dict[str, tuple[object, object, object, object]] = {}


def _fast_structs(prefix: str) -> tuple[object, object, object, object]:
    got = _FAST.get(prefix)
    if got is None:
        got = (
            struct.Struct(prefix + "HQQIH").unpack_from,
            struct.Struct(prefix + "H").unpack_from,
            struct.Struct(prefix + "IIQ").unpack_from,
            struct.Struct(prefix + "i").unpack_from,
        )
        _FAST[prefix] = got
    return got


def read_prefixed_handles(cur: Cursor, count: int, short: bool) -> list[Handle]:
    """``count`` records each preceded by a u16 length (snapshot and process-body form).

    Flat struct calls rather than the cursor: a process body can hold thousands of handles.
    Every record must end exactly where its length prefix says.
    """
    if short:
        return _read_short_prefixed(cur, count)
    out: list[Handle] = []
    p = cur.off
    for _ in range(count):
        handle, p = decode_prefixed_handle(cur.buf, p, cur.end, cur.prefix)
        out.append(handle)
    cur.off = p
    return out


def decode_prefixed_handle(buf: bytes, p: int, end: int, prefix: str) -> tuple[Handle, int]:
    """One u16-length-prefixed handle record at ``p``; returns it and the offset after it."""
    head, u16, alpc, i32 = _fast_structs(prefix)
    try:
        size, num, obj, pid, tlen = head(buf, p)  # type: ignore[operator]
        rec_end = p + 2 + size
        if rec_end > end or size < MIN_RECORD_SIZE:
            raise Corrupt(
                f"handle record of {size} bytes does not fit its section "
                f"({end - p - 2} bytes remain; a record has at least {MIN_RECORD_SIZE})",
                offset=p,
            )
        q = p + 24
        type_ = buf[q : q + tlen].decode("utf-8", "surrogateescape")
        q += tlen
        (nlen,) = u16(buf, q)  # type: ignore[operator]
        name = buf[q + 2 : q + 2 + nlen].decode("utf-8", "surrogateescape")
        q += 2 + nlen
        tag = buf[q]
        q += 1
        meta: HandleMeta
        if tag == TAG_NONE:
            meta = None
        elif tag == TAG_FILE:
            meta = FileInfo(buf[q] != 0)
            q += 1
        elif tag == TAG_ALPC:
            meta = AlpcInfo(*alpc(buf, q))  # type: ignore[operator]
            q += 16
        elif tag == TAG_MUTANT:
            meta = MutantInfo(i32(buf, q)[0], buf[q + 4] != 0)  # type: ignore[operator]
            q += 5
        elif tag == TAG_UNKNOWN:
            meta = UnknownInfo()
        else:
            raise Corrupt(f"handle record: unknown metadata tag {tag}", offset=q - 1)
    except (struct.error, IndexError):
        raise Corrupt("handle record runs past the end of the data", offset=p) from None
    if q != rec_end:
        raise Corrupt(
            f"handle record declares {size} bytes but its fields take {q - p - 2}", offset=p
        )
    return Handle(num, obj, pid, type_, name, meta), rec_end


def _read_short_prefixed(cur: Cursor, count: int) -> list[Handle]:
    out: list[Handle] = []
    for _ in range(count):
        size = cur.u16("handle record length")
        start = cur.off
        if size != SHORT_RECORD_SIZE:
            raise Corrupt(f"short handle record of {size} bytes (20 expected)", offset=start)
        out.append(read_short_handle(cur))
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
