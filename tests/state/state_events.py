"""Hand-built events for the snapshotter tests.

Type ids are copied from the spec's event-types.csv (the 17-byte ids of the 2020-2023 writers
and the 18-byte ids of the 2023-07 and later writers), not taken from the catalogue under test.
"""

from __future__ import annotations

from typing import Any

from kcap.model import Event, Param, ParamType, Process, Timestamp

IDS17 = {
    "CreateProcess": "3d6fa8d0fe0511d09dda00c04fd7ba7c01",
    "TerminateProcess": "3d6fa8d0fe0511d09dda00c04fd7ba7c02",
    "ProcessRundown": "3d6fa8d0fe0511d09dda00c04fd7ba7c03",
    "CreateThread": "3d6fa8d1fe0511d09dda00c04fd7ba7c01",
    "TerminateThread": "3d6fa8d1fe0511d09dda00c04fd7ba7c02",
    "ThreadRundown": "3d6fa8d1fe0511d09dda00c04fd7ba7c03",
    "LoadImage": "2cb15d1d5fc111d2abe100a0c911f5180a",
    "UnloadImage": "2cb15d1d5fc111d2abe100a0c911f51802",
    "ImageRundown": "2cb15d1d5fc111d2abe100a0c911f51803",
    "CreateHandle": "89497f50effe44408cf2ce6b1cdcaca720",
    "CloseHandle": "89497f50effe44408cf2ce6b1cdcaca721",
    "CreateFile": "90cbdc394a3e11d184f40000f80464e340",
    "OpenProcess": "e02a841c75a34fa7afc8ae09cf9b7f2305",
}
IDS18 = {
    "CreateProcess": "3d6fa8d0fe0511d09dda00c04fd7ba7c0001",
    "TerminateProcess": "3d6fa8d0fe0511d09dda00c04fd7ba7c0002",
    "ProcessRundown": "3d6fa8d0fe0511d09dda00c04fd7ba7c0003",
    "CreateThread": "3d6fa8d1fe0511d09dda00c04fd7ba7c0001",
    "TerminateThread": "3d6fa8d1fe0511d09dda00c04fd7ba7c0002",
    "ThreadRundown": "3d6fa8d1fe0511d09dda00c04fd7ba7c0003",
    "LoadImage": "2cb15d1d5fc111d2abe100a0c911f518000a",
    "UnloadImage": "2cb15d1d5fc111d2abe100a0c911f5180002",
    "ImageRundown": "2cb15d1d5fc111d2abe100a0c911f5180003",
    "CreateHandle": "89497f50effe44408cf2ce6b1cdcaca70020",
    "CloseHandle": "89497f50effe44408cf2ce6b1cdcaca70021",
    "DuplicateHandle": "89497f50effe44408cf2ce6b1cdcaca70022",
    "CreateFile": "90cbdc394a3e11d184f40000f80464e30040",
    "OpenProcess": "e02a841c75a34fa7afc8ae09cf9b7f230005",
}

#: Parameter types as the newest writers use them.
_TYPES = {
    "pid": ParamType.PID,
    "ppid": ParamType.PID,
    "tid": ParamType.TID,
    "sid": ParamType.WBEM_SID,
    "session_id": ParamType.UINT32,
    "flags": ParamType.FLAGS,
    "start_time": ParamType.TIME,
    "base_address": ParamType.ADDRESS,
    "default_address": ParamType.ADDRESS,
    "handle_object": ParamType.ADDRESS,
    "image_size": ParamType.UINT64,
    "checksum": ParamType.UINT32,
    "handle_id": ParamType.UINT32,
}


def type_id(name: str, width: int = 18) -> bytes:
    table = IDS18 if width == 18 else IDS17
    return bytes.fromhex(table[name])


def param(name: str, value: Any) -> Param:
    if isinstance(value, Param):
        return value
    ptype = _TYPES.get(name)
    if ptype is None:
        if isinstance(value, str):
            ptype = ParamType.UNICODE
        elif isinstance(value, Timestamp):
            ptype = ParamType.TIME
        elif isinstance(value, bytes):
            ptype = ParamType.BINARY
        else:
            ptype = ParamType.UINT64
    return Param(name, ptype, value)


def ev(
    kind: str,
    *,
    width: int = 18,
    hpid: int = 0,
    seq: int = 0,
    recorded: str | None = None,
    process: Process | None = None,
    **params: Any,
) -> Event:
    """An event of type ``kind`` with header pid ``hpid``; keyword arguments are params."""
    return Event(
        seq=seq,
        pid=hpid,
        type=type_id(kind, width),
        name=kind if recorded is None else recorded,
        params=[param(k, v) for k, v in params.items()],
        process=process,
    )


def embedded(pid: int, ppid: int, name: str = "proc.exe", **fields: Any) -> Process:
    """A process state as a process section would carry it."""
    return Process(pid=pid, ppid=ppid, name=name, **fields)


def rundown(
    pid: int, ppid: int, *, width: int = 18, recorded: str | None = None, **fields: Any
) -> Event:
    """A ProcessRundown whose params and embedded state agree (header pid = pid, as upstream)."""
    state = embedded(pid, ppid, **fields)
    return ev(
        "ProcessRundown",
        width=width,
        hpid=pid,
        recorded=recorded,
        process=state,
        pid=pid,
        ppid=ppid,
    )


def sid_bytes(authority: int, *subs: int) -> bytes:
    return (
        bytes([1, len(subs)])
        + authority.to_bytes(6, "big")
        + b"".join(s.to_bytes(4, "little") for s in subs)
    )


def image(
    kind: str = "LoadImage", *, width: int = 18, path_param: str = "file_path", **p: Any
) -> Event:
    """A LoadImage (or ImageRundown, UnloadImage) of ntdll.dll in process 500."""
    defaults = {
        "pid": 500,
        "base_address": 0x7FF6_0000_0000,
        "image_size": 0x5000,
        "checksum": 0xABCD,
        path_param: "C:\\Windows\\System32\\ntdll.dll",
        "default_address": 0x1_8000_0000,
        "signature_level": 12,
        "signature_type": 1,
    }
    defaults.update(p)
    return ev(kind, width=width, hpid=defaults["pid"], **defaults)
