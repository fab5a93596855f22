"""From kernel records to events: pairing syscall entries with exits and keeping the state.

The eBPF programs (`probes.py`) send raw records: syscall arguments at entry, the return value
at exit, strings and socket addresses read from user memory. This module pairs each exit with
the entry of the same thread, keeps per-process state (image, cwd, descriptor table), turns
relative paths absolute, and emits events of the shared taxonomy.

Conventions (documented in docs/linux-capture.md):

* A fork emits ``CreateProcess`` from the parent (its state is the embedded "creator" state);
  an exec emits ``CreateProcess`` again for the same pid with the new image, embedding the state
  before the exec. Replay keeps the latest, so the process tree and names come out right.
* Descriptors are handles: ``handle_id`` = fd, ``handle_object`` = ``pid << 32 | fd``.
* Network events carry ``sip``/``sport`` = local end and ``dip``/``dport`` = remote end.
"""

from __future__ import annotations

from kcap.sources.linux import probes as K
from kcap.sources.linux.fdmap import DescriptorMapping
from kcap.sources.linux.iomap import FileIoMapping
from kcap.sources.linux.mapper_core import RecordHandler
from kcap.sources.linux.mapping_base import (
    AT_FDCWD,
    MapperStats,
    P,
    parse_sockaddr,
    shared_params,
)
from kcap.sources.linux.netmap import NetworkMapping
from kcap.sources.linux.procmap import ProcessMapping

__all__ = ["AT_FDCWD", "Mapper", "MapperStats", "P", "parse_sockaddr", "shared_params"]


class Mapper(ProcessMapping, DescriptorMapping, NetworkMapping, FileIoMapping):
    """Consumes ring-buffer records, emits `Event`s through ``sink``."""

    def _dispatch_table(self) -> dict[int, RecordHandler]:
        return {
            K.K_NEWTASK: self._newtask,
            K.K_EXIT: self._exit,
            K.K_EXECVE: self._enter,
            K.K_EXECVEAT: self._enter,
            K.K_CREAT: self._enter,
            K.K_DUP1: self._enter,
            K.K_FCNTL: self._fcntl,
            K.K_EXECVE_RET: self._execve_ret,
            K.K_EXIT_GROUP: self._exit_group,
            K.K_CHDIR: self._enter,
            K.K_FCHDIR: self._enter,
            K.K_CHDIR_RET: self._chdir_ret,
            K.K_OPENAT: self._enter,
            K.K_OPEN: self._enter,
            K.K_OPEN_RET: self._open_ret,
            K.K_CLOSE: self._close,
            K.K_DUP: self._enter,
            K.K_DUP_RET: self._dup_ret,
            K.K_SOCKET: self._enter,
            K.K_SOCKET_RET: self._socket_ret,
            K.K_MMAP: self._enter,
            K.K_MMAP_RET: self._mmap_ret,
            K.K_READ: self._enter,
            K.K_READ_RET: self._io_ret,
            K.K_WRITE: self._enter,
            K.K_WRITE_RET: self._io_ret,
            K.K_UNLINK: self._enter,
            K.K_UNLINKAT: self._enter,
            K.K_RMDIR: self._enter,
            K.K_UNLINK_RET: self._unlink_ret,
            K.K_RENAME: self._enter,
            K.K_RENAMEAT: self._enter,
            K.K_RENAME_RET: self._rename_ret,
            K.K_CONNECT: self._enter,
            K.K_CONNECT_RET: self._connect_ret,
            K.K_BIND: self._bind,
            K.K_ACCEPT: self._enter,
            K.K_ACCEPT_RET: self._accept_ret,
            K.K_SENDTO: self._enter,
            K.K_SENDMSG: self._enter,
            K.K_SEND_RET: self._net_io_ret,
            K.K_RECVFROM: self._enter,
            K.K_RECVMSG: self._enter,
            K.K_RECV_RET: self._net_io_ret,
            K.K_RECVMSG_RET: self._net_io_ret,
            K.K_TCP_STATE: self._tcp_state,
        }
