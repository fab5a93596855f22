"""Render decoded objects in the shape of the newest fixture's expected.jsonl."""

from __future__ import annotations

import ipaddress
from typing import Any

from kcap.model import PE, AlpcInfo, FileInfo, Handle, MutantInfo, Param, Process, Timestamp
from kcap.model.params import ParamType


def value_shape(p: Param) -> Any:
    v = p.value
    if isinstance(v, str):
        raw = v.encode("utf-8", "surrogateescape")
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return {"bytes_hex": raw.hex()}
        return v
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return str(v)
    if isinstance(v, Timestamp):
        return v.text
    if p.type is ParamType.SLICE:
        return {"kind": p.elem, "items": list(v)}
    return v


def handle_shape(h: Handle) -> dict[str, Any]:
    m = h.meta
    md: Any
    if m is None:
        md = None
    elif isinstance(m, FileInfo):
        md = {"kind": "file", "is_directory": m.is_directory}
    elif isinstance(m, AlpcInfo):
        md = {"kind": "alpc", "flags": m.flags, "seqno": m.seqno, "context": m.context}
    elif isinstance(m, MutantInfo):
        md = {"kind": "mutant", "count": m.count, "abandoned": m.abandoned}
    else:
        md = {"kind": "unknown"}
    return {
        "num": h.num,
        "object": h.object,
        "pid": h.pid,
        "type": h.type,
        "name": h.name,
        "md": md,
    }


def pe_shape(pe: PE | None) -> Any:
    if pe is None:
        return None
    cert = None
    if pe.cert is not None:
        c = pe.cert
        cert = {
            "not_before": c.not_before.text,
            "not_after": c.not_after.text,
            "serial": c.serial,
            "subject": c.subject,
            "issuer": c.issuer,
        }
    return {
        "nsections": pe.nsections,
        "nsymbols": pe.nsymbols,
        "image_base": pe.image_base,
        "entrypoint": pe.entrypoint,
        "link_time": pe.link_time.text,
        "sections": [
            {"size": s.size, "entropy": s.entropy, "name": s.name, "md5": s.md5}
            for s in pe.sections
        ],
        "symbols": pe.symbols,
        "imports": pe.imports,
        "version_resources": [list(kv) for kv in pe.version_resources],
        "is_signed": pe.is_signed,
        "is_trusted": pe.is_trusted,
        "cert": cert,
        "is_driver": pe.is_driver,
        "is_dll": pe.is_dll,
        "is_executable": pe.is_executable,
        "is_dotnet": pe.is_dotnet,
        "imphash": pe.imphash,
        "anomalies": pe.anomalies,
    }


def process_shape(p: Process | None) -> Any:
    if p is None:
        return None
    return {
        "pid": p.pid,
        "ppid": p.ppid,
        "name": p.name,
        "cmdline": p.cmdline,
        "exe": p.exe,
        "cwd": p.cwd,
        "sid": p.sid,
        "args": p.args,
        "session_id": p.session_id,
        "envs": [list(kv) for kv in p.envs],
        "handles": [handle_shape(h) for h in p.handles],
        "pe": pe_shape(p.pe),
        "start_time": p.start_time.text,
        "uuid": p.uuid,
        "username": p.username,
        "domain": p.domain,
        "is_wow64": p.is_wow64,
        "is_packaged": p.is_packaged,
        "is_protected": p.is_protected,
    }
