"""Rules written for the Linux taxonomy, over a capture of Linux events written by kcap."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from rule_kit import at, write_rules

import kcap
import kcap.rules
from kcap.model import Param, Process
from kcap.sources.linux.taxonomy import KINDS, PID, STR, TIME, U32, make_event

HOST = "web01"

RULES = [
    (
        "spawn_process and ps.name = 'sh' and ps.parent.name in ('nginx', 'php-fpm')",
        {"name": "Web server spawns a shell", "severity": "high", "output": "%ps.cmdline"},
    ),
    (
        "sequence maxspan 30s by ps.uuid "
        "|evt.name = 'CreateFile' and file.path = '/etc/shadow'| "
        "|connect_socket and net.dport = 4444|",
        {"name": "Shadow read then callback", "severity": "critical"},
    ),
    (
        "evt.name = 'CreateFile' and file.path imatches '/tmp/*.sh' and ps.exe != '/usr/bin/bash'",
        {"name": "Script dropped in /tmp"},
    ),
]


def _linux_capture(path: Path) -> dict[str, int]:
    nginx = Process(pid=100, ppid=1, name="nginx", exe="/usr/sbin/nginx", cmdline="nginx")
    seqs: dict[str, int] = {}
    events = []

    def add(label: str, ev: object) -> None:
        events.append((label, ev))

    rundown = make_event(
        KINDS["ProcessRundown"],
        100,
        100,
        0,
        at(0),
        HOST,
        [Param("pid", PID, 100), Param("ppid", PID, 1), Param("name", STR, "nginx")],
        process=nginx,
    )
    add("rundown", rundown)
    for label, t, child, name, cmd in (
        ("shell", 1, 200, "sh", "sh -c id"),
        ("worker", 2, 201, "nginx", "nginx: worker"),
    ):
        add(
            label,
            make_event(
                KINDS["CreateProcess"],
                100,
                100,
                0,
                at(t),
                HOST,
                [
                    Param("pid", PID, child),
                    Param("ppid", PID, 100),
                    Param("name", STR, name),
                    Param("cmdline", STR, cmd),
                    Param("exe", STR, f"/usr/bin/{name}"),
                    Param("start_time", TIME, at(t)),
                    Param("sid", STR, ""),
                    Param("session_id", U32, 0),
                    Param("flags", U32, 0),
                ],
                process=nginx,
            ),
        )

    def file_ev(label: str, t: float, pid: int, p: str) -> None:
        add(
            label,
            make_event(KINDS["CreateFile"], pid, pid, 0, at(t), HOST, [Param("file_path", STR, p)]),
        )

    file_ev("shadow", 3, 200, "/etc/shadow")
    file_ev("script", 4, 200, "/tmp/x.sh")
    file_ev("shadow_other", 5, 201, "/etc/shadow")
    for label, t, pid, port in (("callback", 6, 200, 4444), ("other_callback", 7, 201, 443)):
        add(
            label,
            make_event(
                KINDS["Connect/tcp4"],
                pid,
                pid,
                0,
                at(t),
                HOST,
                [
                    Param("pid", PID, pid),
                    Param("dip", kcap.ParamType.IPV4, ipaddress.IPv4Address("203.0.113.9")),
                    Param("dport", kcap.ParamType.PORT, port),
                ],
            ),
        )
    w = kcap.new_writer(path, config=kcap.Config(flush_period=0))
    for i, (label, ev) in enumerate(events, 1):
        ev.seq = i  # type: ignore[attr-defined]
        seqs[label] = i
        w.write(ev)  # type: ignore[arg-type]
    w.close()
    return seqs


def test_linux_rules_fire_on_a_linux_capture(tmp_path: Path) -> None:
    capture = tmp_path / "linux.kcap"
    seqs = _linux_capture(capture)
    ruleset = kcap.rules.load([write_rules(tmp_path, *RULES)])
    alerts = list(kcap.rules.detect(capture, ruleset))
    got = sorted((a.rule.name, tuple(e.seq for e in a.events)) for a in alerts)
    assert got == [
        ("Script dropped in /tmp", (seqs["script"],)),
        ("Shadow read then callback", (seqs["shadow"], seqs["callback"])),
        ("Web server spawns a shell", (seqs["shell"],)),
    ]
    shell = next(a for a in alerts if a.rule.name == "Web server spawns a shell")
    assert shell.text == "sh -c id"
    assert shell.events[0].pid == 200 and shell.events[0].ps.parent.name == "nginx"  # type: ignore[union-attr]
