"""Process snapshotter transitions for threads and modules (snapshotters.md §3.4)."""

from __future__ import annotations

import pytest
from state_events import ev, image, rundown

from kcap.state import ProcessSnapshotter

WIDTHS = pytest.mark.parametrize("width", [17, 18])


# --------------------------------------------------------------------------- threads


@WIDTHS
@pytest.mark.parametrize("kind", ["CreateThread", "ThreadRundown"])
def test_thread_events_put_the_thread(width, kind):
    snap = ProcessSnapshotter()
    snap.update(rundown(500, 4))
    snap.update(
        ev(
            kind,
            width=width,
            hpid=500,
            pid=500,
            tid=77,
            io_prio=2,
            base_prio=8,
            page_prio=5,
            ustack=0x1000,
            ustack_limit=0x800,
            kstack=0xFFFF0000,
            kstack_limit=0xFFFE0000,
            start_address=0x7FF0,
        )
    )
    proc = snap.find(500)
    assert proc is not None
    t = proc.threads[77]
    assert (t.tid, t.pid) == (77, 500)
    assert (t.io_prio, t.base_prio, t.page_prio) == (2, 8, 5)
    assert (t.ustack_base, t.ustack_limit) == (0x1000, 0x800)
    assert (t.kstack_base, t.kstack_limit) == (0xFFFF0000, 0xFFFE0000)
    assert t.start_address == 0x7FF0


def test_thread_missing_values_are_zero_and_same_tid_is_replaced():
    snap = ProcessSnapshotter()
    snap.update(rundown(500, 4))
    snap.update(ev("CreateThread", pid=500, tid=77, base_prio=8))
    snap.update(ev("ThreadRundown", pid=500, tid=77, io_prio=1))
    proc = snap.find(500)
    assert proc is not None and list(proc.threads) == [77]
    t = proc.threads[77]
    assert (t.io_prio, t.base_prio, t.start_address) == (1, 0, 0)


def test_thread_of_unknown_process_changes_nothing():
    snap = ProcessSnapshotter()
    snap.update(ev("CreateThread", pid=500, tid=77))
    assert len(snap) == 0


@WIDTHS
def test_terminate_thread_removes_it(width):
    snap = ProcessSnapshotter()
    snap.update(rundown(500, 4))
    snap.update(ev("CreateThread", pid=500, tid=77))
    snap.update(ev("CreateThread", pid=500, tid=78))
    snap.update(ev("TerminateThread", width=width, pid=500, tid=77))
    snap.update(ev("TerminateThread", pid=500, tid=99))  # unknown tid: no-op
    snap.update(ev("TerminateThread", pid=9, tid=78))  # unknown pid: no-op
    proc = snap.find(500)
    assert proc is not None and list(proc.threads) == [78]


@pytest.mark.parametrize("missing", ["pid", "tid"])
def test_terminate_thread_without_pid_or_tid_warns(missing):
    # upstream panics here
    messages: list[str] = []
    snap = ProcessSnapshotter(on_warning=messages.append)
    snap.update(rundown(500, 4))
    snap.update(ev("CreateThread", pid=500, tid=77))
    params = {"pid": 500, "tid": 77}
    del params[missing]
    snap.update(ev("TerminateThread", **params))
    proc = snap.find(500)
    assert proc is not None and list(proc.threads) == [77]
    assert len(messages) == 1 and "TerminateThread" in messages[0]


# --------------------------------------------------------------------------- modules


@WIDTHS
@pytest.mark.parametrize("kind", ["LoadImage", "ImageRundown"])
def test_image_event_appends_module(width, kind):
    snap = ProcessSnapshotter()
    snap.update(rundown(500, 4))
    snap.update(image(kind, width=width))
    proc = snap.find(500)
    assert proc is not None and len(proc.modules) == 1
    m = proc.modules[0]
    assert m.path == "C:\\Windows\\System32\\ntdll.dll"
    assert (m.base_address, m.size, m.checksum) == (0x7FF6_0000_0000, 0x5000, 0xABCD)
    assert (m.default_base_address, m.signature_level, m.signature_type) == (0x1_8000_0000, 12, 1)


def test_image_path_from_older_parameter_name():
    snap = ProcessSnapshotter()
    snap.update(rundown(500, 4))
    snap.update(image(path_param="file_name"))
    proc = snap.find(500)
    assert proc is not None and proc.modules[0].path.endswith("ntdll.dll")


