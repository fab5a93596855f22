"""Read -> write -> read keeps everything; our own files re-write to identical bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import zstandard

import kcap
from kcap.format.params import WRITTEN_AS
from kcap.model import Event, ParamType


def written_type(p: Any) -> ParamType:
    # Documented conversions of the newest writer (docs/format.md): legacy types to their newest
    # equivalents, table-2020 account-text SIDs and floats to unicode.
    if p.type in (ParamType.SID, ParamType.WBEM_SID) and isinstance(p.value, str):
        return ParamType.UNICODE
    if p.type in (ParamType.FLOAT, ParamType.DOUBLE):
        return ParamType.UNICODE
    return WRITTEN_AS.get(p.type, p.type)


def written_value(p: Any) -> Any:
    if p.type in (ParamType.FLOAT, ParamType.DOUBLE):
        return repr(float(p.value))
    return p.value


def signature(ev: Event) -> tuple:
    ps = ev.process
    return (
        ev.seq,
        ev.pid,
        ev.tid,
        ev.cpu,
        ev.type_id18,
        ev.name,
        ev.category,
        ev.description,
        ev.host,
        ev.timestamp.text,
        tuple((p.name, written_type(p), written_value(p), p.elem) for p in ev.params.all()),
        tuple(ev.meta),
        None if ps is None else ps,
    )


def rewrite(src: Path, dst: Path) -> kcap.WriterStats:
    with kcap.open(src) as reader:
        writer = kcap.new_writer(dst, handles=reader.handles)
        writer.write_all(reader.read(include_state=True))
        return writer.close()


def read_all(path: Path) -> tuple[list, list]:
    with kcap.open(path) as reader:
        return [ev.decode() for ev in reader.read(include_state=True)], reader.handles


def raw_stream(path: Path) -> bytes:
    with path.open("rb") as fh:
        return b"".join(zstandard.ZstdDecompressor().read_to_iter(fh))


@pytest.mark.parametrize("fixture", ["cap1", "cap2", "live2022", "newest"])
def test_fixture_rewrites_to_the_same_events(request, tmp_path: Path, fixture: str) -> None:
    src = request.getfixturevalue(fixture)
    dst = tmp_path / "out.kcap"
    stats = rewrite(src, dst)
    before, handles_before = read_all(src)
    after, handles_after = read_all(dst)
    assert handles_after == handles_before
    assert len(after) == len(before)
    for a, b in zip(before, after):
        sa, sb = signature(a), signature(b)
        assert sa[:12] == sb[:12]
        if a.process is None:
            assert b.process is None
        else:
            assert b.process is not None and a.process.same_body(b.process)
    with kcap.open(dst) as reader:
        assert reader.header.version == "2.0"
        assert reader.detection.layout.table == "2023c"
    assert stats.write_errors == 0


@pytest.mark.parametrize("fixture", ["cap1", "live2022", "newest"])
def test_own_capture_round_trips_byte_for_byte(request, tmp_path: Path, fixture: str) -> None:
    first, second = tmp_path / "a.kcap", tmp_path / "b.kcap"
    rewrite(request.getfixturevalue(fixture), first)
    rewrite(first, second)
    assert raw_stream(first) == raw_stream(second)
