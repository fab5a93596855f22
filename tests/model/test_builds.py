"""The compiled and the plain-Python build of each model module behave alike.

The model's event, timestamp and record classes are written once and compiled by Cython where
a compiler exists (docs/engine.md). Every test here runs on both builds: the module in use
(compiled in CI) and a fresh copy loaded from its ``.py`` source (`kcap.engine.source_copy`).
The timestamp parser is also compared between the two on arbitrary text.
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Sequence
from datetime import datetime
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kcap.model.event
import kcap.model.records
import kcap.model.timestamp
from kcap import compiled
from kcap.engine import source_copy
from kcap.model import Param, Params, ParamType, Process, Timestamp
from kcap.model.timestamp import ZERO_NS

BUILDS = ("in use", "source")


def build(module: ModuleType, which: str) -> ModuleType:
    return module if which == "in use" else source_copy(module.__name__)


def test_the_compiled_builds_are_in_use_where_they_were_built() -> None:
    """CI compiles the model (``.ci/run`` checks it); a source build says it is plain Python."""
    for module in (kcap.model.event, kcap.model.records, kcap.model.timestamp):
        assert not compiled.is_compiled(source_copy(module.__name__))
        if not compiled.pure_requested() and compiled.is_compiled(kcap.model.event):
            assert compiled.is_compiled(module), module.__name__


# --------------------------------------------------------------------------- timestamps


@pytest.fixture(params=BUILDS)
def ts_module(request: pytest.FixtureRequest) -> ModuleType:
    return build(kcap.model.timestamp, request.param)


@pytest.mark.parametrize(
    "text, ns, offset",
    [
        ("2022-08-15T21:56:28.3433744Z", 1660600588343374400, 0),
        ("2024-02-29T23:59:59.999999999+02:00", 1709243999999999999, 7200),
        ("1970-01-01T00:00:00Z", 0, 0),
        ("2000-03-01t00:00:00,5-11:30", 951910200500000000, -41400),
        ("0001-01-01T00:00:00Z", ZERO_NS, 0),  # Go's zero time: beyond 64-bit nanoseconds
    ],
)
def test_timestamps_parse_alike(ts_module: ModuleType, text: str, ns: int, offset: int) -> None:
    ts = ts_module.Timestamp(text)
    assert (ts.ns, ts.offset, ts.valid) == (ns, offset, True)


@pytest.mark.parametrize(
    "text",
    [
        "2023-02-29T00:00:00Z",  # not a leap year
        "2023-13-01T00:00:00Z",
        "2023-01-01T24:00:00Z",
        "2023-01-01T00:00:00",
        "2023-01-01T00:00:00.Z",
        "2023-01-01T00:00:00.1234567890Z",
        "2023-01-01T00:00:00+24:00",
        " 2023-01-01T00:00:00Z",
        "2023-01-01T00:00:00Zé",
        "garbage",
        "",
    ],
)
def test_text_that_is_not_a_time_reads_as_the_zero_time(ts_module: ModuleType, text: str) -> None:
    ts = ts_module.Timestamp(text)
    assert (ts.ns, ts.offset, ts.valid, ts.text) == (ZERO_NS, 0, False, text)


_DIGIT_OR_NOT = st.sampled_from("0123456789012345678901234567890123456789 +-_xTZz:.,é")


@given(
    st.datetimes(datetime(1, 1, 1), datetime(9999, 12, 31)),
    st.integers(0, 10),
    st.sampled_from(["Z", "z", "+00:00", "-05:30", "+14:00", "+23:59", "-24:00", "+1:00", ""]),
    st.lists(st.tuples(st.integers(0, 35), _DIGIT_OR_NOT), max_size=2),
)
def test_both_builds_parse_any_text_alike(
    when: datetime, digits: int, zone: str, edits: list[tuple[int, str]]
) -> None:
    text = f"{when.year:04d}-{when:%m-%dT%H:%M:%S}"
    if digits:
        text += "." + f"{when.microsecond:06d}{when.microsecond % 997:04d}"[:digits]
    text += zone
    for pos, char in edits:
        text = text[:pos] + char + text[pos + 1 :]
    pure = source_copy(kcap.model.timestamp.__name__)
    assert kcap.model.timestamp._parse(text) == pure._parse(text)
    used, fresh = kcap.model.timestamp.Timestamp(text), pure.Timestamp(text)
    assert (used.ns, used.offset, used.valid) == (fresh.ns, fresh.offset, fresh.valid)


def test_a_timestamp_made_from_nanoseconds_reads_back(ts_module: ModuleType) -> None:
    ts = ts_module.Timestamp.from_ns(1714550400123456789, 7200)
    assert ts.text == "2024-05-01T10:00:00.123456789+02:00"
    assert ts_module.Timestamp(ts.text).ns == 1714550400123456789


# --------------------------------------------------------------------------- events


@pytest.fixture(params=BUILDS)
def event_class(request: pytest.FixtureRequest) -> type:
    cls: type = build(kcap.model.event, request.param).Event
    return cls


class FakeTail:
    """A `TailSource` that counts what the event asks of it."""

    def __init__(self, process: Process | None = None, answers: bool = True) -> None:
        self.process = process
        self.answers = answers
        self.decodes = 0
        self.timestamps = 0

    def decode(self) -> tuple[Params, list[tuple[str, str]], Process | None]:
        self.decodes += 1
        return Params([Param("pid", ParamType.PID, 5)]), [("k", "v")], self.process

    def timestamp(self) -> Timestamp:
        self.timestamps += 1
        return Timestamp("2024-01-01T00:00:00Z")

    def values(self, names: Sequence[str]) -> tuple[Any, ...] | None:
        if not self.answers:
            return None
        return tuple(5 if n == "pid" else None for n in names)


def lazy(event_class: type, tail: FakeTail) -> Any:
    return event_class.from_tail(1, 5, 6, bytes(18), 0, "x", "y", "z", "h", tail)


def test_a_lazy_event_reads_its_tail_once_and_on_demand(event_class: type) -> None:
    tail = FakeTail(Process(pid=5, name="a.exe"))
    ev = lazy(event_class, tail)
    assert not ev.decoded and ev.own_process() is None
    assert ev.timestamp.ns == 1704067200000000000 and tail.decodes == 0
    assert ev.timestamp is ev.timestamp and tail.timestamps == 1
    assert ev.process.name == "a.exe"  # the process first: decodes the tail
    assert ev.decoded and tail.decodes == 1 and ev.own_process() is ev.process
    assert ev.meta == [("k", "v")] and ev.params.value("pid") == 5
    assert tail.decodes == 1 and tail.timestamps == 1


def test_values_come_from_the_tail_without_decoding_it(event_class: type) -> None:
    tail = FakeTail()
    ev = lazy(event_class, tail)
    assert ev.values(("pid", "nope")) == (5, None) and tail.decodes == 0
    refuses = FakeTail(answers=False)
    ev = lazy(event_class, refuses)
    assert ev.values(("pid", "nope")) == (5, None) and refuses.decodes == 1 and ev.decoded


def test_assigning_a_part_keeps_the_rest(event_class: type) -> None:
    ev = lazy(event_class, FakeTail(Process(pid=5)))
    ev.params = Params([Param("x", ParamType.UINT32, 1)])
    assert ev.meta == [("k", "v")] and ev.process is not None and ev.params.value("x") == 1
    ev = lazy(event_class, FakeTail())
    ev.timestamp = Timestamp("2020-01-01T00:00:00Z")
    assert ev.decode().timestamp.ns == 1577836800000000000
    ev = lazy(event_class, FakeTail(Process(pid=5)))
    ev.process = None
    assert ev.process is None and ev.meta == [("k", "v")]


def test_a_new_tail_makes_an_event_lazy_again(event_class: type) -> None:
    ev = event_class(name="x", params=[Param("a", ParamType.UINT32, 1)])
    ev.tail = FakeTail()
    assert not ev.decoded and ev.params.value("pid") == 5 and ev.params.get("a") is None


def test_hand_built_events_and_their_empty_values(event_class: type) -> None:
    ev = event_class(name="x")
    assert ev.decoded and ev.tail is None
    assert ev.process is None and ev.meta == [] and len(ev.params) == 0
    assert ev.timestamp.ns == ZERO_NS and ev.values(("a",)) == (None,)
    proc = Process(pid=3)
    assert event_class(process=proc).ps is proc


def test_copies_of_a_lazy_event_decode_on_their_own(event_class: type) -> None:
    tail = FakeTail(Process(pid=5, name="a.exe"))
    ev = lazy(event_class, tail)
    shallow, deep = copy.copy(ev), copy.deepcopy(ev)
    assert shallow.params.value("pid") == 5 and not ev.decoded
    assert deep.process.name == "a.exe" and tail.decodes == 2
    ev.decode()
    deep2 = copy.deepcopy(ev)
    assert deep2.process.same_body(ev.process) and deep2.process is not ev.process


def test_events_pickle_decoded() -> None:
    # only the build in use: pickle finds a class by its module's name
    ev = lazy(kcap.model.event.Event, FakeTail(Process(pid=5, name="a.exe")))
    back = pickle.loads(pickle.dumps(ev))
    assert back.decoded and back.process.name == "a.exe" and back.params.value("pid") == 5
    assert (back.seq, back.pid, back.tid, back.name, back.host) == (1, 5, 6, "x", "h")


# --------------------------------------------------------------------------- records


@pytest.fixture(params=BUILDS)
def records(request: pytest.FixtureRequest) -> ModuleType:
    return build(kcap.model.records, request.param)


def test_records_compare_by_value_and_print_their_fields(records: ModuleType) -> None:
    h = records.Handle(1, 0xFF, 4, "File", r"C:\x")
    assert h == records.Handle(1, 0xFF, 4, "File", r"C:\x") and h != records.Handle(2)
    assert repr(h) == "Handle(num=1, object=255, pid=4, type='File', name='C:\\\\x', meta=None)"
    with pytest.raises(TypeError):
        hash(h)
    m = records.Module(path=r"C:\Windows\a.dll", base_address=0x1000, size=10)
    assert m.name == "a.dll" and m == copy.copy(m)
    t = records.Thread(tid=8, pid=4)
    assert t.fields() == records.Thread(tid=8, pid=4).fields() and t == copy.deepcopy(t)
