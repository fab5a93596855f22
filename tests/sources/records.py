"""Building ring-buffer records in Python exactly as the eBPF programs lay them out."""

from __future__ import annotations

import struct
from collections.abc import Sequence

from kcap.sources.linux.probes import HEADER_SIZE, Probe, probe_table


def probe_for(tracepoint: str) -> Probe:
    for p in probe_table():
        if p.tracepoint == tracepoint:
            return p
    raise KeyError(tracepoint)


def record(
    tracepoint: str,
    *,
    pid: int,
    tid: int | None = None,
    ts: int = 1_000,
    words: Sequence[int] = (),
    slots: Sequence[bytes | None] = (),
    cpu: int = 0,
) -> bytes:
    """A record of ``tracepoint``: words as the context holds them, slot contents as read.

    A ``bytes`` slot is stored with its read result (strings get their NUL, as
    ``bpf_probe_read_user_str`` returns it); ``None`` leaves the slot as an unread one.
    """
    probe = probe_for(tracepoint)
    buf = bytearray(probe.size)
    tid = pid if tid is None else tid
    struct.pack_into("<IIQQ", buf, 0, probe.kind, cpu, (pid << 32) | tid, ts)
    full = list(words) + [0] * (probe.words - len(words))
    for i, w in enumerate(full[: probe.words]):
        struct.pack_into("<Q", buf, HEADER_SIZE + 8 * i, w & 0xFFFFFFFFFFFFFFFF)
    offsets = probe.slot_offsets()
    for i, data in enumerate(slots):
        if data is None:
            continue
        off, size = offsets[i]
        nstr = len(probe.strings) + probe.read_saved_str + len(probe.kstrings)
        is_string = i < nstr or (probe.has_argv and i >= len(offsets) - 16)
        payload = data + b"\0" if is_string else data
        payload = payload[:size]
        buf[off : off + len(payload)] = payload
        struct.pack_into("<i", buf, probe.lens_off + 4 * i, len(payload))
    return bytes(buf)


def u64(v: int) -> int:
    """A signed value as the 64-bit register word the kernel copies."""
    return v & 0xFFFFFFFFFFFFFFFF
