"""The process snapshotter: process state by pid, rebuilt from the events of a capture.

Replay behaviour follows snapshotters.md §3: a pure state machine driven by `Event`s (no
operating-system queries, no timers). `update` applies the transitions of §3.4, `attach` sets
``event.ps`` as §3.3 says. The reader calls both for every event, in that order.

Deviations from upstream (also in docs/state.md), all on input upstream mishandles:

* **Missing parameters never crash.** Upstream panics when a CreateProcess with a process body
  lacks ``sid``, ``session_id`` or ``flags``, when a TerminateThread lacks ``pid``/``tid``, and
  when an UnloadImage lacks ``pid``. Here CreateProcess treats the missing value as empty/zero
  and the other two skip the update; every case is reported through ``on_warning``. Whatever
  upstream reports as a failed update (a missing ``pid``/``ppid``...) is reported the same way.
* **Integer parameters of any type.** Upstream requires PID-typed ``pid``/``ppid``; any
  integer-valued parameter is accepted here (every generation, 2020 included, stores them as
  PID type, so no real capture behaves differently).
* **SIDs rendered as text.** ``sid`` may be a raw SID, a wbem SID (token block + SID) or account
  text (2020 table); binary forms are rendered as ``S-1-...`` (`kcap.state.sid`).
* **uuid for states built from CreateProcess parameters.** Upstream computes one lazily from the
  *replaying* machine's boot id; here it is derived deterministically from the pid and the
  start time (`derive_uuid`), so the same capture gives the same uuids everywhere.
* **Thread owner pid.** Upstream leaves a thread's pid 0; here it is the owning process's pid.
* **Image path parameter names.** ``file_path`` (December 2024 on) or, for older captures,
  ``file_name``.
* **Attach and lazily decoded events.** Only CreateProcess and ProcessRundown events carry a
  process section in any capture (§3.2); for other types an embedded state is honoured when the
  event is already decoded (events built in code), but a lazily decoded event is not decoded
  just to look for one, so that attaching stays cheap.
* Username and domain of embedded states are decoded at their right position by the format
  layer (upstream reads garbage there, §3.2); the snapshotter uses them as they are.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator

from kcap.model import Event, Module, Process, Thread, Timestamp, lookup, split_cmdline
from kcap.state.dispatch import Handler, HandlerCache
from kcap.state.handles import HandleSnapshotter
from kcap.state.sid import sid_to_text
from kcap.state.values import (
    is_wbem_sid,
    param_int,
    param_int_or_zero,
    param_text,
    param_time,
)
from kcap.state.warnings import WarningLog, WarningSink

#: Process flag bits of the CreateProcess ``flags`` parameter.
FLAG_WOW64 = 0x2
FLAG_PROTECTED = 0x4
FLAG_PACKAGED = 0x8

#: ProcessRundown with this pid is ignored (§3.4).
_INVALID_PID = 0xFFFFFFFF
#: Image rundowns of kernel modules are recorded with pid 0; they belong to System.
_SYSTEM_PID = 4

#: Types whose events carry a process section in every writer generation.
_PROCESS_CARRIERS = frozenset({"CreateProcess", "ProcessRundown"})

#: Image path parameter names, newest first.
_IMAGE_PATH_NAMES = ("file_path", "file_name")


def derive_uuid(pid: int, start_time: Timestamp) -> int:
    """A deterministic, non-zero u64 process uuid from the pid and the start time.

    Used for states built from CreateProcess parameters, which have no recorded uuid. The value
    depends only on the capture, never on the machine that replays it; two processes get the
    same uuid only if they share pid and start instant (to the nanosecond).
    """
    key = f"kcap-process-uuid:{pid}:{start_time.ns}".encode()
    value = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")
    return value or 1


class ProcessSnapshotter:
    """State: pid -> `Process`, with parent links, threads and modules."""

    def __init__(
        self,
        handle_snapshotter: HandleSnapshotter | None = None,
        *,
        on_warning: WarningSink | None = None,
    ) -> None:
        self._procs: dict[int, Process] = {}
        #: Kept for API parity with upstream; replay never routes handle events to processes.
        self.handle_snapshotter = handle_snapshotter
        #: The default warning sink when no ``on_warning`` was given (None otherwise).
        self.warnings: WarningLog | None = None
        if on_warning is None:
            self.warnings = WarningLog()
            on_warning = self.warnings
        self._warn: Callable[[str], None] = on_warning
        self._handlers = HandlerCache(
            {
                "CreateProcess": self._on_create_process,
                "ProcessRundown": self._on_process_rundown,
                "CreateThread": self._on_thread,
                "ThreadRundown": self._on_thread,
                "TerminateThread": self._on_terminate_thread,
                "LoadImage": self._on_load_image,
                "ImageRundown": self._on_image_rundown,
                "UnloadImage": self._on_unload_image,
                "TerminateProcess": self._on_terminate_process,
            }
        )
        self._carriers: dict[bytes, bool] = {}

    # ------------------------------------------------------------------ dispatch

    def handler(self, type_id: bytes) -> Handler | None:
        """The update function for events of ``type_id``, or None when they change nothing.

        Cached per raw type id, so the reader can skip irrelevant events with one lookup.
        """
        return self._handlers.get(type_id)

    def update(self, event: Event) -> None:
        """Apply the state transition of ``event`` (§3.4); never raises on bad parameters."""
        h = self._handlers.get(event.type)
        if h is not None:
            h(event)

    def attach(self, event: Event) -> None:
        """Set ``event.ps`` (§3.3): the event's own process state, else the state of its pid.

        Call after `update` of the same event (a TerminateProcess then finds no state for the
        terminated pid, as upstream).
        """
        if event._tail is None or self._carries_process(event.type):
            own = event.process
            if own is not None:
                event.ps = own
                return
        event.ps = self._procs.get(event.pid)

    def _carries_process(self, type_id: bytes) -> bool:
        try:
            return self._carriers[type_id]
        except KeyError:
            et = lookup(type_id)
            found = et is not None and et.name in _PROCESS_CARRIERS
            if len(type_id) in (17, 18):
                self._carriers[bytes(type_id)] = found
            return found

    # ------------------------------------------------------------------ warnings

    def _skip(self, what: str, event: Event, problem: str) -> None:
        self._warn(f"{what} (seq {event.seq}, pid {event.pid}): {problem}; state unchanged")

    def _required(self, what: str, event: Event, *names: str) -> list[int] | None:
        """The integer values of ``names``, or None (with a warning) if one is missing."""
        values = []
        for name in names:
            value = param_int(event, name)
            if value is None:
                self._skip(what, event, f"parameter {name!r} missing or not an integer")
                return None
            values.append(value)
        return values

    # ------------------------------------------------------------------ processes

    def _on_create_process(self, event: Event) -> None:
        embedded = event.process
        if embedded is None:
            return
        ids = self._required("CreateProcess", event, "pid", "ppid")
        if ids is None:
            return
        pid, ppid = ids
        if embedded.pid == embedded.ppid:
            return
        params = event.params
        for name in ("sid", "session_id", "flags"):
            if name not in params:
                # Upstream panics here; treat the value as empty/zero.
                self._warn(
                    f"CreateProcess (seq {event.seq}, pid {event.pid}): parameter {name!r} "
                    "missing; treated as empty"
                )
        flags = param_int_or_zero(event, "flags")
        cmdline = param_text(event, "cmdline")
        start_time = param_time(event, "start_time")
        proc = Process(
            pid=pid,
            ppid=ppid,
            name=param_text(event, "name"),
            cmdline=cmdline,
            exe=param_text(event, "exe"),
            sid=sid_to_text(event.param("sid"), wbem=is_wbem_sid(event, "sid")),
            args=split_cmdline(cmdline),
            session_id=param_int_or_zero(event, "session_id"),
            start_time=start_time,
            uuid=derive_uuid(pid, start_time),
            username=param_text(event, "username"),
            domain=param_text(event, "domain"),
            is_wow64=bool(flags & FLAG_WOW64),
            is_protected=bool(flags & FLAG_PROTECTED),
            is_packaged=bool(flags & FLAG_PACKAGED),
            parent=self._procs.get(ppid),
        )
        self._procs[pid] = proc

    def _on_process_rundown(self, event: Event) -> None:
        embedded = event.process
        if embedded is None:
            return
        ids = self._required("ProcessRundown", event, "pid", "ppid")
        if ids is None:
            return
        pid, ppid = ids
        if embedded.pid == embedded.ppid or pid == _INVALID_PID:
            return
        # The embedded state itself becomes the process state (same object as event.ps).
        embedded.parent = self._procs.get(ppid)
        self._procs[pid] = embedded

    def _on_terminate_process(self, event: Event) -> None:
        ids = self._required("TerminateProcess", event, "pid")
        if ids is None:
            return
        self.remove(ids[0])

    # ------------------------------------------------------------------ threads

    def _on_thread(self, event: Event) -> None:
        ids = self._required("thread event", event, "pid", "tid")
        if ids is None:
            return
        pid, tid = ids
        proc = self._procs.get(pid)
        if proc is None:
            return
        proc.threads[tid] = Thread(
            tid=tid,
            pid=pid,
            io_prio=param_int_or_zero(event, "io_prio"),
            base_prio=param_int_or_zero(event, "base_prio"),
            page_prio=param_int_or_zero(event, "page_prio"),
            ustack_base=param_int_or_zero(event, "ustack"),
            ustack_limit=param_int_or_zero(event, "ustack_limit"),
            kstack_base=param_int_or_zero(event, "kstack"),
            kstack_limit=param_int_or_zero(event, "kstack_limit"),
            start_address=param_int_or_zero(event, "start_address"),
        )

    def _on_terminate_thread(self, event: Event) -> None:
        ids = self._required("TerminateThread", event, "pid", "tid")
        if ids is None:
            return
        pid, tid = ids
        proc = self._procs.get(pid)
        if proc is not None:
            proc.threads.pop(tid, None)

    # ------------------------------------------------------------------ modules

    def _on_load_image(self, event: Event) -> None:
        ids = self._required("LoadImage", event, "pid")
        if ids is not None:
            self._load_module(event, ids[0])

    def _on_image_rundown(self, event: Event) -> None:
        ids = self._required("ImageRundown", event, "pid")
        if ids is not None:
            self._load_module(event, ids[0] or _SYSTEM_PID)

    def _load_module(self, event: Event, pid: int) -> None:
        proc = self._procs.get(pid)
        if proc is None:
            return
        path = param_text(event, *_IMAGE_PATH_NAMES)
        base = param_int_or_zero(event, "base_address")
        # The exe of a state built from parameters can be empty or a short form; the image of
        # the main module is the better value. Applied even when the module is a duplicate.
        if len(path) > len(proc.exe) and path[-4:].lower() == ".exe":
            proc.exe = path
        for m in proc.modules:
            if m.base_address == base:
                return
        proc.modules.append(
            Module(
                path=path,
                base_address=base,
                size=param_int_or_zero(event, "image_size"),
                checksum=param_int_or_zero(event, "checksum"),
                default_base_address=param_int_or_zero(event, "default_address"),
                signature_level=param_int_or_zero(event, "signature_level"),
                signature_type=param_int_or_zero(event, "signature_type"),
            )
        )

    def _on_unload_image(self, event: Event) -> None:
        ids = self._required("UnloadImage", event, "pid")
        if ids is None:
            return
        proc = self._procs.get(ids[0])
        if proc is None:
            return
        base = param_int_or_zero(event, "base_address")
        for i, m in enumerate(proc.modules):
            if m.base_address == base:
                del proc.modules[i]
                return

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
        for proc in self._procs.values():
            if proc.ppid == pid:
                proc.parent = None
        return gone

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
