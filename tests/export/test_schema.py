"""The schema in code and docs/schema.md agree; column selection; typed columns hold the value
of their filter field; a header-only selection decodes no parameters."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

import pytest

import kcap
from kcap.export.schema import COLUMNS, ColumnError, select

pa = pytest.importorskip("pyarrow", reason="the analysis extra is not installed")

DOCS = Path(__file__).resolve().parents[2] / "docs" / "schema.md"


def test_docs_list_every_column_with_its_type() -> None:
    text = DOCS.read_text("utf-8")
    documented = dict(re.findall(r"^\| `([a-z_]+)` \| `([^`]+)` \|", text, re.M))
    assert documented == {c.name: c.type for c in COLUMNS}
    from kcap.export.schema import SCHEMA_VERSION

    assert f"(version {SCHEMA_VERSION})" in text.splitlines()[0]


def test_select_validates_and_keeps_raw() -> None:
    assert select("name,seq") == ("seq", "name", "raw")
    with pytest.raises(ColumnError, match="nosuch"):
        select(["nosuch"])


def _norm(v: Any) -> Any:
    if isinstance(v, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(v)
    return v


def test_typed_columns_hold_their_filter_field(live2022: Path) -> None:
    from kcap.export.schema import TYPED_PARAMS
    from kcap.filter.fields import spec_of

    table = kcap.to_arrow(live2022).read_all()
    with kcap.open(live2022) as reader:
        events = list(reader.read())
    checked = 0
    for col in TYPED_PARAMS:
        assert col.field is not None
        getter = spec_of(col.field).getter
        assert getter is not None
        values = table[col.name].to_pylist()
        for ev, got in zip(events, values):
            want = _norm(getter(ev))
            if isinstance(want, str) and col.type != "string":  # addresses render as hex
                want = int(want, 16)
            if ev.category != col.category:
                assert got is None
                continue
            assert got == want, (col.name, ev.seq)
            checked += want is not None
    assert checked > 30_000  # handle, registry, file and net events of the capture


def test_header_columns_decode_no_parameters(tmp_path: Path) -> None:
    """A query of header columns never decodes an event's parameters: over a capture whose
    last events have parameter lists that do not decode, it counts every event without an
    error, while a query of a parameter column stops at the first damaged one."""
    import struct

    import zstandard

    from kcap.format.detect import TRIAL_EVENTS
    from tests.format.test_hostile import HEADER, NO_HANDLES, newest_body, section

    good, bad = section(newest_body()), section(newest_body(params=struct.pack("<H", 0xFFFF)))
    path = tmp_path / "damaged-tails.kcap"
    stream = HEADER + NO_HANDLES + good * (TRIAL_EVENTS + 10) + bad * 20
    path.write_bytes(zstandard.ZstdCompressor().compress(stream))
    rows = kcap.sql("SELECT name, count(*) FROM events GROUP BY 1", path).fetchall()
    assert sum(n for _, n in rows) == TRIAL_EVENTS + 30
    # (raised while DuckDB pulls the batches, so it reaches the caller wrapped in DuckDB's error)
    with pytest.raises(Exception, match="parameter name needs 1025 byte"):
        kcap.sql("SELECT count(*) FROM events WHERE file_path IS NULL", path).fetchall()


def test_to_arrow_streams_bounded_batches(cap1: Path) -> None:
    reader = kcap.to_arrow([cap1, cap1], columns=["seq", "file"], batch_size=7)
    sizes = [b.num_rows for b in reader]
    assert max(sizes) == 7 and sum(sizes) == 200


def test_filter_applies(cap1: Path) -> None:
    table = kcap.to_arrow(cap1, "kevt.name = 'CreateFile'", ["name"]).read_all()
    with kcap.open(cap1) as reader:
        want = sum(1 for ev in reader.read() if ev.name == "CreateFile")
    assert table.num_rows == want > 0
    assert set(table["name"].to_pylist()) == {"CreateFile"}
