"""The Writer's contract: layout, statistics, flushing, queue input, errors, Fibratus safety."""

from __future__ import annotations

import io
import queue
import struct
import threading
import time
from pathlib import Path

import pytest
import zstandard

import kcap
from kcap.cli.tables import writer_rows
from kcap.errors import CaptureError, EncodeError
from kcap.model import Event, Handle, Param, ParamType, Process, Timestamp
from kcap.model.process import FileInfo

#: Every test here runs on each engine (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("engine")

CREATE_FILE = bytes.fromhex("90cbdc394a3e11d184f40000f80464e30040")
CREATE_PROCESS = bytes.fromhex("3d6fa8d0fe0511d09dda00c04fd7ba7c0001")
PROCESS_RUNDOWN = bytes.fromhex("3d6fa8d0fe0511d09dda00c04fd7ba7c0003")


def ev(seq: int, type_: bytes = CREATE_FILE, **kw) -> Event:
    return Event(
        seq=seq,
        pid=10,
        tid=11,
        type=type_,
        name=kw.pop("name", "CreateFile"),
        category="file",
        timestamp=Timestamp.from_ns(1_700_000_000_000_000_000 + seq * 1000),
        **kw,
    )


def raw(path: Path) -> bytes:
    return b"".join(zstandard.ZstdDecompressor().read_to_iter(path.open("rb")))


def test_writes_the_newest_layout(tmp_path: Path) -> None:
    proc = Process(pid=10, ppid=1, name="x", start_time=Timestamp("2024-01-01T00:00:00Z"))
    w = kcap.new_writer(tmp_path / "n", handles=[Handle(1, 2, 3, "File", "/tmp/a", FileInfo(True))])
    w.write(ev(1, CREATE_PROCESS, name="CreateProcess", process=proc))
    stats = w.close()
    assert w.path.name == "n.kcap"  # upstream's naming rule
    data = raw(w.path)
    assert data[:18] == b"sutarbif\x02\x00" + bytes(8)
    assert data[18:20] == b"\x02\x01" and struct.unpack_from("<I", data, 20)[0] == 1
    rec_len = struct.unpack_from("<H", data, 28)[0]
    ev_at = 30 + rec_len
    assert data[ev_at : ev_at + 2] == b"\x03\x02"  # event section V2
    body_len = struct.unpack_from("<I", data, ev_at + 6)[0]
    assert ev_at + 10 + body_len == len(data)
    assert data[ev_at + 10 + 16 : ev_at + 10 + 34] == CREATE_PROCESS  # 18-byte id
    assert b"\x01\x04\x00\x00\x00\x00" in data  # process section V4 header
    assert stats.events == 1 and stats.processes == 1 and stats.handles == 1
    assert stats.bytes == body_len and stats.capture_size == w.path.stat().st_size


def test_statistics_count_like_upstream(tmp_path: Path) -> None:
    w = kcap.new_writer(tmp_path / "s.kcap")
    rundown = ev(2, PROCESS_RUNDOWN, name="ProcessRundown", process=Process(pid=10))
    w.write_all([ev(1), rundown, ev(3)])
    stats = w.close()
    assert (stats.events, stats.state_events, stats.processes) == (2, 1, 1)
    labels = [k for k, _ in writer_rows(stats)]
    assert labels[:5] == [
        "File",
        "Events written",
        "Bytes written",
        "Processes written",
        "Handles written",
    ]
    assert labels[-1] == "Capture size"


def test_a_reader_sees_events_older_than_one_flush_period(tmp_path: Path) -> None:
    w = kcap.new_writer(tmp_path / "live.kcap", config=kcap.Config(flush_period=0.2))
    try:
        for i in range(1, 51):
            w.write(ev(i))
        time.sleep(0.6)
        data = w.path.read_bytes()
        with kcap.open(io.BytesIO(data)) as reader:
            seen = [e.seq for e in reader.read()]
            assert not reader.terminated  # the frame is still open
        assert seen == list(range(1, 51))
    finally:
        w.close()
    with kcap.open(w.path) as reader:
        assert len(list(reader.read())) == 50 and reader.terminated


def test_queue_fed_by_another_thread(tmp_path: Path) -> None:
    q: queue.Queue = queue.Queue(maxsize=8)
    w = kcap.new_writer(tmp_path / "q.kcap")

    def produce() -> None:
        for i in range(1, 201, 10):
            q.put([ev(j) for j in range(i, i + 10)])
        q.put(kcap.STOP)

    t = threading.Thread(target=produce)
    t.start()
    assert w.write_from_queue(q) == 200
    t.join()
    w.close()
    with kcap.open(w.path) as reader:
        assert [e.seq for e in reader.read()] == list(range(1, 201))


