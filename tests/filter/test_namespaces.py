"""Fields of every namespace on hand-built events of the newest and the 2022 layouts."""

from __future__ import annotations

import ipaddress

import pytest
from filter_events import ev

from kcap.filter import compile
from kcap.model import Event, Param, Process, Timestamp
from kcap.model.params import ParamType as T


def match(expr: str, event: Event) -> bool:
    return compile(expr)(event)


def thread_event(old: bool) -> Event:
    start = "entrypoint" if old else "start_address"
    return ev(
        "CreateThread",
        [
            Param("pid", T.PID, 6992),
            Param("tid", T.TID, 1792),
            Param("base_prio", T.UINT8, 6),
            Param("io_prio", T.UINT8, 1),
            Param("page_prio", T.UINT8, 2),
            Param("kstack", T.HEX_INT64 if old else T.ADDRESS, 0xFFFFF80A1C2B3000),
            Param("kstack_limit", T.HEX_INT64 if old else T.ADDRESS, 0xFFFFF80A1C2B0000),
            Param("ustack", T.HEX_INT64 if old else T.ADDRESS, 0x7A77E00000),
            Param("ustack_limit", T.HEX_INT64 if old else T.ADDRESS, 0x7A77DFC000),
            Param(start, T.HEX_INT64 if old else T.ADDRESS, 0x7FFE2557FF80),
            Param("teb", T.ADDRESS, 0x7A77C6E000),
        ],
    )


@pytest.mark.parametrize("old", [False, True])
def test_thread_fields(old: bool) -> None:
    e = thread_event(old)
    assert match("thread.pid = 6992 and thread.prio = 6 and thread.io.prio = 1", e)
    assert match("thread.page.prio = 2 and thread.kstack.base = 'fffff80a1c2b3000'", e)
    assert match(
        "thread.kstack.limit = 'fffff80a1c2b0000' and thread.ustack.base = '7a77e00000'", e
    )
    assert match("thread.ustack.limit = '7a77dfc000' and thread.start_address = '7ffe2557ff80'", e)
    assert match("thread.entrypoint = thread.start_address", e)
    assert match("thread.teb_address = '7a77c6e000'", e)
    assert not match("file.name = 'x' or registry.path = 'x' or net.dport = 1", e)


def test_open_thread_access() -> None:
    e = ev(
        "OpenThread",
        [Param("desired_access", T.FLAGS, 0x1FFFFF), Param("status", T.STATUS, 0xC0000022)],
    )
    assert match("thread.access.mask.names in ('ALL_ACCESS')", e)
    assert match("thread.access.mask = '0x1fffff'", e)
    assert match("thread.access.status = 'Access is denied'", e)
    old = ev(
        "OpenThread",
        [
            Param("desired_access", T.ANSI, "0x1fffff"),
            Param("desired_access_names", T.SLICE, ["ALL_ACCESS"]),
            Param("status", T.UNICODE, "success"),
        ],
    )
    assert match(
        "thread.access.mask.names in ('ALL_ACCESS') and thread.access.mask = '0x1fffff'", old
    )


def test_image_fields() -> None:
    e = ev(
        "LoadImage",
        [
            Param("file_path", T.UNICODE, "C:\\Windows\\System32\\ntdll.dll"),
            Param("base_address", T.ADDRESS, 0x7FFE25A50000),
            Param("default_address", T.ADDRESS, 0x7FFE25A50000),
            Param("image_size", T.UINT64, 2101248),
            Param("checksum", T.UINT32, 2078587),
            Param("pid", T.PID, 7012),
            Param("signature_type", T.ENUM, 1),
            Param("signature_level", T.ENUM, 8),
            Param("is_dll", T.BOOL, True),
        ],
    )
    assert match("image.name = 'ntdll.dll' and image.path iendswith 'system32\\\\ntdll.dll'", e)
    assert match(
        "image.base.address = '7ffe25a50000' and image.default.address = '7ffe25a50000'", e
    )
    assert match("image.size = 2101248 and image.checksum = 2078587 and image.pid = 7012", e)
    assert match("image.signature.type = 'EMBEDDED' and image.signature.level = 'MICROSOFT'", e)
    assert match("image.is_dll and not image.is_driver = true and pe.is_dll", e)


