"""kcap.info.summarize against the figures of kcap-format.md §15 and built captures."""

from __future__ import annotations

from pathlib import Path

import pytest

from kcap import Event, Param, ParamType, Timestamp, new_writer
from kcap.errors import BadMagic, OpenError, Truncated
from kcap.info import summarize
from kcap.model.catalogue import by_name
from kcap.writer import Config

#: Every test here runs on each engine (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("engine")

# kcap-format.md §15, "event names (recorded strings)" of test-live-2022.kcap
LIVE_NAMES = {
    "CloseHandle": 16739,
    "CreateHandle": 16323,
    "N/A": 15758,
    "RegOpenKey": 9924,
    "RegQueryValue": 5904,
    "RegQueryKey": 2263,
    "ReadFile": 2178,
    "WriteFile": 985,
    "OpenProcess": 891,
    "CloseFile": 678,
    "CreateFile": 529,
    "SetFileInformation": 259,
    "TerminateThread": 127,
    "Recv": 105,
    "UnloadImage": 102,
    "CreateThread": 86,
    "LoadImage": 70,
    "Send": 61,
    "EnumDirectory": 32,
    "RegSetValue": 14,
    "DeleteFile": 13,
    "RegCreateKey": 10,
    "OpenThread": 9,
    "Disconnect": 6,
    "Connect": 5,
    "RenameFile": 4,
    "TerminateProcess": 4,
    "CreateProcess": 2,
    "RegDeleteValue": 2,
    "RegDeleteKey": 1,
}
LIVE_CATEGORIES = {
    "handle": 33062,
    "registry": 18118,
    "unknown": 15758,
    "file": 4678,
    "process": 897,
    "thread": 222,
    "net": 177,
    "image": 172,
}


def test_cap1_figures(cap1: Path) -> None:
    s = summarize(cap1)
    assert (s.compressed_size, s.raw_size) == (1213, 33519)
    assert (s.format_version, s.byte_order, s.flags) == ("1.0", "little", 0)
    assert "2020" in s.generation
    assert (s.events, s.handles, s.processes, s.state_events) == (100, 2, 0, 0)
    assert s.names == {"CreateFile": 100}
    assert s.hosts == {"archrabbit": 100}
    assert s.time.first == "2022-08-27T19:14:37.7160819+02:00"
    assert s.time.last == s.time.latest == "2022-08-27T19:14:37.7174238+02:00"
    assert (s.seq.first, s.seq.last, s.seq.min, s.seq.max) == (1, 100, 1, 100)
    assert s.terminated and s.complete and s.errors == 0
    assert s.handle_types == {"File": 2}


def test_cap2_figures(cap2: Path) -> None:
    s = summarize(cap2)
    assert (s.compressed_size, s.raw_size) == (1063, 34419)
    assert (s.format_version, s.byte_order, s.flags) == ("2.0", "little", 0)
    assert "2023a" in s.generation
    assert (s.events, s.handles, s.processes) == (100, 2, 0)
    assert s.names == {"CreateFile": 100}
    assert s.time.first == "2023-05-17T23:27:44.7807703+02:00"
    assert s.time.last == s.time.latest == "2023-05-17T23:27:44.7812857+02:00"
    assert s.terminated and s.complete and s.errors == 0


