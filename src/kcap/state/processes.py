# cython: annotation_typing=False
"""The process snapshotter: process state by pid, rebuilt from the events of a capture.

Replay behaviour follows docs/state.md, "Processes": a pure state machine driven by events (no
operating-system queries, no timers). Its rules apply the transitions, `attach` sets
``event.ps``. The reader applies both for every event, in that order.

Deviations from upstream (also in docs/state.md), all on input upstream mishandles:

* **Missing parameters never crash.** Upstream panics when a CreateProcess with a process body
  lacks ``sid``, ``session_id`` or ``flags``, when a TerminateThread lacks ``pid``/``tid``, and
  when an UnloadImage lacks ``pid``. Here CreateProcess treats the missing value as empty/zero
  and the other two skip the update; every case is reported through ``on_warning``. Whatever
  upstream reports as a failed update (a missing ``pid``/``ppid``...) is reported the same way.
  A thread event without ``tid`` is skipped with a warning (upstream would store thread 0).
* **Integer parameters of any type.** Upstream requires PID-typed ``pid``/``ppid``; any
  integer-valued parameter is accepted here (every generation, 2020 included, stores them as
  PID type, so no real capture behaves differently).
* **SIDs rendered as text.** ``sid`` may be a raw SID, a wbem SID (token block + SID) or account
  text (2020 table); binary forms are rendered as ``S-1-...`` (`kcap.state.sid`).
* **uuid for states built from CreateProcess parameters.** Upstream computes one lazily from the
  *replaying* machine's boot id; here it is derived deterministically from the pid and the
  start time (`derive_uuid`), so the same capture gives the same uuids everywhere.
* **Placeholder process states.** Writers of 2020-2022 embed a stand-in state (pid and ppid
  0xFFFFFFFF, name ``.``) in a rundown when they could not read the process -- 121 of the 232
  rundowns in the live 2022 fixture, and the only rundowns of five of its processes (lsass,
  explorer, notepad...). Upstream's "pid = ppid" test ignores them, so those processes get no
  state at all. Here such a rundown for a pid not yet known builds the state from the event
  parameters, as a CreateProcess does (a known pid keeps its state, as upstream), and a
  CreateProcess whose creator state is a placeholder still registers the child;
  ``rebuild_placeholders=False`` restores upstream.
* **Thread owner pid.** Upstream leaves a thread's pid 0; here it is the owning process's pid.
* **Parameter names of older writers.** Where a parameter was renamed, the newest name is
  tried first, then the older one: image path ``file_path``/``file_name``, command line
  ``cmdline``/``comm``, thread start ``start_address``/``entrypoint`` (`kcap.state.values`).
  Upstream reads only the newest names, so it replays 2022 captures with empty command lines
  and module paths.
* **Attach and lazily decoded events.** Only CreateProcess and ProcessRundown events carry a
  process section in any capture; for other types an embedded state is honoured when the
  event is already decoded (events built in code), but a lazily decoded event is not decoded
  just to look for one, so that attaching stays cheap.
* Username and domain of embedded states are decoded at their right position by the format
  layer (upstream reads garbage there); the snapshotter uses them as they are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

from kcap.model import Event, Process, lookup, split_cmdline
from kcap.model.catalogue import PROCESSES, UPDATES
from kcap.model.records import Module, Thread

from .dispatch import MAX_CACHED, EventHandlers, Rule, RuleCache, apply_to
from .handles import HandleSnapshotter
from .process_parts import (
    IMAGE_PARAMS,
    PID_TID_PARAMS,
    TERMINATE_PROCESS_PARAMS,
    THREAD_PARAMS,
    UNLOAD_PARAMS,
    derive_uuid,
)
from .sid import sid_to_text
from .values import (
    CMDLINE,
    ParamMap,
    int_or_zero,
    int_value,
    param_int_or_zero,
    param_sid,
    param_text,
    param_time,
    params_of,
    text_value,
)
from .warnings import WarningLog, WarningSink

#: Process flag bits of the CreateProcess ``flags`` parameter.
FLAG_WOW64 = 0x2
FLAG_PROTECTED = 0x4
FLAG_PACKAGED = 0x8

#: ProcessRundown with this pid is ignored (docs/state.md).
_INVALID_PID = 0xFFFFFFFF
#: Image rundowns of kernel modules are recorded with pid 0; they belong to System.
_SYSTEM_PID = 4


class ModuleIndex:
    """Base addresses of one process's modules (see `ProcessSnapshotter._module_index`)."""

    __slots__ = ("bases", "length", "owner")

    def __init__(self, owner: Process) -> None:
        self.owner = owner
        self.bases = {m.base_address for m in owner.modules}
        self.length = len(owner.modules)


