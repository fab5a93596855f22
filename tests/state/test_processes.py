"""Process snapshotter transitions (snapshotters.md §3.4) and attach rules (§3.3)."""

from __future__ import annotations

import pytest
from state_events import embedded, ev, image, rundown, sid_bytes, type_id

from kcap.model import Event, Process, Timestamp
from kcap.state import ProcessSnapshotter, derive_uuid

WIDTHS = pytest.mark.parametrize("width", [17, 18])
START = Timestamp("2024-12-11T10:20:00.5+02:00")
SYSTEM_SID = sid_bytes(5, 18)
WBEM_SYSTEM_SID = bytes(16) + SYSTEM_SID


def create_process(
    child: int, parent: int, *, creator: int | None = None, width: int = 18, **overrides: object
) -> Event:
    """A CreateProcess as upstream writes it: header pid and embedded state are the creator."""
    creator = parent if creator is None else creator
    params: dict[str, object] = {
        "pid": child,
        "ppid": parent,
        "name": "cmd.exe",
        "cmdline": 'C:\\Windows\\system32\\cmd.exe /c "echo hi"',
        "exe": "C:\\Windows\\system32\\cmd.exe",
        "sid": WBEM_SYSTEM_SID,
        "session_id": 1,
        "start_time": START,
        "flags": 0,
    }
    params.update(overrides)
    params = {k: v for k, v in params.items() if v is not None}
    return ev(
        "CreateProcess",
        width=width,
        hpid=creator,
        process=embedded(creator, 99999, name="creator.exe"),
        **params,
    )


# --------------------------------------------------------------------------- CreateProcess


@WIDTHS
def test_create_process_builds_state_from_parameters_not_from_the_embedded_state(width):
    snap = ProcessSnapshotter()
    snap.update(rundown(500, 4, recorded="explorer.exe"))
    event = create_process(
        600, 500, creator=500, width=width, flags=0x2 | 0x8, username="bob", domain="CORP"
    )
    snap.update(event)

    child = snap.find(600)
    assert child is not None
    assert child is not event.process
    assert (child.pid, child.ppid, child.name) == (600, 500, "cmd.exe")
    assert child.cmdline == 'C:\\Windows\\system32\\cmd.exe /c "echo hi"'
    assert child.args == ["C:\\Windows\\system32\\cmd.exe", "/c", '"echo hi"']
    assert child.exe == "C:\\Windows\\system32\\cmd.exe"
    assert child.sid == "S-1-5-18"
    assert child.session_id == 1
    assert child.start_time == START
    assert (child.username, child.domain) == ("bob", "CORP")
    assert (child.is_wow64, child.is_packaged, child.is_protected) == (True, True, False)
    # nothing that only a live process could provide
    assert (child.cwd, child.envs, child.handles, child.pe) == ("", [], [], None)
    assert child.threads == {} and child.modules == []
    assert child.parent is snap.find(500)
    # the creator's embedded state is not stored
    assert snap.find(500) is not event.process


def test_create_process_flag_bits():
    snap = ProcessSnapshotter()
    snap.update(create_process(10, 1, flags=0x4))
    p = snap.find(10)
    assert p is not None
    assert (p.is_wow64, p.is_packaged, p.is_protected) == (False, False, True)


def test_create_process_without_embedded_state_changes_nothing():
    snap = ProcessSnapshotter()
    event = create_process(600, 500)
    event.process = None
    snap.update(event)
    assert len(snap) == 0
    assert snap.warnings is not None and snap.warnings.count == 0


def test_create_process_whose_embedded_state_is_its_own_parent_changes_nothing():
    snap = ProcessSnapshotter()
    event = create_process(600, 500)
    event.process = embedded(7, 7)
    snap.update(event)
    assert snap.find(600) is None


def test_create_process_with_unknown_parent_has_no_parent_link():
    snap = ProcessSnapshotter()
    snap.update(create_process(600, 500))
    p = snap.find(600)
    assert p is not None and p.parent is None and p.ppid == 500


def test_create_process_derives_a_deterministic_uuid_from_pid_and_start_time():
    one, two = ProcessSnapshotter(), ProcessSnapshotter()
    one.update(create_process(600, 500))
    two.update(create_process(600, 500))
    a, b = one.find(600), two.find(600)
    assert a is not None and b is not None
    assert a.uuid == b.uuid == derive_uuid(600, START) != 0
    assert 0 < a.uuid < 1 << 64
    assert derive_uuid(600, Timestamp("2024-12-11T10:20:00.6+02:00")) != a.uuid
    assert derive_uuid(601, START) != a.uuid


