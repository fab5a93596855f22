"""The mapper turns kernel records into taxonomy events: fed here with records built in Python."""

from __future__ import annotations

import ipaddress
import os
import posixpath
import socket
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from records import record, u64

from kcap.model import Event, Process
from kcap.model.catalogue import lookup
from kcap.sources.linux.mapper import AT_FDCWD, Mapper, parse_sockaddr
from kcap.sources.linux.procfs import FD_FILE, FdInfo, ProcInfo
from kcap.sources.linux.taxonomy import Clock

PID = 4242
O_WRONLY, O_CREAT, O_TRUNC, O_DIRECTORY = 1, 0o100, 0o1000, 0o200000


def make_mapper(keep=None, kinds=None) -> tuple[Mapper, list[Event]]:  # type: ignore[no-untyped-def]
    out: list[Event] = []
    proc = Process(pid=PID, ppid=1, name="python3", exe="/usr/bin/python3", cwd="/home/u")
    procs = {PID: ProcInfo(proc, {0: FdInfo(FD_FILE, "/dev/null")}, 1000)}
    m = Mapper(
        procs=procs,
        clock=Clock(),
        host="testhost",
        kinds=frozenset(kinds or ("process", "thread", "image", "file", "net", "handle")),
        sink=out.append,
        keep=keep,
    )
    return m, out


def feed(m: Mapper, *records: bytes) -> None:
    for rec in records:
        m.handle(memoryview(rec), 0, len(rec))


def names(events: list[Event]) -> list[str]:
    return [e.name for e in events]


def params(ev: Event) -> dict[str, object]:
    return {k: p.value for k, p in ev.params.items()}


def open_close(m: Mapper, path: bytes, fd: int, dfd: int = AT_FDCWD, ts: int = 10) -> None:
    """An openat: one record at its exit, with the dirfd (plus one) and flags its entry
    remembered and the path read at the exit."""
    flags = O_WRONLY | O_CREAT | O_TRUNC
    feed(
        m,
        record(
            "syscalls/sys_exit_openat",
            pid=PID,
            ts=ts + 1,
            words=[fd, (dfd & 0xFFFFFFFF) + 1, flags],
            slots=[path],
        ),
    )


def test_open_relative_path_is_made_absolute_against_the_cwd() -> None:
    m, out = make_mapper()
    open_close(m, b"notes/a.txt", 5)
    assert names(out) == ["CreateFile", "CreateHandle"]
    cf = params(out[0])
    assert cf["file_path"] == "/home/u/notes/a.txt"
    assert cf["fd"] == 5 and cf["status"] == "Success"
    assert cf["create_disposition"] == "OVERWRITE_IF"
    assert out[0].pid == PID and out[0].ps is not None and out[0].ps.name == "python3"
    assert lookup(out[0].type) is not None and lookup(out[0].type).name == "CreateFile"  # type: ignore[union-attr]
    ch = params(out[1])
    assert ch["handle_id"] == 5 and ch["handle_name"] == "/home/u/notes/a.txt"
    assert ch["handle_object"] == (PID << 32) | 5 and ch["type_id"] == "File"


def test_open_relative_to_a_directory_fd() -> None:
    m, out = make_mapper()
    open_close(m, b"/srv/data", 7)
    open_close(m, b"../etc/x.conf", 8, dfd=7)
    assert params(out[2])["file_path"] == "/srv/etc/x.conf"


def test_failed_open_has_status_and_no_handle() -> None:
    m, out = make_mapper()
    open_close(m, b"/nope", u64(-2))
    assert names(out) == ["CreateFile"]
    assert params(out[0])["status"] == "No such file or directory"
    assert params(out[0])["fd"] == -1


