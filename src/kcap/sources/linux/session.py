"""A live capture session: kernel probes + /proc snapshot + mapper + writer, cleaned up always.

Order matters: the probes are attached *before* the /proc walk, so nothing that happens during
the walk is missed, and the records that pile up meanwhile are applied on top of the snapshot.
Every kernel object is a descriptor owned by this process and closed in `LiveSource.close`,
which runs on every exit path (end of duration, SIGINT, SIGTERM, errors); tracepoint ids are
looked up in a mount namespace private to a short-lived thread (`tracefs.lookup`), so no mount
is ever visible outside it.
"""

from __future__ import annotations

import gc
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from kcap.errors import CaptureError, KcapError, PermissionDenied, Unsupported
from kcap.model import Event, Handle, Param
from kcap.sources.linux import sysapi
from kcap.sources.linux.bpf_loader import KernelProbes
from kcap.sources.linux.loss import LossAccount
from kcap.sources.linux.mapper import Mapper
from kcap.sources.linux.probes import EVENT_KINDS, KIND_GROUPS, probe_table
from kcap.sources.linux.procfs import ProcInfo, fileless_meta, snapshot
from kcap.sources.linux.taxonomy import KINDS, PID, STR, Clock, make_event


@dataclass
class CaptureConfig:
    """What to capture and how."""

    kinds: frozenset[str] = frozenset(EVENT_KINDS)
    ring_size: int = 32 << 20  # bytes; a power of two
    poll_interval: float = 0.005  # seconds between ring-buffer polls when it is empty
    keep: Callable[[Event], bool] | None = None  # capture-time filter (state events bypass it)
    io_aggregate: float = 0.0  # seconds: sum reads/writes per (process, fd) over this window
    observe: Callable[[Event], None] | None = None  # sees every event written (rule engine)

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(EVENT_KINDS)
        if unknown:
            raise CaptureError(
                f"unknown event kind(s) {', '.join(sorted(unknown))}; "
                f"choose from {', '.join(EVENT_KINDS)}"
            )
        if self.ring_size & (self.ring_size - 1) or self.ring_size < 4096:
            raise CaptureError("the ring buffer size must be a power of two of at least 4096")


def check_privileges() -> None:
    """Raise the error a user can act on when this machine or user cannot capture."""
    try:
        sysapi.check_platform()
    except OSError as exc:
        raise Unsupported(str(exc.strerror)) from None
    if os.geteuid() != 0:
        raise PermissionDenied(
            "kcap capture needs root (it loads eBPF programs and reads every process's "
            "/proc entries): run it with sudo"
        )