def test_write_errors_are_reported_and_writing_goes_on(tmp_path: Path) -> None:
    errors: list[kcap.KcapError] = []
    w = kcap.new_writer(tmp_path / "e.kcap", on_error=errors.append)
    bad = ev(2, params=[Param("big", ParamType.UINT8, 999)])
    huge = ev(3, params=[Param("s", ParamType.UNICODE, "x" * 70000)])
    assert w.write(ev(1)) and not w.write(bad) and not w.write(huge) and w.write(ev(4))
    stats = w.close()
    assert stats.write_errors == 2 and len(errors) == 2
    assert all(isinstance(e, EncodeError) for e in errors)
    assert "'big'" in str(errors[0]) and "65535" in str(errors[1])
    with kcap.open(w.path) as reader:
        assert [e.seq for e in reader.read()] == [1, 4]


def test_unwritable_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="cannot create capture file"):
        kcap.new_writer(tmp_path / "no" / "such" / "dir" / "x.kcap")


def test_values_fibratus_cannot_read_are_adapted_and_counted(tmp_path: Path) -> None:
    args = [f"arg{i:05d}" + "a" * 100 for i in range(1000)]  # > 64 KiB of arguments
    proc = Process(pid=10, args=args, start_time=Timestamp("not a time"))
    e = ev(
        1,
        CREATE_PROCESS,
        name="CreateProcess",
        process=proc,
        params=[
            Param("f", ParamType.FLOAT, 1.5),
            Param("sid", ParamType.WBEM_SID, b""),
            Param("k", ParamType.KEY, "\\REGISTRY\\MACHINE"),
        ],
    )
    w = kcap.new_writer(tmp_path / "a.kcap")
    w.write(e)
    stats = w.close()
    assert stats.notes.converted_params == 1 and stats.notes.dropped_params == 1
    assert stats.notes.dropped_args > 0
    with kcap.open(w.path) as reader:
        (got,) = list(reader.read())
    assert got.params["f"].type is ParamType.UNICODE and got.params["f"].value == "1.5"
    assert "sid" not in got.params
    assert got.params["k"].type is ParamType.UNICODE
    kept = got.process.args
    assert kept == args[: len(kept)]
    assert sum(2 + len(a) for a in kept) <= 0xFFFF < sum(2 + len(a) for a in args)
    assert got.process.start_time.text == "0001-01-01T00:00:00Z"


def test_process_state_is_embedded_from_the_snapshotter(tmp_path: Path) -> None:
    from kcap.state import HandleSnapshotter, ProcessSnapshotter

    hs = HandleSnapshotter()
    ps = ProcessSnapshotter(hs)
    ps.add(Process(pid=10, ppid=1, name="bash"))
    w = kcap.new_writer(tmp_path / "p.kcap", ps, hs)
    w.write(ev(1, PROCESS_RUNDOWN, name="ProcessRundown", params=[Param("pid", ParamType.PID, 10)]))
    w.close()
    with kcap.open(w.path) as reader:
        (got,) = list(reader.read(include_state=True))
    assert got.process is not None and got.process.name == "bash"


@pytest.mark.parametrize("field", [{"seq": -1}, {"pid": 2**32}, {"tid": -5}, {"cpu": 256}])
def test_header_fields_out_of_range_are_write_errors_not_silent_truncation(
    tmp_path: Path, field: dict
) -> None:
    errors: list[kcap.KcapError] = []
    w = kcap.new_writer(tmp_path / "r.kcap", on_error=errors.append)
    e = ev(1)
    for k, v in field.items():
        setattr(e, k, v)
    assert not w.write(e)
    w.close()
    assert len(errors) == 1 and isinstance(errors[0], EncodeError)


class _FullDisk(io.RawIOBase):
    """A file that accepted the header, then fails every write as a full disk does."""

    def __init__(self, real: io.BufferedWriter) -> None:
        self.real = real

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        raise OSError(28, "No space left on device")

    def flush(self) -> None:
        raise OSError(28, "No space left on device")

    def close(self) -> None:
        self.real.close()
        super().close()


def test_a_full_disk_is_reported_never_raised(tmp_path: Path) -> None:
    errors: list[kcap.KcapError] = []
    w = kcap.new_writer(tmp_path / "full.kcap", on_error=errors.append)
    w._fh = _FullDisk(w._fh)  # type: ignore[assignment]
    w._compressor._fh = w._fh
    for i in range(1, 2000):
        w.write(ev(i))
    w.flush()
    stats = w.close()  # must not raise
    assert stats.write_errors >= 1 and errors
    assert all(isinstance(e, CaptureError) and "No space left" in str(e) for e in errors)
    with kcap.open(w.path) as reader:
        # Only the header and handle section reached the disk: a valid, empty, unclosed capture.
        assert list(reader.read()) == [] and not reader.terminated
