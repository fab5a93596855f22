"""Property tests: encode -> decode is the identity for random events of every parameter type."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kcap
from kcap.format.schema import ByteOrder
from kcap.model import Event, Handle

from .strategies import events, handles


def write_and_read(path: Path, evs: list[Event], hs: list[Handle], order: str) -> tuple:
    writer = kcap.Writer(
        path, handles=hs, config=kcap.Config(flush_period=0), order=ByteOrder(order)
    )
    assert writer.write_all(evs) == len(evs)
    stats = writer.close()
    with kcap.open(path) as reader:
        got = [ev.decode() for ev in reader.read(include_state=True)]
        return got, reader.handles, reader.stats.errors, stats


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    evs=st.lists(events, min_size=1, max_size=6),
    hs=st.lists(handles, max_size=4),
    order=st.sampled_from(["<", ">"]),
)
def test_encode_decode_identity(
    tmp_path: Path, evs: list[Event], hs: list[Handle], order: str
) -> None:
    got, got_handles, errors, stats = write_and_read(tmp_path / "p.kcap", evs, hs, order)
    assert errors == 0 and stats.write_errors == 0
    assert got_handles == hs
    assert len(got) == len(evs)
    for w, g in zip(evs, got):
        assert (g.seq, g.pid, g.tid, g.cpu, g.type) == (w.seq, w.pid, w.tid, w.cpu, w.type)
        assert (g.name, g.category, g.description, g.host) == (
            w.name,
            w.category,
            w.description,
            w.host,
        )
        assert g.timestamp.text == w.timestamp.text
        assert g.params.all() == w.params.all()
        assert g.meta == w.meta
        if w.process is None:
            assert g.process is None
        else:
            assert g.process is not None and g.process.same_body(w.process)
