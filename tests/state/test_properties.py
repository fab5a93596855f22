"""Property tests: arbitrary event sequences never raise and keep the map where §3.4 puts it."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from state_events import IDS17, IDS18

from kcap.model import Event, Param, ParamType, Process, Timestamp
from kcap.state import HandleSnapshotter, ProcessSnapshotter

# few distinct pids, so that sequences create, reuse and terminate the same ones
PIDS = st.sampled_from([100, 4, 101, 0, 0xFFFFFFFF])
KINDS = sorted(set(IDS17) | set(IDS18))

#: A parameter value of any shape a damaged or foreign capture could hold.
ANY_VALUE = st.one_of(
    st.none(),
    PIDS,
    st.integers(-(1 << 63), (1 << 64) - 1),
    st.booleans(),
    st.text(max_size=12),
    st.binary(max_size=40),
    st.just(Timestamp("2024-12-11T10:20:00Z")),
    st.just(Timestamp("garbage")),
)
PARAM_NAMES = [
    "pid",
    "ppid",
    "tid",
    "sid",
    "session_id",
    "flags",
    "name",
    "cmdline",
    "exe",
    "start_time",
    "username",
    "domain",
    "file_path",
    "file_name",
    "base_address",
    "image_size",
    "handle_object",
    "type_id",
    "handle_name",
]
ID_NAMES = frozenset({"pid", "ppid", "tid", "handle_object"})


def _ptype(value: Any) -> ParamType:
    if isinstance(value, bool):
        return ParamType.BOOL
    if isinstance(value, int):
        return ParamType.PID if 0 <= value < 1 << 32 else ParamType.INT64
    if isinstance(value, str):
        return ParamType.UNICODE
    if isinstance(value, bytes):
        return ParamType.WBEM_SID
    return ParamType.TIME


@st.composite
def events(draw: st.DrawFn) -> Event:
    kind = draw(st.sampled_from(KINDS))
    table = draw(st.sampled_from([t for t in (IDS17, IDS18) if kind in t]))
    params = []
    for name in PARAM_NAMES:
        # ids are mostly well-formed, so that sequences reach the interesting transitions
        well_formed = name in ID_NAMES and draw(st.integers(0, 4)) > 0
        value = draw(PIDS if well_formed else ANY_VALUE)
        if value is not None:
            params.append(Param(name, _ptype(value), value))
    process = None
    if draw(st.integers(0, 3)):
        process = Process(pid=draw(PIDS), ppid=draw(st.sampled_from([4, 100, 0, 101])))
        ids = {p.name: p.value for p in params if p.name in ("pid", "ppid")}
        if draw(st.integers(0, 3)) and all(type(ids.get(k)) is int for k in ("pid", "ppid")):
            # usually the body agrees with the parameters, as in real captures
            process = Process(pid=ids["pid"], ppid=ids["ppid"])
    return Event(
        seq=draw(st.integers(0, 10)),
        pid=draw(PIDS),
        type=bytes.fromhex(table[kind]),
        name=draw(st.sampled_from([kind, "N/A", ""])),
        params=params,
        process=process,
    )


def _int(event: Event, name: str) -> int | None:
    v = event.param(name)
    return v if isinstance(v, int) and not isinstance(v, bool) else None


@settings(max_examples=200, deadline=None)
@given(st.lists(events(), min_size=5, max_size=40))
def test_random_sequences_never_raise_and_track_registered_pids(sequence):
    messages: list[str] = []
    handles = HandleSnapshotter(on_warning=messages.append)
    procs = ProcessSnapshotter(handles, on_warning=messages.append)
    expected_pids: set[int] = set()
    expected_objects: set[int] = set()
    for event in sequence:
        handles.update(event)
        procs.update(event)
        procs.attach(event)

        kind = next(k for t in (IDS17, IDS18) for k, v in t.items() if v == event.type.hex())
        pid, ppid = _int(event, "pid"), _int(event, "ppid")
        body = event.process
        if kind in ("CreateProcess", "ProcessRundown") and body is not None:
            # a placeholder body (pid = ppid = 0xFFFFFFFF) stands for an unreadable process
            placeholder = body.pid == body.ppid == 0xFFFFFFFF
            valid = pid is not None and ppid is not None
            if kind == "CreateProcess":
                valid = valid and (body.pid != body.ppid or placeholder)
            elif placeholder:
                valid = valid and pid != 0xFFFFFFFF and pid != ppid
            else:
                valid = valid and pid != 0xFFFFFFFF and body.pid != body.ppid
            if valid:
                assert pid is not None
                expected_pids.add(pid)
        elif kind == "TerminateProcess" and pid is not None:
            expected_pids.discard(pid)
            # TerminateProcess always removes, and unlinks every child recorded under it
            assert procs.find(pid) is None
            assert all(p.parent is None for p in procs if p.ppid == pid)
        obj = _int(event, "handle_object")
        if obj is not None and kind == "CreateHandle":
            expected_objects.add(obj)
        elif obj is not None and kind == "CloseHandle":
            expected_objects.discard(obj)

        # the map holds exactly the pids the model registered
        assert all(procs.find(pid) is not None for pid in expected_pids)
        assert len(procs) == len(expected_pids)
        assert {h.object for h in handles.handles()} == expected_objects
        # attach: the event's own state (these events are decoded), else that of the header pid
        if body is not None:
            assert event.ps is body
        else:
            assert event.ps is procs.find(event.pid)
    assert all(isinstance(m, str) and m for m in messages)


LIFECYCLE = st.lists(
    st.tuples(
        st.sampled_from(["CreateProcess", "ProcessRundown", "TerminateProcess"]),
        st.integers(1, 5),
        st.integers(1, 5),
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(LIFECYCLE, st.booleans())
def test_parent_links_through_any_lifecycle(steps, width17):
    """Well-formed create/rundown/terminate sequences: links fixed at registration, cleared
    by the parent's termination, never back-filled."""
    ids = IDS17 if width17 else IDS18
    snap = ProcessSnapshotter()
    alive: set[int] = set()
    for kind, pid, ppid in steps:
        params = [Param("pid", ParamType.PID, pid), Param("ppid", ParamType.PID, ppid)]
        body = None
        if kind == "CreateProcess":
            body = Process(pid=ppid, ppid=ppid + 10)  # the creator
            params += [
                Param("sid", ParamType.WBEM_SID, b""),
                Param("session_id", ParamType.UINT32, 1),
                Param("flags", ParamType.FLAGS, 0),
            ]
        elif kind == "ProcessRundown":
            body = Process(pid=pid, ppid=ppid)
        parent_before = snap.find(ppid)
        snap.update(Event(pid=ppid, type=bytes.fromhex(ids[kind]), params=params, process=body))
        if kind == "TerminateProcess":
            alive.discard(pid)
            assert snap.find(pid) is None
            assert all(p.parent is None for p in snap if p.ppid == pid)
        elif kind == "CreateProcess" or pid != ppid:
            # only the *body* is tested for self-parenting (a rundown's body is the process)
            alive.add(pid)
            state = snap.find(pid)
            assert state is not None and state.parent is parent_before
        assert {p.pid for p in snap} == alive
        for p in snap:
            assert p.parent is None or (p.parent.pid == p.ppid and p.parent is not p)
    assert snap.warnings is not None and snap.warnings.count == 0
