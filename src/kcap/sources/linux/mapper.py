"""From kernel records to events: pairing syscall entries with exits and keeping the state.

The eBPF programs (`probes.py`) send raw records: syscall arguments at entry, the return value
at exit, strings and socket addresses read from user memory. The mapper pairs each exit with
the entry of the same thread, keeps per-process state (image, cwd, descriptor table), turns
relative paths absolute, and emits events of the shared taxonomy.

It is composed of handler objects that share one `context.MappingContext` (the state, and the
`RecordContext` of the record being mapped): `EntryRecords` (syscall entries), `ProcessRecords`
(fork, exec, exit, chdir), `Descriptors` (the descriptor table and handle events),
`FileRecords` (open, close, dup, mmap, unlink, rename), `NetworkRecords` and `FileIo` (reads and
writes). `Mapper.routes` is the one table from record kind to handler.

Conventions (documented in docs/linux-capture.md):

* A fork emits ``CreateProcess`` from the parent (its state is the embedded "creator" state);
  an exec emits ``CreateProcess`` again for the same pid with the new image, embedding the state
  before the exec. Replay keeps the latest, so the process tree and names come out right.
* Descriptors are handles: ``handle_id`` = fd, ``handle_object`` = ``pid << 32 | fd``.
* Network events carry ``sip``/``sport`` = local end and ``dip``/``dport`` = remote end.
"""

from __future__ import annotations

from collections.abc import Callable

from kcap.model import Event
from kcap.sources.linux import probes as K
from kcap.sources.linux.context import MappingContext, RecordHandler
from kcap.sources.linux.descriptors import Descriptors
from kcap.sources.linux.entries import EntryRecords
from kcap.sources.linux.fdmap import FileRecords
from kcap.sources.linux.iomap import FileIo
from kcap.sources.linux.mapping_base import (
    AT_FDCWD,
    HDR,
    MapperStats,
    P,
    parse_sockaddr,
    shared_params,
)
from kcap.sources.linux.netmap import NetworkRecords
from kcap.sources.linux.procfs import ProcInfo
from kcap.sources.linux.procmap import ProcessRecords
from kcap.sources.linux.taxonomy import KINDS, Clock

__all__ = ["AT_FDCWD", "Mapper", "MapperStats", "P", "parse_sockaddr", "shared_params"]


