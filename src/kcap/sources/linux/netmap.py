"""Network records: sockets, connect, accept, send and receive, TCP state changes.

The local end of a TCP connection comes from the ``inet_sock_set_state`` transition to
ESTABLISHED (it fires in softirq context, so it is matched by addresses, not by pid); anything
unmatched is looked up in /proc while the socket is still open.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct

from kcap.model import Param, ParamType
from kcap.sources.linux import probes as K
from kcap.sources.linux.context import MappingContext
from kcap.sources.linux.descriptors import Descriptors
from kcap.sources.linux.mapping_base import (
    AF_INET,
    AF_INET6,
    EINPROGRESS,
    TCP_ESTABLISHED,
    TCP_SYN_SENT,
    WORDS,
    Endpoint,
    P,
    parse_sockaddr,
    s32,
    s64,
    shared_params,
)
from kcap.sources.linux.procfs import (
    FD_PIPE,
    FD_SOCKET,
    FdInfo,
    ProcInfo,
    describe_fd,
    socket_table,
)
from kcap.sources.linux.taxonomy import I32, KINDS, PID, PORT, STR, U32

ADDR_IPV4 = ParamType.IPV4
ADDR_IPV6 = ParamType.IPV6
_ZERO4 = ipaddress.IPv4Address(0)
_ZERO6 = ipaddress.IPv6Address(0)
#: (operation, TCP?, IPv6?) -> the event kind
_NET_KINDS = {
    (op, tcp, v6): KINDS[f"{op}/{'tcp' if tcp else 'udp'}{'6' if v6 else '4'}"]
    for op in ("Send", "Recv", "Connect", "Accept")
    for tcp in (True, False)
    for v6 in (True, False)
    if tcp or op in ("Send", "Recv")
}


class NetworkRecords:
    """Handlers of the network records."""

    def __init__(self, ctx: MappingContext, descriptors: Descriptors) -> None:
        self.ctx = ctx
        self.descriptors = descriptors

    def tcp_state(self, buf: memoryview, off: int) -> None:
        base = off + K.HEADER_SIZE
        old, new = struct.unpack_from("<ii", buf, base + 8)
        sport, dport, family = struct.unpack_from("<HHH", buf, base + 16)
        if new != TCP_ESTABLISHED:
            return
        if family == AF_INET:
            sip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv4Address(
                bytes(buf[base + 24 : base + 28])
            )
            dip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv4Address(
                bytes(buf[base + 28 : base + 32])
            )
        else:
            sip = ipaddress.IPv6Address(bytes(buf[base + 32 : base + 48]))
            dip = ipaddress.IPv6Address(bytes(buf[base + 48 : base + 64]))
            if sip.ipv4_mapped is not None and dip.ipv4_mapped is not None:
                sip, dip = sip.ipv4_mapped, dip.ipv4_mapped
        table = self.ctx.client_local if old == TCP_SYN_SENT else self.ctx.server_local
        if len(table) > 4096:
            table.clear()
        table[(dip, dport)] = (sip, sport)

    def bind(self, buf: memoryview, off: int) -> None:
        ctx = self.ctx
        probe = ctx.layouts[K.K_BIND]
        fd = s32(WORDS[1].unpack_from(buf, off + K.HEADER_SIZE)[0])
        _fam, ep = parse_sockaddr(ctx.slot_bytes(buf, off, probe, 0))
        info = ctx.procs.get(ctx.rec.pid)
        if info is None or ep is None:
            return
        fdi = info.fds.get(fd)
        if fdi is not None and ep[1] != 0:
            fdi.local = ep

    def _resolve_local(self, pid: int, fd: int, fdi: FdInfo) -> None:
        """Ask /proc for a socket's local end (auto-bound UDP sockets, unmatched connects)."""
        if fdi.inode < 0:
            return
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            fdi.inode = -1
            return
        known = describe_fd(target, socket_table())
        fdi.inode = -1  # one try per descriptor: /proc/net is expensive to read
        if known.local is not None and known.local[1] != 0:
            fdi.local = known.local
            if fdi.remote is None and known.remote is not None and known.remote[1] != 0:
                fdi.remote = known.remote

    def net_event(
        self,
        info: ProcInfo,
        fd: int,
        fdi: FdInfo,
        send: bool,
        size: int,
        peer: Endpoint | None,
        what: str | None = None,
    ) -> None:
        """A Send/Recv (or, with ``what``, Connect/Accept) on socket ``fd`` of the current
        record's process."""
        pid = self.ctx.rec.pid
        remote = peer if peer is not None else fdi.remote
        if fdi.local is None:
            self._resolve_local(pid, fd, fdi)
        local = fdi.local
        family = fdi.family or (AF_INET6 if remote and remote[0].version == 6 else AF_INET)
        if family not in (AF_INET, AF_INET6) and remote is None:
            return  # unix sockets have no place in the TCP/UDP taxonomy
        tcp = fdi.sock_type == socket.SOCK_STREAM
        v6 = (remote is not None and remote[0].version == 6) or (
            remote is None and family == AF_INET6
        )
        op = what or ("Send" if send else "Recv")
        zero = _ZERO6 if v6 else _ZERO4
        lip, lport = local if local is not None and local[0].version == zero.version else (zero, 0)
        rip, rport = remote if remote is not None else (zero, 0)
        size = size & 0xFFFFFFFF if what is None else -1
        self.ctx.event(
            _NET_KINDS[op, tcp, v6],
            shared_params(
                (op, tcp, v6, pid, fd, lip, lport, rip, rport, size),
                _net_params,
                pid,
                fd,
                lip,
                lport,
                rip,
                rport,
                size,
                tcp,
                v6,
            ),
        )

    def connect_ret(self, buf: memoryview, off: int) -> None:
        ctx = self.ctx
        entry = ctx.take(ctx.rec.tid, K.K_CONNECT)
        if entry is None:
            return
        fd, raw = entry
        assert isinstance(fd, int) and isinstance(raw, bytes)
        ret = ctx.ret(buf, off)
        if ret != 0 and ret != -EINPROGRESS:
            return
        family, ep = parse_sockaddr(raw)
        info = ctx.proc(ctx.rec.pid)
        fdi = info.fds.get(fd)
        if fdi is None or ep is None:
            return
        fdi.remote = ep
        if not fdi.family:
            fdi.family = family
        if fdi.sock_type == socket.SOCK_STREAM:
            local = ctx.client_local.pop(ep, None)
            if local is not None:
                fdi.local = local
        fdi.path = _describe_socket(fdi)
        if ctx.want_net and fdi.sock_type == socket.SOCK_STREAM:
            self.net_event(info, fd, fdi, True, 0, None, "Connect")

    def accept_ret(self, buf: memoryview, off: int) -> None:
        # A server usually sits in accept() long before the capture starts, so an exit without
        # its entry is normal here: the new socket's ends then come from /proc.
        ctx = self.ctx
        pid = ctx.rec.pid
        entry = ctx.pending.pop(ctx.rec.tid, None)
        lfd = int(entry[1][0]) if entry is not None and entry[0] == K.K_ACCEPT else -1  # type: ignore[call-overload]
        ret = ctx.ret(buf, off)
        if ret < 0:
            return
        probe = ctx.layouts[K.K_ACCEPT_RET]
        family, peer = parse_sockaddr(ctx.slot_bytes(buf, off, probe, 0))
        info = ctx.proc(pid)
        listener = info.fds.get(lfd)
        fdi = FdInfo(
            FD_SOCKET, "", 0, family or (listener.family if listener else 0), socket.SOCK_STREAM
        )
        if peer is not None:
            fdi.remote = peer
            local = ctx.server_local.pop(peer, None)
            if local is None and listener is not None:
                local = listener.local
            fdi.local = local
        else:
            self._resolve_local(pid, ret, fdi)
            peer = fdi.remote
            if peer is not None and not fdi.family:
                fdi.family = AF_INET6 if peer[0].version == 6 else AF_INET
        fdi.path = _describe_socket(fdi)
        self.descriptors.add(info, ret, fdi)
        if ctx.want_net and peer is not None:
            self.net_event(info, ret, fdi, False, 0, peer, "Accept")

    def net_io_ret(self, buf: memoryview, off: int) -> None:
        """A send or receive exit: the kernel program put the descriptor (remembered at entry,
        plus one; 0 when it was not) after the return value, and the address read from the
        pointer the entry remembered (sendto's destination, recvfrom's source) in its slot."""
        ctx = self.ctx
        kind = ctx.rec.kind
        probe = ctx.layouts[kind]
        raw_ret, saved = WORDS[2].unpack_from(buf, off + K.HEADER_SIZE)
        if saved == 0:
            ctx.count_unpaired()
            return
        ret = s64(raw_ret)
        if ret < 0 or not ctx.want_net:
            return
        fd = s32(saved - 1)
        info = ctx.proc(ctx.rec.pid)
        fdi = info.fds.get(fd)
        if fdi is None:
            fdi = FdInfo(FD_SOCKET)
        peer: Endpoint | None = None
        send = kind == K.K_SEND_RET
        if probe.read_saved:
            fam, peer = parse_sockaddr(ctx.slot_bytes(buf, off, probe, 0))
            if send and peer is not None and not fdi.family:
                fdi.family = fam
        if fdi.kind != FD_SOCKET and fdi.kind != FD_PIPE:
            return
        self.net_event(info, fd, fdi, send, ret, peer)