def test_handle_fields_both_generations() -> None:
    new = ev(
        "CreateHandle",
        [
            Param("handle_id", T.UINT32, 436),
            Param("handle_object", T.ADDRESS, 0xFFFF8A0C1D2E3F40),
            Param("handle_name", T.UNICODE, "\\REGISTRY\\MACHINE"),
            Param("type_id", T.UNICODE, "Key"),
        ],
    )
    old = ev(
        "CreateHandle",
        [
            Param("handle_id", T.UINT32, 436),
            Param("handle_object", T.HEX_INT64, 0xFFFF8A0C1D2E3F40),
            Param("handle_name", T.ANSI, "\\REGISTRY\\MACHINE"),
            Param("handle_type", T.ANSI, "Key"),
        ],
    )
    f = compile(
        "handle.id = 436 and handle.object = 18446614383366651712 and handle.type = 'Key'"
        " and handle.name istartswith '\\\\registry'"
    )
    assert f(new) and f(old)


def test_registry_value_type_from_text_or_enum() -> None:
    text = ev(
        "RegSetValue",
        [
            Param("key_name", T.UNICODE, "HKEY_CURRENT_USER\\x\\v"),
            Param("type", T.ANSI, "REG_QWORD"),
            Param("value", T.UINT64, 5),
        ],
    )
    enum = ev(
        "RegSetValue",
        [
            Param("key_path", T.UNICODE, "HKEY_CURRENT_USER\\x\\v"),
            Param("value_type", T.ENUM, 11),
            Param("value", T.UINT64, 5),
        ],
    )
    f = compile("registry.value.type = 'QWORD' and registry.value = 5 and registry.key.name = 'x'")
    assert f(text) and f(enum)


def test_net_fields() -> None:
    e = ev(
        "Recv",
        [
            Param("sip", T.IPV4, ipaddress.ip_address("10.1.0.164")),
            Param("dip", T.IPV4, ipaddress.ip_address("13.107.42.16")),
            Param("sport", T.PORT, 56364),
            Param("dport", T.PORT, 443),
            Param("dport_name", T.ANSI, "https"),
            Param("l4_proto", T.ENUM, 1),
            Param("size", T.UINT32, 600),
            Param("sip_names", T.SLICE, ["fv-az140-576.internal.cloudapp.net"]),
        ],
    )
    assert match("net.dport.name = 'https' and net.l4.proto = 'TCP' and net.size > 500", e)
    assert match("net.sip.names iendswith ('.cloudapp.net') and net.sport > 50000", e)
    assert not match("net.dip.names in ('x')", e)


def test_process_event_params_2022_layout() -> None:
    e = ev(
        "TerminateProcess",
        [
            Param("pid", T.PID, 7012),
            Param("ppid", T.PID, 6540),
            Param("name", T.ANSI, "wsl.exe"),
            Param("comm", T.UNICODE, "wsl -u root -e ls"),
            Param("session_id", T.UINT32, 1),
            Param("sid", T.WBEM_SID, "fv-az140-576\\runneradmin"),
        ],
        ps=Process(pid=6540, name="bash.exe"),
    )
    assert match("ps.child.cmdline = 'wsl -u root -e ls' and ps.child.args in ('root')", e)
    assert match("ps.child.sid = 'fv-az140-576\\\\runneradmin' and ps.child.sessionid = 1", e)
    assert match("ps.sibling.name = 'wsl.exe' and ps.name = 'bash.exe'", e)


def test_kevt_arg_types() -> None:
    e = ev(
        "CreateFile",
        [
            Param("pid", T.PID, 3434),
            Param("file_object", T.ADDRESS, 0xFFFFA0),
            Param("start_time", T.TIME, Timestamp("2024-01-01T00:00:00Z")),
            Param("share_mask", T.FLAGS, 7),
            Param("status", T.STATUS, 0),
        ],
    )
    assert match("kevt.arg[pid] > 3000 and kevt.arg[file_object] = 'ffffa0'", e)
    assert match("kevt.arg[share_mask] = 'READ|WRITE|DELETE' and kevt.arg[status] = 'Success'", e)
    assert not match("kevt.arg[start_time] = '2024-01-01T00:00:00Z'", e)  # times never compare
    assert not match("kevt.arg[nope] = ''", e)


def test_file_info_class_stored_as_text() -> None:
    e = ev(
        "SetFileInformation", [Param("class", T.ANSI, "EOF"), Param("extra_info", T.UINT64, 4096)]
    )
    assert match("file.info_class = 'EOF' and file.info.eof_size = 4096", e)
    assert not match("file.info.allocation_size = 4096", e)


def test_time_and_date_fields_use_the_recorded_offset() -> None:
    e = ev("CreateFile", [], timestamp=Timestamp("2022-08-27T19:14:37.7160819+02:00"))
    assert match("kevt.time = '19:14:37' and kevt.time.h = 19 and kevt.date = '2022-08-27'", e)
    assert match("kevt.date.tz = '+02:00' and kevt.date.weekday = 'Saturday'", e)
    assert match("kevt.date.week = 34 and kevt.time.ns = 1661620477716081900", e)
