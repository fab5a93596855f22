"""Live capture records the program each form of exec really ran (fileless ones included).

One capture runs while a child performs every form of exec: a path, a relative path,
``/proc/self/fd/N`` of a memory file, ``fexecve`` of a memory file, ``execveat`` with
``AT_EMPTY_PATH`` of an ordinary file, and a ``#!`` script. Each test checks one form: the
``CreateProcess`` of the exec (exe as ``/proc/PID/exe`` shows it, the name derived from it,
the cmdline, the fileless mark) and the process state replay gives the program's own events.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from live_support import CaptureProcess, require_live

import kcap
from kcap.model import Event

pytestmark = pytest.mark.live

CAT = os.path.realpath(shutil.which("cat") or "/bin/cat")
SH = os.path.realpath("/bin/sh")

# Each form runs `cat MARKER` (so the new program opens a file of its own) in a fork of this
# driver and reports its pid. The path, relative and execveat forms pass their strings from
# pages that are mapped but not yet in the process's page tables, as a program's strings often
# are: eBPF cannot fault them in at the syscall's entry (they read as nothing), the kernel can.
DRIVER = r"""
import ctypes, json, mmap, os, sys
work, cat = sys.argv[1], sys.argv[2]
os.chdir(work)
results = {}
libc = ctypes.CDLL(None, use_errno=True)
libc.execv.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
libc.execveat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                          ctypes.c_int]
AT_EMPTY_PATH = 0x1000

def unpaged(strings):
    # addresses of the strings in a private file mapping nothing has touched yet
    data = b"".join(s.encode() + b"\0" for s in strings)
    path = os.path.join(work, f"strings-{os.getpid()}")
    with open(path, "wb") as fh:
        fh.write(data)
    fd = os.open(path, os.O_RDWR)
    m = mmap.mmap(fd, len(data), mmap.MAP_PRIVATE, mmap.PROT_READ | mmap.PROT_WRITE)
    base = ctypes.addressof(ctypes.c_char.from_buffer(m))
    out, off = [], 0
    for s in strings:
        out.append(base + off)
        off += len(s.encode()) + 1
    return out, m

def execv_unpaged(path, argv):
    ptrs, keep = unpaged([path, *argv])
    arr = (ctypes.c_void_p * (len(argv) + 1))(*ptrs[1:], None)
    libc.execv(ptrs[0], arr)

def fexecve_unpaged(fd, argv):
    ptrs, keep = unpaged(["", *argv])
    arr = (ctypes.c_void_p * (len(argv) + 1))(*ptrs[1:], None)
    env = [f"{k}={v}".encode() for k, v in os.environ.items()]
    envp = (ctypes.c_char_p * (len(env) + 1))(*env, None)
    libc.execveat(fd, ptrs[0], arr, envp, AT_EMPTY_PATH)

def run(form, do_exec):
    marker = os.path.join(work, f"marker-{form}")
    open(marker, "w").write(form)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.dup2(w, 1)
        do_exec(marker)
        os._exit(127)
    os.close(w)
    out = b""
    while chunk := os.read(r, 4096):
        out += chunk
    os.close(r)
    _, status = os.waitpid(pid, 0)
    results[form] = {"pid": pid, "status": status, "out": out.decode()}

def memfd_with(path, name):
    fd = os.memfd_create(name, 0)  # no MFD_CLOEXEC: /proc/self/fd/N must survive to exec
    with open(path, "rb") as fh:
        os.write(fd, fh.read())
    return fd

run("path", lambda m: execv_unpaged(cat, ["cat", m]))
os.makedirs("bin", exist_ok=True)
os.link(cat, "bin/mycat") if not os.path.exists("bin/mycat") else None
run("relative", lambda m: execv_unpaged("./bin/mycat", ["mycat", m]))
mfd = memfd_with(cat, "evil")
run("proc_self_fd", lambda m: os.execv(f"/proc/self/fd/{mfd}", ["evil", m]))
run("fexecve_memfd", lambda m: os.execve(mfd, ["evil2", m], dict(os.environ)))
regular = os.open(cat, os.O_RDONLY)
run("execveat_empty_path", lambda m: fexecve_unpaged(regular, ["byfd", m]))
with open("script.sh", "w") as fh:
    fh.write("#!/bin/sh\nexec " + cat + " \"$1\"\n")
