"""Filters on the 2022 live capture: counts equal those of hand-written Python predicates.

Each case pairs an expression with a plain predicate over the decoded event (its header,
parameters and attached process state, as the capture stores them — 2022 parameter names such
as ``file_name`` and ``key_name``). Both are evaluated on the same replay pass, so both see the
process state as it is at that event.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path

import pytest

import kcap
from kcap.filter import compile
from kcap.model import Event

Pred = Callable[[Event], bool]


def p(ev: Event, name: str) -> object:
    return ev.params.value(name)


def base_name(path: str) -> str:
    """Last component of a Windows path (trailing separators ignored, '' -> '.')."""
    if not path:
        return "."
    if len(path) >= 2 and path[1] == ":":
        path = path[2:]
    path = path.rstrip("\\/")
    if not path:
        return "\\"
    return path.replace("/", "\\").rsplit("\\", 1)[-1]


def extension(path: str) -> str:
    name = base_name(path) if path else ""
    dot = name.rfind(".")
    return name[dot:] if dot >= 0 else ""


def is_cat(ev: Event, cat: str) -> bool:
    return ev.category == cat


def ps_name(ev: Event) -> str | None:
    return ev.ps.name if ev.ps is not None else None


def ancestors(ev: Event) -> list[str]:
    out = []
    cur = ev.ps.parent if ev.ps is not None else None
    while cur is not None:
        out.append(cur.name)
        cur = cur.parent
    return out


def key_name(ev: Event) -> str:
    # Trailing separators are ignored, as for every path field.
    path = str(p(ev, "key_name") or "").rstrip("\\")
    parts = path.split("\\")
    if ev.name == "RegSetValue":
        parts = parts[:-1] or ["."]
    return parts[-1] if parts and parts[-1] else "."


SVC = frozenset({"svchost.exe", "MsMpEng.exe"})
TEN = ipaddress.ip_network("10.0.0.0/8")

CASES: list[tuple[str, Pred]] = [
    ("kevt.name = 'CreateFile'", lambda e: e.name == "CreateFile"),
    ("kevt.category in ('file', 'registry')", lambda e: e.category in ("file", "registry")),
    ("kevt.pid = 4 and kevt.cpu <= 1", lambda e: e.pid == 4 and e.cpu <= 1),
    ("evt.tid > 5000 or kevt.seq < 100", lambda e: e.tid > 5000 or e.seq < 100),
    (
        "kevt.name = 'RegOpenKey' and registry.status = 'key not found'",
        lambda e: e.name == "RegOpenKey" and p(e, "status") == "key not found",
    ),
    (
        "registry.path istartswith 'HKEY_LOCAL_MACHINE\\\\SOFTWARE\\\\Classes'",
        lambda e: (
            is_cat(e, "registry")
            and str(p(e, "key_name") or "")
            .lower()
            .startswith("hkey_local_machine\\software\\classes")
        ),
    ),
    (
        "registry.key.name startswith '{'",
        lambda e: is_cat(e, "registry") and key_name(e).startswith("{"),
    ),
    (
        "file.name iendswith '.dll'",
        lambda e: (
            is_cat(e, "file") and base_name(str(p(e, "file_name") or "")).lower().endswith(".dll")
        ),
    ),
    (
        "file.extension in ('.exe', '.dll', '.sys')",
        lambda e: (
            is_cat(e, "file")
            and extension(str(p(e, "file_name") or "")) in (".exe", ".dll", ".sys")
        ),
    ),
    (
        "kevt.name = 'CreateFile' and file.operation = 'OPEN'",
        lambda e: e.name == "CreateFile" and p(e, "operation") == 1,
    ),
    (
        "file.io.size >= 4096",
        lambda e: (
            is_cat(e, "file") and isinstance(p(e, "io_size"), int) and p(e, "io_size") >= 4096
        ),  # type: ignore[operator]
    ),
    (
        "file.path matches 'C:\\\\Windows\\\\*'",
        lambda e: is_cat(e, "file") and str(p(e, "file_name") or "").startswith("C:\\Windows\\"),
    ),
    ("net.dport in (80, 443)", lambda e: is_cat(e, "net") and p(e, "dport") in (80, 443)),
    (
        "net.dip = 13.107.42.16",
        lambda e: is_cat(e, "net") and p(e, "dip") == ipaddress.IPv4Address("13.107.42.16"),
    ),
    (
        "net.sip in (10.0.0.0/8) and net.dport != 443",
        lambda e: is_cat(e, "net") and p(e, "sip") in TEN and p(e, "dport") != 443,
    ),
    ("net.l4.proto = 'UDP'", lambda e: is_cat(e, "net") and p(e, "l4_proto") == 2),
    (
        "kevt.name = 'CreateHandle' and handle.type = 'Key'",
        lambda e: e.name == "CreateHandle" and p(e, "handle_type") == "Key",
    ),
    (
        "handle.name icontains 'current_user'",
        lambda e: is_cat(e, "handle") and "current_user" in str(p(e, "handle_name")).lower(),
    ),
    ("ps.name ~= 'SVCHOST.EXE'", lambda e: (ps_name(e) or "").casefold() == "svchost.exe"),
    (
        "ps.name in ('svchost.exe', 'MsMpEng.exe') and not kevt.category = 'handle'",
        lambda e: ps_name(e) in SVC and e.category != "handle",
    ),
    (
        "ps.parent.name = 'services.exe'",
        lambda e: (
            e.ps is not None and e.ps.parent is not None and e.ps.parent.name == "services.exe"
        ),
    ),
    (
        "ps.ancestor[any].name contains 'wininit'",
        lambda e: any("wininit" in n for n in ancestors(e)),
    ),
    (
        "ps.envs in ('ANT_HOME') and ps.envs[ANDROID_NDK] != ''",
        lambda e: (
            e.ps is not None
            and any(k == "ANT_HOME" for k, _ in e.ps.envs)
            and next((v for k, v in e.ps.envs if k.startswith("ANDROID_NDK")), "") != ""
        ),
    ),
    ("ps.sessionid = 1", lambda e: e.ps is not None and e.ps.session_id == 1),
    (
        "thread.prio > 8",
        lambda e: (
            is_cat(e, "thread") and isinstance(p(e, "base_prio"), int) and p(e, "base_prio") > 8
        ),  # type: ignore[operator]
    ),
    (
        "thread.start_address startswith '7ff'",
        lambda e: (
            is_cat(e, "thread")
            and p(e, "entrypoint") is not None
            and format(p(e, "entrypoint"), "x").startswith("7ff")
        ),
    ),
    (
        "image.name iendswith '.exe'",
        lambda e: is_cat(e, "image") and base_name(str(p(e, "file_name"))).lower().endswith(".exe"),
    ),
    (
        "ps.access.mask.names in ('ALL_ACCESS')",
        lambda e: e.name == "OpenProcess" and "ALL_ACCESS" in (p(e, "desired_access_names") or []),
    ),
    (
        "length(file.path) > 100",
        lambda e: is_cat(e, "file") and len(str(p(e, "file_name") or "")) > 100,
    ),
    (
        "kevt.category = 'net' and kevt.time.s < 30",
        lambda e: e.category == "net" and int(e.timestamp.text[17:19]) < 30,
    ),
    (
        "regex(registry.path, 'Services\\\\\\\\W32Time')",
        lambda e: is_cat(e, "registry") and "Services\\W32Time" in str(p(e, "key_name") or ""),
    ),
    (
        "not (kevt.category = 'registry' or kevt.category = 'handle')",
        lambda e: e.category not in ("registry", "handle"),
    ),
    ("ps.child.name = 'wsl.exe'", lambda e: is_cat(e, "process") and p(e, "name") == "wsl.exe"),
    (
        "ps.modules icontains ('ntdll')",
        lambda e: e.ps is not None and any("ntdll" in m.name.lower() for m in e.ps.modules),
    ),
]


@pytest.fixture(scope="module")
def counts(request: pytest.FixtureRequest) -> dict[str, tuple[int, int]]:
    path = Path(request.config.rootpath).parent / "shared/fixtures/fibratus/test-live-2022.kcap"
    if not path.exists():
        pytest.skip(f"fixture {path} is absent (../shared is not beside the checkout)")
    filters = [(expr, compile(expr), pred) for expr, pred in CASES]
    got = {expr: [0, 0] for expr, _ in CASES}
    with kcap.open(path) as reader:
        for ev in reader.read():
            for expr, flt, pred in filters:
                if flt(ev):
                    got[expr][0] += 1
                if pred(ev):
                    got[expr][1] += 1
    return {k: (v[0], v[1]) for k, v in got.items()}


@pytest.mark.parametrize("expr", [expr for expr, _ in CASES])
def test_count_matches_python_predicate(expr: str, counts: dict[str, tuple[int, int]]) -> None:
    by_filter, by_predicate = counts[expr]
    assert by_filter == by_predicate


def test_the_cases_are_not_trivial(counts: dict[str, tuple[int, int]]) -> None:
    nonzero = [expr for expr, (n, _) in counts.items() if n > 0]
    assert len(nonzero) == len(CASES), counts


def test_reader_set_filter_string_replays_only_matches(live2022: Path) -> None:
    with kcap.open(live2022) as reader:
        reader.set_filter("kevt.name = 'CreateFile' and file.name iendswith '.dll'")
        names = {
            (ev.name, base_name(str(ev.param("file_name"))).lower()[-4:]) for ev in reader.read()
        }
        dropped = reader.stats.dropped_by_filter
    assert names == {("CreateFile", ".dll")}
    assert dropped > 50_000
