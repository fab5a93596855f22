"""`kcap.copy`: a copy replays like its source, the state events and handle section included."""

from __future__ import annotations

from pathlib import Path

import pytest

import kcap
from kcap.demo import write_demo_capture
from kcap.errors import Corrupt, KcapError, Truncated

FILTERS = [
    "kevt.name = 'CreateFile'",
    "ps.name = 'svchost.exe'",  # needs process state while copying
    "kevt.category = 'registry'",
]


def _replayed(path: Path, flt: str | None = None) -> list[tuple[object, ...]]:
    """What replay shows of each event: header, parameters and the attached process."""
    with kcap.open(path) as reader:
        if flt is not None:
            reader.set_filter(flt)
        return [
            (
                ev.seq,
                ev.name,
                ev.timestamp.text,
                tuple((p.name, p.value) for p in ev.params.all()),
                None if ev.ps is None else (ev.ps.pid, ev.ps.ppid, ev.ps.name, ev.ps.exe),
            )
            for ev in reader.read()
        ]


@pytest.fixture(scope="module")
def live_copy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from tests.conftest import fixture_path

    source = fixture_path("fibratus", "test-live-2022.kcap")
    dst = tmp_path_factory.mktemp("copy") / "copy.kcap"
    stats = kcap.copy(source, dst)
    assert (stats.events, stats.state_events, stats.write_errors) == (57_326, 15_758, 0)
    return source, dst


def test_a_copy_replays_like_its_source(live_copy: tuple[Path, Path]) -> None:
    source, dst = live_copy
    theirs, ours = _replayed(source), _replayed(dst)
    assert len(ours) == 57_326
    assert ours == theirs
    # the process state came along: most events have one (the naive loop left 54,786 without)
    assert sum(1 for e in ours if e[-1] is None) == sum(1 for e in theirs if e[-1] is None) < 1000
    with kcap.open(source) as a, kcap.open(dst) as b:
        assert len(b.handles) == len(a.handles) == 20_614


@pytest.mark.parametrize("flt", FILTERS)
def test_a_filtered_copy_keeps_the_state_its_events_need(
    live_copy: tuple[Path, Path], tmp_path: Path, flt: str
) -> None:
    source, _ = live_copy
    dst = tmp_path / "part.kcap"
    stats = kcap.copy(source, dst, filter=flt)
    assert stats.state_events == 15_758  # every rundown, whatever the filter
    assert stats.events < 57_326
    # replayed with the same filter, the copy shows what the source shows: same events,
    # same process state on each
    expected = _replayed(source, flt)
    assert expected and _replayed(dst, flt) == expected


def test_a_predicate_filter(tmp_path: Path) -> None:
    source = tmp_path / "demo.kcap"
    write_demo_capture(source)
    dst = tmp_path / "curl.kcap"
    kcap.copy(source, dst, filter=lambda ev: ev.ps is not None and ev.ps.name == "curl")
    got = _replayed(dst, "ps.name = 'curl'")
    assert got and got == _replayed(source, "ps.name = 'curl'")


def test_copying_onto_itself_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "demo.kcap"
    write_demo_capture(source)
    before = source.read_bytes()
    with pytest.raises(KcapError, match="onto itself"):
        kcap.copy(source, tmp_path / "demo")  # the same file, by the naming rule
    assert source.read_bytes() == before


def _damaged(tmp_path: Path) -> Path:
    import zstandard

    good = tmp_path / "good.kcap"
    write_demo_capture(good)
    raw = zstandard.ZstdDecompressor().decompressobj().decompress(good.read_bytes())
    old, new = b"\x01\x00\x08\x00l4_proto", b"\xee\xee\x08\x00l4_proto"  # Connect's parameter
    bad = tmp_path / "bad.kcap"
    bad.write_bytes(zstandard.ZstdCompressor().compress(raw.replace(old, new, 1)))
    return bad


def test_an_undecodable_event_stops_the_copy_unless_on_error_is_given(tmp_path: Path) -> None:
    bad = _damaged(tmp_path)
    with pytest.raises(Corrupt, match="l4_proto"):
        kcap.copy(bad, tmp_path / "strict.kcap")
    assert _replayed(tmp_path / "strict.kcap")  # closed properly: what was copied replays
    seen: list[KcapError] = []
    stats = kcap.copy(bad, tmp_path / "lenient.kcap", on_error=seen.append)
    assert len(seen) == 1 and "l4_proto" in str(seen[0])
    names = [e[1] for e in _replayed(tmp_path / "lenient.kcap")]
    assert stats.events == len(names) == 22 and "Connect" not in names


def test_a_truncated_source_is_copied_up_to_the_damage(
    live_copy: tuple[Path, Path], tmp_path: Path
) -> None:
    source, _ = live_copy
    cut = tmp_path / "cut.kcap"
    cut.write_bytes(source.read_bytes()[:1_000_000])
    with pytest.raises(Truncated):
        kcap.copy(cut, tmp_path / "salvaged.kcap", on_error=lambda exc: None)
    expected: list[int] = []
    with kcap.open(cut) as reader, pytest.raises(Truncated):
        for ev in reader.read():
            expected.append(ev.seq)
    assert [e[0] for e in _replayed(tmp_path / "salvaged.kcap")] == expected


def test_include_state_keeps_state_events_whatever_the_filter(tmp_path: Path) -> None:
    source = tmp_path / "demo.kcap"
    write_demo_capture(source)
    with kcap.open(source) as reader:
        all_state = sum(1 for ev in reader.read(include_state=True) if ev.name.endswith("Rundown"))
    with kcap.open(source) as reader:
        reader.set_filter("kevt.name = 'Connect'")
        got = [ev.name for ev in reader.read(include_state=True)]
    assert got.count("Connect") == 1
    assert sum(1 for n in got if n.endswith("Rundown")) == all_state == 12
