"""The three Fibratus fixtures decode to the last byte with the figures of kcap-format.md §15."""

from __future__ import annotations

import ipaddress
from collections import Counter
from pathlib import Path

import pytest

import kcap
from kcap.model.params import ParamType as T


def decode_all(path: Path) -> tuple[kcap.Reader, list[kcap.Event]]:
    reader = kcap.open(path)
    events = [ev.decode() for ev in reader.read(include_state=True)]
    reader.close()
    return reader, events


def is_valid_utf8(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@pytest.mark.parametrize(
    ("fixture", "major", "table", "raw", "first", "last", "meta_key"),
    [
        (
            "cap1",
            1,
            "2020",
            33519,
            "2022-08-27T19:14:37.7160819+02:00",
            "2022-08-27T19:14:37.7174238+02:00",
            "operation",
        ),
        (
            "cap2",
            2,
            "2023a",
            34419,
            "2023-05-17T23:27:44.7807703+02:00",
            "2023-05-17T23:27:44.7812857+02:00",
            "create_disposition",
        ),
    ],
)
def test_small_fixtures(request, fixture, major, table, raw, first, last, meta_key) -> None:
    path = request.getfixturevalue(fixture)
    reader, events = decode_all(path)
    assert reader.header.version == f"{major}.0"
    assert reader.header.order.label == "little" and reader.header.flags == 0
    assert reader.detection.layout.table == table and reader.detection.layout.ev1_width == 17
    assert reader.raw_bytes == raw  # decoded to the last byte, nothing left over
    assert reader.terminated and reader.errors.count == 0
    assert [h.type for h in reader.handles] == ["File", "File"]
    assert all(h.meta is None for h in reader.handles)
    assert len(events) == 100
    assert [e.seq for e in events] == list(range(1, 101))
    assert Counter(e.name for e in events) == {"CreateFile": 100}
    assert {e.host for e in events} == {"archrabbit"}
    assert events[0].timestamp.text == first and events[-1].timestamp.text == last
    assert max(events, key=lambda e: e.timestamp).timestamp.text == last
    for e in events:
        assert e.process is None
        assert len(e.params) == 4
        assert e.params["file_object"].value == 12456738026482168384
        assert e.params["file_name"].type is T.UNICODE
        assert e.params["file_name"].value == (
            "\\Device\\HarddiskVolume2\\Windows\\system32\\user32.dll"
        )
        assert e.params["type"].type is T.ANSI and e.params["type"].value == "file"
        assert e.params[meta_key].value == "open"
        assert sorted(e.meta) == [("foo", "bar"), ("fooz", "barz")]
    # Go map order: both orders of the metadata occur (Q12), and we keep the stored one.
    assert len({tuple(e.meta) for e in events}) == 2


@pytest.fixture(scope="module")
def live(request) -> tuple[kcap.Reader, list[kcap.Event]]:
    from tests.conftest import fixture_path

    return decode_all(fixture_path("fibratus", "test-live-2022.kcap"))


def test_live_container_and_header(live) -> None:
    reader, events = live
    assert reader.compressed_size == 2002429
    assert reader.raw_bytes == 20996032
    assert reader.header.version == "1.0" and reader.header.order.label == "little"
    assert reader.detection.layout.table == "2020"
    # no event failed to decode; the two CreateProcess events without 'flags' are state
    # warnings, which reach on_error too
    assert reader.terminated and reader.stats.errors == 0
    assert reader.stats.state_warnings == 2 and reader.errors.count == 2
    assert len(events) == 73084


def test_live_handles(live) -> None:
    reader, _ = live
    handles = reader.handles
    assert len(handles) == 20614
    by_type = Counter(h.type for h in handles)
    assert by_type["Event"] == 8272 and by_type["Key"] == 2029 and by_type["File"] == 1510
    assert by_type["ALPC Port"] == 1364 and by_type["Partition"] == 1 and len(by_type) == 30
    tags = Counter(type(h.meta).__name__ for h in handles)
    assert tags == {"NoneType": 17360, "FileInfo": 1488, "AlpcInfo": 1364, "MutantInfo": 402}


def test_live_events(live) -> None:
    _, events = live
    names = Counter(e.name for e in events)
    assert names.most_common(4) == [
        ("CloseHandle", 16739),
        ("CreateHandle", 16323),
        ("N/A", 15758),
        ("RegOpenKey", 9924),
    ]
    assert len(names) == 30 and names["CreateProcess"] == 2 and names["RegDeleteKey"] == 1
    assert len({e.type for e in events}) == 36
    assert Counter(e.type.hex() for e in events)["2cb15d1d5fc111d2abe100a0c911f51803"] == 9950
    cats = Counter(e.category for e in events)
    assert cats == {
        "handle": 33062,
        "registry": 18118,
        "unknown": 15758,
        "file": 4678,
        "process": 897,
        "thread": 222,
        "net": 177,
        "image": 172,
    }
    assert {e.host for e in events} == {"fv-az140-576"}
    assert all(len(e.type) == 17 for e in events)
    assert events[0].timestamp.text == "2022-08-15T21:56:28.3433744Z"
    assert events[-1].timestamp.text == "2022-08-15T21:57:27.6440655Z"
    assert max(events, key=lambda e: e.timestamp).timestamp.text == "2022-08-15T21:57:28.0118799Z"
    seqs = [e.seq for e in events]
    assert (seqs[0], seqs[-1], min(seqs), max(seqs)) == (0, 57325, 0, 57325)
    assert len(set(seqs)) == 53599


def test_live_parameters(live) -> None:
    _, events = live
    params = [p for e in events for p in e.params.all()]
    assert len(params) == 305649
    by_type = Counter(p.type for p in params)
    assert by_type == {
        T.HEX_INT64: 96171,
        T.ANSI: 70488,
        T.UNICODE: 59895,
        T.UINT32: 50488,
        T.PID: 13532,
        T.UINT8: 6102,
        T.UINT64: 3171,
        T.TID: 2034,
        T.ENUM: 1235,
        T.SLICE: 1118,
        T.IPV4: 354,
        T.PORT: 354,
        T.INT32: 238,
        T.WBEM_SID: 238,
        T.TIME: 231,
    }
    assert not any(e.meta for e in events)


def test_live_process_bodies(live) -> None:
    _, events = live
    bodies = [e for e in events if e.process is not None]
    assert len(bodies) == 234
    assert Counter(e.name for e in bodies) == {"N/A": 232, "CreateProcess": 2}
    assert sum(len(e.process.handles) for e in bodies) == 19181
    assert sum(len(e.process.envs) for e in bodies) == 4563
    assert sum(len(e.process.args) for e in bodies) == 345
    assert Counter(e.process.session_id for e in bodies) == {0: 201, 1: 29, 255: 4}
    assert all(e.process.pe is None for e in bodies)


def test_live_quirks_spot_checks(live) -> None:
    _, events = live
    invalid = [
        (i, e)
        for i, e in enumerate(events)
        for p in e.params.all()
        if isinstance(p.value, str) and not is_valid_utf8(p.value)
    ]
    # Q13: two RegSetValue events carry raw REG_BINARY bytes in a unicode parameter.
    # Indices in §15 count events only, which is what we enumerate here (state-only included).
    assert [(e.name, e.seq, e.timestamp.text) for _, e in invalid] == [
        ("RegSetValue", 24637, "2022-08-15T21:56:33.4452413Z"),
        ("RegSetValue", 36773, "2022-08-15T21:56:39.433985Z"),
    ]
    assert [i for i, _ in invalid] == [39958, 52393]
    net = [e for e in events if e.name in ("Connect", "Send", "Recv", "Disconnect")]
    assert net
    for e in net:
        assert isinstance(e.params["sip"].value, ipaddress.IPv4Address)
        assert isinstance(e.params["dip"].value, ipaddress.IPv4Address)
    assert any(str(e.params["sip"].value) == "10.1.0.164" for e in net)
    assert any(e.params["dport"].value == 443 or e.params["sport"].value == 443 for e in net)