class ProcessSnapshotter:
    """State: pid -> `Process`, with parent links, threads and modules."""

    def __init__(
        self,
        handle_snapshotter: HandleSnapshotter | None = None,
        *,
        on_warning: WarningSink | None = None,
        rebuild_placeholders: bool = True,
    ) -> None:
        self._procs: dict[int, Process] = {}
        #: Build states from the parameters of process events whose embedded state is a
        #: placeholder (pid = ppid = 0xFFFFFFFF); False reproduces upstream, which drops them.
        self.rebuild_placeholders = rebuild_placeholders
        #: Kept for API parity with upstream; replay never routes handle events to processes.
        self.handle_snapshotter = handle_snapshotter
        #: The default warning sink when no ``on_warning`` was given (None otherwise).
        self.warnings = None
        if on_warning is None:
            self.warnings = WarningLog()
            on_warning = self.warnings
        self._warn = on_warning
        self._rules = RuleCache(self.rules())
        #: ``rule(type_id)``: the `Rule` for events of a raw type id (17 or 18 bytes), or None
        #: when they change nothing; cached per id.
        self.rule = self._rules.__getitem__
        #: ``handler(type_id)``: a function applying that rule to a built event, or None.
        self.handler = EventHandlers(self._rules).__getitem__
        self._carriers: dict[bytes, bool] = {}
        self._indexes: dict[int, ModuleIndex] = {}

    def rules(self) -> dict[str, Rule]:
        """The rule of each kind of event this snapshotter handles (docs/state.md)."""
        rules = {
            "CreateProcess": Rule(None, self._create_process),
            "ProcessRundown": Rule(None, self._process_rundown),
            "CreateThread": Rule(THREAD_PARAMS, self._thread),
            "ThreadRundown": Rule(THREAD_PARAMS, self._thread),
            "TerminateThread": Rule(PID_TID_PARAMS, self._terminate_thread),
            "LoadImage": Rule(IMAGE_PARAMS, self._load_image),
            "ImageRundown": Rule(IMAGE_PARAMS, self._image_rundown),
            "UnloadImage": Rule(UNLOAD_PARAMS, self._unload_image),
            "TerminateProcess": Rule(TERMINATE_PROCESS_PARAMS, self._terminate_process),
        }
        assert set(rules) == {n for n, s in UPDATES.items() if s == PROCESSES}
        return rules

    # ------------------------------------------------------------------ dispatch

    def update(self, event: Event) -> None:
        """Apply the state transition of ``event``; never raises on bad parameters."""
        rule = self._rules[event.type]
        if rule is not None:
            apply_to(rule, event)

    def attach(self, event: Event) -> None:
        """Set ``event.ps``: the event's own process state, else the state of its pid.

        Call after `update` of the same event (a TerminateProcess then finds no state for the
        terminated pid, as upstream).
        """
        own = event.process if self._carries_process(event.type) else event.own_process()
        event.ps = own if own is not None else self._procs.get(event.pid)

    def _carries_process(self, type_id: bytes) -> bool:
        try:
            return self._carriers[type_id]
        except KeyError:
            et = lookup(type_id)
            found = et is not None and et.carries_process
            if et is not None or len(self._carriers) < MAX_CACHED:
                self._carriers[type_id] = found
            return found

    # ------------------------------------------------------------------ warnings

    def _skip(self, what: str, seq: int, pid: int, problem: str) -> None:
        self._warn(f"{what} (seq {seq}, pid {pid}): {problem}; state unchanged")

    def _int_or_warn(self, what: str, seq: int, pid: int, value: object, name: str) -> int | None:
        """``value`` (of parameter ``name``) as an integer, or None with a warning."""
        number = value if type(value) is int else int_value(value)
        if number is None:
            self._skip(what, seq, pid, f"parameter {name!r} missing or not an integer")
        return number

    def _pid(self, what: str, event: Event, params: ParamMap, name: str = "pid") -> int | None:
        """The integer parameter ``name``, or None with a warning when missing."""
        p = params.get(name)
        value = None if p is None else p.value
        return self._int_or_warn(what, event.seq, event.pid, value, name)

    # ------------------------------------------------------------------ processes

    def _create_process(self, event: Event) -> None:
        embedded = event.process
        if embedded is None:
            return
        params = params_of(event)
        pid = self._pid("CreateProcess", event, params)
        ppid = None if pid is None else self._pid("CreateProcess", event, params, "ppid")
        if pid is None or ppid is None:
            return
        if embedded.pid == embedded.ppid and not self._is_placeholder(embedded):
            return
        for name in ("sid", "session_id", "flags"):
            if name not in params:
                # Upstream panics here; treat the value as empty/zero.
                self._warn(
                    f"CreateProcess (seq {event.seq}, pid {event.pid}): parameter {name!r} "
                    "missing; treated as empty"
                )
        self._procs[pid] = self._from_params(params, pid, ppid)

    def _from_params(self, params: ParamMap, pid: int, ppid: int) -> Process:
        """A new state described by the parameters of a process event (docs/state.md,
        "CreateProcess")."""
        flags = param_int_or_zero(params, "flags")
        cmdline = param_text(params, *CMDLINE)
        start_time = param_time(params, "start_time")
        sid, wbem = param_sid(params, "sid")
        return Process(
            pid=pid,
            ppid=ppid,
            name=param_text(params, "name"),
            cmdline=cmdline,
            exe=param_text(params, "exe"),
            sid=sid_to_text(sid, wbem=wbem),
            args=split_cmdline(cmdline),
            session_id=param_int_or_zero(params, "session_id"),
            start_time=start_time,
            uuid=derive_uuid(pid, start_time),
            username=param_text(params, "username"),
            domain=param_text(params, "domain"),
            is_wow64=bool(flags & FLAG_WOW64),
            is_protected=bool(flags & FLAG_PROTECTED),
            is_packaged=bool(flags & FLAG_PACKAGED),
            parent=self._procs.get(ppid),
        )

    def _is_placeholder(self, embedded: Process) -> bool:
        """True for the stand-in state old writers embedded for processes they could not open."""
        return (
            self.rebuild_placeholders
            and embedded.pid == _INVALID_PID
            and embedded.ppid == _INVALID_PID
        )

    def _process_rundown(self, event: Event) -> None:
        embedded = event.process
        if embedded is None:
            return
        params = params_of(event)
        pid = self._pid("ProcessRundown", event, params)
        ppid = None if pid is None else self._pid("ProcessRundown", event, params, "ppid")
        if pid is None or ppid is None or pid == _INVALID_PID:
            return
        if self._is_placeholder(embedded):
            # Only fill a gap: a known state (often a full one from an earlier rundown pass)
            # stays, exactly as upstream keeps it.
            if pid != ppid and pid not in self._procs:
                self._procs[pid] = self._from_params(params, pid, ppid)
            return
        if embedded.pid == embedded.ppid:
            return
        # Upstream stores the embedded state object itself. Here the map gets a copy with its
        # own threads and modules, so later events (image loads changing ``exe``, new threads)
        # never alter what this event carries: an event held before it is written, sliced or
        # merged still holds exactly the bytes its file stored.
        parent = self._procs.get(ppid)
        embedded.parent = parent
        self._procs[pid] = dataclasses.replace(embedded, threads={}, modules=[], parent=parent)

    def _terminate_process(self, seq: int, pid: int, values: Sequence[object]) -> None:
        gone = self._int_or_warn("TerminateProcess", seq, pid, values[0], "pid")
        if gone is not None:
            self.remove(gone)

    # ------------------------------------------------------------------ threads

    def _thread(self, seq: int, pid: int, v: Sequence[object]) -> None:
        owner = self._int_or_warn("thread event", seq, pid, v[0], "pid")
        tid = None if owner is None else self._int_or_warn("thread event", seq, pid, v[1], "tid")
        if owner is None or tid is None:
            return
        proc = self._procs.get(owner)
        if proc is None:
            return
        thread = Thread.__new__(Thread)
        thread.tid = tid
        thread.pid = owner
        thread.io_prio = int_or_zero(v[2])
        thread.base_prio = int_or_zero(v[3])
        thread.page_prio = int_or_zero(v[4])
        thread.ustack_base = int_or_zero(v[5])
        thread.ustack_limit = int_or_zero(v[6])
        thread.kstack_base = int_or_zero(v[7])
        thread.kstack_limit = int_or_zero(v[8])
        thread.start_address = int_or_zero(v[9] if v[9] is not None else v[10])
        proc.threads[tid] = thread

    def _terminate_thread(self, seq: int, pid: int, v: Sequence[object]) -> None:
        owner = self._int_or_warn("TerminateThread", seq, pid, v[0], "pid")
        tid = None if owner is None else self._int_or_warn("TerminateThread", seq, pid, v[1], "tid")
        if owner is None or tid is None:
            return
        proc = self._procs.get(owner)
        if proc is not None:
            proc.threads.pop(tid, None)

    # ------------------------------------------------------------------ modules

    def _load_image(self, seq: int, pid: int, v: Sequence[object]) -> None:
        owner = self._int_or_warn("LoadImage", seq, pid, v[0], "pid")
        if owner is not None:
            self._load_module(v, owner)

    def _image_rundown(self, seq: int, pid: int, v: Sequence[object]) -> None:
        owner = self._int_or_warn("ImageRundown", seq, pid, v[0], "pid")
        if owner is not None:
            self._load_module(v, owner or _SYSTEM_PID)

    def _load_module(self, v: Sequence[object], pid: int) -> None:
        """Add the module an image event describes (``v``: the values of `IMAGE_PARAMS`)."""
        proc = self._procs.get(pid)
        if proc is None:
            return
        raw_path = v[1] if v[1] is not None else v[2]
        path = raw_path if type(raw_path) is str else text_value(raw_path)
        base = int_or_zero(v[3])
        # The exe of a state built from parameters can be empty or a short form; the image of
        # the main module is the better value. Applied even when the module is a duplicate.
        exe = proc.exe
        if len(path) > len(exe) and path[-4:].lower() == ".exe":
            proc.exe = path
        index = self._module_index(pid, proc)
        if base in index.bases:
            return
        index.bases.add(base)
        index.length += 1
        module = Module.__new__(Module)
        module.path = path
        module.base_address = base
        module.size = int_or_zero(v[4])
        module.checksum = int_or_zero(v[5])
        module.default_base_address = int_or_zero(v[6])
        module.signature_level = int_or_zero(v[7])
        module.signature_type = int_or_zero(v[8])
        proc.modules.append(module)

    def _unload_image(self, seq: int, pid: int, v: Sequence[object]) -> None:
        owner = self._int_or_warn("UnloadImage", seq, pid, v[0], "pid")
        if owner is None:
            return
        proc = self._procs.get(owner)
        if proc is None:
            return
        base = int_or_zero(v[1])
        index = self._module_index(owner, proc)
        if base not in index.bases:
            return
        mods = proc.modules
        for i, m in enumerate(mods):
            if m.base_address == base:
                del mods[i]
                index.length -= 1
                break
        for m in mods:
            if m.base_address == base:
                return  # another module at the same base stays loaded
        index.bases.discard(base)

    def _module_index(self, pid: int, proc: Process) -> ModuleIndex:
        """The set of ``proc``'s module base addresses, kept beside its module list.

        Image rundowns load dozens of modules per process, each checked against the bases
        already loaded; a set makes that O(1) instead of a scan of the list. The set is rebuilt
        when it no longer describes the list (another state object under the pid, or a list
        whose length changed behind the snapshotter's back).
        """
        index = self._indexes.get(pid)
        if index is None or index.owner is not proc or index.length != len(proc.modules):
            index = ModuleIndex(proc)
            self._indexes[pid] = index
        return index

    # ------------------------------------------------------------------ direct access

    def add(self, process: Process) -> None:
        """Register ``process`` (a live source seeding state), replacing any with its pid.

        Its parent link is set to the known process of its ppid unless already set.
        """
        if process.parent is None and process.ppid != process.pid:
            process.parent = self._procs.get(process.ppid)
        self._procs[process.pid] = process

    def remove(self, pid: int) -> Process | None:
        """The TerminateProcess transition: forget ``pid`` and unlink its children.

        Every remaining process whose recorded ppid is ``pid`` loses its parent link, whether
        or not ``pid`` was known. Returns the removed state.
        """
        gone = self._procs.pop(pid, None)
        self._indexes.pop(pid, None)
        for proc in self._procs.values():
            if proc.ppid == pid:
                proc.parent = None
        return gone

    @property
    def by_pid(self) -> dict[int, Process]:
        """The live table, pid -> `Process` (updated in place, never replaced)."""
        return self._procs

    def find(self, pid: int) -> Process | None:
        """The state of ``pid``, or None."""
        return self._procs.get(pid)

    def find_module(self, address: int) -> Module | None:
        """The first module of any process whose base address is exactly ``address``."""
        for proc in self._procs.values():
            for m in proc.modules:
                if m.base_address == address:
                    return m
        return None

    def processes(self) -> list[Process]:
        """Every known process, in registration order."""
        return list(self._procs.values())

    def __len__(self) -> int:
        return len(self._procs)

    def __contains__(self, pid: object) -> bool:
        return pid in self._procs

    def __iter__(self) -> Iterator[Process]:
        return iter(self._procs.values())

    def __repr__(self) -> str:
        return f"ProcessSnapshotter({len(self._procs)} processes)"
