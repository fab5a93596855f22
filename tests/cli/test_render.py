"""Rendering of values and events for replay output."""

from __future__ import annotations

import ipaddress
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kcap import Event, Param, Params, ParamType, Process, Timestamp
from kcap.cli.render import event_dict, event_text, json_bytes, json_value, text_escape

INVALID = b"ok\xa0\xff-end".decode("utf-8", "surrogateescape")


def test_invalid_utf8_round_trips_through_json() -> None:
    data = json_bytes({"v": INVALID, "k": "Jürgen 日本"})
    data.decode("utf-8")  # the output itself is valid UTF-8
    assert b"\\udca0\\udcff" in data
    assert "Jürgen 日本".encode() in data  # other text is not escaped
    back = json.loads(data)
    assert back["v"].encode("utf-8", "surrogateescape") == b"ok\xa0\xff-end"


def test_text_escape_keeps_one_line_and_shows_bad_bytes() -> None:
    assert text_escape(INVALID) == "ok\\xa0\\xff-end"
    assert text_escape("a\nb\tc\x00") == "a\\nb\\tc\\x00"
    assert text_escape("C:\\Windows 日本") == "C:\\Windows 日本"


def test_json_values_by_type() -> None:
    assert json_value(18446744073709551615) == 18446744073709551615
    assert json_value(b"\x01\xab") == "01ab"
    assert json_value(ipaddress.IPv4Address("10.1.0.164")) == "10.1.0.164"
    assert json_value(ipaddress.IPv6Address("2001:db8::1")) == "2001:db8::1"
    assert json_value(Timestamp("2024-12-11T10:20:30.1234567+02:00")) == (
        "2024-12-11T10:20:30.1234567+02:00"
    )
    assert json_value(True) is True
    assert json_value(["a", "b"]) == ["a", "b"]
    assert json_value(float("nan")) == "nan" and json_value(float("-inf")) == "-inf"
    assert json_value(1.5) == 1.5


def _event() -> Event:
    ps = Process(
        pid=7, ppid=1, name="bash", exe="/usr/bin/bash", cmdline="bash -l", args=["bash", "-l"]
    )
    return Event(
        seq=5,
        pid=7,
        tid=8,
        cpu=1,
        name="CreateFile",
        category="file",
        host="h",
        timestamp=Timestamp("2024-01-01T00:00:00.5Z"),
        params=[
            Param("zeta", ParamType.UINT32, 3),
            Param("alpha", ParamType.PATH, "/tmp/x"),
            Param("dip", ParamType.IPV4, ipaddress.IPv4Address("1.2.3.4")),
        ],
        meta=[("k", "first"), ("other", "v"), ("k", "last")],
        ps=ps,
    )


def test_event_dict_shape() -> None:
    d = event_dict(_event())
    assert list(d) == [
        "seq",
        "pid",
        "tid",
        "cpu",
        "name",
        "category",
        "description",
        "host",
        "timestamp",
        "params",
        "meta",
        "ps",
    ]
    assert d["params"] == {"zeta": 3, "alpha": "/tmp/x", "dip": "1.2.3.4"}
    assert d["meta"] == {"k": "last", "other": "v"}  # a repeated key: the last wins
    assert d["ps"]["name"] == "bash" and d["ps"]["args"] == ["bash", "-l"]
    assert set(d["ps"]) == {
        "pid",
        "ppid",
        "name",
        "exe",
        "cmdline",
        "cwd",
        "sid",
        "args",
        "sessionid",
        "uuid",
    }
    ev = _event()
    ev.ps = None
    assert event_dict(ev)["ps"] is None


def test_event_text_follows_the_console_template() -> None:
    assert event_text(_event()) == (
        "5 2024-01-01T00:00:00.5Z - 1 bash (7) - CreateFile (alpha➜ /tmp/x, dip➜ 1.2.3.4, zeta➜ 3)"
    )


def test_event_json_same_bytes_with_or_without_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    import kcap.cli.render as render

    good = _event()
    bad = _event()
    bad.params = Params([Param("value", ParamType.ANSI, INVALID)])
    with_fast = [render.event_json(good), render.event_json(bad)]
    monkeypatch.setattr(render, "_fast_dumps", None)
    without = [render.event_json(good), render.event_json(bad)]
    assert with_fast == without
    assert with_fast[0] == json_bytes(event_dict(good))
    assert json.loads(with_fast[1])["params"]["value"] == INVALID


def test_repeated_parameter_name_keeps_the_first_value() -> None:
    ev = _event()
    ev.params = Params(
        [
            Param("a", ParamType.UINT32, 1),
            Param("b", ParamType.UINT32, 2),
            Param("a", ParamType.UINT32, 3),
        ]
    )
    assert event_dict(ev)["params"] == {"a": 1, "b": 2}


@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",))
        | st.sampled_from([chr(c) for c in range(0xDC80, 0xDD00)])
    )
)
def test_any_stored_string_round_trips_through_json_and_stays_utf8(s: str) -> None:
    data = json_bytes({"v": s})
    data.decode("utf-8")
    assert json.loads(data)["v"] == s
    line = text_escape(s)
    assert "\n" not in line and "\r" not in line
    line.encode("utf-8")  # printable text only: no lone surrogates left
