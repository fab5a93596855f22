"""Live capture end to end: a known child's actions must come back from the capture file.

Runs `kcap capture` as a separate process (the capture excludes its own activity), starts a
child that touches a file, talks TCP and UDP to listeners in this test, starts a thread and
runs /bin/true, then replays the file and checks each action with its pid, tid, paths,
addresses, ports and byte counts, the process tree, the absence of loss, and that no kernel
resource or process outlived the capture.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from live_support import (
    CaptureProcess,
)

import kcap
from kcap.model import Event

pytestmark = pytest.mark.live

CHILD = r"""
import os, socket, subprocess, sys, threading
work, tcp_port, udp_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.chdir(work)
with open("data.txt", "w") as fh:          # relative path: made absolute from the cwd
    fh.write("x" * 1234)
with open(os.path.join(work, "data.txt"), "rb") as fh:
    assert len(fh.read()) == 1234
os.rename("data.txt", "moved.txt")
os.unlink(os.path.join(work, "moved.txt"))
tcp = socket.create_connection(("127.0.0.1", tcp_port))
tcp.sendall(b"y" * 777)
got = b""
while len(got) < 55:
    got += tcp.recv(100)
local_port = tcp.getsockname()[1]
tcp.close()
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.sendto(b"z" * 99, ("127.0.0.1", udp_port))
udp.close()
tids = []
t = threading.Thread(target=lambda: tids.append(threading.get_native_id()))
t.start()
t.join()
subprocess.run(["/bin/true"], check=True)
print(os.getpid(), threading.get_native_id(), tids[0], local_port, flush=True)
"""


class Listeners:
    """A TCP server that reads 777 bytes and answers 55, and a UDP receiver."""

    def __init__(self) -> None:
        self.tcp = socket.socket()
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(1)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.peer: tuple[str, int] | None = None
        self.udp_got = 0
        # accept() only once the capture runs, so its entry (with the peer buffer) is seen
        self.go = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.go.wait(120)
        conn, self.peer = self.tcp.accept()
        got = 0
        while got < 777:
            chunk = conn.recv(4096)
            if not chunk:
                break
            got += len(chunk)
        conn.sendall(b"w" * 55)
        conn.close()
        self.udp_got = len(self.udp.recv(4096))

    def close(self) -> None:
        self.go.set()
        self.thread.join(10)
        self.tcp.close()
        self.udp.close()


def _read_all(path: Path) -> list[Event]:
    with kcap.open(path) as reader:
        return list(reader.read())


def _p(ev: Event) -> dict[str, object]:
    return {name: p.value for name, p in ev.params.items()}


def test_capture_records_a_known_child(tmp_path: Path, leak_check: None) -> None:
    out = tmp_path / "live.kcap"
    work = tmp_path / "work"
    work.mkdir()
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    listeners = Listeners()
    tcp_port = listeners.tcp.getsockname()[1]
    udp_port = listeners.udp.getsockname()[1]
    cap = CaptureProcess(out, "--duration", "120")
    try:
        cap.wait_ready()
        listeners.go.set()
        child = subprocess.run(
            [
                sys.executable,
                str(script),
                str(work),
                str(tcp_port),
                str(udp_port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert child.returncode == 0, child.stderr
        listeners.close()
    finally:
        listeners.close()
        rc = cap.stop(signal.SIGTERM)
    assert rc == 0, cap.stderr
    cap.assert_released()
    assert cap.stat("Events lost") == "0"

    child_pid, child_tid, thread_tid, local_port = map(int, child.stdout.split())
    assert listeners.peer is not None and listeners.peer[1] == local_port
    me = os.getpid()
    events = _read_all(out)
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    assert not [e for e in events if e.name == "EventsLost"]
    mine = [e for e in events if e.pid == child_pid]
    data = str(work / "data.txt")
    moved = str(work / "moved.txt")

    def one(name: str, **want: object) -> Event:
        found = [
            e for e in mine if e.name == name and all(_p(e).get(k) == v for k, v in want.items())
        ]
        assert found, f"no {name} {want} among the child's events"
        return found[0]

    # process creation: the fork from this test, then the exec of the interpreter
    created = [e for e in events if e.name == "CreateProcess" and e.param("pid") == child_pid]
    assert created and all(e.param("ppid") == me for e in created)
    assert created[-1].param("exe") == os.path.realpath(sys.executable)
    assert str(script) in str(created[-1].param("cmdline"))

    # files: open with the resulting fd, write and read byte counts, rename, delete
    opened = one("CreateFile", file_path=data)
    assert opened.tid == child_tid
    assert isinstance(opened.param("fd"), int) and opened.param("fd") >= 0
    assert one("WriteFile", file_path=data, io_size=1234).tid == child_tid
    one("ReadFile", file_path=data, io_size=1234)
    one("CloseFile", file_path=data)
    one("RenameFile", file_path=data, new_file_path=moved)
    one("DeleteFile", file_path=moved)
    handle = one("CreateHandle", handle_name=data)
    assert handle.param("handle_id") == opened.param("fd")
    one("CloseHandle", handle_name=data)

    # TCP: connect with both ends, send and receive byte counts; UDP datagram
    loop = ipaddress.IPv4Address("127.0.0.1")
    conn = one("Connect", dip=loop, dport=tcp_port)
    assert conn.param("sport") == local_port and conn.param("sip") == loop
    one("Send", dport=tcp_port, sport=local_port, size=777, l4_proto="TCP")
    recv = [e for e in mine if e.name == "Recv" and e.param("l4_proto") == "TCP"]
    assert sum(int(e.param("size")) for e in recv) == 55
    one("Send", dip=loop, dport=udp_port, size=99, l4_proto="UDP")
    accepted = [
        e for e in events if e.name == "Accept" and e.pid == me and e.param("dport") == local_port
    ]
    assert accepted and accepted[0].param("sport") == tcp_port

    # the thread
    one("CreateThread", tid=thread_tid)
    one("TerminateThread", tid=thread_tid)

    # /bin/true: created by the child, exits 0, and replay rebuilds test -> child -> true
    true_exe = os.path.realpath("/bin/true")  # symlinks resolved, as /proc/PID/exe does
    true_create = [
        e
        for e in events
        if e.name == "CreateProcess"
        and e.param("exe") == true_exe
        and e.param("ppid") == child_pid
        and e.meta == [("linux.origin", "exec")]
    ]
    assert len(true_create) == 1, "the child's /bin/true exec"
    true_pid = true_create[0].param("pid")
    assert true_create[0].param("cmdline") == "/bin/true"
    ended = [e for e in events if e.name == "TerminateProcess" and e.param("pid") == true_pid]
    assert ended and ended[0].param("exit_status") == 0
    in_true = [e for e in events if e.pid == true_pid and e.name != "TerminateProcess"]
    assert in_true
    ps = in_true[-1].ps
    assert ps is not None and ps.name == "true" and ps.exe == true_exe
    assert ps.parent is not None and ps.parent.pid == child_pid
    assert ps.parent.parent is not None and ps.parent.parent.pid == me

    # every event has its process on replay (TerminateProcess has none by design)
    orphans = [e for e in events if e.ps is None and e.name not in ("TerminateProcess",)]
    assert orphans == []

    # the capture excluded itself
    assert cap.proc.pid not in {e.pid for e in events}


def test_capture_time_filter_keeps_state_events(tmp_path: Path, leak_check: None) -> None:
    out = tmp_path / "filtered.kcap"
    victim = tmp_path / "victim.txt"
    victim.write_text("x")
    cap = CaptureProcess(out, "--duration", "120", "kevt.name", "=", "'DeleteFile'")
    try:
        cap.wait_ready()
        subprocess.run(["/bin/rm", str(victim)], check=True)
        (tmp_path / "other.txt").write_text("y")  # a CreateFile the filter drops
    finally:
        rc = cap.stop(signal.SIGTERM)
    assert rc == 0, cap.stderr
    cap.assert_released()
    events = _read_all(out)
    names = {e.name for e in events}
    deletes = [e for e in events if e.name == "DeleteFile" and e.param("file_path") == str(victim)]
    assert deletes and deletes[0].ps is not None and deletes[0].ps.name == "rm"
    assert "CreateFile" not in names and "ReadFile" not in names  # dropped by the filter
    assert "CreateProcess" in names and "CreateHandle" in names  # state events are kept
    assert int(cap.stat("Filtered out").replace(",", "")) > 0