def test_write_read_and_close_carry_fd_path_and_bytes() -> None:
    m, out = make_mapper()
    open_close(m, b"/tmp/f", 3)
    feed(
        m,
        # reads and writes are one record: the exit carries the fd (plus one) the entry saw
        record("syscalls/sys_exit_write", pid=PID, tid=PID + 1, words=[1234, 3 + 1]),
        record("syscalls/sys_exit_read", pid=PID, words=[99, 3 + 1]),
        record("syscalls/sys_enter_close", pid=PID, words=[3]),
    )
    assert names(out)[2:] == ["WriteFile", "ReadFile", "CloseFile", "CloseHandle"]
    w = out[2]
    assert w.tid == PID + 1 and params(w)["io_size"] == 1234 and params(w)["file_path"] == "/tmp/f"
    assert params(out[3])["io_size"] == 99
    assert params(out[4])["fd"] == 3 and params(out[5])["handle_object"] == (PID << 32) | 3
    # the descriptor is gone: a second close of fd 3 says nothing
    feed(m, record("syscalls/sys_enter_close", pid=PID, words=[3]))
    assert len(out) == 6


def test_exit_without_its_entry_is_ignored() -> None:
    m, out = make_mapper()
    feed(m, record("syscalls/sys_exit_openat", pid=PID, words=[9]))
    assert out == [] and m.stats.unpaired == 1
    # a read whose entry the kernel did not remember (0: no descriptor saved)
    feed(m, record("syscalls/sys_exit_read", pid=PID, words=[9, 0]))
    assert out == [] and m.stats.unpaired == 2


def test_rename_and_delete() -> None:
    m, out = make_mapper()
    feed(
        m,
        record(
            "syscalls/sys_enter_renameat2",
            pid=PID,
            words=[u64(AT_FDCWD), 0, u64(AT_FDCWD), 0],
            slots=[b"a.txt", b"/tmp/b.txt"],
        ),
        record("syscalls/sys_exit_renameat2", pid=PID, words=[0]),
        record(
            "syscalls/sys_enter_unlinkat",
            pid=PID,
            words=[u64(AT_FDCWD), 0, 0x200],
            slots=[b"olddir"],
        ),
        record("syscalls/sys_exit_unlinkat", pid=PID, words=[0]),
    )
    assert names(out) == ["RenameFile", "DeleteFile"]
    assert params(out[0])["file_path"] == "/home/u/a.txt"
    assert params(out[0])["new_file_path"] == "/tmp/b.txt"
    assert params(out[1])["file_path"] == "/home/u/olddir"
    assert params(out[1])["type"] == "Directory"


def test_fork_exec_exit_build_the_process_story() -> None:
    m, out = make_mapper()
    child = PID + 10
    feed(
        m,
        record("task/task_newtask", pid=PID, words=[child, 0, 0, 0x11]),  # SIGCHLD, no thread
        record(
            "syscalls/sys_enter_execve",
            pid=child,
            words=[0, 0],
            slots=[b"bin/tool", b"tool", b"--flag", b"x y"],
        ),
        record("syscalls/sys_exit_execve", pid=child, words=[0]),
        record("syscalls/sys_enter_exit_group", pid=child, words=[3]),
        record("sched/sched_process_exit", pid=child, words=[0, 0, child, 1]),
    )
    # the inherited descriptor (fd 0) closes with the process
    assert names(out) == [
        "CreateProcess",
        "CreateProcess",
        "LoadImage",
        "CloseHandle",
        "TerminateProcess",
    ]
    fork, exec_, image, closed, end = out
    assert params(closed)["handle_object"] == (child << 32) | 0
    assert fork.pid == PID and fork.process is not None and fork.process.pid == PID
    assert params(fork)["pid"] == child and params(fork)["ppid"] == PID
    assert params(fork)["exe"] == "/usr/bin/python3"  # a fork runs the parent's image
    assert fork.meta == [("linux.origin", "fork")]
    for name in ("sid", "session_id", "flags", "start_time", "cmdline", "name"):
        assert name in fork.params
    assert (
        params(fork)["sid"] == b"\x01\x02\x00\x00\x00\x00\x00\x16\x01\x00\x00\x00\xe8\x03\x00\x00"
    )
    ex = params(exec_)
    assert ex["pid"] == child and ex["ppid"] == PID
    assert ex["exe"] == "/home/u/bin/tool" and ex["name"] == "tool"
    assert ex["cmdline"] == "tool --flag x y"
    assert params(image)["file_path"] == "/home/u/bin/tool"
    assert params(end)["pid"] == child and params(end)["exit_status"] == 3
    assert child not in m.procs


