"""Replay of the synthetic newest-layout capture (format 2.0, 18-byte ids, parameter table
2023c, process body V4): CreateProcess parameters of the newest types (PID, FLAGS, TIME) become
process state, and events lacking parameters are reported, not fatal."""

from __future__ import annotations

from state_events import IDS18

import kcap
from kcap.model import Event
from kcap.state import HandleSnapshotter, ProcessSnapshotter, derive_uuid

KIND = {bytes.fromhex(h): name for name, h in IDS18.items()}


def replay(path) -> tuple[list[Event], HandleSnapshotter, ProcessSnapshotter, list[str]]:
    messages: list[str] = []
    with kcap.open(path) as reader:
        handles = HandleSnapshotter(reader.handles, on_warning=messages.append)
        procs = ProcessSnapshotter(handles, on_warning=messages.append)
        events = []
        for ev in reader.read(include_state=True):
            handles.update(ev)
            procs.update(ev)
            procs.attach(ev)
            events.append(ev)
    return events, handles, procs, messages


def test_create_process_parameters_become_state(newest):
    events, _, procs, _ = replay(newest)
    creates = [
        ev for ev in events if KIND.get(ev.type) == "CreateProcess" and ev.process is not None
    ]
    complete = [ev for ev in creates if "ppid" in ev.params]
    assert complete, "the fixture has a CreateProcess with a body and a ppid"
    ev = complete[0]
    state = procs.find(ev.param("pid"))
    assert state is not None and state is not ev.process
    assert (state.pid, state.ppid) == (ev.param("pid"), ev.param("ppid"))
    assert (state.name, state.cmdline, state.exe) == (
        ev.param("name"),
        ev.param("cmdline"),
        ev.param("exe"),
    )
    assert state.args[0] == ev.param("exe")
    assert state.session_id == ev.param("session_id")
    assert state.start_time == ev.param("start_time")
    flags = ev.param("flags")
    assert state.is_wow64 == bool(flags & 2)
    assert state.is_protected == bool(flags & 4)
    assert state.is_packaged == bool(flags & 8)
    assert state.uuid == derive_uuid(state.pid, state.start_time)


def test_missing_parameters_are_reported_one_message_each(newest):
    events, _, _, messages = replay(newest)
    expected = 0
    for ev in events:
        kind = KIND.get(ev.type)
        if kind not in ("CreateProcess", "ProcessRundown") or ev.process is None:
            continue
        if "pid" not in ev.params or "ppid" not in ev.params:
            expected += 1
        elif kind == "CreateProcess":
            expected += sum(n not in ev.params for n in ("sid", "session_id", "flags"))
    assert expected > 0
    assert len(messages) == expected


def test_events_after_registration_see_the_process(newest):
    events, handles, procs, _ = replay(newest)
    registered = False
    for ev in events:
        kind = KIND.get(ev.type)
        if kind in ("CreateProcess", "ProcessRundown") and ev.process is not None:
            assert ev.ps is ev.process
            registered = registered or procs.find(ev.pid) is not None
        elif registered:
            assert ev.ps is procs.find(ev.pid) is not None
        else:
            assert ev.ps is None
    assert registered
    # the handle section is keyed by object address: every distinct address once
    with kcap.open(newest) as reader:
        assert len(handles) == len({h.object for h in reader.handles})
