"""Hand-built events that exercise every parameter type a given table can hold."""

from __future__ import annotations

import ipaddress

from kcap.model import (
    PE,
    AlpcInfo,
    Certificate,
    Event,
    FileInfo,
    Handle,
    MutantInfo,
    Param,
    PESection,
    Process,
    Timestamp,
    UnknownInfo,
)
from kcap.model.params import ParamType as T

CREATE_FILE = bytes.fromhex("90cbdc394a3e11d184f40000f80464e340")
CREATE_PROCESS = bytes.fromhex("3d6fa8d0fe0511d09dda00c04fd7ba7c01")
PROCESS_RUNDOWN = bytes.fromhex("3d6fa8d0fe0511d09dda00c04fd7ba7c03")
SEND_TCP = bytes.fromhex("9a280ac0c8e011d184e200c04fb998a20a")


def handles() -> list[Handle]:
    return [
        Handle(420, 0xFFFFC00012345678, 4242, "File", "C:\\Temp\\f.txt", FileInfo(False)),
        Handle(44, 0xFFFFC00012345680, 4242, "ALPC Port", "\\RPC Control\\X", AlpcInfo(1, 7, 99)),
        Handle(48, 0xFFFFC00012345690, 4242, "Mutant", "\\M", MutantInfo(-1, True)),
        Handle(52, 0xFFFFC000123456A0, 4242, "Key", "\\REGISTRY\\MACHINE", None),
        Handle(60, 0xFFFFC000123456B0, 4242, "Section", "", UnknownInfo()),
    ]


def process(with_pe: bool = True) -> Process:
    pe = None
    if with_pe:
        pe = PE(
            nsections=3,
            nsymbols=0,
            image_base="0x140000000",
            entrypoint="0x1400172a0",
            link_time=Timestamp("2024-05-17T09:41:07Z"),
            sections=[PESection(4096, 6.25, ".text", "0f4d"), PESection(512, 0.0, ".data", "")],
            symbols=["CreateFileW"],
            imports=["KERNEL32.dll"],
            version_resources=[("CompanyName", "Microsoft Corporation")],
            is_signed=True,
            cert=Certificate(
                Timestamp("2023-02-02T19:23:35Z"),
                Timestamp("2024-01-31T19:23:35Z"),
                "33",
                "CN=a",
                "CN=b",
            ),
            is_dll=True,
            imphash="f8b8",
            anomalies=["odd"],
        )
    return Process(
        pid=4242,
        ppid=1337,
        name="cmd.exe",
        cmdline='C:\\Windows\\system32\\cmd.exe /c "echo hi"',
        exe="C:\\Windows\\system32\\cmd.exe",
        cwd="C:\\Users\\x\\",
        sid="S-1-5-18",
        args=["C:\\Windows\\system32\\cmd.exe", "/c", '"echo hi"'],
        session_id=1,
        envs=[("PATH", "C:\\Windows"), ("LANG", "日本語")],
        handles=handles()[:3],
        pe=pe,
        start_time=Timestamp("2024-12-11T10:20:00.5+02:00"),
        uuid=0x1234,
        username="alice",
        domain="CORP",
        is_wow64=True,
        is_protected=True,
    )


def params_for(table: str) -> list[Param]:
    """Parameters of every type ``table`` can encode, with discriminating wire ids."""
    out = [
        Param("file_name", T.UNICODE, "C:\\Users\\Jürgen\\😀.txt"),
        Param("ansi", T.ANSI, "plain"),
        Param("i8", T.INT8, -128),
        Param("u8", T.UINT8, 255),
        Param("i16", T.INT16, -32768),
        Param("u16", T.UINT16, 65535),
        Param("i32", T.INT32, -2),
        Param("u32", T.UINT32, 4294967295),
        Param("i64", T.INT64, -(2**63)),
        Param("u64", T.UINT64, 2**64 - 1),
        Param("b", T.BOOL, True),
        Param("pid", T.PID, 4242),
        Param("tid", T.TID, 77),
        Param("dport", T.PORT, 443),
        Param("dip", T.IPV4, ipaddress.IPv4Address("10.1.0.164")),
        Param("dip6", T.IPV6, ipaddress.IPv6Address("2001:db8::1")),
        Param("t", T.TIME, Timestamp("2024-12-11T10:20:30.1234567+02:00")),
        Param("answers", T.SLICE, ["alpha", "", "βeta"], "s"),
        Param("bad_utf8", T.UNICODE, b"\xff\x00A".decode("utf-8", "surrogateescape")),
    ]
    if table == "2020":
        out += [
            Param("hex", T.HEX_INT64, 0xFFFF800012345678),
            Param("disposition", T.ENUM, 3),
            Param("sid", T.WBEM_SID, "NT AUTHORITY\\SYSTEM"),
            Param("f", T.FLOAT, 1.5),
            Param("d", T.DOUBLE, -2.25),
        ]
    else:
        out += [
            Param("enum", T.ENUM, 0xDEADBEEF),
            Param("path", T.PATH, "C:\\x.exe"),
            Param("status", T.STATUS, 0xC0000022),
            Param("flags", T.FLAGS, 128),
            Param("addr", T.ADDRESS, 0xFFFF800012345678),
            Param("sid", T.SID, bytes.fromhex("010100000000000512000000")),
        ]
        if table in ("2023a", "2023a-dev", "2023b"):
            out.append(Param("hex", T.HEX_INT32, 0xABCD))
        if table in ("2023b", "2023c"):
            out.append(Param("f64", T.FLAGS64, 2**63 + 1))
        if table != "2023a-dev":
            out.append(Param("bin", T.BINARY, b"\x00\x11\x22"))
        else:
            out.append(Param("bin", T.BINARY, b"\x00\x11\x22"))
    return out


def events(table: str, slices_u64: bool = False) -> list[Event]:
    ts = Timestamp("2024-12-11T10:20:00.1234567+02:00")
    prm = params_for(table)
    if slices_u64:
        prm.append(Param("callstack", T.SLICE, [140694844080128, 1, 0], "8"))
    return [
        Event(
            seq=1,
            pid=4242,
            tid=5151,
            cpu=3,
            type=CREATE_FILE,
            name="CreateFile",
            category="file",
            description="Creates or opens a file",
            host="HOST",
            timestamp=ts,
            params=prm,
            meta=[("foo", "bar"), ("ключ", "значение")],
        ),
        Event(
            seq=2,
            pid=4242,
            tid=5152,
            cpu=1,
            type=CREATE_PROCESS,
            name="CreateProcess",
            category="process",
            host="HOST",
            timestamp=Timestamp("2024-12-11T08:20:01Z"),
            params=[Param("pid", T.PID, 4243), Param("ppid", T.PID, 4242)],
            process=process(),
        ),
        Event(
            seq=3,
            pid=4243,
            tid=5153,
            cpu=0,
            type=SEND_TCP,
            name="Send",
            category="net",
            host="HOST",
            timestamp=Timestamp("2024-12-11T08:20:02.000000001Z"),
            params=[Param("size", T.UINT32, 77), Param("sport", T.PORT, 50123)],
        ),
    ]
