"""State updates read the same values from an undecoded event as from a decoded one.

A state rule asks an event for the few values it needs (`Event.values`); a lazy event answers
from its undecoded bytes (the native kernel reads them in place), a decoded one from its
parameters. Each unusual shape of handle, thread, image and termination events -- a missing
value, a value of another type, both names of a renamed parameter, a duplicate -- is replayed
lazily and eagerly on each engine (tests/state/conftest.py), and the state and warnings must
match after every event. tests/test_engines.py compares the engines with each other.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from state_events import ev, param

import kcap
from kcap.model import Event, Handle, Param, ParamType
from kcap.reader import Reader

ADDR = ParamType.ADDRESS


def create_handle(pid: int, *params: Param, meta: list[tuple[str, str]] | None = None) -> Event:
    """A CreateHandle with exactly these parameters (typed as given)."""
    return Event(
        pid=pid, type=ev("CreateHandle").type, name="CreateHandle", params=params, meta=meta
    )


def handle_events() -> list[Event]:
    """Handle events of every shape the twins meet, each followed by a close of some of them."""
    events = [
        ev(
            "CreateHandle",
            hpid=10,
            handle_object=0x1000,
            handle_id=4,
            type_id="File",
            handle_name=r"\Device\HarddiskVolume1\a.txt",
        ),
        # the 2020-2022 name of the type parameter
        ev("CreateHandle", hpid=11, handle_object=0x2000, handle_id=8, handle_type="Key"),
        # both type names: the newest one wins
        ev("CreateHandle", hpid=12, handle_object=0x3000, type_id="Event", handle_type="Key"),
        # no handle_id, no name: 0 and ''
        ev("CreateHandle", hpid=13, handle_object=0x4000),
        # the same object again replaces the entry in place
        ev("CreateHandle", hpid=14, handle_object=0x1000, handle_id=12, type_id="Mutant"),
        # missing handle_object: a warning, nothing changes
        ev("CreateHandle", hpid=15, handle_id=16, type_id="File"),
        ev("CloseHandle", hpid=15, handle_id=16),
        # handle_object that is not an integer
        create_handle(16, Param("handle_object", ParamType.UNICODE, "0x5000")),
        # a handle id stored as text, a type stored as a number
        create_handle(
            17,
            param("handle_object", 0x6000),
            Param("handle_id", ParamType.UNICODE, "9"),
            Param("type_id", ParamType.UINT32, 7),
        ),
        # two handle_object parameters: the first counts
        create_handle(18, param("handle_object", 0x7000), param("handle_object", 0x8000)),
        ev("CloseHandle", hpid=10, handle_object=0x2000),
        ev("CloseHandle", hpid=10, handle_object=0xDEAD),  # never opened
        ev("CloseHandle", hpid=10, handle_object=0x1000, type_id="Mutant"),
        # a large address (kernel objects live high)
        ev("CreateHandle", hpid=19, handle_object=0xFFFF_A000_0000_1234, handle_id=1),
        # parameters around the interesting ones, of many types, that the twins skip
        create_handle(
            20,
            Param("before", ParamType.BINARY, b"\x00" * 300),
            Param("list", ParamType.SLICE, ["a", "bc"], "s"),
            Param("addrs", ParamType.SLICE, [1, 2, 3], "8"),
            param("handle_object", 0x9000),
            Param("ip", ParamType.IPV6, ipaddress.ip_address("::1")),
            Param("handle_name", ParamType.UNICODE, "n\udcff"),
            Param("flag", ParamType.BOOL, True),
            meta=[("k", "v")],
        ),
    ]
    for i, e in enumerate(events):
        e.seq = i + 1
    return events


def write_capture(path: Path, events: list[Event], handles: list[Handle]) -> None:
    with kcap.new_writer(path, handles=handles) as w:
        for e in events:
            w.write(e)


def replay(path: Path, *, lazy: bool) -> tuple[list[Any], int]:
    """The handle table after each event, and the number of state warnings."""
    with kcap.open(path) as reader:
        hsnap, _ = reader.recover_snapshotters()
        tables = [
            [(h.num, h.object, h.pid, h.type, h.name, h.meta) for h in hsnap.handles()]
            for _ in reader.read(include_state=True, lazy=lazy)
        ]
        return tables, reader.stats.state_warnings


def pad_past_the_trial(events: list[Event]) -> list[Event]:
    """``events`` after enough others that they fall past the generation trial, whose events
    are decoded anyway: so a lazy replay really reads them undecoded."""
    from kcap.format.detect import TRIAL_EVENTS

    pad = [ev("CreateFile", hpid=4, file_path="x") for _ in range(TRIAL_EVENTS)]
    out = [*pad, *events]
    for i, e in enumerate(out):
        e.seq = i + 1
    return out


def test_handle_updates_read_undecoded_events_like_decoded_ones(tmp_path: Path) -> None:
    path = tmp_path / "handles.kcap"
    initial = [Handle(num=4, object=0x2000, pid=11, type="Key", name=r"\REGISTRY\MACHINE")]
    write_capture(path, pad_past_the_trial(handle_events()), initial)
    lazy, eager = replay(path, lazy=True), replay(path, lazy=False)
    assert lazy == eager
    tables, warnings = lazy
    assert warnings == 3  # the two events without an integer handle_object, one close
    final = {obj: (num, pid, typ, name) for num, obj, pid, typ, name, _ in tables[-1]}
    assert final[0x3000] == (0, 12, "Event", "")
    assert final[0x7000][1] == 18 and 0x8000 not in final
    assert final[0x9000] == (0, 20, "", "n\udcff")
    assert 0x1000 not in final and 0x2000 not in final


def test_handle_events_stay_undecoded_on_lazy_replay(tmp_path: Path) -> None:
    from kcap.format.detect import TRIAL_EVENTS

    # Past the generation trial, whose events are decoded to detect the layout.
    many = [
        ev("CreateHandle", seq=i, hpid=10, handle_object=0x10000 + i, type_id="File")
        for i in range(1, TRIAL_EVENTS + 100)
    ]
    path = tmp_path / "handles.kcap"
    write_capture(path, many, [])
    with kcap.open(path) as reader:
        events = list(reader.read(include_state=True, lazy=True))
        hsnap, _ = reader.recover_snapshotters()
    assert len(hsnap) == len(many)
    last = events[-1]
    assert not last.decoded, "replay decoded a handle event it only needed to scan"
    assert last.params["handle_object"].value == 0x10000 + len(many)
    assert hsnap.find(0x10000 + len(many)) == Handle(
        num=0, object=0x10000 + len(many), pid=10, type="File", name=""
    )


def test_damaged_handle_event_is_reported_and_skipped(tmp_path: Path) -> None:
    """A tail whose values cannot be read is decoded, which reports it: the event is skipped."""
    import zstandard

    from kcap.format.detect import TRIAL_EVENTS

    n = TRIAL_EVENTS + 10
    events = [
        ev("CreateHandle", seq=i, hpid=5, handle_object=i, handle_name="ok") for i in range(n)
    ]
    events[-5] = ev(
        "CreateHandle", seq=n - 5, hpid=5, handle_object=0xABCDEF, handle_name="damaged"
    )
    good = tmp_path / "good.kcap"
    write_capture(good, events, [])
    raw = bytearray(zstandard.ZstdDecompressor().decompressobj().decompress(good.read_bytes()))
    at = raw.index(b"handle_name\x07\x00damaged") + len(b"handle_name")
    raw[at : at + 2] = b"\xff\xff"  # the name now runs past its event
    path = tmp_path / "damaged.kcap"
    path.write_bytes(zstandard.ZstdCompressor().compress(bytes(raw)))
    errors: list[kcap.KcapError] = []
    with kcap.open(path, on_error=errors.append) as reader:
        seqs = [e.seq for e in reader.read(lazy=True)]
        hsnap, _ = reader.recover_snapshotters()
    assert seqs == [i for i in range(n) if i != n - 5]
    assert len(errors) == 1 and isinstance(errors[0], kcap.errors.Corrupt)
    assert 0xABCDEF not in hsnap.by_object and len(hsnap) == n - 1


def process_events() -> list[Event]:
    """Thread, image and termination events of every shape their updates meet."""
    from kcap.model import Process

    cp = ev("CreateProcess", hpid=4, process=Process(pid=100, ppid=4, name="a.exe"))
    cp.params = params_from(pid=100, ppid=4, name="a.exe", sid=b"", session_id=1, flags=0)
    events = [
        cp,
        ev(
            "CreateThread",
            hpid=100,
            pid=100,
            tid=7,
            io_prio=2,
            ustack=0x1000,
            start_address=0x401000,
        ),
        # the 2020-2022 name of the start address; a prio stored as text counts as 0
        ev(
            "ThreadRundown",
            hpid=100,
            pid=100,
            tid=8,
            entrypoint=0x402000,
            base_prio=Param("base_prio", ParamType.UNICODE, "8"),
        ),
        # both names of the start address: the newest wins
        ev("CreateThread", hpid=100, pid=100, tid=12, start_address=0x1, entrypoint=0x2),
        ev("CreateThread", hpid=100, pid=100),  # no tid: a warning
        ev("CreateThread", hpid=100, tid=9),  # no pid: a warning
        ev(
            "LoadImage",
            hpid=100,
            pid=100,
            file_path=r"C:\\x\\a.exe",
            base_address=0x400000,
            image_size=0x1000,
            checksum=5,
            default_address=0x400000,
        ),
        # the 2022 name of the path, a duplicate base, a kernel module under pid 0
        ev("ImageRundown", hpid=100, pid=100, file_name=r"C:\\x\\b.dll", base_address=0x7000),
        ev("ImageRundown", hpid=100, pid=100, file_name=r"C:\\x\\c.dll", base_address=0x7000),
        ev("ImageRundown", hpid=0, pid=0, file_name=r"\\SystemRoot\\nt.exe", base_address=0x1),
        ev("ImageRundown", hpid=100, pid=Param("pid", ParamType.UNICODE, "100")),  # a warning
        # an upper-case extension makes a longer exe; a non-ASCII one is left to Python's
        # str.lower(); a size stored as text reads as 0
        ev("LoadImage", hpid=100, pid=100, file_path=r"C:\\x\\LONGER_NAME.EXE", base_address=0x5),
        ev(
            "LoadImage",
            hpid=100,
            pid=100,
            file_path="C:\\x\\longest_of_names.ex\u0117",
            base_address=0x6,
        ),
        ev(
            "ImageRundown",
            hpid=100,
            pid=100,
            file_path="d.dll",
            base_address=0x8,
            image_size=Param("image_size", ParamType.UNICODE, "12"),
        ),
        ev("UnloadImage", hpid=100, pid=100, base_address=0x7000),
        ev("TerminateThread", hpid=100, pid=100, tid=7),
        ev("TerminateThread", hpid=100, tid=8),  # a warning
        ev("TerminateProcess", hpid=100),  # a warning
        ev("CreateThread", hpid=100, pid=100, tid=10),
        ev("TerminateProcess", hpid=100, pid=100),
        ev("CreateThread", hpid=100, pid=100, tid=11),  # the process is gone: nothing
    ]
    for i, e in enumerate(events):
        e.seq = i + 1
    return events


def params_from(**values: Any) -> Any:
    from kcap.model import Params

    return Params([param(k, v) for k, v in values.items()])


def process_table(reader: Reader) -> list[Any]:
    _, psnap = reader.recover_snapshotters()
    return [(p.pid, p.exe, sorted(p.threads.items()), list(p.modules)) for p in psnap.processes()]


def test_process_updates_read_undecoded_events_like_decoded_ones(tmp_path: Path) -> None:
    from kcap.format.detect import TRIAL_EVENTS
    from kcap.model import Process

    # A process rundown first, then padding past the generation trial (whose events are
    # decoded anyway), then the events under test.
    rundown = ev("ProcessRundown", hpid=4, process=Process(pid=4, ppid=0, name="System"))
    rundown.params = params_from(pid=4, ppid=0)
    pad = [ev("CreateFile", hpid=4, file_path="x") for _ in range(TRIAL_EVENTS)]
    events = [rundown, *pad, *process_events()]
    for i, e in enumerate(events):
        e.seq = i + 1
    path = tmp_path / "processes.kcap"
    write_capture(path, events, [])

    def run(lazy: bool) -> tuple[list[Any], int]:
        with kcap.open(path) as reader:
            tables, undecoded = [], set()
            for e in reader.read(include_state=True, lazy=lazy):
                tables.append(process_table(reader))
                if not e.decoded:
                    undecoded.add(e.name)
            if lazy:  # the updates read their values without decoding the events
                assert {"CreateThread", "ImageRundown", "TerminateThread"} <= undecoded
            return tables, reader.stats.state_warnings

    lazy, eager = run(True), run(False)
    assert lazy == eager
    tables, warnings = lazy
    # five events without an integer pid or tid, and the CreateProcess whose empty binary sid
    # the writer dropped
    assert warnings == 6
    system = next(p for p in tables[-1] if p[0] == 4)
    assert [m.path for m in system[3]] == [r"\\SystemRoot\\nt.exe"]
    during = next(t for t in tables if any(p[0] == 100 and len(p[2]) >= 2 for p in t))
    proc = next(p for p in during if p[0] == 100)
    assert dict(proc[2])[8].base_prio == 0 and dict(proc[2])[8].start_address == 0x402000
    later = next(p for p in tables[-3] if p[0] == 100)
    assert dict(later[2])[12].start_address == 0x1
    assert all(p[0] != 100 for p in tables[-1])  # terminated
    before_end = next(p for p in tables[-3] if p[0] == 100)
    assert before_end[1] == r"C:\\x\\LONGER_NAME.EXE"
    assert [(m.base_address, m.size) for m in before_end[3]][-3:] == [(5, 0), (6, 0), (8, 0)]
