"""The live source's fast encoder writes exactly the bytes of the format layer's encoder."""

from __future__ import annotations

import ipaddress

import kcap
from kcap.format.encode import EventEncoder
from kcap.model import Event, Param, ParamType, Process
from kcap.sources.linux.encoding import SharedParamEncoder
from kcap.sources.linux.mapper import P
from kcap.sources.linux.taxonomy import KINDS, Clock, make_event


def events() -> list[Event]:
    clock = Clock()
    out = []
    for i in range(50):
        params = [
            P("pid", ParamType.PID, 100 + i % 3),
            P("file_path", ParamType.PATH, f"/tmp/f{i % 5}"),
            P("fd", ParamType.INT32, i % 7 - 1),
            P("io_size", ParamType.UINT32, i * 1000),
            P("dip", ParamType.IPV4, ipaddress.IPv4Address("10.0.0.1")),
            P("sid", ParamType.SID, b""),  # left out by both encoders
        ]
        ev = make_event(
            KINDS["WriteFile"], 100, 101 + i, i % 2, clock.stamp(i * 999_999), "h", params
        )
        ev.seq = i + 1
        out.append(ev)
    # shapes that take the slow path: metadata, an embedded process
    out.append(
        make_event(
            KINDS["CreateProcess"],
            1,
            1,
            0,
            clock.stamp(5),
            "h",
            [Param("pid", ParamType.PID, 7)],
            Process(pid=1),
            [("k", "v")],
        )
    )
    return out


def test_same_bytes_as_the_format_encoder() -> None:
    fast, ref = SharedParamEncoder(), EventEncoder()
    for ev in events() + events():  # the second round hits every cache
        assert fast.encode(ev) == ref.encode(ev)
    assert fast.notes.dropped_params == ref.notes.dropped_params > 0


def test_writer_accepts_the_fast_encoder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    w = kcap.new_writer(tmp_path / "x.kcap", encoder=SharedParamEncoder())
    w.write_all(events())
    w.close()
    with kcap.open(tmp_path / "x.kcap") as r:
        got = list(r.read(include_state=True))
    assert [e.param("io_size") for e in got[:50]] == [i * 1000 for i in range(50)]


def test_shared_parameter_sets_encode_like_fresh_ones() -> None:
    from kcap.sources.linux.mapper import shared_params

    clock = Clock()
    fast, ref = SharedParamEncoder(), EventEncoder()
    for i in range(20):
        shared = shared_params(
            ("test", i % 3),
            lambda i=i: [  # type: ignore[misc]
                P("pid", ParamType.PID, 7),
                P("handle_id", ParamType.UINT32, i % 3),
                P("handle_name", ParamType.UNICODE, f"/x/{i % 3}"),
            ],
        )
        ev = make_event(KINDS["CreateHandle"], 7, 8, 1, clock.stamp(i * 7919), "h", shared)
        ev.seq = i + 1
        assert fast.encode(ev) == ref.encode(ev)
        assert ev.param("handle_id") == i % 3
