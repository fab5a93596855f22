"""Handle snapshotter (snapshotters.md §2)."""

from __future__ import annotations

import pytest
from state_events import ev, type_id

from kcap.model import FileInfo, Handle, Param, ParamType
from kcap.state import HandleSnapshotter

WIDTHS = pytest.mark.parametrize("width", [17, 18])


def handle(obj: int, name: str = "", num: int = 4, pid: int = 100, type: str = "File") -> Handle:
    return Handle(num=num, object=obj, pid=pid, type=type, name=name)


def test_initial_handles_keyed_by_object_later_records_replace_earlier():
    first, second, third = handle(0x10, "a"), handle(0x20, "b"), handle(0x10, "c")
    zero1, zero2 = Handle(), Handle()
    snap = HandleSnapshotter([first, second, third, zero1, zero2])
    assert len(snap) == 3
    assert snap.find(0x10) is third
    assert snap.find(0) is zero2  # all-zero slots collapse into key 0
    # first-insertion order, the replacing record in the slot of the replaced one
    assert snap.handles() == [third, second, zero2]


@WIDTHS
def test_create_handle_inserts_then_replaces_by_object(width):
    snap = HandleSnapshotter([handle(0x10, "old", type="Key")])
    snap.update(
        ev(
            "CreateHandle",
            width=width,
            hpid=321,
            handle_object=0x10,
            handle_id=0x1A4,
            type_id="File",
            handle_name="C:\\x.txt",
        )
    )
    snap.update(ev("CreateHandle", hpid=9, handle_object=0x30, type_id="Mutant"))
    assert len(snap) == 2
    h = snap.find(0x10)
    assert h is not None
    assert (h.object, h.type, h.name) == (0x10, "File", "C:\\x.txt")
    # deviation from upstream (which leaves both 0): the handle value and owner are recorded
    assert (h.num, h.pid) == (0x1A4, 321)
    assert h.meta is None
    other = snap.find(0x30)
    assert other is not None and (other.type, other.name, other.num) == ("Mutant", "", 0)


def test_create_handle_renders_a_numeric_type_id_as_text():
    snap = HandleSnapshotter()
    snap.update(
        ev("CreateHandle", handle_object=0x10, type_id=Param("type_id", ParamType.UINT16, 37))
    )
    h = snap.find(0x10)
    assert h is not None and h.type == "37"


@WIDTHS
def test_close_handle_deletes_and_is_a_no_op_when_absent(width):
    snap = HandleSnapshotter([handle(0x10), handle(0x20)])
    snap.update(ev("CloseHandle", width=width, handle_object=0x10))
    snap.update(ev("CloseHandle", handle_object=0x999))
    assert [h.object for h in snap.handles()] == [0x20]
    assert snap.warnings is not None and snap.warnings.count == 0


@pytest.mark.parametrize("kind", ["CreateHandle", "CloseHandle"])
def test_missing_handle_object_warns_and_changes_nothing(kind):
    messages: list[str] = []
    snap = HandleSnapshotter([handle(0x10)], on_warning=messages.append)
    snap.update(ev(kind, seq=7, handle_name="x", type_id="File"))
    snap.update(ev(kind, handle_object="0x10"))  # not an integer
    assert len(snap) == 1
    assert len(messages) == 2 and "'handle_object'" in messages[0] and "seq 7" in messages[0]


def test_duplicate_handle_and_other_events_change_nothing():
    snap = HandleSnapshotter([handle(0x10)])
    snap.update(ev("DuplicateHandle", handle_object=0x20, type_id="File"))
    snap.update(ev("CreateFile", handle_object=0x30))
    snap.update(ev("CreateProcess", handle_object=0x40))
    assert [h.object for h in snap.handles()] == [0x10]
    assert snap.handler(type_id("DuplicateHandle")) is None
    assert snap.handler(type_id("CreateFile", 17)) is None


def test_handler_is_cached_per_raw_type_id():
    snap = HandleSnapshotter()
    for width in (17, 18):
        h = snap.handler(type_id("CreateHandle", width))
        assert h is not None and snap.handler(type_id("CreateHandle", width)) is h


def test_dispatch_ignores_the_recorded_name():
    snap = HandleSnapshotter()
    snap.update(ev("CreateHandle", recorded="N/A", handle_object=0x10))
    snap.update(ev("CreateFile", recorded="CloseHandle", handle_object=0x10))
    assert snap.find(0x10) is not None


def test_add_find_remove_and_handles_of():
    snap = HandleSnapshotter()
    a = Handle(num=4, object=0x10, pid=1, type="File", name="a", meta=FileInfo(True))
    b = Handle(num=8, object=0x20, pid=2, type="Key", name="b")
    snap.add(a)
    snap.add(b)
    assert snap.find(0x10) is a and snap.find(0x11) is None
    assert snap.handles_of(2) == [b]
    assert list(snap) == [a, b]
    assert snap.remove(0x10) is a and snap.remove(0x10) is None
    assert len(snap) == 1


def test_2022_handle_type_parameter_name():
    snap = HandleSnapshotter()
    snap.update(
        ev("CreateHandle", width=17, handle_object=0x10, handle_type="File", handle_name="C:")
    )
    h = snap.find(0x10)
    assert h is not None and (h.type, h.name) == ("File", "C:")