class Mapper:
    """Consumes ring-buffer records, emits `Event`s through ``sink``."""

    def __init__(
        self,
        *,
        procs: dict[int, ProcInfo],
        clock: Clock,
        host: str,
        kinds: frozenset[str],
        sink: Callable[[Event], None],
        keep: Callable[[Event], bool] | None = None,
    ) -> None:
        ctx = MappingContext(procs=procs, clock=clock, host=host, kinds=kinds, sink=sink, keep=keep)
        self.ctx = ctx
        self.entries = EntryRecords(ctx)
        self.descriptors = Descriptors(ctx)
        self.net = NetworkRecords(ctx, self.descriptors)
        self.io = FileIo(ctx, self.net)
        self.files = FileRecords(ctx, self.descriptors, self.io)
        self.processes = ProcessRecords(ctx, self.descriptors, self.io)
        self._dispatch = {kind: route[0] for kind, route in self.routes().items()}
        #: records stamped after this monotonic time are ignored (set when the capture stops,
        #: because the programs are detached one by one and a late one would see half a story)
        self.cutoff_ns = 1 << 64

    def routes(self) -> dict[int, tuple[RecordHandler, tuple[str, ...]]]:
        """Record kind -> the handler that maps it, and the events it makes (by name; what a
        lost record of that kind counts as, see `loss`). Entries make no event of their own:
        their syscall's events come from its exit."""
        enter = self.entries.enter
        proc, files, net, io = self.processes, self.files, self.net, self.io
        none: tuple[str, ...] = ()
        return {
            K.K_NEWTASK: (proc.newtask, ("CreateProcess",)),  # or CreateThread
            K.K_EXIT: (proc.exit, ("TerminateProcess",)),  # or TerminateThread
            K.K_EXECVE: (enter, none),
            K.K_EXECVEAT: (enter, none),
            K.K_EXEC_SEEN: (proc.exec_seen, none),
            K.K_EXECVE_RET: (proc.execve_ret, ("CreateProcess", "LoadImage")),
            K.K_EXIT_GROUP: (proc.exit_group, none),
            K.K_CHDIR: (enter, none),
            K.K_FCHDIR: (enter, none),
            K.K_CHDIR_RET: (proc.chdir_ret, none),
            K.K_OPENAT: (enter, none),
            K.K_OPEN: (enter, none),
            K.K_CREAT: (enter, none),
            K.K_OPEN_RET: (files.open_ret, ("CreateFile", "CreateHandle")),
            # openat's entry makes no record: the exit carries everything
            K.K_OPENAT_RET: (files.openat_ret, ("CreateFile", "CreateHandle")),
            K.K_CLOSE: (files.close, ("CloseFile", "CloseHandle")),
            K.K_DUP: (enter, none),
            K.K_DUP1: (enter, none),
            K.K_FCNTL: (files.fcntl, none),
            K.K_DUP_RET: (files.dup_ret, ("CreateHandle",)),
            K.K_MEMFD: (enter, none),
            K.K_MEMFD_RET: (files.memfd_ret, ("CreateHandle",)),
            K.K_SOCKET: (enter, none),
            K.K_SOCKET_RET: (files.socket_ret, ("CreateHandle",)),
            K.K_MMAP: (enter, none),
            # most mappings are not executable: a lost one is not counted as a lost LoadImage
            K.K_MMAP_RET: (files.mmap_ret, none),
            K.K_UNLINK: (enter, none),
            K.K_UNLINKAT: (enter, none),
            K.K_RMDIR: (enter, none),
            K.K_UNLINK_RET: (files.unlink_ret, ("DeleteFile",)),
            K.K_RENAME: (enter, none),
            K.K_RENAMEAT: (enter, none),
            K.K_RENAME_RET: (files.rename_ret, ("RenameFile",)),
            # read and write entries make no record: the exit carries the descriptor
            K.K_READ_RET: (io.io_ret, ("ReadFile",)),  # Recv on a socket
            K.K_WRITE_RET: (io.io_ret, ("WriteFile",)),  # Send on a socket
            K.K_CONNECT: (enter, none),
            K.K_CONNECT_RET: (net.connect_ret, ("Connect",)),
            K.K_BIND: (net.bind, none),
            K.K_ACCEPT: (enter, none),
            K.K_ACCEPT_RET: (net.accept_ret, ("Accept", "CreateHandle")),
            # send and receive entries make no record either
            K.K_SEND_RET: (net.net_io_ret, ("Send",)),
            K.K_RECV_RET: (net.net_io_ret, ("Recv",)),
            K.K_RECVMSG_RET: (net.net_io_ret, ("Recv",)),
            K.K_TCP_STATE: (net.tcp_state, none),
        }

    def yields(self) -> dict[int, tuple[str, ...]]:
        """Record kind -> the events (by name) a record of that kind makes in this capture
        (those of event kinds not captured left out)."""
        wanted = self.ctx.kinds
        category = {k.name: k.category for k in KINDS.values()}
        return {
            kind: tuple(n for n in names if category.get(n) in wanted)
            for kind, (_, names) in self.routes().items()
        }

    # ------------------------------------------------------------------ the session's view

    @property
    def procs(self) -> dict[int, ProcInfo]:
        return self.ctx.procs

    @property
    def unpaired(self) -> dict[int, int]:
        """Exit records that found no entry, by record kind."""
        return self.ctx.unpaired

    @property
    def stats(self) -> MapperStats:
        return self.ctx.stats

    @property
    def io_window_ns(self) -> int:
        """Aggregate reads and writes over this window (0: one event per system call)."""
        return self.io.window_ns

    @io_window_ns.setter
    def io_window_ns(self, value: int) -> None:
        self.io.window_ns = value

    def flush_io(
        self, now_ns: int | None = None, pid: int | None = None, fd: int | None = None
    ) -> None:
        """Write out aggregated I/O (see `FileIo.flush`)."""
        self.io.flush(now_ns, pid, fd)

    def lost(self, event: str, count: int, total: int) -> None:
        """Record that ``count`` events named ``event`` were lost (``total`` so far)."""
        self.ctx.lost(event, count, total)

    def handle(self, buf: memoryview, off: int, length: int) -> None:
        """Ring-buffer callback: one record at ``buf[off:off+length]``."""
        kind, cpu, pid_tgid, ts = HDR.unpack_from(buf, off)
        stats = self.ctx.stats
        stats.records += 1
        if ts > self.cutoff_ns:
            return
        fn = self._dispatch.get(kind)
        if fn is None:
            return
        rec = self.ctx.rec
        rec.kind = kind
        rec.pid = pid_tgid >> 32
        rec.tid = pid_tgid & 0xFFFFFFFF
        rec.cpu = cpu
        rec.ts = ts
        try:
            fn(buf, off)
        except Exception as exc:  # one odd record must not end a capture of the whole machine
            stats.errors += 1
            if stats.first_error is None:
                stats.first_error = f"record kind {kind}: {type(exc).__name__}: {exc}"
