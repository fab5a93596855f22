"""Process bodies V1..V4 and PE bodies V1/V2 (kcap-format.md §9, §10, §16.6, §16.9)."""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kcap.errors import Corrupt, EncodeError
from kcap.format import sections as sec
from kcap.format.accel import speedups
from kcap.format.cursor import Cursor
from kcap.format.handles import (
    encode_prefixed_handles,
    encode_str16,
    read_prefixed_handles,
    read_short_handle,
)
from kcap.model.process import PE, Certificate, Handle, PESection, Process
from kcap.model.timestamp import ZERO_TEXT, Timestamp

MAX_BLOCK = 0xFFFF  # Fibratus sums the argument and environment blocks in 16-bit counters


@dataclass
class EncodeNotes:
    """What the encoder had to leave out to keep a file readable by Fibratus (never silent)."""

    dropped_args: int = 0
    dropped_envs: int = 0
    dropped_params: int = 0
    converted_params: int = 0

    def any(self) -> bool:
        return bool(
            self.dropped_args or self.dropped_envs or self.dropped_params or self.converted_params
        )


# --------------------------------------------------------------------------- decoding


def _section_header(cur: Cursor, expected: int, what: str) -> tuple[int, int, int]:
    type_ = cur.u8(f"{what} section type")
    version = cur.u8(f"{what} section version")
    length = cur.u32(f"{what} section count")
    size = cur.u32(f"{what} section size")
    if type_ != expected:
        raise Corrupt(
            f"expected a {sec.SECTION_NAMES[expected]} section header, found section type {type_}",
            offset=cur.off - sec.SECTION_SIZE,
        )
    return version, length, size


def read_process(
    buf: bytes, off: int, end: int, version: int, prefix: str, short_handles: bool = False
) -> Process:
    """Decode a process body of ``version`` that must end exactly at ``end``."""
    if speedups is not None and not short_handles and type(buf) is bytes:
        # The common case (no PE body); None for anything else, decoded and reported below.
        got: Process | None = speedups.decode_process(buf, off, end, version, prefix == "<")
        if got is not None:
            return got
    if version not in (1, 2, 3, 4):
        raise Corrupt(f"unknown process section version {version}", offset=off)
    cur = Cursor(buf, off, end, prefix, f"process body V{version}")
    p = Process()
    p.pid = cur.u32("pid")
    p.ppid = cur.u32("ppid")
    p.name = cur.str16("image name")
    p.cmdline = cur.str16("command line")
    p.exe = cur.str16("executable")
    p.cwd = cur.str16("working directory")
    p.sid = cur.str16("SID")
    p.args = cur.str_list("argument")
    p.session_id = cur.u8("session id") if version <= 2 else cur.u32("session id")
    p.envs = cur.pairs("environment variable")
    _, count, _ = _section_header(cur, sec.HANDLE, "handle")
    if short_handles:
        # §12.2: 20-byte records with no length prefix.
        p.handles = [read_short_handle(cur) for _ in range(count)]
    else:
        p.handles = read_prefixed_handles(cur, count, short=False)
    pe_version, _, pe_size = _section_header(cur, sec.PE, "PE")
    if pe_size:
        start = cur.need(pe_size, "PE body")
        p.pe = read_pe(buf, start, start + pe_size, pe_version, prefix)
    if version >= 2:
        p.start_time = cur.ts("start time")
        p.uuid = cur.u64("uuid")
    if version >= 3:
        p.username = cur.str16("user name")
        p.domain = cur.str16("domain")
    if version >= 4:
        p.is_wow64 = cur.bool8("is WOW64")
        p.is_packaged = cur.bool8("is packaged")
        p.is_protected = cur.bool8("is protected")
    cur.expect_end()
    return p


def read_pe(buf: bytes, off: int, end: int, version: int, prefix: str) -> PE:
    if version not in (1, 2):
        raise Corrupt(f"unknown PE section version {version}", offset=off)
    cur = Cursor(buf, off, end, prefix, f"PE body V{version}")
    pe = PE()
    pe.nsections = cur.u16("section count")
    pe.nsymbols = cur.u32("symbol count")
    pe.image_base = cur.str16("image base")
    pe.entrypoint = cur.str16("entry point")
    pe.link_time = cur.ts("link time")
    pe.sections = [
        PESection(cur.u32("section size"), cur.f64("entropy"), cur.str16("name"), cur.str16("md5"))
        for _ in range(cur.u16("section list count"))
    ]
    pe.symbols = cur.str_list("imported symbol")
    pe.imports = cur.str_list("imported DLL")
    pe.version_resources = cur.pairs("version resource")
    if version >= 2:
        pe.is_signed = cur.bool8("is signed")
        pe.is_trusted = cur.bool8("is trusted")
        cert_len = cur.u32("certificate length")
        if cert_len:
            start = cur.need(cert_len, "certificate")
            cc = Cursor(buf, start, start + cert_len, prefix, "certificate")
            pe.cert = Certificate(
                cc.ts("not before"),
                cc.ts("not after"),
                cc.str16("serial"),
                cc.str16("subject"),
                cc.str16("issuer"),
            )
            cc.expect_end()
        pe.is_driver = cur.bool8("is driver")
        pe.is_dll = cur.bool8("is DLL")
        pe.is_executable = cur.bool8("is executable")
        pe.is_dotnet = cur.bool8("is .NET")
        pe.imphash = cur.str16("import hash")
        pe.anomalies = cur.str_list("anomaly")
    cur.expect_end()
    return pe


