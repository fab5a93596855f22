"""The C accelerator and the pure-Python decoder give the same events, errors and state.

Compared: the handle section, every event, the size of the handle table during replay, and at
the end the whole handle table, every process (threads and modules included) and the number of
state warnings: the accelerator updates the handle table itself and reads the values of thread
and image events from their raw bytes.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kcap.format import accel

NOT_IN_USE = "the C accelerator is not in use (not built, or KCAP_PURE_PYTHON set)"

SCRIPT = r"""
import sys, kcap
from tests.format.expected_shape import process_shape, value_shape
out = []
errors = []
def handles(hs):
    return [(h.num, h.object, h.pid, h.type, h.name, repr(h.meta)) for h in hs]
try:
    with kcap.open(sys.argv[1], on_error=lambda e: errors.append(str(e))) as r:
        out.append(handles(r.handles))
        mode = sys.argv[2]
        if mode == "filter":  # parameters, process state and header fields; errors pushed down
            r.set_filter("file.name icontains 'system32' or ps.name = 'svchost.exe' "
                         "or kevt.name in ('CreateHandle', 'RegOpenKey')")
        if mode == "kind":  # decided once per kind of event by the accelerated loop
            r.set_filter("kevt.name in ('CreateHandle', 'RegOpenKey') or kevt.category = 'file'")
        for lazy in (mode == "lazy",):
            for ev in r.read(include_state=mode not in ("filter", "kind"), lazy=lazy):
                out.append((ev.seq, ev.pid, ev.tid, ev.cpu, ev.type.hex(), ev.name, ev.category,
                    ev.description, ev.host, ev.timestamp.text,
                    [(p.name, p.type.label, repr(value_shape(p)), p.elem) for p in ev.params.all()],
                    ev.meta, repr(process_shape(ev.process)),
                    None if ev.ps is None else (ev.ps.pid, ev.ps.name, len(ev.ps.modules))))
                if ev.seq % 1000 == 0:  # the handle table as replay goes
                    out.append(len(r.recover_snapshotters()[0]))
        hsnap, psnap = r.recover_snapshotters()
        out.append(handles(hsnap.handles()))
        out.append([(p.pid, p.ppid, p.name, p.exe, sorted(p.threads.items()), p.modules)
                    for p in psnap.processes()])
        out.append(len(psnap.warnings or []))
        out.append(r.stats)
except kcap.KcapError as exc:
    errors.append("fatal: " + str(exc))
