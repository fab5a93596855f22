"""The fixture events of filter.md §8.1, built in code."""

from __future__ import annotations

import ipaddress

from kcap.model import (
    PE,
    Event,
    Module,
    Param,
    PESection,
    Process,
    Timestamp,
)
from kcap.model.catalogue import by_name
from kcap.model.params import ParamType as T

TS = Timestamp("2011-05-03T15:04:05.323Z")
SID_S_1_5_18 = bytes([1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0])


def type_of(name: str) -> bytes:
    return by_name()[name].id


def ev(name: str, params: list[Param], **kw: object) -> Event:
    et = by_name()[name]
    kw.setdefault("category", et.category)
    return Event(type=et.id, name=name, params=params, **kw)  # type: ignore[arg-type]


def parent_chain() -> Process:
    system = Process(pid=4, name="System")
    services = Process(pid=2034, name="services.exe", sid="NT AUTHORITY\\SYSTEM", parent=system)
    return Process(
        pid=5042,
        name="wininit.exe",
        username="SYSTEM",
        domain="NT AUTHORITY",
        sid="S-1-5-18",
        is_protected=True,
        parent=services,
    )


def svchost_state() -> Process:
    return Process(
        pid=1023,
        ppid=345,
        name="svchost.exe",
        cmdline="C:\\Windows\\System32\\svchost.exe",
        exe="C:\\Windows\\System32\\svchost.exe",
        username="SYSTEM",
        domain="NT AUTHORITY",
        sid="S-1-5-18",
        envs=[
            ("ALLUSERSPROFILE", "C:\\ProgramData"),
            ("OS", "Windows_NT"),
            ("ProgramFiles(x86)", "C:\\Program Files (x86)"),
        ],
        modules=[
            Module(
                path="C:\\Windows\\System32\\kernel32.dll",
                size=12354,
                checksum=23123343,
                base_address=0xFFF23FFF,
                default_base_address=0xFFF124FD,
            ),
            Module(
                path="C:\\Windows\\System32\\user32.dll",
                size=212354,
                checksum=33123343,
                base_address=0xFEF23FFF,
                default_base_address=0xFEF124FD,
            ),
        ],
        is_wow64=False,
        is_packaged=True,
        is_protected=False,
        parent=parent_chain(),
    )


def event_p() -> Event:
    return ev(
        "CreateProcess",
        [
            Param("cmdline", T.UNICODE, "C:\\Windows\\system32\\svchost-fake.exe -k RPCSS"),
            Param("name", T.UNICODE, "svchost-fake.exe"),
            Param("pid", T.PID, 1234),
            Param("ppid", T.PID, 345),
            Param("sid", T.SID, SID_S_1_5_18),
            Param("username", T.UNICODE, "loki"),
            Param("domain", T.UNICODE, "TITAN"),
            Param("flags", T.FLAGS, 0x0E),
        ],
        pid=1023,
        timestamp=TS,
        ps=svchost_state(),
    )


def event_o() -> Event:
    return ev(
        "OpenProcess", [Param("desired_access", T.FLAGS, 0x1400)], pid=1023, ps=svchost_state()
    )


def _file_event(path: str, extra: list[Param]) -> Event:
    return ev(
        "CreateFile",
        [
            Param("file_object", T.UINT64, 12456738026482168384),
            Param("file_path", T.UNICODE, path),
            Param("type", T.ANSI, "file"),
            Param("create_disposition", T.ANSI, "open"),
            *extra,
        ],
        tid=2484,
        pid=859,
        cpu=1,
        seq=2,
        host="archrabbit",
        description="Creates or opens a new file, directory, I/O device, pipe, console",
        timestamp=TS,
    )


def event_f() -> Event:
    return _file_event("C:\\Windows\\system32\\user32.dll", [])


def event_k() -> Event:
    return _file_event(
        "\\Device\\HarddiskVolume2\\Windows\\system32\\user32.dll", [Param("pid", T.PID, 3434)]
    )