def test_live_2022_figures(live2022: Path) -> None:
    s = summarize(live2022)
    assert (s.compressed_size, s.raw_size) == (2_002_429, 20_996_032)
    assert s.ratio == pytest.approx(20_996_032 / 2_002_429)
    assert (s.format_version, s.byte_order, s.flags) == ("1.0", "little", 0)
    assert (s.events, s.handles, s.processes) == (73_084, 20_614, 234)
    assert s.names == LIVE_NAMES
    assert list(s.names)[:3] == ["CloseHandle", "CreateHandle", "N/A"]  # most frequent first
    assert s.categories == LIVE_CATEGORIES
    assert s.hosts == {"fv-az140-576": 73_084}
    assert s.time.first == "2022-08-15T21:56:28.3433744Z"
    assert s.time.last == "2022-08-15T21:57:27.6440655Z"
    assert s.time.latest == "2022-08-15T21:57:28.0118799Z"  # file order is not time order
    assert (s.seq.first, s.seq.last, s.seq.min, s.seq.max) == (0, 57_325, 0, 57_325)
    assert s.terminated and s.complete and s.errors == 0
    # The N/A events are the state-only rundowns; the type ids say which (§15).
    assert s.state_events == 15_758
    assert s.types["ImageRundown"] == 9950
    assert s.types["RegKCBRundown"] == 3196
    assert s.types["ThreadRundown"] == 1821
    assert s.types["ProcessRundown"] == 232
    assert "N/A" not in s.types
    assert s.handle_types["Event"] == 8272 and s.handle_types["ALPC Port"] == 1364


def test_to_dict_is_json_ready(cap1: Path) -> None:
    import json

    d = summarize(cap1).to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["time"]["max"] == "2022-08-27T19:14:37.7174238+02:00"
    assert d["fatal_error"] is None and d["complete"] is True


def _event(seq: int, text: str) -> Event:
    et = by_name()["CreateFile"]
    return Event(
        seq=seq,
        pid=10,
        tid=11,
        type=et.id,
        name=et.name,
        category=et.category,
        timestamp=Timestamp(text),
        params=[Param("file_path", ParamType.PATH, f"/tmp/{seq}")],
    )


def test_time_range_is_by_instant_not_file_order(tmp_path: Path) -> None:
    texts = [
        "2024-01-01T10:00:05+02:00",  # 08:00:05Z: first in file
        "2024-01-01T08:00:09Z",  # latest instant
        "0001-01-01T00:00:00Z",  # Go's zero time: "unknown", not the earliest
        "2024-01-01T07:59:59.5Z",  # earliest instant
        "2024-01-01T10:00:07+02:00",  # last in file
    ]
    path = tmp_path / "order.kcap"
    w = new_writer(path, config=Config(flush_period=0))
    w.write_all(_event(i + 1, t) for i, t in enumerate(texts))
    w.close()
    s = summarize(path)
    assert s.time.first == texts[0]
    assert s.time.last == texts[4]
    assert s.time.earliest == "2024-01-01T07:59:59.5Z"
    assert s.time.latest == "2024-01-01T08:00:09Z"
    assert s.time.unknown == 1
    assert s.events == 5 and s.names == {"CreateFile": 5}


def test_truncated_capture_summarizes_what_precedes_the_damage(
    live2022: Path, tmp_path: Path
) -> None:
    cut = tmp_path / "cut.kcap"
    cut.write_bytes(live2022.read_bytes()[:1_000_000])
    s = summarize(cut)
    assert isinstance(s.fatal, Truncated)
    assert not s.complete and not s.terminated
    assert 0 < s.events < 73_084
    assert sum(s.names.values()) == s.events
    assert s.time.first == "2022-08-15T21:56:28.3433744Z"
    assert s.to_dict()["fatal_error"] == str(s.fatal)


def test_unreadable_files_raise(tmp_path: Path) -> None:
    with pytest.raises(OpenError, match="does not exist"):
        summarize(tmp_path / "missing.kcap")
    junk = tmp_path / "junk.kcap"
    junk.write_bytes(b"this is not a capture")
    with pytest.raises(BadMagic):
        summarize(junk)


def test_histograms_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kcap.info

    monkeypatch.setattr(kcap.info, "MAX_DISTINCT", 3)
    path = tmp_path / "hosts.kcap"
    w = new_writer(path, config=Config(flush_period=0))
    for i in range(6):
        ev = _event(i + 1, "2024-01-01T00:00:00Z")
        ev.host = f"host-{i}"
        w.write(ev)
    w.close()
    s = summarize(path)
    assert s.hosts == {"host-0": 1, "host-1": 1, "host-2": 1, kcap.info.OTHER: 3}
    assert s.events == 6