def test_threads() -> None:
    m, out = make_mapper()
    feed(
        m,
        record("task/task_newtask", pid=PID, words=[PID + 1, 0, 0, 0x3D0F00]),  # CLONE_THREAD
        record("sched/sched_process_exit", pid=PID, tid=PID + 1, words=[0, 0, PID + 1, 0]),
    )
    assert names(out) == ["CreateThread", "TerminateThread"]
    assert params(out[0]) == {"pid": PID, "tid": PID + 1}
    assert params(out[1]) == {"pid": PID, "tid": PID + 1}
    assert PID in m.procs


def test_unknown_process_is_announced_before_its_first_event() -> None:
    m, out = make_mapper()
    stranger = 999_999_1  # no such process: read from /proc fails, an empty state is used
    feed(
        m,
        record("syscalls/sys_enter_unlink", pid=stranger, slots=[b"/tmp/x"]),
        record("syscalls/sys_exit_unlink", pid=stranger, words=[0]),
    )
    assert names(out) == ["ProcessRundown", "DeleteFile"]
    assert params(out[0])["pid"] == stranger and out[0].process is not None
    assert out[1].ps is out[0].process


def _sockaddr_in(ip: str, port: int) -> bytes:
    return (
        struct.pack("<H", socket.AF_INET)
        + struct.pack(">H", port)
        + socket.inet_aton(ip)
        + bytes(8)
    )


def test_tcp_connect_takes_the_local_end_from_the_state_change() -> None:
    m, out = make_mapper()
    feed(
        m,
        record("syscalls/sys_enter_socket", pid=PID, words=[socket.AF_INET, socket.SOCK_STREAM, 0]),
        record("syscalls/sys_exit_socket", pid=PID, words=[4]),
        record(
            "syscalls/sys_enter_connect",
            pid=PID,
            words=[4, 0, 16],
            slots=[_sockaddr_in("10.0.0.9", 443)],
        ),
    )
    state = struct.pack("<ii", 2, 1) + struct.pack("<HHHH", 51000, 443, socket.AF_INET, 6)
    state += socket.inet_aton("10.0.0.5") + socket.inet_aton("10.0.0.9") + bytes(32)
    words = [0, *struct.unpack("<7Q", state[:56])]
    feed(
        m,
        record("sock/inet_sock_set_state", pid=0, words=words),
        record("syscalls/sys_exit_connect", pid=PID, words=[0]),
        # sends and receives are one record: the fd (plus one) the entry saw, at the exit
        record("syscalls/sys_exit_sendto", pid=PID, words=[500, 4 + 1]),
        record("syscalls/sys_exit_recvfrom", pid=PID, words=[20, 4 + 1]),
    )
    assert names(out) == ["CreateHandle", "Connect", "Send", "Recv"]
    c = params(out[1])
    assert c["sip"] == ipaddress.IPv4Address("10.0.0.5") and c["sport"] == 51000
    assert c["dip"] == ipaddress.IPv4Address("10.0.0.9") and c["dport"] == 443
    assert c["l4_proto"] == "TCP"
    assert params(out[2])["size"] == 500 and params(out[2])["dport"] == 443
    assert params(out[3])["size"] == 20 and out[3].type.hex().endswith("000b")


def test_udp_sendto_names_the_destination() -> None:
    m, out = make_mapper()
    feed(
        m,
        record("syscalls/sys_enter_socket", pid=PID, words=[socket.AF_INET, socket.SOCK_DGRAM, 0]),
        record("syscalls/sys_exit_socket", pid=PID, words=[6]),
        # the destination, read at the exit from the pointer the entry remembered (the kernel
        # reads a fixed 128 bytes: what follows the sockaddr is noise)
        record(
            "syscalls/sys_exit_sendto",
            pid=PID,
            words=[99, 6 + 1],
            slots=[_sockaddr_in("127.0.0.1", 5353) + b"\xaa" * 112],
        ),
    )
    send = out[-1]
    assert send.name == "Send" and send.type.hex().startswith("bf3a50c5")  # UdpIp provider
    assert params(send)["dport"] == 5353 and params(send)["size"] == 99
    assert params(send)["l4_proto"] == "UDP"