def event_n() -> Event:
    return ev(
        "Send",
        [
            Param("dport", T.PORT, 443),
            Param("sport", T.PORT, 43123),
            Param("sip", T.IPV4, ipaddress.IPv4Address("127.0.0.1")),
            Param("dip", T.IPV4, ipaddress.IPv4Address("216.58.201.174")),
        ],
        pid=859,
        ps=Process(pid=859, name="cmd.exe"),
    )


def event_r() -> Event:
    return ev(
        "RegSetValue",
        [
            Param("key_path", T.UNICODE, "HKEY_LOCAL_MACHINE\\SYSTEM\\Setup\\Pid"),
            Param("value", T.UINT32, 10234),
            Param("value_type", T.UNICODE, "DWORD"),
            Param("status", T.UNICODE, "success"),
        ],
    )


def event_e() -> Event:
    pe = PE(
        nsections=2,
        nsymbols=10,
        image_base="140000000",
        entrypoint="20110",
        sections=[
            PESection(name=".text", size=132608, entropy=6.368381, md5="db23dce3911a42e987041d98b"),
            PESection(name=".rdata", size=40960, entropy=5.1, md5="ffa5c960b421ca9887e54966588"),
        ],
        symbols=[
            "SelectObject",
            "GetTextFaceW",
            "EnumFontsW",
            "TextOutW",
            "GetProcessHeap",
            "HeapFree",
            "HeapAlloc",
            "GetLastError",
            "CloseHandle",
            "CreateFileW",
        ],
        imports=["GDI32.dll", "USER32.dll", "msvcrt.dll"],
        version_resources=[
            ("CompanyName", "Microsoft Corporation"),
            ("FileDescription", "Notepad"),
            ("FileVersion", "10.0.18362.693"),
        ],
    )
    return ev("CreateFile", [], ps=Process(pid=2, name="notepad.exe", pe=pe))


def event_m() -> Event:
    return ev(
        "VirtualAlloc",
        [
            Param("region_size", T.UINT64, 8192),
            Param("base_address", T.ADDRESS, 1311246336000),
            Param("alloc_type", T.FLAGS, 0x3000),
            Param("protection", T.FLAGS, 0x40),
            Param("protection_mask", T.UNICODE, "RWX"),
            Param("page_type", T.ENUM, 0x1000000),
        ],
    )


def event_d() -> Event:
    return ev(
        "ReplyDns",
        [
            Param("name", T.UNICODE, "r3.o.lencr.org"),
            Param("rr", T.ENUM, 1),
            Param("options", T.FLAGS64, 0x6000),
            Param("rcode", T.ENUM, 0),
            Param("answers", T.SLICE, ["incoming.telemetry.mozilla.org", "a1887.dscq.akamai.net"]),
        ],
    )


def _info_event(name: str, cls: int, extra: int) -> Event:
    return ev(name, [Param("class", T.ENUM, cls), Param("extra_info", T.UINT64, extra)])


def event_i1() -> Event:
    return _info_event("SetFileInformation", 19, 64500)


def event_i2() -> Event:
    return _info_event("SetFileInformation", 13, 1)


def event_i3() -> Event:
    return _info_event("DeleteFile", 13, 1)


def event_v() -> Event:
    return ev(
        "Send",
        [Param("dip", T.IPV4, ipaddress.IPv4Address("216.58.201.174"))],
        pid=1,
        ps=Process(pid=1, name="cmd.exe", args=["/c", "dir"], is_packaged=False),
    )


EVENTS = {
    "P": event_p,
    "O": event_o,
    "F": event_f,
    "K": event_k,
    "N": event_n,
    "R": event_r,
    "E": event_e,
    "M": event_m,
    "D": event_d,
    "I1": event_i1,
    "I2": event_i2,
    "I3": event_i3,
    "V": event_v,
}
