"""Pushdown: header-only predicates never decode an event's tail, and run first."""

from __future__ import annotations

from pathlib import Path

import pytest
from filter_events import type_of

import kcap
from kcap.filter import Filter, compile
from kcap.model import Event, Param, Params, Process, Timestamp
from kcap.model.params import ParamType as T


class TailCounter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, path: str) -> tuple[Params, list[tuple[str, str]], Process | None]:
        self.calls += 1
        return Params([Param("file_path", T.UNICODE, path)]), [], None


def lazy_event(counter: TailCounter, name: str = "CreateFile", path: str = "C:\\a.dll") -> Event:
    return Event._lazy(
        1,
        4,
        8,
        0,
        type_of(name),
        name,
        "file",
        "",
        "host",
        Timestamp("2024-01-01T00:00:00Z"),
        (counter, path),
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
