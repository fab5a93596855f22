"""The Reader's contract: naming, errors, the replay pipeline, filters, async, error stream."""

from __future__ import annotations

import asyncio
import io
import shutil
import struct
from pathlib import Path

import pytest
import zstandard

import kcap
from kcap.errors import BadMagic, Corrupt, Truncated, UnsupportedVersion
from kcap.model import Event, Param, ParamType, Process, Timestamp

from .format.legacy import Legacy
from .format.samples import events as sample_events

#: Every test here runs on each engine (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("engine")


def write(path: Path, events: list[Event], **kw) -> Path:
    w = kcap.new_writer(path, config=kcap.Config(flush_period=0), **kw)
    w.write_all(events)
    w.close()
    return w.path


# --------------------------------------------------------------------------- naming


def test_a_name_without_extension_gets_kcap(tmp_path: Path, cap1: Path) -> None:
    shutil.copy(cap1, tmp_path / "incident.kcap")
    with kcap.open(tmp_path / "incident") as reader:
        assert reader.path.name == "incident.kcap"
        assert len(list(reader.read())) == 100


def test_cap_extension_is_used_when_only_it_exists(tmp_path: Path, cap1: Path) -> None:
    shutil.copy(cap1, tmp_path / "incident.cap")
    with kcap.open(str(tmp_path / "incident")) as reader:
        assert reader.path.name == "incident.cap"


def test_missing_file_names_the_resolved_path(tmp_path: Path) -> None:
    with pytest.raises(kcap.OpenError, match=r'".*nothere\.kcap" capture file does not exist'):
        kcap.open(tmp_path / "nothere")


def test_directory_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(kcap.OpenError, match="is a directory"):
        kcap.open(tmp_path)


# --------------------------------------------------------------------------- header errors


def stream_file(tmp_path: Path, raw: bytes) -> Path:
    path = tmp_path / "x.kcap"
    path.write_bytes(zstandard.ZstdCompressor().compress(raw))
    return path


def test_bad_magic_names_the_file_and_the_bytes(tmp_path: Path) -> None:
    path = stream_file(tmp_path, b"NOTMAGIC" + bytes(40))
    with pytest.raises(BadMagic) as info:
        kcap.open(path)
    msg = str(info.value)
    assert "invalid kcap file magic number" in msg and str(path) in msg and "4e 4f 54" in msg


def test_newer_major_version_is_refused_with_both_versions(tmp_path: Path) -> None:
    path = stream_file(tmp_path, b"sutarbif\x03\x01" + bytes(8) + struct.pack("<BBII", 2, 1, 0, 0))
    with pytest.raises(UnsupportedVersion, match=r"3\.1.*1\.x, 2\.x"):
        kcap.open(path)


def test_stream_shorter_than_the_header(tmp_path: Path) -> None:
    with pytest.raises(Truncated, match="header is cut short"):
        kcap.open(stream_file(tmp_path, b"sutarbif\x02\x00\x00"))


def test_empty_capture_ends_at_once(tmp_path: Path) -> None:
    path = write(tmp_path / "empty.kcap", [])
    with kcap.open(path) as reader:
        assert list(reader.read()) == []
        assert reader.handles == []


def test_stream_ending_after_the_header(tmp_path: Path) -> None:
    path = stream_file(tmp_path, b"sutarbif\x02\x00" + bytes(8))
    with kcap.open(path) as reader, pytest.raises(Truncated, match="handle section"):
        list(reader.read())


def test_byte_order_is_per_reader(tmp_path: Path) -> None:
    evs = sample_events("2023c")
    le, be = tmp_path / "le.kcap", tmp_path / "be.kcap"
    Legacy(major=2, label=2, width=18, table="2023c", proc_version=4, pe_version=2).file(
        str(le), evs
    )
    Legacy(
        prefix=">", major=2, label=2, width=18, table="2023c", proc_version=4, pe_version=2
    ).file(str(be), evs)
    with kcap.open(le) as a, kcap.open(be) as b:
        ia, ib = a.read(), b.read()
        for ea, eb in zip(ia, ib):  # interleaved: neither reader's byte order leaks
            assert ea.params.all() == eb.params.all()
        assert (a.header.order.label, b.header.order.label) == ("little", "big")


# --------------------------------------------------------------------------- pipeline


def test_replay_drops_state_only_events_unless_asked(live2022: Path) -> None:
    with kcap.open(live2022) as reader:
        names = {e.name for e in reader.read()}
        assert reader.stats.state_only == 15758 and reader.stats.events_emitted == 57326
    assert "N/A" not in names
    with kcap.open(live2022) as reader:
        assert sum(1 for _ in reader.read(include_state=True)) == 73084


def test_replay_attaches_process_state(live2022: Path) -> None:
    with kcap.open(live2022) as reader:
        events = list(reader.read())
    with_ps = [e for e in events if e.ps is not None]
    assert len(with_ps) > len(events) // 2
    for e in with_ps[:2000]:
        assert e.ps is e.process or e.ps.pid == e.pid