def _net_params(
    pid: int,
    fd: int,
    lip: ipaddress.IPv4Address | ipaddress.IPv6Address,
    lport: int,
    rip: ipaddress.IPv4Address | ipaddress.IPv6Address,
    rport: int,
    size: int,
    tcp: bool,
    v6: bool,
) -> list[Param]:
    """Parameters of a network event; ``size`` < 0 for Connect/Accept, which have none."""
    iptype = ADDR_IPV6 if v6 else ADDR_IPV4
    params = [
        P("pid", PID, pid),
        P("sip", iptype, lip),
        P("sport", PORT, lport),
        P("dip", iptype, rip),
        P("dport", PORT, rport),
    ]
    if size >= 0:
        params.append(P("size", U32, size))
    params.append(P("l4_proto", STR, "TCP" if tcp else "UDP"))
    params.append(P("fd", I32, fd))
    return params


def _describe_socket(fdi: FdInfo) -> str:
    proto = "tcp" if fdi.sock_type == socket.SOCK_STREAM else "udp"
    if fdi.family == AF_INET6:
        proto += "6"

    def ep(e: Endpoint | None) -> str:
        if e is None:
            return "?"
        return f"[{e[0]}]:{e[1]}" if e[0].version == 6 else f"{e[0]}:{e[1]}"

    return f"{proto} {ep(fdi.local)} -> {ep(fdi.remote)}"
