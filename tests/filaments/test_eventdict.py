"""The event dictionary: keys and their order in both generations, value shapes, names as
stored, timestamps."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import kcap
from kcap.filaments.eventdict import event_dict, kevent_dict, naive_datetime, printable
from kcap.model import Event, Param, ParamType, Process, Timestamp

HEADER_KEYS = ["seq", "pid", "tid", "cpu", "name", "category", "description", "host", "timestamp"]


def events(path: Path) -> dict[int, Event]:
    with kcap.open(path) as reader:
        return {ev.seq: ev for ev in reader.read()}


def test_keys_of_both_generations_in_upstream_order(newest: Path) -> None:
    evs = events(newest)
    with_state, without = evs[1008], evs[1000]
    assert list(kevent_dict(without)) == [*HEADER_KEYS, "kparams"]
    assert list(event_dict(without)) == [*HEADER_KEYS, "params"]
    process_keys = ["ppid", "cwd", "exe", "comm", "sid"]
    assert list(kevent_dict(with_state)) == [*HEADER_KEYS, *process_keys, "kparams"]
    later = ["ppid", "cwd", "exe", "cmdline", "comm", "sid"]
    assert list(event_dict(with_state)) == [*HEADER_KEYS, *later, "params"]


def test_process_keys_come_from_the_attached_state(newest: Path) -> None:
    d = kevent_dict(events(newest)[1008])
    assert d["exe"] == "cmd.exe"  # the image name, not the executable path
    assert d["comm"] == 'C:\\Windows\\system32\\cmd.exe /c "echo 日本語"'
    assert (d["ppid"], d["cwd"]) == (1337, "C:\\Users\\Jürgen\\")
    assert d["sid"] == "S-1-5-21-3541430928-2051711210-1391384369-1001"
    assert event_dict(events(newest)[1008])["cmdline"] == d["comm"]


def test_value_shapes_by_parameter_type(newest: Path) -> None:
    p: dict[str, Any] = kevent_dict(events(newest)[1000])["kparams"]
    # unsigned integers, pids, tids and ports are ints
    assert (p["u8"], p["u16"], p["u32"], p["u64"]) == (255, 65535, 4294967295, 2**64 - 1)
    assert (p["pid"], p["tid"], p["dport"], p["sport"]) == (4242, 4294967295, 443, 65535)
    # signed integers, booleans, IPs are text
    assert (p["i8"], p["i16"], p["i32_small"]) == ("-128", "-32768", "-2")
    assert p["i64"] == "-9223372036854775808"
    assert (p["b_true"], p["b_false"]) == ("true", "false")
    assert (p["sip"], p["sip6"], p["dip6"]) == (
        "10.1.0.164",
        "2001:db8::1",
        "fe80::1ff:fe23:4567:890a",
    )
    # times: naive datetimes of the recorded wall clock, microseconds truncated
    assert p["t_offset"] == datetime.datetime(2024, 12, 11, 10, 20, 30, 123456)
    assert p["t_utc"] == datetime.datetime(2024, 12, 11, 8, 20, 30)
    assert p["t_zero"] == datetime.datetime(1, 1, 1)
    assert p["t_offset"].tzinfo is None
    # addresses in hex, statuses and flags by name, strings as they are
    assert p["file_object"] == "fffff80012345678"
    assert p["status"] == "Access is denied"
    assert p["file_attributes"] == "NORMAL"
    assert p["file_name"] == "C:\\Users\\Jürgen\\日本語\\😀.txt"
    kinds = {type(v) for v in p.values()}
    assert kinds <= {int, str, datetime.datetime}


def test_more_value_shapes(newest: Path) -> None:
    evs = events(newest)
    assert kevent_dict(evs[1001])["kparams"]["f32"] == "1.500000"
    assert kevent_dict(evs[1002])["kparams"]["f64"] == "-2.250000"
    assert kevent_dict(evs[1004])["kparams"]["sid"] == "S-1-5-18"
    assert kevent_dict(evs[1006])["kparams"]["answers"] == "alpha,βeta,,x"
    assert kevent_dict(evs[1007])["kparams"]["callstack"] == "[140694844080128 1 0]"


def test_invalid_utf8_is_replaced_so_it_prints(newest: Path) -> None:
    value = kevent_dict(events(newest)[1012])["kparams"]["value"]
    assert value == "\ufffd\x00\ufffdA\ufffd"
    value.encode("utf-8")  # no lone surrogates left


def test_parameter_names_as_stored_in_a_2022_capture(live2022: Path) -> None:
    with kcap.open(live2022) as reader:
        create = next(ev for ev in reader.read() if ev.name == "CreateFile")
    p = kevent_dict(create)["kparams"]
    assert "file_name" in p and "file_path" not in p
    assert list(p) == list(create.params)  # stored order
    # the 2020 parameter table's one-byte enum and hex integers
    assert p["operation"] in {"SUPERSEDE", "OPEN", "CREATE", "OPEN_IF", "OVERWRITE", "OVERWRITE_IF"}
    assert p["file_object"] == format(create.params["file_object"].value, "x")
    assert event_dict(create)["params"] == p


def test_timestamp_is_the_recorded_wall_clock() -> None:
    ts = Timestamp("2022-08-27T19:14:37.7160819+02:00")
    assert naive_datetime(ts) == datetime.datetime(2022, 8, 27, 19, 14, 37, 716081)
    assert naive_datetime(Timestamp("garbage")) == datetime.datetime(1, 1, 1)
    assert naive_datetime(Timestamp("9999-12-31T23:59:59.9999999-01:00")) == datetime.datetime(
        9999, 12, 31, 23, 59, 59, 999999
    )


def test_a_fresh_dict_every_call() -> None:
    ev = Event(seq=1, name="X", params=[Param("a", ParamType.UINT32, 1)], ps=Process(pid=1))
    first = kevent_dict(ev)
    first["kparams"]["a"] = 99
    assert kevent_dict(ev)["kparams"]["a"] == 1


def test_printable() -> None:
    assert printable("plain") == "plain"
    assert printable("Jürgen") == "Jürgen"
    assert printable("a\udcffb\ud800") == "a\ufffdb\ufffd"
