"""Thin ctypes wrappers over the Linux system calls live capture needs (x86_64 only).

`bpf()` and `perf_event_open()` have no libc wrappers, so they go through ``syscall(2)``. Every
wrapper raises `OSError` with the errno the kernel gave; the session turns those into
`kcap.errors.CaptureError` subclasses with a message that says what is missing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import struct

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong]
_libc.ioctl.restype = ctypes.c_int
_libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_void_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]

SYS_BPF = 321
SYS_PERF_EVENT_OPEN = 298

# bpf commands
BPF_MAP_CREATE = 0
BPF_MAP_LOOKUP_ELEM = 1
BPF_MAP_UPDATE_ELEM = 2
BPF_PROG_LOAD = 5
BPF_PROG_GET_NEXT_ID = 11
BPF_MAP_GET_NEXT_ID = 12
BPF_PROG_GET_FD_BY_ID = 13
BPF_OBJ_GET_INFO_BY_FD = 15
BPF_RAW_TRACEPOINT_OPEN = 17

# map and program types
BPF_MAP_TYPE_HASH = 1
BPF_MAP_TYPE_LRU_HASH = 9
BPF_MAP_TYPE_ARRAY = 2
BPF_MAP_TYPE_PROG_ARRAY = 3
BPF_MAP_TYPE_RINGBUF = 27
BPF_PROG_TYPE_TRACEPOINT = 5
BPF_PROG_TYPE_RAW_TRACEPOINT = 17

PERF_TYPE_TRACEPOINT = 2
PERF_EVENT_IOC_ENABLE = 0x2400
PERF_EVENT_IOC_DISABLE = 0x2401
PERF_EVENT_IOC_SET_BPF = 0x40042408
PERF_FLAG_FD_CLOEXEC = 8

MNT_DETACH = 2
MS_REC = 0x4000
MS_PRIVATE = 0x40000
CLONE_NEWNS = 0x20000


def check_platform() -> None:
    """Raise `OSError(ENOSYS)` off x86_64 Linux: syscall numbers and layouts are for that ABI."""
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        raise OSError(38, f"live capture supports Linux on x86_64 only, not {platform.machine()}")


def _raise_errno(what: str) -> None:
    err = ctypes.get_errno()
    raise OSError(err, f"{what}: {os.strerror(err)}")


def bpf(cmd: int, attr: bytearray) -> int:
    """Call bpf(cmd, attr, len(attr)); returns the result (an fd for create/load commands)."""
    buf = (ctypes.c_char * len(attr)).from_buffer(attr)
    ret = _libc.syscall(SYS_BPF, cmd, buf, len(attr))
    if ret < 0:
        _raise_errno(f"bpf(cmd={cmd})")
    return int(ret)


BPF_F_MMAPABLE = 1 << 10


def map_create(
    map_type: int, key_size: int, value_size: int, max_entries: int, name: str, flags: int = 0
) -> int:
    attr = bytearray(72)
    struct.pack_into("<5I", attr, 0, map_type, key_size, value_size, max_entries, flags)
    name_b = name.encode()[:15]
    attr[28 : 28 + len(name_b)] = name_b
    return bpf(BPF_MAP_CREATE, attr)


def map_lookup(map_fd: int, key: bytes, value_size: int) -> bytes:
    key_buf = ctypes.create_string_buffer(key, len(key))
    val_buf = ctypes.create_string_buffer(value_size)
    attr = bytearray(32)
    struct.pack_into(
        "<IIQQ", attr, 0, map_fd, 0, ctypes.addressof(key_buf), ctypes.addressof(val_buf)
    )
    bpf(BPF_MAP_LOOKUP_ELEM, attr)
    return val_buf.raw


def map_update(map_fd: int, key: bytes, value: bytes) -> None:
    key_buf = ctypes.create_string_buffer(key, len(key))
    val_buf = ctypes.create_string_buffer(value, len(value))
    attr = bytearray(32)
    struct.pack_into(
        "<IIQQQ", attr, 0, map_fd, 0, ctypes.addressof(key_buf), ctypes.addressof(val_buf), 0
    )
    bpf(BPF_MAP_UPDATE_ELEM, attr)


def raw_tracepoint_open(name: str, prog_fd: int) -> int:
    """Attach a raw-tracepoint program; closing the returned fd detaches it."""
    name_buf = ctypes.create_string_buffer(name.encode())
    attr = bytearray(16)
    struct.pack_into("<QI", attr, 0, ctypes.addressof(name_buf), prog_fd)
    return bpf(BPF_RAW_TRACEPOINT_OPEN, attr)


def prog_load(prog_type: int, insns: bytes, name: str, log_size: int = 1 << 20) -> int:
    """Load a program; on a verifier refusal the OSError message carries the verifier log."""
    code = ctypes.create_string_buffer(insns, len(insns))
    license_ = ctypes.create_string_buffer(b"GPL")
    log = ctypes.create_string_buffer(log_size)
    attr = bytearray(128)
    struct.pack_into(
        "<IIQQIIQ",
        attr,
        0,
        prog_type,
        len(insns) // 8,
        ctypes.addressof(code),
        ctypes.addressof(license_),
        0,
        0,
        0,
    )
    name_b = name.encode()[:15]
    attr[48 : 48 + len(name_b)] = name_b
    try:
        return bpf(BPF_PROG_LOAD, attr)
    except OSError as first:
        # Load again with the verifier log switched on, so the error says why.
        struct.pack_into("<IIQ", attr, 24, 1, log_size, ctypes.addressof(log))
        try:
            return bpf(BPF_PROG_LOAD, attr)
        except OSError as exc:
            text = log.value.decode(errors="replace")[-3000:]
            raise OSError(exc.errno, f"loading eBPF program {name}: {exc.strerror}\n{text}") from (
                first
            )


def _ids(cmd: int) -> list[int]:
    ids: list[int] = []
    start = 0
    while True:
        attr = bytearray(16)
        struct.pack_into("<I", attr, 0, start)
        try:
            bpf(cmd, attr)
        except OSError:
            return ids
        start = struct.unpack_from("<I", attr, 4)[0]
        ids.append(start)


def prog_ids() -> list[int]:
    """Ids of every eBPF program loaded in the kernel (BPF_PROG_GET_NEXT_ID walk)."""
    return _ids(BPF_PROG_GET_NEXT_ID)


def map_ids() -> list[int]:
    """Ids of every eBPF map in the kernel."""
    return _ids(BPF_MAP_GET_NEXT_ID)


def bpf_objects_of(pid: int) -> tuple[set[int], set[int]]:
    """(program ids, map ids) that process ``pid`` holds descriptors of, from its fdinfo."""
    progs: set[int] = set()
    maps: set[int] = set()
    base = f"/proc/{pid}/fdinfo"
    try:
        names = os.listdir(base)
    except OSError:
        return progs, maps
    for name in names:
        try:
            with open(f"{base}/{name}") as fh:
                for line in fh:
                    if line.startswith("prog_id:"):
                        progs.add(int(line.split()[1]))
                    elif line.startswith("map_id:"):
                        maps.add(int(line.split()[1]))
        except (OSError, ValueError):
            continue
    return progs, maps


def prog_names() -> dict[int, str]:
    """Name of every loaded eBPF program by id (programs that vanish meanwhile are skipped)."""
    out: dict[int, str] = {}
    for pid_ in prog_ids():
        attr = bytearray(16)
        struct.pack_into("<I", attr, 0, pid_)
        try:
            fd = bpf(BPF_PROG_GET_FD_BY_ID, attr)
        except OSError:
            continue
        try:
            info = ctypes.create_string_buffer(256)
            attr = bytearray(16)
            struct.pack_into("<IIQ", attr, 0, fd, 256, ctypes.addressof(info))
            bpf(BPF_OBJ_GET_INFO_BY_FD, attr)
            out[pid_] = info.raw[64:80].split(b"\0", 1)[0].decode(errors="replace")
        except OSError:
            pass
        finally:
            os.close(fd)
    return out


def perf_event_open_tracepoint(tp_id: int, cpu: int = 0) -> int:
    """Open a tracepoint perf event (pid -1, one CPU) that an eBPF program can attach to."""
    attr = bytearray(128)
    # type, size, config, sample_period, sample_type (RAW = 0x400), read_format, flags
    struct.pack_into("<IIQQQQQI", attr, 0, PERF_TYPE_TRACEPOINT, 128, tp_id, 1, 0x400, 0, 0, 1)
    buf = (ctypes.c_char * len(attr)).from_buffer(attr)
    ret = _libc.syscall(SYS_PERF_EVENT_OPEN, buf, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC)
    if ret < 0:
        _raise_errno(f"perf_event_open(tracepoint {tp_id})")
    return int(ret)


def ioctl(fd: int, request: int, arg: int = 0) -> None:
    if _libc.ioctl(fd, request, arg) < 0:
        _raise_errno(f"ioctl({request:#x})")


def mount(source: str, target: str, fstype: str) -> None:
    if _libc.mount(source.encode(), target.encode(), fstype.encode(), 0, None) < 0:
        _raise_errno(f"mount -t {fstype} {target}")


def private_mount_namespace() -> None:
    """Give the calling thread a mount namespace of its own, with no propagation back.

    Mounts made afterwards are seen by this thread only and vanish with it, whatever way it
    ends (SIGKILL included): the kernel frees a mount namespace with its last task.
    """
    if _libc.unshare(CLONE_NEWNS) < 0:
        _raise_errno("unshare(CLONE_NEWNS)")
    if _libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) < 0:
        _raise_errno("mount --make-rprivate /")


def umount(target: str) -> None:
    if _libc.umount2(target.encode(), MNT_DETACH) < 0:
        _raise_errno(f"umount {target}")
