"""Pushdown: header-only predicates never decode an event's tail, and run first."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from filter_events import type_of

import kcap
from kcap.filter import Filter, compile
from kcap.model import Event, Param, Params, Process, Timestamp
from kcap.model.params import ParamType as T


class TailCounter:
    """Counts how often the lazy events it serves are decoded."""

    def __init__(self) -> None:
        self.calls = 0


class CountingTail:
    """The undecoded rest of one test event (a `kcap.model.event.TailSource`)."""

    def __init__(self, counter: TailCounter, path: str) -> None:
        self.counter = counter
        self.path = path

    def decode(self) -> tuple[Params, list[tuple[str, str]], Process | None]:
        self.counter.calls += 1
        return Params([Param("file_path", T.UNICODE, self.path)]), [], None

    def timestamp(self) -> Timestamp:
        return Timestamp("2024-01-01T00:00:00Z")

    def values(self, names: Sequence[str]) -> tuple[Any, ...] | None:
        return None  # as a tail that cannot read values in place: they decode it


def lazy_event(counter: TailCounter, name: str = "CreateFile", path: str = "C:\\a.dll") -> Event:
    return Event.from_tail(
        1, 4, 8, type_of(name), 0, name, "file", "", "host", CountingTail(counter, path)
    )


@pytest.mark.parametrize(
    "expr",
    [
        "kevt.name = 'CreateFile'",
        "kevt.pid in (4, 8) and kevt.category = 'file' or kevt.tid > 100",
        "kevt.time.h = 0 and kevt.date = '2024-01-01' and kevt.host ~= 'HOST'",
        "ps.pid = 4",
    ],
)
def test_header_only_filters_never_decode_the_tail(expr: str) -> None:
    counter = TailCounter()
    f = compile(expr)
    assert f.header_only
    f(lazy_event(counter))
    assert counter.calls == 0


def test_header_predicates_run_before_parameter_predicates() -> None:
    f = compile("file.name = 'a.dll' and kevt.name = 'WriteFile'")
    assert not f.header_only
    counter = TailCounter()
    assert not f(lazy_event(counter, "CreateFile"))
    assert counter.calls == 0  # kevt.name failed first, file.name never looked at
    assert f(lazy_event(counter, "WriteFile"))
    assert counter.calls == 1


def test_or_tries_the_cheap_side_first() -> None:
    f = compile("file.name = 'a.dll' or kevt.pid = 4")
    counter = TailCounter()
    assert f(lazy_event(counter))
    assert counter.calls == 0


def test_filter_reports_what_it_needs() -> None:
    f = compile("kevt.name = 'CreateFile' and file.name icontains 'x' and ps.parent.name = 'y'")
    assert isinstance(f, Filter)
    assert f.fields == {"kevt.name", "file.name", "ps.parent.name"}
    assert f.namespaces == {"kevt", "file", "ps.parent"}
    assert {"file_path", "file_name"} <= f.params
    assert compile(f) is f


def test_reader_applies_a_compiled_filter_without_decoding_dropped_events(live2022: Path) -> None:
    flt = compile("kevt.name = 'RegOpenKey'")
    dropped: list[Event] = []

    def recording(ev: Event) -> bool:
        keep = flt(ev)
        if not keep:
            dropped.append(ev)
        return keep

    with kcap.open(live2022) as reader:
        reader.set_filter(recording)
        emitted = sum(1 for _ in reader.read())
    assert emitted == 9924
    # Dropped events that feed no state machine (the other ~8,000 registry events, for one) are
    # never decoded, except those the format-detection trial at the start decoded anyway.
    registry = [e for e in dropped if e.category == "registry" and e.seq > 5000]
    assert len(registry) > 7000
    assert all(e._tail is not None for e in registry)


def test_reader_rejects_a_bad_filter_string_before_reading(live2022: Path) -> None:
    with kcap.open(live2022) as reader, pytest.raises(kcap.FilterError) as info:
        reader.set_filter("kevt.name = 'CreateFile' )")
    assert "has no matching '('" in str(info.value)


@pytest.mark.parametrize(
    "expr",
    [
        "kevt.name = 'CreateFile'",
        "ps.cwd contains 'x'",  # missing cwd: the raw result is missing (None)
        "not ps.cwd = 'x' and kevt.pid = 4",
        "ps.is_wow64",
        "kevt.arg[file_path]",
        "ps.cwd not contains 'x' or kevt.pid = 5",
    ],
)
def test_predicate_returns_exactly_true_or_false(expr: str) -> None:
    f = compile(expr)
    for ev in (lazy_event(TailCounter()), lazy_event(TailCounter(), "WriteFile", "")):
        ev.ps = Process(pid=4)
        assert f.predicate(ev) is f(ev)
        assert f(ev) in (True, False)


@pytest.mark.parametrize(
    ("expr", "kind_only"),
    [
        ("kevt.name = 'CreateFile'", True),
        ("evt.name in ('A', 'B') and not kevt.category = 'file' or kevt.desc ~= 'x'", True),
        ("kevt.name = 'CreateFile' and kevt.pid = 4", False),  # pid differs within a kind
        ("kevt.name = 'CreateFile' and ps.name = 'x'", False),
        ("lower(kevt.name) = 'createfile'", False),  # functions are not assumed pure
    ],
)
def test_kind_only_filters_are_recognised(expr: str, kind_only: bool) -> None:
    assert compile(expr).kind_only is kind_only


def test_a_kind_only_filter_gives_the_same_events_as_evaluating_each(
    live2022: Path, engine: Any
) -> None:
    expr = "kevt.name in ('CreateFile', 'RegOpenKey') or kevt.category = 'net'"
    f = compile(expr)
    assert f.kind_only
    with kcap.open(live2022) as reader:
        reader.set_filter(f)
        kept = [ev.seq for ev in reader.read()]
        kind_stats = reader.stats
        unbuilt = reader.unbuilt
    with kcap.open(live2022) as reader:
        reader.set_filter(lambda ev: f(ev))  # a plain predicate: asked for every event
        each = [ev.seq for ev in reader.read()]
        each_stats = reader.stats
    assert kept == each and len(kept) > 100
    # The native kernel does not even build the stateless events of rejected kinds; they
    # still count as read and dropped. The pure engine builds every event.
    assert kind_stats == each_stats
    assert unbuilt > 10_000 if engine.name == "native" else unbuilt == 0