def test_filter_drops_only_events_replay_does_not_need() -> None:
    m, out = make_mapper(keep=lambda ev: False)
    open_close(m, b"/tmp/f", 3)
    feed(m, record("task/task_newtask", pid=PID, words=[PID + 5, 0, 0, 0x11]))
    assert names(out) == ["CreateHandle", "CreateProcess"]
    assert m.stats.filtered == 1


def test_event_kinds_select_what_is_written() -> None:
    m, out = make_mapper(kinds={"process", "file"})
    open_close(m, b"/tmp/f", 3)
    assert names(out) == ["CreateFile"]
    assert 3 in m.procs[PID].fds  # the descriptor is still tracked for later events


def test_records_after_the_cutoff_are_ignored() -> None:
    m, out = make_mapper()
    m.cutoff_ns = 50
    open_close(m, b"/tmp/f", 3, ts=100)
    assert out == []


@pytest.mark.parametrize(
    ("raw", "expect"),
    [
        (_sockaddr_in("1.2.3.4", 80), (socket.AF_INET, (ipaddress.IPv4Address("1.2.3.4"), 80))),
        (
            struct.pack("<H", socket.AF_INET6)
            + struct.pack(">HI", 8080, 0)
            + ipaddress.IPv6Address("::ffff:10.1.1.1").packed
            + bytes(4),
            (socket.AF_INET, (ipaddress.IPv4Address("10.1.1.1"), 8080)),
        ),
        (
            struct.pack("<H", socket.AF_INET6)
            + struct.pack(">HI", 53, 0)
            + ipaddress.IPv6Address("2001:db8::1").packed
            + bytes(4),
            (socket.AF_INET6, (ipaddress.IPv6Address("2001:db8::1"), 53)),
        ),
        (struct.pack("<H", socket.AF_UNIX) + b"/run/x\0", (socket.AF_UNIX, None)),
        (b"", (0, None)),
    ],
)
def test_parse_sockaddr(raw: bytes, expect: tuple[int, object]) -> None:
    assert parse_sockaddr(raw) == expect


def test_io_aggregation_sums_calls_until_the_window_ends_or_the_fd_closes() -> None:
    m, out = make_mapper(kinds={"process", "file"})
    m.io_window_ns = 1_000_000
    open_close(m, b"/tmp/log", 3, ts=10)

    def write(ts: int, n: int) -> None:
        feed(
            m,
            record("syscalls/sys_exit_write", pid=PID, ts=ts + 1, words=[n, 3 + 1]),
        )

    for i in range(5):
        write(100 + i, 10)
    assert names(out) == ["CreateFile"]  # still aggregating
    write(2_000_000, 7)  # past the window: the six calls go out as one event
    assert names(out) == ["CreateFile", "WriteFile"]
    agg = params(out[1])
    assert agg["io_size"] == 57 and agg["io_count"] == 6 and agg["file_path"] == "/tmp/log"
    write(2_000_100, 5)
    feed(m, record("syscalls/sys_enter_close", pid=PID, ts=2_000_200, words=[3]))
    assert names(out)[2:] == ["WriteFile", "CloseFile"]  # flushed before the close
    assert params(out[2])["io_size"] == 5 and params(out[2])["io_count"] == 1


def test_io_aggregation_flushes_on_demand() -> None:
    m, out = make_mapper(kinds={"process", "file"})
    m.io_window_ns = 10**12
    open_close(m, b"/tmp/log", 3, ts=10)
    feed(
        m,
        record("syscalls/sys_exit_read", pid=PID, ts=21, words=[64, 3 + 1]),
    )
    m.flush_io()
    assert names(out) == ["CreateFile", "ReadFile"] and params(out[1])["io_count"] == 1