@pytest.mark.parametrize("missing", ["pid", "ppid"])
def test_create_process_without_pid_or_ppid_warns_and_changes_nothing(missing):
    messages: list[str] = []
    snap = ProcessSnapshotter(on_warning=messages.append)
    snap.update(create_process(600, 500, **{missing: None}))
    assert len(snap) == 0
    assert len(messages) == 1 and repr(missing) in messages[0]


def test_create_process_with_non_integer_pid_warns():
    messages: list[str] = []
    snap = ProcessSnapshotter(on_warning=messages.append)
    snap.update(create_process(600, 500, pid="600"))
    assert len(snap) == 0 and "'pid'" in messages[0]


def test_create_process_missing_sid_session_and_flags_is_not_fatal():
    # upstream panics on each of these; the state is built with empty values and a warning
    messages: list[str] = []
    snap = ProcessSnapshotter(on_warning=messages.append)
    snap.update(create_process(600, 500, sid=None, session_id=None, flags=None))
    p = snap.find(600)
    assert p is not None
    assert (p.sid, p.session_id, p.is_wow64, p.is_packaged, p.is_protected) == (
        "",
        0,
        False,
        False,
        False,
    )
    assert len(messages) == 3
    assert all(any(repr(n) in m for m in messages) for n in ("sid", "session_id", "flags"))


def test_create_process_accepts_account_text_sid_and_missing_optional_params():
    snap = ProcessSnapshotter()
    snap.update(
        create_process(
            600, 500, sid="NT AUTHORITY\\SYSTEM", exe=None, start_time=None, cmdline=None
        )
    )
    p = snap.find(600)
    assert p is not None
    assert p.sid == "NT AUTHORITY\\SYSTEM"
    assert (p.exe, p.cmdline, p.args, p.username, p.domain) == ("", "", [], "", "")
    assert p.start_time.text == "0001-01-01T00:00:00Z"


def test_create_process_pid_reuse_replaces_but_earlier_children_keep_the_old_object():
    snap = ProcessSnapshotter()
    snap.update(create_process(100, 4, name="old.exe"))
    old = snap.find(100)
    snap.update(create_process(200, 100))
    snap.update(create_process(100, 4, name="new.exe"))
    new = snap.find(100)
    child = snap.find(200)
    assert old is not None and new is not None and child is not None
    assert new is not old and new.name == "new.exe"
    assert child.parent is old
    assert len(snap) == 2


# --------------------------------------------------------------------------- ProcessRundown


@WIDTHS
def test_rundown_stores_a_copy_of_the_embedded_state(width):
    snap = ProcessSnapshotter()
    event = rundown(500, 4, width=width, recorded="N/A", cwd="C:\\", envs=[("A", "1")])
    snap.update(event)
    # A copy, so later state changes never alter the event's own process body.
    assert snap.find(500) is not event.process
    assert snap.find(500).same_body(event.process)
    stored = snap.find(500)
    assert stored is not None and stored.cwd == "C:\\" and stored.env("A") == "1"


def test_rundown_links_known_parent_but_never_back_fills():
    snap = ProcessSnapshotter()
    snap.update(rundown(4, 0, name="System"))
    snap.update(rundown(600, 500))  # parent 500 arrives later
    snap.update(rundown(500, 4))
    system, parent, child = snap.find(4), snap.find(500), snap.find(600)
    assert system is not None and parent is not None and child is not None
    assert parent.parent is system
    assert child.parent is None


def test_rundown_of_self_parented_or_invalid_pid_is_ignored():
    snap = ProcessSnapshotter()
    snap.update(rundown(0, 0, name="Idle"))
    snap.update(rundown(0xFFFFFFFF, 4))
    assert len(snap) == 0


def test_rundown_without_embedded_state_or_ppid():
    messages: list[str] = []
    snap = ProcessSnapshotter(on_warning=messages.append)
    no_body = rundown(500, 4)
    no_body.process = None
    snap.update(no_body)
    assert len(snap) == 0 and messages == []
    snap.update(ev("ProcessRundown", hpid=500, process=embedded(500, 4), pid=500))
    assert len(snap) == 0 and "'ppid'" in messages[0]