def test_read_is_single_pass(cap1: Path) -> None:
    with kcap.open(cap1) as reader:
        list(reader.read())
        with pytest.raises(kcap.KcapError, match="open it again"):
            list(reader.read())


def test_read_starts_reading_only_when_iterated(tmp_path: Path) -> None:
    path = write(tmp_path / "ok.kcap", [_event(i) for i in range(1, 4)])
    raw = b"".join(zstandard.ZstdDecompressor().read_to_iter(path.open("rb")))
    cut = zstandard.ZstdCompressor().compress(raw[:27])  # inside the handle section
    with kcap.open(io.BytesIO(cut)) as reader:
        events = reader.read()  # nothing read yet, so nothing raised yet
        with pytest.raises(Truncated):
            next(events)
        assert list(events) == []  # like a generator, it stays ended after raising


def test_statistics_count_a_replay_that_ends_raises_or_is_abandoned(tmp_path: Path) -> None:
    path = write(tmp_path / "ok.kcap", [_event(i) for i in range(1, 6)])
    with kcap.open(path) as reader:
        assert len(list(reader.read())) == 5
        assert (reader.stats.events_read, reader.stats.events_emitted) == (5, 5)
    with kcap.open(path) as reader:
        events = reader.read()
        assert [next(events).seq, next(events).seq] == [1, 2]
        del events  # abandoned: what it read is still counted
        assert reader.stats.events_emitted == 2
    raw = b"".join(zstandard.ZstdDecompressor().read_to_iter(path.open("rb")))
    with kcap.open(io.BytesIO(zstandard.ZstdCompressor().compress(raw[:-7]))) as reader:
        with pytest.raises(Truncated):
            list(reader.read())
        assert reader.stats.events_emitted == 4


def test_set_filter_with_a_predicate(cap2: Path) -> None:
    with kcap.open(cap2) as reader:
        reader.set_filter(lambda e: e.seq % 10 == 0)
        got = [e.seq for e in reader.read()]
        assert got == list(range(10, 101, 10))
        assert reader.stats.dropped_by_filter == 90


def test_aread_yields_the_same_events(cap1: Path) -> None:
    async def collect() -> list[int]:
        with kcap.open(cap1) as reader:
            return [e.seq async for e in reader.aread(batch=7)]

    assert asyncio.run(collect()) == list(range(1, 101))


def test_lazy_read_decodes_tails_on_access(live2022: Path) -> None:
    with kcap.open(live2022) as reader:
        registry = [e for e in reader.read(lazy=True) if e.category == "registry"][-50:]
    # Registry events change no state, so past the detection trial nothing was decoded yet.
    assert all(not e.decoded for e in registry)
    assert all("key_name" in e.params for e in registry)
    assert all(e.decoded for e in registry)


def _event(seq: int, **kw) -> Event:
    return Event(
        seq=seq,
        pid=7,
        tid=8,
        type=bytes.fromhex("90cbdc394a3e11d184f40000f80464e30040"),
        name="CreateFile",
        category="file",
        timestamp=Timestamp.from_ns(1_700_000_000_000_000_000 + seq),
        **kw,
    )


def test_one_undecodable_event_goes_to_the_error_stream(tmp_path: Path) -> None:
    path = write(tmp_path / "ok.kcap", [_event(i) for i in range(1, 4)])
    raw = bytearray(b"".join(zstandard.ZstdDecompressor().read_to_iter(path.open("rb"))))
    # Make the second event's parameter count lie: it claims a parameter it does not have.
    first_size = struct.unpack_from("<I", raw, 28 + 6)[0]
    second = 28 + 10 + first_size
    second_size = struct.unpack_from("<I", raw, second + 6)[0]
    count_at = second + 10 + second_size - 2 - 10 - 2
    assert raw[count_at : count_at + 2] == b"\x00\x00"
    raw[count_at : count_at + 2] = b"\x05\x00"
    data = zstandard.ZstdCompressor().compress(bytes(raw))
    errors: list[kcap.KcapError] = []
    with kcap.open(io.BytesIO(data), on_error=errors.append) as reader:
        assert [e.seq for e in reader.read()] == [1, 3]
        assert reader.stats.errors == 1
    assert len(errors) == 1 and isinstance(errors[0], Corrupt)
    assert errors[0].offset is not None and second < errors[0].offset < second + 10 + second_size


def test_truncated_mid_event_yields_complete_events_then_raises(tmp_path: Path) -> None:
    path = write(tmp_path / "ok.kcap", [_event(i) for i in range(1, 6)])
    raw = b"".join(zstandard.ZstdDecompressor().read_to_iter(path.open("rb")))
    data = zstandard.ZstdCompressor().compress(raw[:-7])
    got = []
    with kcap.open(io.BytesIO(data)) as reader, pytest.raises(Truncated) as info:
        for e in reader.read():
            got.append(e.seq)
    assert got == [1, 2, 3, 4]
    assert info.value.offset is not None and info.value.offset < len(raw)