def test_a_record_that_breaks_a_handler_is_counted_not_fatal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    m, out = make_mapper()

    def broken(*args: object) -> None:
        raise ValueError("boom")

    m._dispatch[next(iter(m._dispatch))] = broken
    first_kind = next(iter(m._dispatch))
    rec = bytearray(record("task/task_newtask", pid=PID, words=[PID + 1, 0, 0, 0x11]))
    struct.pack_into("<I", rec, 0, first_kind)
    feed(m, bytes(rec))
    open_close(m, b"/tmp/ok", 3)
    assert m.stats.errors == 1 and "boom" in str(m.stats.first_error)
    assert names(out) == ["CreateFile", "CreateHandle"]


def test_exec_of_proc_self_fd_names_the_memfd_of_the_exec_ing_process() -> None:
    m, out = make_mapper()
    feed(
        m,
        record("syscalls/sys_enter_memfd_create", pid=PID, words=[0, 0], slots=[b"evil"]),
        record("syscalls/sys_exit_memfd_create", pid=PID, words=[7]),
        record("syscalls/sys_enter_execve", pid=PID, words=[0, 0], slots=[b"/proc/self/fd/7"]),
        record("sched/sched_process_exec", pid=PID, words=[0, PID], slots=[b"/proc/self/fd/7"]),
        record("syscalls/sys_exit_execve", pid=PID, words=[0], slots=[b"x", b"-v"]),
    )
    assert names(out) == ["CreateHandle", "CreateProcess", "LoadImage"]
    ex = params(out[1])
    assert ex["exe"] == "/memfd:evil (deleted)" and ex["name"] == "memfd:evil"
    assert ex["cmdline"] == "x -v"  # the argv read at exit
    assert ("linux.fileless", "memfd") in out[1].meta


def test_exec_by_another_thread_pairs_through_the_kernel_s_record() -> None:
    # A non-main thread calls exec: its entry is under its own tid, the exit comes on the
    # main thread; sched_process_exec (with the old tid) joins them. The user's copy of the
    # name could not be read (empty); the kernel's is used.
    m, out = make_mapper()
    feed(
        m,
        record("syscalls/sys_enter_execve", pid=PID, tid=PID + 3, words=[0, 0], slots=[b""]),
        record("sched/sched_process_exec", pid=PID, words=[0, PID + 3], slots=[b"/usr/bin/env"]),
        record("syscalls/sys_exit_execve", pid=PID, words=[0], slots=[b"env"]),
    )
    assert names(out) == ["CreateProcess", "LoadImage"]
    assert params(out[0])["exe"] == os.path.realpath("/usr/bin/env")
    assert params(out[0])["cmdline"] == "env" and m.stats.unpaired == 0


@given(st.lists(st.sampled_from(["", ".", "..", "a", "b.", ".c", "..d", "/"]), max_size=8))
def test_absolute_paths_come_out_as_normpath_gives_them(parts: list[str]) -> None:
    # abspath skips normpath for paths that are already normal: it must not change a result
    m, _ = make_mapper()
    path = "/" + "/".join(parts)
    assert m.ctx.abspath(m.procs[PID], AT_FDCWD, path) == posixpath.normpath(path)


def test_openat2_takes_its_flags_from_the_open_how_structure() -> None:
    m, out = make_mapper()
    how = struct.pack("<QQQ", O_WRONLY | O_CREAT, 0o600, 0)  # flags, mode, resolve
    feed(
        m,
        record(
            "syscalls/sys_enter_openat2",
            pid=PID,
            words=[u64(AT_FDCWD), 0, 0x7FFF0000, 24],
            slots=[b"new.txt", how],
        ),
        record("syscalls/sys_exit_openat2", pid=PID, words=[5]),
    )
    assert names(out) == ["CreateFile", "CreateHandle"]
    cf = params(out[0])
    assert cf["file_path"] == "/home/u/new.txt"
    assert cf["flags"] == O_WRONLY | O_CREAT and cf["create_disposition"] == "OPEN_IF"