def test_rundown_is_stored_under_the_parameter_pid():
    snap = ProcessSnapshotter()
    snap.update(ev("ProcessRundown", hpid=1, process=embedded(500, 4), pid=501, ppid=4))
    assert snap.find(501) is not None and snap.find(500) is None


# --------------------------------------------------------------------------- TerminateProcess


@WIDTHS
def test_terminate_process_removes_it_and_unlinks_its_children(width):
    snap = ProcessSnapshotter()
    snap.update(rundown(4, 0))
    snap.update(rundown(500, 4))
    snap.update(rundown(600, 500))
    snap.update(rundown(601, 500))
    snap.update(rundown(700, 4))
    snap.update(ev("TerminateProcess", width=width, hpid=500, pid=500))
    assert snap.find(500) is None
    c1, c2, other = snap.find(600), snap.find(601), snap.find(700)
    assert c1 is not None and c2 is not None and other is not None
    assert c1.parent is None and c2.parent is None
    assert c1.ppid == 500  # the recorded ppid stays
    assert other.parent is snap.find(4)


def test_terminate_unknown_process_still_unlinks_children_with_that_ppid():
    snap = ProcessSnapshotter()
    ghost = Process(pid=900, ppid=4, name="ghost")
    child = Process(pid=901, ppid=900, parent=ghost)
    snap.add(child)  # parent not registered, link given by the source
    snap.update(ev("TerminateProcess", pid=900))
    assert child.parent is None and len(snap) == 1


def test_terminate_process_without_pid_warns():
    messages: list[str] = []
    snap = ProcessSnapshotter(on_warning=messages.append)
    snap.update(rundown(500, 4))
    snap.update(ev("TerminateProcess", hpid=500))
    assert snap.find(500) is not None and len(messages) == 1


# --------------------------------------------------------------------------- attach (§3.3)


def replay(snap: ProcessSnapshotter, event):
    snap.update(event)
    snap.attach(event)
    return event.ps


def test_attach_create_process_keeps_the_embedded_creator_state():
    snap = ProcessSnapshotter()
    snap.update(rundown(500, 4))
    event = create_process(600, 500, creator=500)
    ps = replay(snap, event)
    assert ps is event.process
    assert ps is not snap.find(500)  # a detached copy: no parent, threads, modules
    assert ps.parent is None


def test_attach_create_process_without_embedded_state_uses_header_pid():
    snap = ProcessSnapshotter()
    snap.update(rundown(500, 4))
    event = create_process(600, 500, creator=500)
    event.process = None
    event.ps = None
    assert replay(snap, event) is snap.find(500)
    assert snap.find(600) is None  # the child is not registered


def test_attach_rundown_is_its_own_body_and_the_map_holds_a_copy():
    snap = ProcessSnapshotter()
    event = rundown(500, 4)
    assert replay(snap, event) is event.process
    assert snap.find(500) is not event.process and snap.find(500).same_body(event.process)


def test_attach_terminate_process_of_itself_finds_nothing():
    snap = ProcessSnapshotter()
    snap.update(rundown(500, 4))
    assert replay(snap, ev("TerminateProcess", hpid=500, pid=500)) is None
    snap.update(rundown(501, 4))
    snap.update(rundown(502, 4))
    assert replay(snap, ev("TerminateProcess", hpid=501, pid=502)) is snap.find(501)


def test_attach_other_events_get_state_of_header_pid_after_the_update():
    snap = ProcessSnapshotter()
    snap.update(rundown(500, 4))
    file_event = ev("CreateFile", hpid=500, file_path="C:\\x")
    assert replay(snap, file_event) is snap.find(500)
    assert replay(snap, ev("CreateFile", hpid=12345)) is None
    load = image(pid=500, file_path="C:\\Program Files\\App\\app.exe")
    ps = replay(snap, load)
    assert ps is snap.find(500) and ps.modules[-1].path.endswith("app.exe")


def test_attach_overwrites_a_stale_ps():
    snap = ProcessSnapshotter()
    event = ev("CreateFile", hpid=500)
    event.ps = Process(pid=1)
    assert replay(snap, event) is None


def test_attach_honours_an_embedded_state_on_an_already_decoded_event_of_any_type():
    snap = ProcessSnapshotter()
    own = Process(pid=42)
    event = ev("CreateFile", hpid=500, process=own)
    assert replay(snap, event) is own