def test_image_path_prefers_newest_parameter_name():
    snap = ProcessSnapshotter()
    snap.update(rundown(500, 4))
    snap.update(image(file_name="C:\\old.dll"))
    proc = snap.find(500)
    assert proc is not None and proc.modules[0].path.endswith("ntdll.dll")


def test_duplicate_base_address_is_not_appended():
    snap = ProcessSnapshotter()
    snap.update(rundown(500, 4))
    snap.update(image())
    snap.update(image(file_path="C:\\other.dll"))
    snap.update(image(base_address=0x1000, file_path="C:\\third.dll"))
    proc = snap.find(500)
    assert proc is not None
    assert [m.path for m in proc.modules] == ["C:\\Windows\\System32\\ntdll.dll", "C:\\third.dll"]


def test_exe_replaced_by_longer_exe_module_path_even_for_duplicates():
    snap = ProcessSnapshotter()
    snap.update(rundown(500, 4, exe="cmd.exe"))
    snap.update(image(file_path="C:\\Windows\\System32\\ntdll.dll"))
    proc = snap.find(500)
    assert proc is not None and proc.exe == "cmd.exe"  # not an .exe module
    snap.update(image(base_address=0x1000, file_path="C:\\Windows\\System32\\CMD.EXE"))
    assert proc.exe == "C:\\Windows\\System32\\CMD.EXE"  # case-insensitive suffix
    snap.update(image(base_address=0x1000, file_path="C:\\Program Files\\Longer Name\\cmd.exe"))
    assert proc.exe == "C:\\Program Files\\Longer Name\\cmd.exe"  # duplicate base, still applied
    snap.update(image(base_address=0x2000, file_path="C:\\a.exe"))
    assert proc.exe == "C:\\Program Files\\Longer Name\\cmd.exe"  # shorter: kept
    assert len(proc.modules) == 3


def test_image_rundown_with_pid_zero_belongs_to_system():
    snap = ProcessSnapshotter()
    snap.update(rundown(4, 0, name="System"))
    snap.update(image("ImageRundown", pid=0, file_path="\\SystemRoot\\system32\\ntoskrnl.exe"))
    snap.update(image("LoadImage", pid=0, base_address=0x2000))  # not remapped
    system = snap.find(4)
    assert system is not None
    assert [m.path for m in system.modules] == ["\\SystemRoot\\system32\\ntoskrnl.exe"]


def test_image_of_unknown_process_changes_nothing():
    snap = ProcessSnapshotter()
    snap.update(image(pid=123))
    assert len(snap) == 0 and snap.find_module(0x7FF6_0000_0000) is None


@WIDTHS
def test_unload_image_removes_first_module_with_that_base(width):
    snap = ProcessSnapshotter()
    snap.update(rundown(500, 4))
    snap.update(image(base_address=0x1000, file_path="a.dll"))
    snap.update(image(base_address=0x2000, file_path="b.dll"))
    snap.update(ev("UnloadImage", width=width, pid=500, base_address=0x1000))
    snap.update(ev("UnloadImage", pid=500, base_address=0x9999))  # unknown base: no-op
    snap.update(ev("UnloadImage", pid=77, base_address=0x2000))  # unknown pid: no-op
    proc = snap.find(500)
    assert proc is not None and [m.path for m in proc.modules] == ["b.dll"]


def test_unload_image_without_base_removes_base_zero_module():
    snap = ProcessSnapshotter()
    snap.update(rundown(500, 4))
    snap.update(image(base_address=0, file_path="zero.dll"))
    snap.update(image(base_address=0x1000, file_path="a.dll"))
    snap.update(ev("UnloadImage", pid=500))
    proc = snap.find(500)
    assert proc is not None and [m.path for m in proc.modules] == ["a.dll"]


def test_unload_image_without_pid_warns():
    messages: list[str] = []
    snap = ProcessSnapshotter(on_warning=messages.append)
    snap.update(rundown(500, 4))
    snap.update(image(base_address=0x1000))
    snap.update(ev("UnloadImage", hpid=500, base_address=0x1000))
    proc = snap.find(500)
    assert proc is not None and len(proc.modules) == 1
    assert len(messages) == 1 and "UnloadImage" in messages[0]


def test_find_module_scans_every_process():
    snap = ProcessSnapshotter()
    snap.update(rundown(500, 4))
    snap.update(rundown(600, 4))
    snap.update(image(pid=600, base_address=0x4000, file_path="x.dll"))
    found = snap.find_module(0x4000)
    assert found is not None and found.path == "x.dll"
    assert snap.find_module(0x4001) is None
