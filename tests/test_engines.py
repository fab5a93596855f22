"""The native and the pure engine give the same events, errors, statistics and state.

Both builds come from one source (docs/engine.md); this suite is what keeps them equal. Each
comparison reads a capture once per engine, in one process, and compares everything a user can
observe: the handle snapshot, every event (header fields, parameters, metadata, process
section, attached process state), the size of the handle table as replay goes, the whole state
at the end, every error reported (type, message, byte offset) and the reader's statistics.
Beyond the fixtures, hypothesis mutates them byte by byte, so the engines are also compared on
damage nobody wrote a test for.
"""

from __future__ import annotations

import copy
import dataclasses
import gc
import io
import itertools
import struct
from pathlib import Path
from typing import Any

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kcap
from kcap import engine as engines
from kcap.format.detect import TRIAL_EVENTS
from kcap.model import Event, Param, ParamType, Timestamp

from .conftest import ENGINES
from .format.expected_shape import process_shape, value_shape
from .format.test_hostile import HEADER, NO_HANDLES, _small_streams, newest_body, section

pytestmark = pytest.mark.skipif(
    len(ENGINES) < 2, reason="only the pure engine is built here: nothing to compare it with"
)

#: What each mode reads: full decoding, lazy decoding, a filter on parameters and process
#: state (pushed down into the kernel where it can be), a filter decided by event kind alone.
MODES = {
    "full": (None, True, False),
    "lazy": (None, True, True),
    "filter": (
        "file.name icontains 'system32' or ps.name = 'svchost.exe' "
        "or kevt.name in ('CreateHandle', 'RegOpenKey')",
        False,
        False,
    ),
    "kind": ("kevt.name in ('CreateHandle', 'RegOpenKey') or kevt.category = 'file'", False, False),
}


def _handles(hs: Any) -> list[tuple[Any, ...]]:
    return [(h.num, h.object, h.pid, h.type, h.name, repr(h.meta)) for h in hs]


def _event(ev: Event) -> tuple[Any, ...]:
    return (
        ev.seq, ev.pid, ev.tid, ev.cpu, ev.type.hex(), ev.name, ev.category, ev.description,
        ev.host, ev.timestamp.text,
        [(p.name, p.type.label, repr(value_shape(p)), p.elem) for p in ev.params.all()],
        ev.meta, repr(process_shape(ev.process)),
        None if ev.ps is None else (ev.ps.pid, ev.ps.name, len(ev.ps.modules)),
    )  # fmt: skip


def observe(source: Path | bytes, engine: str, mode: str) -> list[Any]:
    """Everything a user can see of one read of ``source`` on ``engine``."""
    flt, include_state, lazy = MODES[mode]
    out: list[Any] = []
    errors: list[tuple[str, str, int | None]] = []

    def on_error(exc: kcap.KcapError) -> None:
        errors.append((type(exc).__name__, str(exc), exc.offset))

    data = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with kcap.open(data, on_error=on_error, engine=engines.get(engine)) as reader:
            out.append(_handles(reader.handles))
            if flt:
                reader.set_filter(flt)
            for ev in reader.read(include_state=include_state, lazy=lazy):
                out.append(_event(ev))
                if ev.seq % 1000 == 0:  # the handle table as replay goes
                    out.append(len(reader.recover_snapshotters()[0]))
            hsnap, psnap = reader.recover_snapshotters()
            out.append(_handles(hsnap.handles()))
            out.append(
                [
                    (p.pid, p.ppid, p.name, p.exe, sorted(p.threads.items()), p.modules)
                    for p in psnap.processes()
                ]
            )
            out.append(dataclasses.asdict(reader.stats))
    except kcap.KcapError as exc:
        errors.append(("fatal " + type(exc).__name__, str(exc), exc.offset))
    out.append(errors)
    return out


def assert_engines_agree(source: Path | bytes, mode: str) -> None:
    native, pure = (observe(source, name, mode) for name in ("native", "pure"))
    assert len(native) == len(pure)
    for i, (a, b) in enumerate(zip(native, pure, strict=True)):
        assert a == b, f"the engines differ at item {i} of the read"


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("fixture", ["cap1", "cap2", "live2022", "newest"])
def test_both_engines_read_a_fixture_alike(
    request: pytest.FixtureRequest, fixture: str, mode: str
) -> None:
    assert_engines_agree(request.getfixturevalue(fixture), mode)


def test_damaged_events_are_reported_alike() -> None:
    good = section(newest_body())
    bad = [
        section(newest_body(params=struct.pack("<H", 0xFFFF))),
        section(newest_body(params=struct.pack("<HHH", 1, 15, 1) + b"g")),
        section(newest_body(process=struct.pack("<BBII", 1, 9, 0, 4) + b"abcd")),
        section(newest_body(process=struct.pack("<BBII", 1, 4, 0, 0) + b"xx"), None),
    ]
    data = zstandard.ZstdCompressor().compress(HEADER + NO_HANDLES + good + b"".join(bad) + good)
    for mode in MODES:
        assert_engines_agree(data, mode)


_STREAMS = _small_streams()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_both_engines_meet_damage_alike(data: st.DataObject) -> None:
    """Random byte changes to small captures: the engines yield and report the same things."""
    raw = _STREAMS[data.draw(st.sampled_from(sorted(_STREAMS)), label="stream")]
    changes = data.draw(
        st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(1, 255)), max_size=6),
        label="changes",
    )
    cut = data.draw(st.one_of(st.none(), st.integers(0, len(raw))), label="cut")
    mutated = bytearray(raw)
    for pos, xor in changes:
        mutated[pos] ^= xor
    stream = bytes(mutated if cut is None else mutated[:cut])
    compressed = zstandard.ZstdCompressor(level=1).compress(stream)
    assert_engines_agree(compressed, data.draw(st.sampled_from(sorted(MODES)), label="mode"))