# --------------------------------------------------------------------------- dispatch


def test_handler_is_cached_and_none_for_irrelevant_types():
    snap = ProcessSnapshotter()
    for width in (17, 18):
        assert snap.handler(type_id("CreateFile", width)) is None
        assert snap.handler(type_id("CreateHandle", width)) is None
        assert snap.handler(type_id("OpenProcess", width)) is None
        h = snap.handler(type_id("LoadImage", width))
        assert h is not None and snap.handler(type_id("LoadImage", width)) is h
    assert snap.handler(b"\x00" * 18) is None
    assert snap.handler(b"short") is None


def test_dispatch_follows_the_type_id_not_the_recorded_name():
    snap = ProcessSnapshotter()
    # 2020-2022 writers recorded rundowns as "N/A"; some test writers put "CreateFile" names on
    # other ids (kcap-format.md Q23)
    snap.update(rundown(500, 4, width=17, recorded="N/A"))
    snap.update(rundown(501, 4, width=17, recorded=""))
    assert snap.find(500) is not None and snap.find(501) is not None
    snap.update(ev("CreateFile", recorded="TerminateProcess", pid=500))
    assert snap.find(500) is not None


def test_handler_applies_the_same_transition_as_update():
    snap = ProcessSnapshotter()
    event = rundown(500, 4)
    h = snap.handler(event.type)
    assert h is not None
    h(event)
    assert snap.find(500) is not None and snap.find(500).same_body(event.process)


# --------------------------------------------------------------------------- direct access


def test_add_links_a_known_parent_without_back_filling():
    snap = ProcessSnapshotter()
    child = Process(pid=600, ppid=500)
    snap.add(child)
    parent = Process(pid=500, ppid=4)
    snap.add(parent)
    late = Process(pid=601, ppid=500)
    snap.add(late)
    assert child.parent is None and late.parent is parent
    assert [p.pid for p in snap.processes()] == [600, 500, 601]
    assert len(snap) == 3 and 600 in snap and 9 not in snap


def test_add_keeps_an_explicit_parent_and_never_links_to_itself():
    snap = ProcessSnapshotter()
    idle = Process(pid=0, ppid=0)
    snap.add(idle)
    snap.add(idle)
    assert idle.parent is None
    given = Process(pid=1)
    proc = Process(pid=2, ppid=0, parent=given)
    snap.add(proc)
    assert proc.parent is given


def test_default_warning_log_is_bounded():
    snap = ProcessSnapshotter()
    snap.update(rundown(500, 4))
    for i in range(500):
        snap.update(ev("TerminateThread", seq=i, tid=1))
    log = snap.warnings
    assert log is not None
    assert log.count == 500 and len(list(log)) == 100
    assert "seq 499" in list(log)[-1]


def test_custom_warning_sink_replaces_the_default_log():
    messages: list[str] = []
    snap = ProcessSnapshotter(on_warning=messages.append)
    assert snap.warnings is None
    snap.update(ev("LoadImage", file_path="x.dll"))
    assert len(messages) == 1


# --------------------------------------------------------------------------- older writers


def test_2022_parameter_names_are_understood():
    # 2020-2022 writers: command line in `comm`, thread start in `entrypoint`, image path in
    # `file_name`, no `exe`/`flags`, account text in a wbem-sid parameter (as in the live fixture)
    snap = ProcessSnapshotter()
    snap.update(rundown(6540, 4708, width=17, recorded="N/A"))
    event = ev(
        "CreateProcess",
        width=17,
        hpid=6540,
        process=embedded(6540, 4708),
        pid=6568,
        ppid=6540,
        name="wsl.exe",
        comm="wsl -u root -e ls",
        sid="fv-az140-576\\runneradmin",
        session_id=1,
    )
    snap.update(event)
    p = snap.find(6568)
    assert p is not None
    assert p.cmdline == "wsl -u root -e ls" and p.args == ["wsl", "-u", "root", "-e", "ls"]
    assert p.sid == "fv-az140-576\\runneradmin" and p.exe == ""
    snap.update(ev("CreateThread", width=17, pid=6568, tid=1, entrypoint=0x7FFA))
    assert p.threads[1].start_address == 0x7FFA
    snap.update(ev("CreateThread", pid=6568, tid=2, start_address=1, entrypoint=2))
    assert p.threads[2].start_address == 1  # the newest name wins
    snap.update(
        ev("LoadImage", width=17, pid=6568, base_address=0x1000, file_name="C:\\Windows\\wsl.exe")
    )
    assert p.exe == "C:\\Windows\\wsl.exe" and p.modules[0].path == "C:\\Windows\\wsl.exe"