class LiveSource:
    """Kernel events of the whole machine as `Event`s, with the initial process state."""

    def __init__(self, config: CaptureConfig | None = None, *, host: str | None = None) -> None:
        self.config = config or CaptureConfig()
        self.host = host if host is not None else socket.gethostname()
        self.self_pid = os.getpid()
        self.clock = Clock()
        self.probes: KernelProbes | None = None
        self.procs: dict[int, ProcInfo] = {}
        self.mapper: Mapper | None = None
        self._sink: Callable[[Event], None] = lambda ev: None
        self.loss: LossAccount | None = None
        self._skipped: dict[int, int] = {}  # records skipped at the stop, by kind
        self._kernel_lost: dict[int, int] = {}
        self._loss_pending: dict[str, int] = {}  # lost since the last EventsLost, by event
        self._loss_reported_ns = 0
        #: highest ring-buffer fill seen (0.0 to 1.0)
        self.peak_fill = 0.0

    # ------------------------------------------------------------------ life cycle

    def open(self) -> LiveSource:
        check_privileges()
        groups: set[str] = set()
        for kind in self.config.kinds:
            groups |= KIND_GROUPS[kind]
        groups.add("process")
        wanted = [p for p in probe_table() if p.group in groups]
        self.probes = KernelProbes(wanted, ring_size=self.config.ring_size, self_pid=self.self_pid)
        self.probes.open()
        try:
            self.procs = snapshot()
            self.procs.pop(self.self_pid, None)
            self.mapper = Mapper(
                procs=self.procs,
                clock=self.clock,
                host=self.host,
                kinds=self.config.kinds,
                sink=self._forward,
                keep=self.config.keep,
            )
            self.mapper.io_window_ns = int(self.config.io_aggregate * 1e9)
            self.loss = LossAccount(self.mapper.yields())
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        if self.probes is not None:
            self.probes.close()
            self.probes = None

    def __enter__(self) -> LiveSource:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ state at start

    def rundown(self) -> list[Event]:
        """One ProcessRundown per process of the snapshot, parents first where possible."""
        now = self.clock.now()
        out = []
        for info in sorted(self.procs.values(), key=lambda i: i.process.pid):
            p = info.process
            out.append(
                make_event(
                    KINDS["ProcessRundown"],
                    p.pid,
                    p.pid,
                    0,
                    now,
                    self.host,
                    [
                        Param("pid", PID, p.pid),
                        Param("ppid", PID, p.ppid),
                        Param("name", STR, p.name),
                        Param("exe", STR, p.exe),
                        Param("cmdline", STR, p.cmdline),
                    ],
                    process=p,
                    meta=fileless_meta(p.exe),
                )
            )
        return out

    def handles(self) -> list[Handle]:
        """Every open descriptor of the snapshot (the capture's handle section)."""
        return [h for info in self.procs.values() for h in info.process.handles]

    # ------------------------------------------------------------------ streaming

    def _forward(self, ev: Event) -> None:
        self._sink(ev)

    def set_sink(self, sink: Callable[[Event], None]) -> None:
        self._sink = sink

    def poll(self, limit: int = 4 << 20) -> int:
        """Turn the records waiting in the ring buffer into events; returns records read."""
        assert self.probes is not None and self.probes.ring is not None and self.mapper is not None
        ring = self.probes.ring
        fill = ring.fill()
        if fill > self.peak_fill:
            self.peak_fill = fill
        n = ring.drain(self.mapper.handle, limit)
        if self.mapper.io_window_ns:
            self.mapper.flush_io(time.monotonic_ns())
        self._check_lost()
        return n

    def buffer_fill(self) -> float:
        """How full the kernel ring buffer is now, 0.0 to 1.0."""
        ring = self.probes.ring if self.probes is not None else None
        return ring.fill() if ring is not None else 0.0

    def _check_lost(self, final: bool = False) -> None:
        """Count what was lost, in events, and record it at most once a second (and at the
        end) as one EventsLost per kind of event lost."""
        assert self.probes is not None and self.mapper is not None and self.loss is not None
        kernel = self.probes.lost()
        if kernel != self._kernel_lost or final:
            self._kernel_lost = kernel
            delta = self.loss.update(kernel, self.mapper.unpaired, self._skipped)
            for name, n in delta.items():
                self._loss_pending[name] = self._loss_pending.get(name, 0) + n
        if not self._loss_pending:
            return
        now = time.monotonic_ns()
        if final or now - self._loss_reported_ns >= 1_000_000_000:
            self._loss_reported_ns = now
            for name, n in sorted(self._loss_pending.items()):
                self.mapper.lost(name, n, self.loss.events[name])
            self._loss_pending.clear()

    @property
    def lost(self) -> int:
        """Events lost so far (kernel buffers full, or skipped at the stop)."""
        return self.loss.total() if self.loss is not None else 0

    @property
    def lost_events(self) -> dict[str, int]:
        """Events lost so far, by event name."""
        return dict(self.loss.events) if self.loss is not None else {}

    @property
    def lost_records(self) -> int:
        """Kernel records the programs could not reserve buffer space for."""
        return self.loss.records if self.loss is not None else 0

    def stop(self, within: float = 1.0) -> None:
        """Detach the programs and turn what is still buffered into events, for at most
        ``within`` seconds; what is left then is skipped and counted as lost, so the file ends
        complete up to the last event kept."""
        assert self.probes is not None and self.mapper is not None
        # a fifth of the time is left for skipping and counting what could not be mapped
        deadline = time.monotonic() + 0.8 * within
        self.mapper.cutoff_ns = time.monotonic_ns()
        self.probes.detach()
        while time.monotonic() < deadline and self.poll(256 << 10):
            pass
        assert self.probes.ring is not None
        for kind, n in self.probes.ring.discard().items():
            self._skipped[kind] = self._skipped.get(kind, 0) + n
        self.mapper.flush_io()
        self._check_lost(final=True)

    @property
    def skipped(self) -> int:
        """Records skipped unread at the stop (no time left to map them)."""
        return sum(self._skipped.values())


