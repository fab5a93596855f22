"""Hypothesis strategies for events, parameters, handles and process state (newest layout)."""

from __future__ import annotations

import ipaddress

from hypothesis import strategies as st

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

# Text including lone surrogates, which is how invalid UTF-8 bytes are kept (surrogateescape).
raw_text = st.binary(max_size=40).map(lambda b: b.decode("utf-8", "surrogateescape"))
text = st.one_of(st.text(max_size=30), raw_text)
u = lambda bits: st.integers(0, 2**bits - 1)  # noqa: E731
i = lambda bits: st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)  # noqa: E731
timestamps = st.builds(
    Timestamp.from_ns,
    st.integers(0, 4102444800 * 10**9),
    st.integers(-14 * 4, 14 * 4).map(lambda q: q * 900),
)

# Types the newest writer stores under their own id, with their value strategies.
VALUES = {
    T.UNICODE: text,
    T.ANSI: text,
    T.PATH: text,
    T.INT8: i(8),
    T.UINT8: u(8),
    T.INT16: i(16),
    T.UINT16: u(16),
    T.INT32: i(32),
    T.UINT32: u(32),
    T.INT64: i(64),
    T.UINT64: u(64),
    T.BOOL: st.booleans(),
    T.BINARY: st.binary(max_size=40),
    T.SID: st.binary(min_size=1, max_size=40),
    T.WBEM_SID: st.binary(min_size=1, max_size=40),
    T.PID: u(32),
    T.TID: u(32),
    T.PORT: u(16),
    T.IPV4: st.builds(ipaddress.IPv4Address, u(32)),
    T.IPV6: st.builds(ipaddress.IPv6Address, u(128)),
    T.TIME: timestamps,
    T.ENUM: u(32),
    T.STATUS: u(32),
    T.FLAGS: u(32),
    T.FLAGS64: u(64),
    T.ADDRESS: u(64),
}


@st.composite
def params(draw: st.DrawFn) -> list[Param]:
    names = draw(st.lists(st.text(min_size=1, max_size=12), max_size=8, unique=True))
    out = []
    for name in names:
        kind = draw(st.sampled_from([*VALUES, "slice_s", "slice_8"]))
        if kind == "slice_s":
            out.append(Param(name, T.SLICE, draw(st.lists(text, max_size=5)), "s"))
        elif kind == "slice_8":
            out.append(Param(name, T.SLICE, draw(st.lists(u(64), max_size=5)), "8"))
        else:
            out.append(Param(name, kind, draw(VALUES[kind])))
    return out


handle_meta = st.one_of(
    st.none(),
    st.builds(AlpcInfo, u(32), u(32), u(64)),
    st.builds(MutantInfo, i(32), st.booleans()),
    st.builds(FileInfo, st.booleans()),
    st.just(UnknownInfo()),
)
handles = st.builds(Handle, u(64), u(64), u(32), text, text, handle_meta)
pes = st.builds(
    PE,
    nsections=u(16),
    nsymbols=u(32),
    image_base=text,
    entrypoint=text,
    link_time=timestamps,
    sections=st.lists(
        st.builds(PESection, u(32), st.floats(allow_nan=False), text, text), max_size=3
    ),
    symbols=st.lists(text, max_size=3),
    imports=st.lists(text, max_size=3),
    version_resources=st.lists(st.tuples(text, text), max_size=3),
    is_signed=st.booleans(),
    is_trusted=st.booleans(),
    cert=st.one_of(st.none(), st.builds(Certificate, timestamps, timestamps, text, text, text)),
    is_driver=st.booleans(),
    is_dll=st.booleans(),
    is_executable=st.booleans(),
    is_dotnet=st.booleans(),
    imphash=text,
    anomalies=st.lists(text, max_size=3),
)
processes = st.builds(
    Process,
    pid=u(32),
    ppid=u(32),
    name=text,
    cmdline=text,
    exe=text,
    cwd=text,
    sid=text,
    args=st.lists(text, max_size=4),
    session_id=u(32),
    envs=st.lists(st.tuples(text, text), max_size=4),
    handles=st.lists(handles, max_size=3),
    pe=st.one_of(st.none(), pes),
    start_time=timestamps,
    uuid=u(64),
    username=text,
    domain=text,
    is_wow64=st.booleans(),
    is_packaged=st.booleans(),
    is_protected=st.booleans(),
)
events = st.builds(
    Event,
    seq=u(64),
    pid=u(32),
    tid=u(32),
    cpu=u(8),
    type=st.binary(min_size=18, max_size=18),
    name=text,
    category=text,
    description=text,
    host=text,
    timestamp=timestamps,
    params=params(),
    meta=st.lists(st.tuples(text, text), max_size=3),
    process=st.one_of(st.none(), processes),
)
