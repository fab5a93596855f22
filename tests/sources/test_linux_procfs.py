"""The /proc snapshot and the small parsers around it."""

from __future__ import annotations

import ipaddress
import os
import sys
import time

from kcap.model import Timestamp
from kcap.sources.linux.procfs import (
    FD_FILE,
    FD_PIPE,
    FD_SOCKET,
    SocketInfo,
    _parse_addr,
    describe_fd,
    handle_key,
    snapshot,
    unix_sid,
)
from kcap.sources.linux.taxonomy import KINDS, Clock
from kcap.sources.linux.tracefs import parse_format
from kcap.state import sid_to_text

FORMAT = """name: sched_process_exit
ID: 369
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;
\tfield:pid_t pid;\toffset:24;\tsize:4;\tsigned:1;
\tfield:const char * filename;\toffset:32;\tsize:8;\tsigned:0;
"""


def test_parse_format() -> None:
    fields = parse_format(FORMAT)
    assert fields["comm"].offset == 8 and fields["comm"].size == 16
    assert fields["pid"].offset == 24
    assert fields["filename"].offset == 32


def test_proc_net_addresses() -> None:
    assert _parse_addr("0100007F:1F90") == (ipaddress.IPv4Address("127.0.0.1"), 8080)
    v6 = _parse_addr("00000000000000000000000001000000:0035")
    assert v6 == (ipaddress.IPv6Address("::1"), 53)


def test_describe_fd_kinds() -> None:
    local = (ipaddress.IPv4Address("127.0.0.1"), 22)
    remote = (ipaddress.IPv4Address("10.0.0.2"), 50000)
    sockets = {77: SocketInfo("tcp", local, remote)}
    s = describe_fd("socket:[77]", sockets)
    assert s.kind == FD_SOCKET and s.path == "tcp 127.0.0.1:22 -> 10.0.0.2:50000"
    assert s.local == local and s.remote == remote
    assert describe_fd("pipe:[12]", sockets).kind == FD_PIPE
    assert describe_fd("/etc/passwd", sockets).kind == FD_FILE


def test_snapshot_reads_this_process(tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = open(tmp_path / "held.txt", "w")  # noqa: SIM115 - kept open for the snapshot
    fd = f.fileno()
    try:
        procs = snapshot()
    finally:
        f.close()
    me = procs[os.getpid()]
    p = me.process
    assert p.ppid == os.getppid()
    assert os.path.realpath(p.exe) == os.path.realpath(sys.executable)
    assert p.args and "pytest" in p.cmdline
    assert p.cwd == os.getcwd()
    assert ("PATH", os.environ["PATH"]) in p.envs
    assert abs(p.start_time.ns - time.time_ns()) < 3600 * 10**9
    assert os.getpid() in {t for t in p.threads}
    assert me.fds[fd].path == str(tmp_path / "held.txt")
    held = [h for h in p.handles if h.name == str(tmp_path / "held.txt")]
    assert held and held[0].object == handle_key(os.getpid(), fd)
    # every process is kept, even those whose fields cannot be read (kernel threads)
    assert 1 in procs and all(info.process.pid == pid for pid, info in procs.items())


def test_unix_sid_renders_as_the_unix_user_sid() -> None:
    assert sid_to_text(unix_sid(1000), wbem=False) == "S-1-22-1-1000"
    assert unix_sid(-1) == b""


def test_clock_stamps_like_timestamp_from_ns() -> None:
    clock = Clock()
    for mono in (0, 1, 123_456_789, 10**9, 5 * 10**9 + 100):
        ts = clock.stamp(mono)
        ref = Timestamp.from_ns(mono + clock.mono_to_real, clock.offset)
        assert ts.text == ref.text and ts.ns == ref.ns


def test_every_kind_is_in_the_catalogue() -> None:
    assert KINDS["EventsLost"].name == "EventsLost"
    assert KINDS["Connect/tcp4"].name == "Connect" and KINDS["Connect/tcp4"].category == "net"