# --------------------------------------------------------------------------- the native build


@pytest.fixture
def native() -> engines.Engine:
    return engines.get("native")


def test_objects_of_plain_values_are_left_out_of_the_cycle_collector(
    live2022: Path, native: engines.Engine
) -> None:
    """The native kernel builds events, parameters and processes that hold only plain values
    untracked by the cycle collector: tracking a million objects would make every collection
    walk them all."""
    with kcap.open(live2022, engine=native) as reader:
        events = list(itertools.islice(reader.read(), 5000))
    params = [p for ev in events for p in ev.params.all()]
    assert params and not any(gc.is_tracked(p) for p in params if isinstance(p.value, (int, str)))


def test_a_parameter_holding_a_list_stays_watched(tmp_path: Path, native: engines.Engine) -> None:
    """A value that can take part in a cycle (a list) keeps its parameter tracked."""
    path = tmp_path / "list.kcap"
    with kcap.new_writer(path) as w:
        params = [
            Param("s", ParamType.SLICE, ["a", "b"], elem="s"),
            Param("n", ParamType.UINT32, 1),
        ]
        w.write(Event(seq=1, name="x", timestamp=Timestamp("2024-01-01T00:00:00Z"), params=params))
    with kcap.open(path, engine=native) as reader:
        (ev,) = reader.read()
    assert gc.is_tracked(ev.params.get("s")) and not gc.is_tracked(ev.params.get("n"))


# --------------------------------------------------------------------------- on each engine


@pytest.mark.parametrize("lazy", [False, True])
def test_events_of_many_kinds_keep_their_own_head_strings(
    tmp_path: Path, lazy: bool, engine: engines.Engine
) -> None:
    """The native kernel shares the head strings (name, category, description, host) of events
    of a kind through a small fixed-size cache: with far more kinds than it has room for, and
    heads too long for it, each event must still read back exactly what was written."""
    import random

    rng = random.Random(7)
    kinds = [
        (bytes([i % 40]) + bytes(17), f"Kind{i}", f"cat{i % 7}", "d" * (i % 40)) for i in range(700)
    ]
    kinds.append((b"\xee" * 18, "Long", "x", "a description far too long to cache " * 20))
    written = []
    with kcap.new_writer(tmp_path / "kinds.kcap") as w:
        for seq in range(4000):
            type_id, name, category, description = rng.choice(kinds)
            ev = Event(
                seq=seq, pid=4, type=type_id, name=name, category=category,
                description=description, host=f"host{seq % 3}",
                timestamp=Timestamp.from_ns(1_700_000_000_000_000_000 + seq),
                params=[Param("n", ParamType.UINT32, seq), Param(name, ParamType.UNICODE, name)],
            )  # fmt: skip
            w.write(ev)
            written.append((seq, type_id, name, category, description, ev.host, seq, name))
    with kcap.open(tmp_path / "kinds.kcap") as reader:
        got = [
            (e.seq, e.type, e.name, e.category, e.description, e.host,
             e.params.value("n"), e.params.value(e.name))
            for e in reader.read(lazy=lazy)
        ]  # fmt: skip
    assert got == written


def test_a_lazy_events_timestamp_is_the_stored_one_whenever_it_is_read(
    live2022: Path, engine: engines.Engine
) -> None:
    """A lazy event's timestamp is read from its bytes when first asked for: before or after
    the rest of the event, from a copy, or not at all once replaced."""
    with kcap.open(live2022) as reader:
        eager = [ev.timestamp.text for ev in itertools.islice(reader.read(), 8000)]
    with kcap.open(live2022) as reader:
        lazy = list(itertools.islice(reader.read(lazy=True), 8000))
    assert any(not ev.decoded for ev in lazy)
    for i, ev in enumerate(lazy):
        if i % 3 == 0:
            ev.decode()  # the rest first
        elif i % 3 == 1:
            ev = copy.copy(ev)
        assert ev.timestamp.text == eager[i]
    ev = lazy[-1]
    ev.timestamp = Timestamp("2024-01-01T00:00:00Z")
    assert ev.decode().timestamp.text == "2024-01-01T00:00:00Z"


def test_a_lazy_event_copies_and_pickles_whole(tmp_path: Path, engine: engines.Engine) -> None:
    """Copies of an undecoded event decode on their own; a pickled one travels decoded.
    (The first events are decoded anyway, to recognise the writer: hence so many.)"""
    import pickle

    path = tmp_path / "t.kcap"
    with kcap.new_writer(path) as w:
        for seq in range(1, TRIAL_EVENTS + 11):
            params = [Param("n", ParamType.UINT32, seq)]
            w.write(
                Event(
                    seq=seq, name="x", timestamp=Timestamp("2024-01-01T00:00:00.5Z"), params=params
                )
            )
    with kcap.open(path) as reader:
        lazy = list(reader.read(lazy=True))
    assert not lazy[-1].decoded
    clone, deep = copy.copy(lazy[-1]), copy.deepcopy(lazy[-1])
    back = pickle.loads(pickle.dumps(lazy[-1]))
    for ev in (clone, deep, back, lazy[-1]):
        assert (
            ev.params.value("n") == TRIAL_EVENTS + 10
            and ev.timestamp.text == "2024-01-01T00:00:00.5Z"
        )