# --------------------------------------------------------------------------- placeholder states

PLACEHOLDER = 0xFFFFFFFF


def placeholder_rundown(pid: int, ppid: int, **params: object) -> Event:
    """A 2020-2022 rundown of a process the writer could not open (stand-in body, name '.')."""
    return ev(
        "ProcessRundown",
        width=17,
        hpid=PLACEHOLDER,
        recorded="N/A",
        process=embedded(PLACEHOLDER, PLACEHOLDER, name="."),
        pid=pid,
        ppid=ppid,
        **params,
    )


def test_placeholder_rundown_builds_the_state_from_parameters():
    snap = ProcessSnapshotter()
    snap.update(rundown(644, 4, name="wininit.exe"))
    event = placeholder_rundown(
        796,
        644,
        name="lsass.exe",
        exe="C:\\Windows\\system32\\lsass.exe",
        comm="C:\\Windows\\system32\\lsass.exe",
        sid="NT AUTHORITY\\SYSTEM",
        session_id=0,
        start_time=START,
    )
    snap.update(event)
    p = snap.find(796)
    assert p is not None and p is not event.process
    assert (p.pid, p.ppid, p.name, p.exe) == (796, 644, "lsass.exe", p.cmdline)
    assert p.sid == "NT AUTHORITY\\SYSTEM" and p.uuid == derive_uuid(796, START)
    assert p.parent is snap.find(644)
    # rundowns miss flags; that is no reason to warn (upstream does not read them there)
    assert snap.warnings is not None and snap.warnings.count == 0


def test_placeholder_rundown_never_replaces_a_known_state():
    snap = ProcessSnapshotter()
    full = rundown(6540, 4708, name="provjobd.exe", cwd="C:\\", envs=[("A", "1")])
    snap.update(full)
    kept = snap.find(6540)
    snap.update(placeholder_rundown(6540, 4708, name="provjobd.exe"))
    assert snap.find(6540) is kept and kept.same_body(full.process)


def test_placeholder_rundowns_are_dropped_when_reproducing_upstream():
    snap = ProcessSnapshotter(rebuild_placeholders=False)
    snap.update(placeholder_rundown(796, 644, name="lsass.exe"))
    assert len(snap) == 0
    # a CreateProcess whose creator could not be opened registers no child upstream
    event = ev(
        "CreateProcess",
        hpid=9,
        process=embedded(PLACEHOLDER, PLACEHOLDER, name="."),
        pid=10,
        ppid=9,
        sid=b"",
        session_id=0,
        flags=0,
    )
    snap.update(event)
    assert len(snap) == 0
    rebuilt = ProcessSnapshotter()
    rebuilt.update(event)
    assert rebuilt.find(10) is not None


def test_placeholder_rundown_of_idle_like_pid_is_ignored():
    snap = ProcessSnapshotter()
    snap.update(placeholder_rundown(0, 0))
    snap.update(placeholder_rundown(PLACEHOLDER, 4))
    assert len(snap) == 0


def test_garbage_type_ids_do_not_grow_the_caches_without_bound():
    """A capture of random type ids (a damaged or hostile file) must not grow the rule caches:
    past their limit, unknown ids are looked up each time instead of remembered."""
    import tracemalloc

    from kcap.state.dispatch import MAX_CACHED

    snap = ProcessSnapshotter()

    def garbage(first: int, count: int) -> None:
        for i in range(first, first + count):
            event = ev("CreateFile", hpid=1)
            event.type = i.to_bytes(18, "big")
            snap.update(event)
            snap.attach(event)

    garbage(0, MAX_CACHED + 500)  # the caches are full now
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        garbage(MAX_CACHED + 500, 20_000)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 100_000, f"{grown} bytes kept for 20000 unknown type ids"
    # known ids are still cached once the limit is reached: the same handler each time
    assert snap.handler(type_id("LoadImage")) is snap.handler(type_id("LoadImage"))