print(repr((out, errors)))
"""


def run(path: Path, pure: bool, mode: str) -> str:
    env = dict(os.environ)
    if pure:
        env["KCAP_PURE_PYTHON"] = "1"
    else:
        env.pop("KCAP_PURE_PYTHON", None)
    root = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = os.pathsep.join([str(root / "src"), str(root)])
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(path), mode],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return done.stdout


@pytest.mark.skipif(
    not accel.ACCELERATED,
    reason="the C accelerator is not in use (not built, or KCAP_PURE_PYTHON set)",
)
@pytest.mark.parametrize("mode", ["full", "lazy", "filter", "kind"])
@pytest.mark.parametrize("fixture", ["cap1", "cap2", "live2022", "newest"])
def test_accelerated_and_pure_python_agree(request, fixture: str, mode: str) -> None:
    path = request.getfixturevalue(fixture)
    assert run(path, pure=False, mode=mode) == run(path, pure=True, mode=mode)


@pytest.mark.skipif(
    not accel.ACCELERATED,
    reason="the C accelerator is not in use (not built, or KCAP_PURE_PYTHON set)",
)
def test_damaged_events_are_reported_alike(tmp_path: Path) -> None:
    import struct

    import zstandard

    from .test_hostile import HEADER, NO_HANDLES, newest_body, section

    good = section(newest_body())
    bad = [
        section(newest_body(params=struct.pack("<H", 0xFFFF))),
        section(newest_body(params=struct.pack("<HHH", 1, 15, 1) + b"g")),
        section(newest_body(process=struct.pack("<BBII", 1, 9, 0, 4) + b"abcd")),
        section(newest_body(process=struct.pack("<BBII", 1, 4, 0, 0) + b"xx"), None),
    ]
    path = tmp_path / "damaged.kcap"
    path.write_bytes(
        zstandard.ZstdCompressor().compress(HEADER + NO_HANDLES + good + b"".join(bad) + good)
    )
    for mode in ("full", "lazy", "filter", "kind"):
        assert run(path, pure=False, mode=mode) == run(path, pure=True, mode=mode)


@pytest.mark.skipif(not accel.ACCELERATED, reason=NOT_IN_USE)
def test_objects_of_plain_values_are_left_out_of_the_cycle_collector(live2022: Path) -> None:
    """Timestamps, lazy tails, handles and modules cannot form cycles; watched, the collector
    cost a fifth of replay time. Events stay watched (they reference process state)."""
    import gc

    import kcap

    with kcap.open(live2022) as reader:
        handles = reader.handles
        events = list(itertools.islice(reader.read(include_state=True, lazy=True), 5000))
        _, psnap = reader.recover_snapshotters()
    assert not gc.is_tracked(handles[0])
    lazy = next(ev for ev in events if ev._tail is not None)
    assert not gc.is_tracked(lazy._tail) and gc.is_tracked(lazy)
    decoded = next(ev for ev in events[2500:] if ev._tail is None)  # past the Python trial
    assert not gc.is_tracked(decoded.timestamp)
    modules = [m for p in psnap.processes() for m in p.modules]
    # the first module of each process comes through Python, which builds its index
    assert sum(not gc.is_tracked(m) for m in modules) > 0.9 * len(modules)
    with kcap.open(live2022) as reader:
        full = list(itertools.islice(reader.read(include_state=True), 2500, 5000))
    params = [p for ev in full for p in ev.params.all()]
    assert params and not any(gc.is_tracked(p) for p in params)
    assert all(not gc.is_tracked(pair) for ev in full for pair in ev.meta)


@pytest.mark.skipif(not accel.ACCELERATED, reason=NOT_IN_USE)
def test_a_parameter_holding_a_list_stays_watched(tmp_path: Path) -> None:
    """A slice value is a list, which a user may make refer back to its parameter."""
    import gc

    import kcap
    from kcap.model import Event, Param, ParamType

    w = kcap.new_writer(tmp_path / "s.kcap")
    w.write(
        Event(
            seq=1,
            name="x",
            params=[Param("s", ParamType.SLICE, ["a", "b"]), Param("n", ParamType.UINT8, 1)],
        )
    )
    w.close()
    with kcap.open(tmp_path / "s.kcap") as reader:
        (ev,) = reader.read()
    assert gc.is_tracked(ev.params["s"]) and not gc.is_tracked(ev.params["n"])


@pytest.mark.parametrize("lazy", [False, True])
def test_events_of_many_kinds_keep_their_own_head_strings(tmp_path: Path, lazy: bool) -> None:
    """The accelerator shares the head strings (name, category, description, host) of events
    of a kind through a small fixed-size cache: with far more kinds than it has room for, and
    heads too long for it, each event must still read back exactly what was written."""
    import random

    import kcap
    from kcap.model import Event, Param, ParamType, Timestamp

    rng = random.Random(7)
    kinds = [
        (bytes([i % 40]) + bytes(17), f"Kind{i}", f"cat{i % 7}", "d" * (i % 40)) for i in range(700)
    ]
    kinds.append((b"\xee" * 18, "Long", "x", "a description far too long to cache " * 20))
    written = []
    w = kcap.new_writer(tmp_path / "kinds.kcap")
    for seq in range(4000):
        type_id, name, category, description = rng.choice(kinds)
        ev = Event(
            seq=seq,
            pid=4,
            type=type_id,
            name=name,
            category=category,
            description=description,
            host=f"host{seq % 3}",
            timestamp=Timestamp.from_ns(1_700_000_000_000_000_000 + seq),
            params=[Param("n", ParamType.UINT32, seq), Param(name, ParamType.UNICODE, name)],
        )
        w.write(ev)
        written.append((seq, type_id, name, category, description, ev.host, seq, name))
    w.close()
    with kcap.open(tmp_path / "kinds.kcap") as reader:
        got = [
            (
                e.seq,
                e.type,
                e.name,
                e.category,
                e.description,
                e.host,
                e.params.value("n"),
                e.params.value(e.name),
            )
            for e in reader.read(lazy=lazy)
        ]
    assert got == written


@pytest.mark.skipif(not accel.ACCELERATED, reason=NOT_IN_USE)
def test_a_lazy_events_timestamp_is_the_stored_one_whenever_it_is_read(live2022: Path) -> None:
    """The accelerator leaves a lazy event's timestamp undecoded until it is read, before or
    after the rest of the event, or replaced."""
    import copy

    import kcap

    with kcap.open(live2022) as reader:
        eager = [ev.timestamp.text for ev in itertools.islice(reader.read(), 8000)]
    with kcap.open(live2022) as reader:
        lazy = list(itertools.islice(reader.read(lazy=True), 8000))
    assert any(ev._timestamp is None for ev in lazy)
    for i, ev in enumerate(lazy):
        if i % 3 == 0:
            ev.decode()  # the rest first
        elif i % 3 == 1:
            ev = copy.copy(ev)
        assert ev.timestamp.text == eager[i]
    ev = lazy[-1]
    ev.timestamp = kcap.Timestamp("2024-01-01T00:00:00Z")
    assert ev.decode().timestamp.text == "2024-01-01T00:00:00Z"


@pytest.mark.skipif(not accel.ACCELERATED, reason=NOT_IN_USE)
def test_a_lazy_events_tail_reads_as_the_tuple_it_stands_for(tmp_path: Path) -> None:
    """The accelerator keeps a lazy event's tail as one object; it still reads as the tuple
    (decoder, buf, p, end, base, timestamp length), which the model's Python code indexes."""
    import copy

    import kcap
    from kcap.model import Event, Param, ParamType, Timestamp

    w = kcap.new_writer(tmp_path / "t.kcap")
    stamp = "2024-01-01T00:00:00.5Z"
    for seq in (1, 2):
        params = [Param("n", ParamType.UINT32, seq)]
        w.write(Event(seq=seq, name="x", timestamp=Timestamp(stamp), params=params))
    w.close()
    with kcap.open(tmp_path / "t.kcap") as reader:
        lazy = [ev for ev in reader.read(lazy=True) if ev._tail is not None]
    assert lazy
    tail = lazy[-1]._tail
    items = tuple(tail[i] for i in range(len(tail)))
    assert len(items) == 6 and tuple(tail) == items
    assert tail[1:5] == items[1:5] and tail[::2] == items[::2] and tail[-1] == items[5]
    decoder, buf, p, end, base, ts_len = items
    assert buf[p - ts_len : p].decode() == stamp and p < end <= len(buf)
    assert isinstance(base, int) and callable(decoder)
    clone = copy.deepcopy(lazy[-1])  # the tail becomes the tuple it stands for
    assert clone._tail == items and clone.params.value("n") == 2
    with pytest.raises(IndexError):
        tail[6]
    with pytest.raises(TypeError):
        tail["x"]
    assert lazy[-1].params.value("n") == 2 and lazy[-1]._tail is None
