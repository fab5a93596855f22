"""Every writer generation of kcap-format.md §11, in both byte orders, decodes exactly."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import kcap
from kcap.model import PE, Handle, Process
from kcap.model.timestamp import ZERO

from .legacy import Legacy
from .samples import events, handles

# (id, Legacy settings, expected table, u64 slices allowed)
GENERATIONS = [
    ("pre-release-headerless", Legacy(headerless=True, prefix="<"), "2020", False),
    ("pre-release-short-handles", Legacy(short_handles=True), "2020", False),
    ("1.0-2020-procV1", Legacy(), "2020", False),
    ("1.0-2020-procV2", Legacy(proc_version=2), "2020", False),
    ("1.0-dev-snapshot", Legacy(table="2023a-dev", proc_version=3), "2023a-dev", False),
    ("2.0-2023a", Legacy(major=2, table="2023a", proc_version=3), "2023a", False),
    (
        "2.0-2023b-mislabelled",
        Legacy(major=2, width=18, table="2023b", proc_version=3),
        "2023b",
        False,
    ),
    (
        "2.0-2023b-peV2",
        Legacy(major=2, width=18, table="2023b", proc_version=3, pe_version=2),
        "2023b",
        False,
    ),
    (
        "2.0-2023c-mislabelled",
        Legacy(major=2, width=18, table="2023c", proc_version=3, pe_version=2),
        "2023c",
        False,
    ),
    (
        "2.0-ev2-procV3",
        Legacy(major=2, label=2, width=18, table="2023c", proc_version=3, pe_version=2),
        "2023c",
        True,
    ),
    (
        "2.0-ev2-procV4",
        Legacy(major=2, label=2, width=18, table="2023c", proc_version=4, pe_version=2),
        "2023c",
        True,
    ),
]


def stored_process(p: Process, lg: Legacy) -> Process:
    """What a body of ``lg.proc_version`` can carry of ``p``."""
    q = dataclasses.replace(p, threads={}, modules=[], parent=None)
    v = lg.proc_version
    if v <= 2:
        q.session_id &= 0xFF
    if v < 2:
        q.start_time, q.uuid = ZERO, 0
    if v < 3:
        q.username = q.domain = ""
    if v < 4:
        q.is_wow64 = q.is_packaged = q.is_protected = False
    if lg.short_handles:
        q.handles = [Handle(h.num, h.object, h.pid) for h in q.handles]
    if q.pe is not None and lg.pe_version < 2:
        base = q.pe
        q.pe = PE(
            base.nsections,
            base.nsymbols,
            base.image_base,
            base.entrypoint,
            base.link_time,
            base.sections,
            base.symbols,
            base.imports,
            base.version_resources,
        )
    return q


# The headerless pre-release stream only ever existed little-endian (§12.1).
CASES = [
    pytest.param(legacy, table, u64, order, id=f"{name}-{'le' if order == '<' else 'be'}")
    for name, legacy, table, u64 in GENERATIONS
    for order in ("<", ">")
    if not (legacy.headerless and order == ">")
]


@pytest.mark.parametrize(("legacy", "table", "u64", "order"), CASES)
def test_generation_decodes_exactly(
    tmp_path: Path, legacy: Legacy, table: str, u64: bool, order: str
) -> None:
    lg = dataclasses.replace(legacy, prefix=order)
    written = events(table, slices_u64=u64)
    snapshot = [] if lg.headerless else handles()
    if lg.short_handles:
        snapshot = [Handle(h.num, h.object, h.pid) for h in snapshot]
    path = tmp_path / "gen.kcap"
    lg.file(str(path), written, snapshot)

    with kcap.open(path) as reader:
        got = list(reader.read(include_state=True))
        assert reader.detection.layout.table == table
        assert reader.detection.layout.order.prefix == order
        assert reader.header.headerless == lg.headerless
        assert reader.handles == snapshot
        assert reader.stats.errors == 0

    assert len(got) == len(written)
    for w, g in zip(written, got):
        assert (g.seq, g.pid, g.tid, g.cpu) == (w.seq, w.pid, w.tid, w.cpu)
        assert g.type == (w.type if lg.width == 17 else w.type_id18)
        assert (g.name, g.category, g.description, g.host) == (
            w.name,
            w.category,
            w.description,
            w.host,
        )
        assert g.timestamp.text == w.timestamp.text
        assert g.params.all() == w.params.all()
        assert g.meta == w.meta
        if lg.headerless or w.process is None:
            assert g.process is None
        else:
            assert g.process is not None
            assert g.process.same_body(stored_process(w.process, lg))