def _process_rundown(seq: int, name: str, **proc: str) -> Event:
    """The rundown of process 7 (parent 1)."""
    return Event(
        seq=seq,
        pid=7,
        type=bytes.fromhex("3d6fa8d0fe0511d09dda00c04fd7ba7c0003"),
        name="ProcessRundown",
        category="process",
        params=[Param("pid", ParamType.PID, 7), Param("ppid", ParamType.PID, 1)],
        process=Process(pid=7, ppid=1, name=name, **proc),  # type: ignore[arg-type]
    )


IMAGE_RUNDOWN = bytes.fromhex("2cb15d1d5fc111d2abe100a0c911f5180003")
CREATE_HANDLE = bytes.fromhex("89497f50effe44408cf2ce6b1cdcaca70020")
CLOSE_HANDLE = bytes.fromhex("89497f50effe44408cf2ce6b1cdcaca70021")


def _state_event(seq: int, kind: str, value: int) -> Event:
    """An image rundown (module at base ``value``) or a handle created/closed (object
    ``value``) in process 7."""
    if kind == "ImageRundown":
        type_, category = IMAGE_RUNDOWN, "image"
        params = [
            Param("pid", ParamType.PID, 7),
            Param("file_path", ParamType.UNICODE, f"C:\\m{value}.dll"),
            Param("base_address", ParamType.ADDRESS, value),
        ]
    else:
        type_ = CREATE_HANDLE if kind == "CreateHandle" else CLOSE_HANDLE
        category = "handle"
        params = [
            Param("handle_object", ParamType.ADDRESS, value),
            Param("handle_id", ParamType.UINT32, 4),
            Param("handle_name", ParamType.UNICODE, f"h{value}"),
        ]
    return Event(seq=seq, pid=7, tid=8, type=type_, name=kind, category=category, params=params)


@pytest.mark.parametrize("expr", [None, "kevt.name = 'CreateFile'"])
def test_each_event_sees_the_state_of_its_own_moment(tmp_path: Path, expr: str | None) -> None:
    """Records nobody receives (state-only ones, a rejected kind) may be applied without being
    built, but never before the events ahead of them have reached their consumer."""
    events = [_process_rundown(0, "a.exe")]
    # past the generation trial, where records come in batches: a module per three records,
    # and a handle created then closed
    for i in range(1, 2500):
        kind, value = [("ImageRundown", i), ("CreateHandle", i), ("CloseHandle", i - 1)][i % 3]
        events.append(_state_event(i, kind, value))
    modules_before = sum(1 for i in range(1, 2500) if i % 3 == 0)
    seq = 2500
    for round_ in range(40):
        events.append(_event(seq))  # received: its consumer looks at the state here
        events.append(_state_event(seq + 1, "ImageRundown", 100_000 + round_))
        events.append(_state_event(seq + 2, "CreateHandle", 100_000 + round_))
        seq += 3
    # not the common case (the object is not an integer): built, and handled in Python
    odd = _state_event(seq, "CreateHandle", 0)
    odd.params = kcap.model.Params([Param("handle_object", ParamType.UNICODE, "x")])
    events.append(odd)
    path = write(tmp_path / "state.kcap", events)
    seen = []
    with kcap.open(path) as reader:
        reader.set_filter(expr)
        hsnap, _ = reader.recover_snapshotters()
        for ev in reader.read():
            if ev.name == "CreateFile":
                assert ev.ps is not None
                seen.append((len(ev.ps.modules), len(hsnap)))
        assert reader.stats.events_read == len(events)
        assert reader.stats.state_only == 1 + modules_before + 40
        assert reader.stats.state_warnings == 1  # the handle table's warnings count too
    assert seen == [(modules_before + r, r) for r in range(40)]


def test_process_rundown_builds_state_for_later_events(tmp_path: Path) -> None:
    rundown = _process_rundown(1, "bash", exe="/usr/bin/bash")
    path = write(tmp_path / "s.kcap", [rundown, _event(2)])
    with kcap.open(path) as reader:
        (ev,) = list(reader.read())
    assert ev.seq == 2 and ev.ps is not None and ev.ps.name == "bash"


def test_events_held_after_reading_keep_the_state_their_file_stored(live2022: Path) -> None:
    # A rundown's process body must not change when later image events update the state.
    with kcap.open(live2022) as reader:
        held = [e for e in reader.read(include_state=True) if e.process is not None]
    with kcap.open(live2022) as reader:
        fresh = [
            (e.process.exe, len(e.process.modules), len(e.process.threads))
            for e in reader.read(include_state=True, lazy=True)
            if e.process is not None
        ]
    assert [(e.process.exe, 0, 0) for e in held] == [(exe, 0, 0) for exe, _, _ in fresh]
    assert all(not e.process.modules and not e.process.threads for e in held)


def test_reading_without_state_yields_the_same_events_and_attaches_nothing(
    live2022: Path,
) -> None:
    with kcap.open(live2022) as reader:
        with_state = [(e.seq, e.name, e.timestamp.text) for e in reader.read(include_state=True)]
    with kcap.open(live2022) as reader:
        events = list(reader.read(include_state=True, lazy=True, track_state=False))
    assert [(e.seq, e.name, e.timestamp.text) for e in events] == with_state
    assert all(e.ps is None or e.ps is e.process for e in events)
    assert sum(e.process is not None for e in events) == 234
