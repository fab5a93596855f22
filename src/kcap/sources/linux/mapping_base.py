"""Pieces shared by the record mappers: record layouts, value helpers, shared parameters."""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kcap.model import Param, Params, ParamType

if TYPE_CHECKING:
    pass

HDR = struct.Struct("<IIQQ")  # kind, cpu, pid_tgid, ts
WORDS = [struct.Struct("<" + "Q" * n) for n in range(9)]
I32S = struct.Struct("<i")
AT_FDCWD = -100
CLONE_THREAD = 0x10000
CLONE_PARENT = 0x8000
O_CREAT, O_EXCL, O_TRUNC, O_CLOEXEC, O_DIRECTORY = 0o100, 0o200, 0o1000, 0o2000000, 0o200000
O_ACCMODE = 3
PROT_EXEC = 4
F_DUPFD, F_DUPFD_CLOEXEC = 0, 1030
FAMILY_NAMES: dict[int, str] = {socket.AF_INET: "inet", socket.AF_INET6: "inet6", 1: "unix"}
TYPE_NAMES: dict[int, str] = {socket.SOCK_STREAM: "stream", socket.SOCK_DGRAM: "dgram"}
TCP_ESTABLISHED, TCP_SYN_SENT, TCP_SYN_RECV = 1, 2, 3
AF_INET, AF_INET6 = socket.AF_INET, socket.AF_INET6
EINPROGRESS = errno.EINPROGRESS

Endpoint = tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]


#: S-1-0-0, the null SID: the user is unknown (Fibratus needs a non-empty sid on CreateProcess)
NULL_SID = b"\x01\x01" + bytes(6) + bytes(4)

_PCACHE: dict[tuple[str, ParamType, object], Param] = {}


def P(name: str, type: ParamType, value: object) -> Param:
    """A parameter, shared with every event that has the same one.

    Parameters are never mutated once built, and at high rates most of them repeat (the same
    pid, path, fd, status), so sharing saves building them.
    """
    key = (name, type, value)
    p = _PCACHE.get(key)
    if p is None:
        if len(_PCACHE) >= 65536:
            _PCACHE.clear()
        p = _PCACHE[key] = Param(name, type, value)
    return p


_SHARED: dict[tuple[object, ...], Params] = {}


def shared_params(
    key: tuple[object, ...], build: Callable[..., list[Param]], *args: object
) -> Params:
    """The parameter set identified by ``key`` (the event kind and every value), built by
    ``build(*args)`` the first time.

    A busy process repeats the same operation on the same descriptor and path, so the same
    parameter set recurs; sharing the `Params` lets the encoder reuse its encoded block.
    (``build`` and its arguments are passed separately so a hit allocates nothing.)
    """
    got = _SHARED.get(key)
    if got is None:
        if len(_SHARED) >= 32768:
            _SHARED.clear()
        plist = build(*args)
        got = _SHARED[key] = Params.from_dict({p.name: p for p in plist})
    return got


def s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def s64(v: int) -> int:
    return v - (1 << 64) if v & (1 << 63) else v


_SOCKADDRS: dict[bytes, tuple[int, Endpoint | None]] = {}
#: bytes of a sockaddr_in / sockaddr_in6 (everything else is only told by its family)
_SOCKADDR_SIZES: dict[int, int] = {int(socket.AF_INET): 16, int(socket.AF_INET6): 28}


def parse_sockaddr(raw: bytes) -> tuple[int, Endpoint | None]:
    """Family and (address, port) of a ``struct sockaddr`` (None for non-IP families).

    Results are kept per raw value (a busy socket talks to the same peers), since building
    address objects costs more than the rest of a network event.
    """
    # only the family's own bytes: what follows in a fixed-size read is noise
    raw = raw[: _SOCKADDR_SIZES.get(raw[0] | raw[1] << 8 if len(raw) >= 2 else 0, 2)]
    got = _SOCKADDRS.get(raw)
    if got is None:
        if len(_SOCKADDRS) >= 4096:
            _SOCKADDRS.clear()
        got = _SOCKADDRS[raw] = _parse_sockaddr(raw)
    return got


def _parse_sockaddr(raw: bytes) -> tuple[int, Endpoint | None]:
    if len(raw) < 2:
        return 0, None
    family = struct.unpack_from("<H", raw, 0)[0]
    if family == AF_INET and len(raw) >= 8:
        port = struct.unpack_from(">H", raw, 2)[0]
        return family, (ipaddress.IPv4Address(raw[4:8]), port)
    if family == AF_INET6 and len(raw) >= 24:
        port = struct.unpack_from(">H", raw, 2)[0]
        ip6 = ipaddress.IPv6Address(raw[8:24])
        if ip6.ipv4_mapped is not None:
            return AF_INET, (ip6.ipv4_mapped, port)
        return family, (ip6, port)
    return family, None


def disposition(flags: int) -> str:
    """The Windows create-disposition name closest to open(2) flags."""
    if flags & O_CREAT:
        if flags & O_EXCL:
            return "CREATE"
        return "OVERWRITE_IF" if flags & O_TRUNC else "OPEN_IF"
    return "OVERWRITE" if flags & O_TRUNC else "OPEN"


def status_text(ret: int) -> str:
    return "Success" if ret >= 0 else os.strerror(-ret)


@dataclass
class MapperStats:
    records: int = 0
    events: int = 0
    filtered: int = 0
    unpaired: int = 0
    errors: int = 0  # records that could not be mapped (see first_error)
    first_error: str | None = None
