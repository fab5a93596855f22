"""An independent, test-only encoder for the older layouts no fixture covers.

Written straight from kcap-format.md §3-§12 and deliberately separate from the production
encoder (which only writes the newest layout), so that a misreading of the spec in one is not
mirrored in the other. Layout knobs: byte order, major, event-section label and type-id width,
parameter table, process-body and PE-body versions, short handles, headerless.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

import zstandard

from kcap.format import schema
from kcap.format.kernel import pure
from kcap.format.params import TABLES, Codec
from kcap.model import PE, Event, Handle, Param, Process
from kcap.model.process import AlpcInfo, FileInfo, MutantInfo, UnknownInfo


@dataclass
class Legacy:
    prefix: str = "<"
    major: int = 1
    label: int = 1  # event section version byte
    width: int = 17
    table: str = "2020"
    proc_version: int = 1
    pe_version: int = 1
    short_handles: bool = False
    headerless: bool = False

    # ------------------------------------------------------------ primitives
    def p(self, fmt: str, *v: object) -> bytes:
        return struct.pack(self.prefix + fmt, *v)

    def s16(self, s: str) -> bytes:
        b = s.encode("utf-8", "surrogateescape")
        return self.p("H", len(b)) + b

    def strs(self, items: list[str]) -> bytes:
        return self.p("H", len(items)) + b"".join(self.s16(x) for x in items)

    def pairs(self, items: list[tuple[str, str]]) -> bytes:
        return self.p("H", len(items)) + b"".join(self.s16(k) + self.s16(v) for k, v in items)

    # ------------------------------------------------------------ params
    def wire_of(self, p: Param) -> tuple[int, Codec]:
        for wire, (t, codec) in TABLES[self.table].items():
            if t == p.type and codec is not Codec.NONE:
                return wire, codec
        raise ValueError(f"{p.type} not encodable in table {self.table}")

    def value(self, codec: Codec, p: Param) -> bytes:
        v = p.value
        simple = {
            Codec.I8: "b", Codec.U8: "B", Codec.I16: "h", Codec.U16: "H", Codec.I32: "i",
            Codec.U32: "I", Codec.I64: "q", Codec.U64: "Q", Codec.F64: "d", Codec.F32: "f",
        }  # fmt: skip
        if codec in simple:
            return self.p(simple[codec], v)
        if codec is Codec.STR16:
            return self.s16(v)
        if codec is Codec.BOOL:
            return bytes((1 if v else 0,))
        if codec is Codec.BIN32:
            return self.p("I", len(v)) + v
        if codec is Codec.BIN16:
            return self.p("H", len(v)) + v
        if codec is Codec.IPV4:
            return ipaddress.IPv4Address(v).packed
        if codec is Codec.IPV6:
            return ipaddress.IPv6Address(v).packed
        if codec is Codec.TIME:
            return self.s16(v.text)
        if codec is Codec.SLICE:
            if p.elem == "8":
                return b"8" + self.p("H", len(v)) + b"".join(self.p("Q", x) for x in v)
            return b"s" + self.p("H", len(v)) + b"".join(self.s16(x) for x in v)
        raise ValueError(codec)

    # ------------------------------------------------------------ handles, process, PE
    def handle(self, h: Handle) -> bytes:
        if self.short_handles:
            return self.p("QQI", h.num, h.object, h.pid)
        out = self.p("QQI", h.num, h.object, h.pid) + self.s16(h.type) + self.s16(h.name)
        m = h.meta
        if m is None:
            return out + b"\x05"
        if isinstance(m, AlpcInfo):
            return out + b"\x01" + self.p("IIQ", m.flags, m.seqno, m.context)
        if isinstance(m, MutantInfo):
            return out + b"\x02" + self.p("i", m.count) + bytes((int(m.abandoned),))
        if isinstance(m, FileInfo):
            return out + b"\x03" + bytes((int(m.is_directory),))
        assert isinstance(m, UnknownInfo)
        return out + b"\x04"

    def pe(self, pe: PE) -> bytes:
        out = self.p("HI", pe.nsections, pe.nsymbols) + self.s16(pe.image_base)
        out += self.s16(pe.entrypoint) + self.s16(pe.link_time.text)
        out += self.p("H", len(pe.sections))
        for s in pe.sections:
            out += self.p("Id", s.size, s.entropy) + self.s16(s.name) + self.s16(s.md5)
        out += self.strs(pe.symbols) + self.strs(pe.imports) + self.pairs(pe.version_resources)
        if self.pe_version >= 2:
            # The V2 additions are the production encoder's; reuse it for the whole body.
            order = schema.ByteOrder(self.prefix)
            return pure.compiler(order).encoder(schema.pe_body(2))(pe)
        return out

    def process(self, pr: Process) -> bytes:
        v = self.proc_version
        out = self.p("II", pr.pid, pr.ppid)
        for s in (pr.name, pr.cmdline, pr.exe, pr.cwd, pr.sid):
            out += self.s16(s)
        out += self.strs(pr.args)
        out += self.p("B", pr.session_id & 0xFF) if v <= 2 else self.p("I", pr.session_id)
        out += self.pairs(pr.envs)
        size = pr.pid if self.short_handles else 0  # §12.2: size holds the pid
        out += self.p("BBII", 2, 1, len(pr.handles), size)
        for h in pr.handles:
            rec = self.handle(h)
            out += rec if self.short_handles else self.p("H", len(rec)) + rec
        pe = self.pe(pr.pe) if pr.pe is not None else b""
        out += self.p("BBII", 4, self.pe_version, 0, len(pe)) + pe
        if v >= 2:
            out += self.s16(pr.start_time.text) + self.p("Q", pr.uuid)
        if v >= 3:
            out += self.s16(pr.username) + self.s16(pr.domain)
        if v >= 4:
            out += bytes((int(pr.is_wow64), int(pr.is_packaged), int(pr.is_protected)))
        return out

    # ------------------------------------------------------------ events and files
    def event(self, ev: Event) -> bytes:
        tid = ev.type if len(ev.type) == self.width else ev.type_id18
        assert len(tid) == self.width
        body = self.p("QII", ev.seq, ev.pid, ev.tid) + tid + bytes((ev.cpu,))
        for s in (ev.name, ev.category, ev.description, ev.host, ev.timestamp.text):
            body += self.s16(s)
        params = ev.params.all()
        body += self.p("H", len(params))
        for prm in params:
            wire, codec = self.wire_of(prm)
            body += self.p("H", wire) + self.s16(prm.name) + self.value(codec, prm)
        body += self.pairs(ev.meta)
        if not self.headerless:
            proc = self.process(ev.process) if ev.process is not None else b""
            body += self.p("BBII", 1, self.proc_version, 0, len(proc)) + proc
        if self.headerless:
            return struct.pack("<H", len(body)) + body
        return self.p("BBII", 3, self.label, 0, len(body)) + body

    def stream(self, events: list[Event], handles: list[Handle] = ()) -> bytes:  # type: ignore[assignment]
        if self.headerless:
            return b"".join(self.event(e) for e in events)
        magic = b"sutarbif" if self.prefix == "<" else b"fibratus"
        out = magic + bytes((self.major, 0)) + self.p("Q", 0)
        out += self.p("BBII", 2, 1, len(handles), 0)
        for h in handles:
            rec = self.handle(h)
            out += self.p("H", len(rec)) + rec
        return out + b"".join(self.event(e) for e in events)

    def file(self, path: str, events: list[Event], handles: list[Handle] = ()) -> None:  # type: ignore[assignment]
        with open(path, "wb") as fh:
            fh.write(zstandard.ZstdCompressor().compress(self.stream(events, handles)))


def compress(raw: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(raw)
