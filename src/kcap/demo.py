"""A small, realistic capture built in code: the demo's input when live capture is unavailable.

    python -m kcap.demo demo.kcap

The story, on a Linux host: state rundowns of ``systemd``, ``sshd`` and a login ``bash``
(process state, threads, images, with an open-file handle snapshot), then ``bash`` starts
``curl``, which reads ``/etc/resolv.conf``, connects to a web server, downloads a page into
``/tmp/index.html`` and exits; then ``bash`` runs ``cat`` on the file. Events use the shared
Fibratus taxonomy (type ids, names, categories, parameter names), as the Linux capture does, so
``kevt.name = 'CreateProcess' and ps.name = 'bash'`` means the same here as on Windows.

The capture is written with `kcap.new_writer` in the newest layout, so Fibratus itself can
replay it too.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import struct
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from kcap.errors import KcapError
from kcap.model import Event, Handle, Param, ParamType, Process, Timestamp
from kcap.model.catalogue import by_name
from kcap.state import HandleSnapshotter, ProcessSnapshotter
from kcap.writer import Config, WriterStats, new_writer

#: Start of the story when no start time is given (the demo is reproducible by default).
DEFAULT_START = Timestamp("2024-06-01T12:00:00Z")
HOST = "demo-host"

P = ParamType


def _unix_sid(uid: int) -> bytes:
    """The binary SID S-1-22-1-<uid>, the usual spelling of a Unix user as a SID."""
    return b"\x01\x02" + (22).to_bytes(6, "big") + struct.pack("<II", 1, uid)


class _Story:
    """Builds events in order with increasing sequence numbers and timestamps."""

    def __init__(self, start: Timestamp) -> None:
        self.seq = 0
        self.ns = start.ns
        self.offset = start.offset
        self.types = by_name()

    def event(
        self,
        name: str,
        pid: int,
        tid: int,
        params: list[Param],
        *,
        cpu: int = 0,
        step_us: int = 150,
        process: Process | None = None,
    ) -> Event:
        et = self.types[name]
        self.seq += 1
        self.ns += step_us * 1000
        return Event(
            seq=self.seq,
            pid=pid,
            tid=tid,
            cpu=cpu,
            type=et.id,
            name=et.name,
            category=et.category,
            description=et.description,
            host=HOST,
            timestamp=Timestamp.from_ns(self.ns, self.offset),
            params=params,
            process=process,
        )

    def advance(self, us: int) -> None:
        self.ns += us * 1000

    def now(self) -> Timestamp:
        return Timestamp.from_ns(self.ns, self.offset)


def _process(
    pid: int, ppid: int, name: str, exe: str, cmdline: str, cwd: str, uid: int, start: Timestamp
) -> Process:
    return Process(
        pid=pid,
        ppid=ppid,
        name=name,
        exe=exe,
        cmdline=cmdline,
        cwd=cwd,
        sid=f"S-1-22-1-{uid}",
        args=cmdline.split(),
        session_id=1 if uid else 0,
        envs=[
            ("PATH", "/usr/local/bin:/usr/bin:/bin"),
            ("HOME", "/root" if not uid else "/home/ada"),
        ],
        start_time=start,
        uuid=(pid << 32) | 0x6B636170,
        username="root" if not uid else "ada",
    )


def _process_params(proc: Process, flags: int = 0) -> list[Param]:
    return [
        Param("pid", P.PID, proc.pid),
        Param("ppid", P.PID, proc.ppid),
        Param("name", P.UNICODE, proc.name),
        Param("cmdline", P.UNICODE, proc.cmdline),
        Param("exe", P.UNICODE, proc.exe),
        Param("sid", P.SID, _unix_sid(1000 if proc.username == "ada" else 0)),
        Param("session_id", P.UINT32, proc.session_id),
        Param("flags", P.FLAGS, flags),
        Param("start_time", P.TIME, proc.start_time),
    ]


def _image(s: _Story, pid: int, tid: int, path: str, base: int, size: int, *, load: bool) -> Event:
    return s.event(
        "LoadImage" if load else "ImageRundown",
        pid,
        tid,
        [
            Param("pid", P.PID, pid),
            Param("file_path", P.PATH, path),
            Param("base_address", P.ADDRESS, base),
            Param("image_size", P.UINT64, size),
        ],
        step_us=20,
    )


def _file(
    s: _Story, name: str, pid: int, tid: int, path: str, fd: int, extra: list[Param]
) -> Event:
    return s.event(
        name,
        pid,
        tid,
        [
            Param("file_path", P.PATH, path),
            Param("file_object", P.UINT64, (pid << 32) | fd),
            Param("fd", P.INT32, fd),
            *extra,
        ],
        cpu=1,
    )


def _net(s: _Story, name: str, pid: int, tid: int, size: int | None) -> Event:
    params = [
        Param("sip", P.IPV4, ipaddress.IPv4Address("10.0.2.15")),
        Param("sport", P.PORT, 48620),
        Param("dip", P.IPV4, ipaddress.IPv4Address("93.184.215.14")),
        Param("dport", P.PORT, 443),
        Param("l4_proto", P.UNICODE, "TCP"),
    ]
    if size is not None:
        params.append(Param("size", P.UINT32, size))
    return s.event(name, pid, tid, params, cpu=1, step_us=2500)


def demo_events(start: Timestamp = DEFAULT_START) -> Iterator[Event]:
    """The events of the demo capture, in order (state rundowns first, as a capture starts)."""
    s = _Story(start)
    boot = Timestamp.from_ns(start.ns - 3600 * 10**9, start.offset)
    login = Timestamp.from_ns(start.ns - 600 * 10**9, start.offset)
    systemd = _process(1, 0, "systemd", "/usr/lib/systemd/systemd", "/sbin/init", "/", 0, boot)
    sshd = _process(812, 1, "sshd", "/usr/sbin/sshd", "sshd: /usr/sbin/sshd -D", "/", 0, boot)
    bash = _process(2041, 812, "bash", "/usr/bin/bash", "-bash", "/home/ada", 1000, login)
    for proc in (systemd, sshd, bash):
        yield s.event("ProcessRundown", proc.pid, 0, _process_params(proc), process=proc)
        yield s.event(
            "ThreadRundown",
            proc.pid,
            proc.pid,
            [Param("pid", P.PID, proc.pid), Param("tid", P.TID, proc.pid)],
            step_us=20,
        )
        yield _image(
            s,
            proc.pid,
            proc.pid,
            proc.exe,
            0x55D0_0000_0000 + proc.pid * 0x1000,
            0x1_8000,
            load=False,
        )
        yield _image(
            s,
            proc.pid,
            proc.pid,
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
            0x7F3A_0000_0000,
            0x1E_5000,
            load=False,
        )

    # bash starts curl
    s.advance(4000)
    curl_start = s.now()
    curl = _process(
        2101,
        2041,
        "curl",
        "/usr/bin/curl",
        "curl -sS -o /tmp/index.html https://example.com/",
        "/home/ada",
        1000,
        curl_start,
    )
    # As in Fibratus, a CreateProcess carries the state of its *creator* (bash); the child is
    # described by the parameters, which replay turns into the child's state.
    yield s.event("CreateProcess", 2041, 2041, _process_params(curl), step_us=0, process=bash)
    yield s.event(
        "CreateThread", 2101, 2101, [Param("pid", P.PID, 2101), Param("tid", P.TID, 2101)]
    )
    yield _image(s, 2101, 2101, "/usr/bin/curl", 0x5612_3400_0000, 0x4_2000, load=True)
    yield _image(
        s,
        2101,
        2101,
        "/usr/lib/x86_64-linux-gnu/libcurl.so.4.8.0",
        0x7F11_2200_0000,
        0xB_9000,
        load=True,
    )
    yield _file(
        s,
        "CreateFile",
        2101,
        2101,
        "/etc/resolv.conf",
        3,
        [Param("create_disposition", P.UNICODE, "open"), Param("status", P.UNICODE, "success")],
    )
    yield _file(s, "ReadFile", 2101, 2101, "/etc/resolv.conf", 3, [Param("io_size", P.UINT32, 58)])
    yield _file(s, "CloseFile", 2101, 2101, "/etc/resolv.conf", 3, [])
    yield _net(s, "Connect", 2101, 2101, None)
    yield _net(s, "Send", 2101, 2101, 517)
    yield _net(s, "Recv", 2101, 2101, 4096)
    yield _file(
        s,
        "CreateFile",
        2101,
        2101,
        "/tmp/index.html",
        5,
        [
            Param("create_disposition", P.UNICODE, "overwrite_if"),
            Param("status", P.UNICODE, "success"),
        ],
    )
    yield _net(s, "Recv", 2101, 2101, 1256)
    yield _file(
        s, "WriteFile", 2101, 2101, "/tmp/index.html", 5, [Param("io_size", P.UINT32, 1256)]
    )
    yield _file(s, "CloseFile", 2101, 2101, "/tmp/index.html", 5, [])
    yield _net(s, "Disconnect", 2101, 2101, None)
    yield s.event(
        "TerminateThread", 2101, 2101, [Param("pid", P.PID, 2101), Param("tid", P.TID, 2101)]
    )
    yield s.event(
        "TerminateProcess",
        2101,
        2101,
        [*_process_params(curl)[:5], Param("exit_status", P.UINT32, 0)],
    )

    # bash runs cat on the downloaded page
    s.advance(900_000)
    cat = _process(
        2107, 2041, "cat", "/usr/bin/cat", "cat /tmp/index.html", "/home/ada", 1000, s.now()
    )
    yield s.event("CreateProcess", 2041, 2041, _process_params(cat), step_us=0, process=bash)
    yield _image(s, 2107, 2107, "/usr/bin/cat", 0x5598_7600_0000, 0x9000, load=True)
    yield _file(
        s,
        "CreateFile",
        2107,
        2107,
        "/tmp/index.html",
        3,
        [Param("create_disposition", P.UNICODE, "open"), Param("status", P.UNICODE, "success")],
    )
    yield _file(s, "ReadFile", 2107, 2107, "/tmp/index.html", 3, [Param("io_size", P.UINT32, 1256)])
    yield _file(s, "CloseFile", 2107, 2107, "/tmp/index.html", 3, [])
    yield s.event(
        "TerminateProcess",
        2107,
        2107,
        [*_process_params(cat)[:5], Param("exit_status", P.UINT32, 0)],
    )


def demo_handles() -> list[Handle]:
    """The handle snapshot: the open files of the login shell and of sshd."""
    return [
        Handle(num=0, object=(2041 << 32) | 0, pid=2041, type="File", name="/dev/pts/0"),
        Handle(num=1, object=(2041 << 32) | 1, pid=2041, type="File", name="/dev/pts/0"),
        Handle(num=2, object=(2041 << 32) | 2, pid=2041, type="File", name="/dev/pts/0"),
        Handle(num=3, object=(812 << 32) | 3, pid=812, type="File", name="socket:[21344]"),
    ]


def write_demo_capture(
    path: str | os.PathLike[str], start: Timestamp = DEFAULT_START
) -> WriterStats:
    """Write the demo capture to ``path`` and return the writer's statistics."""
    handles = HandleSnapshotter(demo_handles())
    writer = new_writer(path, ProcessSnapshotter(handles), handles, Config(flush_period=0))
    try:
        writer.write_all(demo_events(start))
    finally:
        stats = writer.close()
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kcap.demo",
        description="Write a small, realistic demo capture (a shell running curl and cat).",
    )
    parser.add_argument("output", help="capture file to write (.kcap is added without extension)")
    parser.add_argument(
        "--now",
        action="store_true",
        help="timestamp the events from the current time instead of a fixed date",
    )
    args = parser.parse_args(argv)
    start = DEFAULT_START
    if args.now:
        offset = time.localtime().tm_gmtoff
        start = Timestamp.from_ns(time.time_ns(), offset)
    try:
        stats = write_demo_capture(Path(args.output), start)
    except (OSError, KcapError) as exc:
        print(f"kcap.demo: error: {exc}", file=sys.stderr)
        return 1
    print(
        f"wrote {stats.file}: {stats.events} events, {stats.state_events} state events, "
        f"{stats.handles} handles, {stats.capture_size} bytes"
    )
    return 1 if stats.write_errors else 0


if __name__ == "__main__":
    sys.exit(main())
