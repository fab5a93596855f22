"""The initial state: every process and every open file descriptor, read from /proc.

Plain Python over /proc, one field at a time: a field that cannot be read (kernel threads have
no exe or environment, pid 1 may be locked down, a process may vanish mid-walk) stays empty and
the process is kept with what could be read. psutil was measured 5x slower and silently dropped
processes whose environment was unreadable, so it is not used.
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import socket
import struct
from dataclasses import dataclass, field
from functools import cache

from kcap.model import Handle, Process, Thread, Timestamp

FD_FILE, FD_SOCKET, FD_PIPE, FD_ANON = "File", "Socket", "Pipe", "Anon"


@dataclass(slots=True)
class SocketInfo:
    """One socket as /proc/net lists it (addresses are None for unix sockets)."""

    proto: str  # tcp, tcp6, udp, udp6, unix
    local: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int] | None = None
    remote: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int] | None = None
    path: str = ""

    def describe(self) -> str:
        if self.proto == "unix":
            return f"unix:{self.path}" if self.path else "unix"
        assert self.local is not None and self.remote is not None
        return f"{self.proto} {_fmt(self.local)} -> {_fmt(self.remote)}"


def _fmt(ep: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]) -> str:
    ip, port = ep
    return f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"


@dataclass(slots=True)
class FdInfo:
    """What user space knows about one descriptor of one process."""

    kind: str  # FD_FILE, FD_SOCKET, FD_PIPE, FD_ANON
    path: str = ""
    flags: int = 0
    family: int = 0
    sock_type: int = 0
    local: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int] | None = None
    remote: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int] | None = None
    inode: int = 0


@dataclass(slots=True)
class ProcInfo:
    """A process of the snapshot: its model state plus the descriptor table."""

    process: Process
    fds: dict[int, FdInfo] = field(default_factory=dict)
    uid: int = -1


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def _readlink(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


@cache
def boot_time_ns() -> int:
    """Wall-clock time of boot, from /proc/stat ``btime`` refined by the monotonic clock."""
    import time

    # CLOCK_BOOTTIME counts from boot; /proc/PID/stat start times are in its ticks.
    return time.time_ns() - time.clock_gettime_ns(time.CLOCK_BOOTTIME)


_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@cache
def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except (KeyError, OverflowError):
        return str(uid) if uid >= 0 else ""


def unix_sid(uid: int) -> bytes:
    """The binary SID S-1-22-1-<uid> (the Unix-user SID convention); empty for unknown uids.

    Fibratus replay needs a non-empty sid on CreateProcess; this keeps the user recognisable.
    """
    if uid < 0:
        return b""
    return b"\x01\x02" + (22).to_bytes(6, "big") + struct.pack("<II", 1, uid)


def unix_sid_text(uid: int) -> str:
    return f"S-1-22-1-{uid}" if uid >= 0 else ""


def _parse_addr(text: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]:
    host, port = text.split(":")
    raw = bytes.fromhex(host)
    # /proc/net prints each 32-bit word in host (little-endian) order
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    ip = ipaddress.ip_address(words)
    return ip, int(port, 16)


def socket_table() -> dict[int, SocketInfo]:
    """Every socket the network namespace lists, by inode."""
    out: dict[int, SocketInfo] = {}
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        raw = _read(f"/proc/net/{proto}")
        if raw is None:
            continue
        for line in raw.decode().splitlines()[1:]:
            parts = line.split()
            if len(parts) < 10:
                continue
            try:
                out[int(parts[9])] = SocketInfo(proto, _parse_addr(parts[1]), _parse_addr(parts[2]))
            except ValueError:
                continue
    raw = _read("/proc/net/unix")
    if raw is not None:
        for line in raw.decode(errors="replace").splitlines()[1:]:
            parts = line.split()
            if len(parts) >= 7 and parts[6].isdigit():
                out[int(parts[6])] = SocketInfo("unix", path=parts[7] if len(parts) > 7 else "")
    return out


def describe_fd(target: str, sockets: dict[int, SocketInfo]) -> FdInfo:
    """Classify a ``/proc/PID/fd/N`` link target."""
    if target.startswith("socket:["):
        inode = int(target[8:-1])
        info = FdInfo(FD_SOCKET, inode=inode)
        sock = sockets.get(inode)
        if sock is not None:
            info.path = sock.describe()
            info.local, info.remote = sock.local, sock.remote
            info.family = (
                socket.AF_UNIX
                if sock.proto == "unix"
                else (socket.AF_INET6 if sock.proto.endswith("6") else socket.AF_INET)
            )
            info.sock_type = socket.SOCK_STREAM if sock.proto.startswith("tcp") else 0
            if sock.proto.startswith("udp"):
                info.sock_type = socket.SOCK_DGRAM
        return info
    if target.startswith("pipe:["):
        return FdInfo(FD_PIPE, path=target)
    if target.startswith("anon_inode:"):
        return FdInfo(FD_ANON, path=target)
    return FdInfo(FD_FILE, path=target)


DELETED = " (deleted)"
MEMFD_PREFIX = "/memfd:"


@dataclass(frozen=True)
class Executable:
    """A process's executable as /proc/PID/exe shows it, and what follows from the text."""

    exe: str
    name: str  # its base name, without " (deleted)"
    fileless: str  # "memfd" (a memory file), "deleted" (unlinked), "" (a file that exists)