# --------------------------------------------------------------------------- signals


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """While inside, SIGINT and SIGTERM set ``stop`` instead of killing the process."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        # The handler runs on the main thread, which may be inside stop.wait() holding the
        # Event's lock: calling stop.set() here would deadlock (seen: a SIGTERM'd capture hung
        # with its BPF programs loaded). Another thread can take the lock once wait() yields it.
        threading.Thread(target=stop.set, name="kcap-signal", daemon=True).start()

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


@contextmanager
def relaxed_gc() -> Iterator[None]:
    """Collect cyclic garbage rarely while capturing.

    The capture allocates hundreds of thousands of short-lived, acyclic objects per second
    and keeps large caches; with the default thresholds the collector kept re-scanning those
    caches and took over a third of the capture's CPU time. Everything alive at start is
    frozen out of collection, and the young-generation threshold is raised.
    """
    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


# --------------------------------------------------------------------------- to a file


@dataclass
class Progress:
    elapsed: float
    rate: float  # events/s over the last interval
    written: int
    lost: int  # events lost so far
    lost_rate: float = 0.0  # events lost per second over the last interval
    buffer_fill: float = 0.0  # kernel ring buffer, 0.0 to 1.0, now
    cpu: float = 0.0  # the capture's CPU share over the last interval (1.0 = one core)


@dataclass
class CaptureResult:
    path: str
    events: int = 0  # events handed to the writer (state events included)
    records: int = 0  # kernel records read
    lost: int = 0  # events lost (kernel buffers full, or skipped at the stop)
    lost_events: dict[str, int] = field(default_factory=dict)  # the same by event name
    lost_records: int = 0  # kernel records the programs found no buffer space for
    skipped_records: int = 0  # records left unread when the stop's time ran out
    peak_fill: float = 0.0  # highest ring-buffer fill seen, 0.0 to 1.0
    duration: float = 0.0
    drain_seconds: float = 0.0  # after the stop: turning the records still buffered into events
    cpu_seconds: float = 0.0
    filtered: int = 0
    stats: Any = None  # kcap.writer.WriterStats
    error: str | None = None
    stopped_by: str = "duration"
    mapping_errors: int = 0  # kernel records that could not be turned into events
    first_mapping_error: str | None = None


def capture_to_file(
    path: str,
    config: CaptureConfig | None = None,
    *,
    duration: float | None = None,
    stop: threading.Event | None = None,
    progress: Callable[[Progress], None] | None = None,
    progress_interval: float = 0.5,
    ready: Callable[[], None] | None = None,
) -> CaptureResult:
    """Capture into ``path`` until ``duration`` elapses, ``stop`` is set, SIGINT or SIGTERM.

    Raises `CaptureError` (with what is missing and what to do) when the capture cannot start.
    A failure while writing (disk full) ends the capture: what was written still replays, and
    the result's ``error`` says what happened.
    """
    from kcap.writer import Config, new_writer

    stop = stop or threading.Event()
    config = config or CaptureConfig()
    result = CaptureResult(path=path)
    fatal: list[KcapError] = []

    def on_error(exc: KcapError) -> None:
        if isinstance(exc, CaptureError) and not fatal:
            fatal.append(exc)
            stop.set()

    with stop_on_signals(stop), relaxed_gc():
        source = LiveSource(config)
        source.open()
        writer = None
        try:
            writer = new_writer(
                path,
                handles=source.handles(),
                config=Config(flush_period=1.0),
                on_error=on_error,
            )
            result.path = str(writer.path)
            seq = 0
            write = writer.write
            observe = config.observe

            def sink(ev: Event) -> None:
                nonlocal seq
                seq += 1
                ev.seq = seq
                write(ev)
                if observe is not None:
                    observe(ev)

            for ev in source.rundown():
                sink(ev)
            source.set_sink(sink)
            if ready is not None:
                ready()
            cpu0 = time.process_time()
            t0 = time.monotonic()
            deadline = t0 + duration if duration is not None else None
            last_t, last_seq, last_lost, last_cpu = t0, seq, 0, cpu0
            while not stop.is_set():
                n = source.poll()
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    break
                if progress is not None and now - last_t >= progress_interval:
                    span = now - last_t
                    cpu, lost = time.process_time(), source.lost
                    progress(
                        Progress(
                            now - t0,
                            (seq - last_seq) / span,
                            seq,
                            lost,
                            (lost - last_lost) / span,
                            source.buffer_fill(),
                            (cpu - last_cpu) / span,
                        )
                    )
                    last_t, last_seq, last_lost, last_cpu = now, seq, lost, cpu
                if n == 0:
                    stop.wait(config.poll_interval)
            if stop.is_set() and not fatal:
                result.stopped_by = "signal"
            result.duration = time.monotonic() - t0
            source.stop()
            result.drain_seconds = time.monotonic() - t0 - result.duration
            result.cpu_seconds = time.process_time() - cpu0
            result.events = seq
            assert source.mapper is not None
            result.records = source.mapper.stats.records
            result.filtered = source.mapper.stats.filtered
            result.mapping_errors = source.mapper.stats.errors
            result.first_mapping_error = source.mapper.stats.first_error
            result.lost = source.lost
            result.lost_events = source.lost_events
            result.lost_records = source.lost_records
            result.skipped_records = source.skipped
            result.peak_fill = source.peak_fill
        finally:
            source.close()
            if writer is not None:
                try:
                    stats = writer.close()
                except OSError as exc:  # the file's last buffered bytes did not fit
                    on_error(CaptureError(f"couldn't finish {writer.path}: {exc}"))
                    stats = writer.stats
                stats.lost_events = source.lost
                result.stats = stats
    if fatal:
        result.error = str(fatal[0])
        result.stopped_by = "error"
    return result