os.chmod("script.sh", 0o755)
run("script", lambda m: os.execv("./script.sh", ["./script.sh", m]))
# an open whose path is not paged in at the syscall's entry either
libc.open.argtypes = [ctypes.c_void_p, ctypes.c_int]
target = os.path.join(work, "opened-unpaged")
open(target, "w").close()
ptrs, keep = unpaged([target])
fd = libc.open(ptrs[0], os.O_RDONLY)
assert fd >= 0
os.close(fd)
print(json.dumps(results), flush=True)
print(json.dumps({"pid": os.getpid(), "path": target}), flush=True)
"""


class Capture:
    def __init__(
        self,
        events: list[Event],
        results: dict[str, dict[str, object]],
        work: Path,
        opened: dict[str, object],
    ):
        self.events = events
        self.results = results
        self.work = work
        self.opened = opened

    def execs(self, pid: int) -> list[Event]:
        return [
            e
            for e in self.events
            if e.name == "CreateProcess"
            and e.param("pid") == pid
            and ("linux.origin", "exec") in e.meta
        ]

    def opened_marker(self, form: str) -> Event:
        marker = str(self.work / f"marker-{form}")
        pid = self.results[form]["pid"]
        found = [
            e
            for e in self.events
            if e.name == "CreateFile" and e.pid == pid and e.param("file_path") == marker
        ]
        assert found, f"the program of form {form} opening {marker} was not captured"
        return found[-1]


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Capture]:
    require_live()
    tmp = tmp_path_factory.mktemp("exec-forms")
    work = tmp / "work"
    work.mkdir()
    script = tmp / "driver.py"
    script.write_text(DRIVER)
    out = tmp / "exec.kcap"
    cap = CaptureProcess(out, "--duration", "120", "-q")
    try:
        cap.wait_ready()
        child = subprocess.run(
            [sys.executable, str(script), str(work), CAT],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        rc = cap.stop(signal.SIGTERM)
    assert rc == 0, cap.stderr
    cap.assert_released()
    assert child.returncode == 0, child.stderr
    first, second = child.stdout.splitlines()[:2]
    results = json.loads(first)
    opened = json.loads(second)
    for form, res in results.items():
        assert res["status"] == 0 and res["out"] == form, (form, res)
    with kcap.open(out) as reader:
        events = list(reader.read())
    yield Capture(events, results, work, opened)


def _check(capture: Capture, form: str, exe: str, name: str, cmdline: str, fileless: str) -> None:
    pid = capture.results[form]["pid"]
    assert isinstance(pid, int)
    execs = capture.execs(pid)
    assert execs, f"no exec CreateProcess for pid {pid} ({form})"
    ev = execs[-1]
    assert ev.param("exe") == exe
    assert ev.param("name") == name
    assert ev.param("cmdline") == cmdline
    assert dict(ev.meta).get("linux.fileless", "") == fileless
    # every later event of the process carries the new program as its process
    ps = capture.opened_marker(form).ps
    assert ps is not None and ps.exe == exe and ps.name == name and ps.cmdline == cmdline


def test_exec_of_a_path(capture: Capture) -> None:
    marker = capture.work / "marker-path"
    _check(capture, "path", CAT, os.path.basename(CAT), f"cat {marker}", "")


def test_exec_of_a_relative_path(capture: Capture) -> None:
    marker = capture.work / "marker-relative"
    exe = str(capture.work / "bin" / "mycat")
    _check(capture, "relative", exe, "mycat", f"mycat {marker}", "")


def test_exec_of_proc_self_fd_of_a_memfd(capture: Capture) -> None:
    marker = capture.work / "marker-proc_self_fd"
    _check(
        capture,
        "proc_self_fd",
        "/memfd:evil (deleted)",
        "memfd:evil",
        f"evil {marker}",
        "memfd",
    )


def test_fexecve_of_a_memfd(capture: Capture) -> None:
    marker = capture.work / "marker-fexecve_memfd"
    _check(
        capture,
        "fexecve_memfd",
        "/memfd:evil (deleted)",
        "memfd:evil",
        f"evil2 {marker}",
        "memfd",
    )


def test_execveat_empty_path_of_a_file_descriptor(capture: Capture) -> None:
    marker = capture.work / "marker-execveat_empty_path"
    _check(capture, "execveat_empty_path", CAT, os.path.basename(CAT), f"byfd {marker}", "")


def test_exec_of_a_script_runs_its_interpreter(capture: Capture) -> None:
    # The kernel runs the interpreter with the script's path in front of the arguments; the
    # script then execs cat, which is a second exec of the same process.
    form = "script"
    pid = capture.results[form]["pid"]
    assert isinstance(pid, int)
    marker = capture.work / "marker-script"
    first = capture.execs(pid)[0]
    assert first.param("exe") == SH
    assert first.param("name") == os.path.basename(SH)
    assert first.param("cmdline") == f"/bin/sh ./script.sh {marker}"
    _check(capture, form, CAT, os.path.basename(CAT), f"{CAT} {marker}", "")


def test_open_of_a_path_not_paged_in_at_entry(capture: Capture) -> None:
    # openat's path is read at the exit, when the kernel has brought its page in
    pid, path = capture.opened["pid"], capture.opened["path"]
    found = [
        e
        for e in capture.events
        if e.name == "CreateFile" and e.pid == pid and e.param("file_path") == path
    ]
    assert found and found[0].param("status") == "Success"