# --------------------------------------------------------------------------- encoding (V4, PE V2)


def _ts_text(ts: Timestamp) -> str:
    # Fibratus rejects a process whose start time does not parse (§16.6): write Go's zero time.
    return ts.text if ts.valid else ZERO_TEXT


def _str_list(items: list[str], field: str, prefix: str) -> bytes:
    if len(items) > 0xFFFF:
        raise EncodeError(f"{field}: {len(items)} entries, at most 65535 fit")
    return struct.pack(prefix + "H", len(items)) + b"".join(
        encode_str16(s, field, prefix) for s in items
    )


def _pairs(items: list[tuple[str, str]], field: str, prefix: str) -> bytes:
    if len(items) > 0xFFFF:
        raise EncodeError(f"{field}: {len(items)} entries, at most 65535 fit")
    return struct.pack(prefix + "H", len(items)) + b"".join(
        encode_str16(k, field, prefix) + encode_str16(v, field, prefix) for k, v in items
    )


def _fit_block(
    items: list[Any], cost: Callable[[Any], int], notes: EncodeNotes | None, which: str
) -> list[Any]:
    """Keep the leading items whose summed cost stays within Fibratus's 16-bit counter."""
    total = 0
    kept: list[Any] = []
    for item in items:
        c = cost(item)
        if total + c > MAX_BLOCK:
            if notes is not None:
                setattr(notes, which, getattr(notes, which) + len(items) - len(kept))
            break
        total += c
        kept.append(item)
    return kept


def _utf8_len(s: str) -> int:
    return len(s.encode("utf-8", "surrogateescape"))


def encode_process(p: Process, prefix: str = "<", notes: EncodeNotes | None = None) -> bytes:
    """A V4 process body (without its section header)."""
    args = _fit_block(p.args, lambda a: 2 + _utf8_len(a), notes, "dropped_args")
    envs = _fit_block(
        p.envs, lambda kv: 4 + _utf8_len(kv[0]) + _utf8_len(kv[1]), notes, "dropped_envs"
    )
    handles: list[Handle] = p.handles
    pe_body = encode_pe(p.pe, prefix) if p.pe is not None else b""
    out = [
        struct.pack(prefix + "II", p.pid & 0xFFFFFFFF, p.ppid & 0xFFFFFFFF),
        encode_str16(p.name, "process name", prefix),
        encode_str16(p.cmdline, "command line", prefix),
        encode_str16(p.exe, "executable", prefix),
        encode_str16(p.cwd, "working directory", prefix),
        encode_str16(p.sid, "SID", prefix),
        _str_list(args, "argument", prefix),
        struct.pack(prefix + "I", p.session_id & 0xFFFFFFFF),
        _pairs(envs, "environment variable", prefix),
        struct.pack(prefix + "BBII", sec.HANDLE, sec.HANDLE_V1, len(handles), 0),
        encode_prefixed_handles(handles, prefix),
        struct.pack(prefix + "BBII", sec.PE, sec.PE_V2, 0, len(pe_body)),
        pe_body,
        encode_str16(_ts_text(p.start_time), "start time", prefix),
        struct.pack(prefix + "Q", p.uuid & ((1 << 64) - 1)),
        encode_str16(p.username, "user name", prefix),
        encode_str16(p.domain, "domain", prefix),
        bytes((int(bool(p.is_wow64)), int(bool(p.is_packaged)), int(bool(p.is_protected)))),
    ]
    return b"".join(out)


def encode_pe(pe: PE, prefix: str = "<") -> bytes:
    for name in (*pe.symbols, *pe.imports):
        if _utf8_len(name) >= 0xFFFE:
            raise EncodeError("a PE import name of 65534 bytes or more crashes Fibratus")
    cert = b""
    if pe.cert is not None:
        c = pe.cert
        cert = b"".join(
            (
                encode_str16(c.not_before.text, "certificate date", prefix),
                encode_str16(c.not_after.text, "certificate date", prefix),
                encode_str16(c.serial, "certificate serial", prefix),
                encode_str16(c.subject, "certificate subject", prefix),
                encode_str16(c.issuer, "certificate issuer", prefix),
            )
        )
    sections = b"".join(
        struct.pack(prefix + "I", s.size & 0xFFFFFFFF)
        + struct.pack(prefix + "d", s.entropy)
        + encode_str16(s.name, "PE section name", prefix)
        + encode_str16(s.md5, "PE section md5", prefix)
        for s in pe.sections
    )
    out = [
        struct.pack(prefix + "HI", pe.nsections & 0xFFFF, pe.nsymbols & 0xFFFFFFFF),
        encode_str16(pe.image_base, "image base", prefix),
        encode_str16(pe.entrypoint, "entry point", prefix),
        encode_str16(pe.link_time.text, "link time", prefix),
        struct.pack(prefix + "H", len(pe.sections)),
        sections,
        _str_list(pe.symbols, "imported symbol", prefix),
        _str_list(pe.imports, "imported DLL", prefix),
        _pairs(pe.version_resources, "version resource", prefix),
        bytes((int(pe.is_signed), int(pe.is_trusted))),
        struct.pack(prefix + "I", len(cert)),
        cert,
        bytes((int(pe.is_driver), int(pe.is_dll), int(pe.is_executable), int(pe.is_dotnet))),
        encode_str16(pe.imphash, "import hash", prefix),
        _str_list(pe.anomalies, "anomaly", prefix),
    ]
    return b"".join(out)