def describe_exe(exe: str) -> Executable:
    """Name and fileless mark of an executable path as /proc/PID/exe shows it."""
    name = os.path.basename(exe.removesuffix(DELETED)) if exe else ""
    if exe.startswith(MEMFD_PREFIX):
        fileless = "memfd"
    elif exe.endswith(DELETED):
        fileless = "deleted"
    else:
        fileless = ""
    return Executable(exe, name, fileless)


def fileless_meta(exe: str) -> list[tuple[str, str]] | None:
    """The ``linux.fileless`` metadata of an event about a process running ``exe``, if any."""
    mark = describe_exe(exe).fileless
    return [("linux.fileless", mark)] if mark else None


def read_process(pid: int, sockets: dict[int, SocketInfo]) -> ProcInfo | None:
    """Everything readable about ``pid``; None only when the process is gone."""
    base = f"/proc/{pid}"
    stat = _read(f"{base}/stat")
    if stat is None:
        return None
    # comm may contain spaces and parentheses: split at the last ')'
    lpar, rpar = stat.find(b"("), stat.rfind(b")")
    comm = _decode(stat[lpar + 1 : rpar])
    rest = stat[rpar + 2 :].split()
    ppid = int(rest[1])
    session = int(rest[3])
    start_ticks = int(rest[19])
    p = Process(pid=pid, ppid=ppid)
    p.session_id = session & 0xFFFFFFFF
    p.start_time = Timestamp.from_ns(boot_time_ns() + start_ticks * 1_000_000_000 // _CLK_TCK)
    # as the kernel shows it: "/memfd:NAME (deleted)" for a memory file, "... (deleted)" for an
    # unlinked one (docs/linux-capture.md, "Process creation")
    exe = describe_exe(_readlink(f"{base}/exe"))
    p.exe = exe.exe
    p.name = exe.name or comm
    cmd = _read(f"{base}/cmdline") or b""
    args = [_decode(a) for a in cmd.split(b"\0")]
    if args and args[-1] == "":
        args.pop()
    p.args = args
    p.cmdline = " ".join(args) if args else ""
    p.cwd = _readlink(f"{base}/cwd")
    env = _read(f"{base}/environ")
    if env:
        for item in env.split(b"\0"):
            if item:
                k, _, v = _decode(item).partition("=")
                p.envs.append((k, v))
    uid = -1
    status = _read(f"{base}/status")
    if status is not None:
        for line in status.split(b"\n"):
            if line.startswith(b"Uid:"):
                uid = int(line.split()[1])
                break
    p.username = user_name(uid) if uid >= 0 else ""
    p.sid = unix_sid_text(uid)
    try:
        for t in os.listdir(f"{base}/task"):
            tid = int(t)
            p.threads[tid] = Thread(tid=tid, pid=pid)
    except OSError:
        pass
    info = ProcInfo(process=p, uid=uid)
    try:
        fds = os.listdir(f"{base}/fd")
    except OSError:
        fds = []
    for name in fds:
        target = _readlink(f"{base}/fd/{name}")
        if not target:
            continue
        fdi = describe_fd(target, sockets)
        info.fds[int(name)] = fdi
        p.handles.append(
            Handle(
                num=int(name),
                object=handle_key(pid, int(name)),
                pid=pid,
                type=fdi.kind,
                name=fdi.path,
            )
        )
    return info


def handle_key(pid: int, fd: int) -> int:
    """The handle 'object' of a descriptor: unique per (process, fd) while it is open."""
    return (pid << 32) | (fd & 0xFFFFFFFF)


def snapshot() -> dict[int, ProcInfo]:
    """Every process on the machine, by pid."""
    sockets = socket_table()
    out: dict[int, ProcInfo] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        info = read_process(int(name), sockets)
        if info is not None:
            out[info.process.pid] = info
    return out
