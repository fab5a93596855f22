"""The C fast path of the model's lazy attributes reads exactly what the properties would.

`kcap.model._accessors.LazySlot` replaces Event.timestamp/params/meta/process and
Timestamp.ns when the accelerator is in use. Each test compares with the property it replaces
(still reachable as ``fallback``), on decoded, lazy and hand-built events.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import kcap
from kcap.format import accel
from kcap.model import Event, Param, Params, ParamType, Process, Timestamp
from kcap.model.timestamp import ZERO_NS

pytestmark = pytest.mark.skipif(
    not accel.FAST_ATTRIBUTES,
    reason="the C accelerator is not in use (not built, or KCAP_PURE_PYTHON)",
)

CREATE_FILE = bytes.fromhex("90cbdc394a3e11d184f40000f80464e30040")
CREATE_PROCESS = bytes.fromhex("3d6fa8d0fe0511d09dda00c04fd7ba7c0001")
LAZY = ("timestamp", "params", "meta", "process")


def property_of(cls: type, name: str) -> property:
    prop = vars(cls)[name].fallback
    assert isinstance(prop, property)
    return prop


def slow(obj: object, name: str) -> object:
    return property_of(type(obj), name).__get__(obj, type(obj))


def write_capture(path: Path) -> Path:
    proc = Process(pid=10, ppid=1, name="a.exe", start_time=Timestamp("2024-01-01T00:00:00Z"))
    w = kcap.new_writer(path)
    w.write(
        Event(
            seq=1,
            pid=10,
            type=CREATE_PROCESS,
            name="CreateProcess",
            category="process",
            timestamp=Timestamp("2024-05-01T10:00:00.123456789+02:00"),
            params=[Param("pid", ParamType.PID, 10), Param("exe", ParamType.UNICODE, "a.exe")],
            meta=[("k", "v")],
            process=proc,
        )
    )
    w.write(
        Event(
            seq=2,
            pid=10,
            type=CREATE_FILE,
            name="CreateFile",
            category="file",
            timestamp=Timestamp("2024-05-01T08:00:01Z"),
            params=[Param("file_name", ParamType.UNICODE, "C:\\x")],
        )
    )
    w.close()
    return path


def test_the_properties_are_replaced_and_keep_their_docs() -> None:
    for name in LAZY:
        assert type(vars(Event)[name]).__name__ == "LazySlot"
        assert Event.__dict__[name].__doc__ == property_of(Event, name).__doc__
    assert type(vars(Timestamp)["ns"]).__name__ == "LazySlot"


@pytest.mark.parametrize("lazy", [False, True])
def test_read_events_give_what_the_properties_give(tmp_path: Path, lazy: bool) -> None:
    path = write_capture(tmp_path / "c.kcap")
    with kcap.open(path) as reader:
        fast = list(reader.read(lazy=lazy))
    with kcap.open(path) as reader:
        reference = list(reader.read(lazy=lazy))
    assert len(fast) == 2
    for got, ref in zip(fast, reference, strict=True):
        for name in ("timestamp", "params", "meta"):  # fast path here, the property there
            assert getattr(got, name) == slow(ref, name)
        proc, ref_proc = got.process, slow(ref, "process")
        assert (proc is None) == (ref_proc is None)
        assert proc is None or proc.same_body(ref_proc)  # type: ignore[arg-type]
        assert got.timestamp.ns == slow(ref.timestamp, "ns")
    assert fast[0].process is not None and fast[0].process.name == "a.exe"
    assert fast[1].process is None and fast[1].params["file_name"].value == "C:\\x"
    assert fast[0].meta == [("k", "v")]
    assert fast[0].timestamp.offset == 7200
    assert fast[0].timestamp.ns == 1714550400123456789


def lazy_event(process: Process | None) -> Event:
    def decode(*_tail: object) -> tuple[Params, list[tuple[str, str]], Process | None]:
        return Params([Param("pid", ParamType.PID, 5)]), [("k", "v")], process

    stamp = Timestamp("2024-01-01T00:00:00Z")
    return Event._lazy(1, 5, 6, 0, CREATE_FILE, "x", "y", "z", "h", stamp, (decode, b"", 0, 0, 0))


def test_process_read_first_on_a_lazy_event_decodes_the_tail() -> None:
    # _process is None until the tail is decoded: that None must not be taken for the value
    assert lazy_event(Process(pid=5, name="a.exe")).process.name == "a.exe"  # type: ignore[union-attr]
    assert lazy_event(None).process is None
    ev = lazy_event(None)
    assert ev.meta == [("k", "v")] and ev.params.value("pid") == 5


def test_a_lazy_timestamp_is_built_once_and_kept(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "c.kcap")
    with kcap.open(path) as reader:
        ev = next(iter(reader.read(lazy=True)))
    first = ev.timestamp
    assert first is ev.timestamp
    assert first.text == "2024-05-01T10:00:00.123456789+02:00"


def test_assignment_still_goes_through_the_property(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "c.kcap")
    with kcap.open(path) as reader:
        ev = next(iter(reader.read(lazy=True)))
    ev.params = Params([Param("x", ParamType.UINT32, 1)])
    # the property's setter decodes the tail first, so the rest of the event is not lost
    assert ev.meta == [("k", "v")] and ev.process is not None
    assert ev.params["x"].value == 1
    ev.process = None
    assert ev.process is None
    ev.timestamp = Timestamp("2020-01-01T00:00:00Z")
    assert ev.timestamp.ns == 1577836800000000000


def test_hand_built_events_and_their_empty_values() -> None:
    ev = Event(name="x")
    assert ev.process is None and ev.meta == [] and len(ev.params) == 0
    assert ev.timestamp.ns == slow(ev.timestamp, "ns")


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-01T10:00:00.5Z",
        "0001-01-01T00:00:00Z",  # beyond 64-bit nanoseconds: Python decides
        "2024-05-01 10:00:00+01:00",  # not canonical: Python decides
        "not a time",
    ],
)
def test_timestamp_ns_offset_and_validity_match_the_python_parser(text: str) -> None:
    fast, ref = Timestamp(text), Timestamp(text)
    assert fast.ns == slow(ref, "ns")
    assert (fast.offset, fast.valid) == (ref.offset, ref.valid)


def test_an_unparsable_timestamp_reads_as_the_zero_time() -> None:
    ts = Timestamp("garbage")
    assert ts.ns == ZERO_NS and not ts.valid


def test_lazy_slot_rejects_what_it_cannot_read() -> None:
    lazy_slot = type(vars(Event)["params"])
    member = vars(Event)["_params"]
    prop = property_of(Event, "params")
    with pytest.raises(TypeError, match="member descriptors"):
        lazy_slot(prop, None, None, prop)
    with pytest.raises(TypeError, match="one class"):
        lazy_slot(member, vars(Timestamp)["_ns"], None, prop)
    with pytest.raises(TypeError, match="callable"):
        lazy_slot(member, None, 3, prop)
    with pytest.raises(TypeError, match="data descriptor"):
        lazy_slot(member, None, None, len)
