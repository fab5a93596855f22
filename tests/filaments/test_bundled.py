"""The filaments shipped with kcap, over the Fibratus fixtures, against the reader's events."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import kcap
from kcap.filaments import BUNDLED, discover

from .helpers import lines, replay


def frames(text: str) -> list[list[str]]:
    """The tables of an output, each as its lines (a frame starts at a top-left corner)."""
    out: list[list[str]] = []
    for line in lines(text):
        if line.startswith("┌") and (not out or out[-1][-1].startswith("└")):
            out.append([])
        if out and not (out[-1] and out[-1][-1].startswith("└") and line == ""):
            out[-1].append(line)
    return out


def rows(frame: list[str]) -> list[list[str]]:
    """The data rows of one frame (every page), cells stripped."""
    out, in_data = [], False
    for line in frame:
        if line.startswith("├") and "┼" in line:
            in_data = True
        elif line.startswith("└"):
            in_data = False
        elif in_data and line.startswith("│"):
            out.append([cell.strip() for cell in line.split("│")[1:-1]])
    return out


def test_every_bundled_filament_is_listed_with_a_description() -> None:
    listed = {f.file.name: f.description for f in discover([BUNDLED])}
    assert set(listed) == {p.stem for p in BUNDLED.glob("*.py")}
    assert all(listed.values())


def test_count_events_by_name(live2022: Path) -> None:
    result = replay(live2022, "count_events")
    assert result.exit_code == 0, result.stderr
    (frame,) = frames(result.stdout)
    assert frame[1] == "│ NAME               │ EVENTS │"
    counted = {name: int(n) for name, n in rows(frame)}
    with kcap.open(live2022) as reader:
        assert counted == Counter(ev.name for ev in reader.read())
    numbers = [int(n) for _, n in rows(frame)]
    assert numbers == sorted(numbers, reverse=True)


def test_count_events_by_another_key_with_nil_for_missing_state(newest: Path) -> None:
    (frame,) = frames(replay(newest, "count_events,exe").stdout)
    counted = dict(rows(frame))
    with kcap.open(newest) as reader:
        names = Counter(ev.ps.name if ev.ps else "<nil>" for ev in reader.read())
    assert counted == {k: str(v) for k, v in names.items()}


def test_top_registry_keys_redrawn_every_interval_of_capture_time(live2022: Path) -> None:
    result = replay(live2022, "top_registry_keys,3,20")
    assert result.exit_code == 0, result.stderr
    tables = frames(result.stdout)
    # 59.7 s of capture: ticks at +20 s and +40 s, and one after the last event
    assert len(tables) == 3
    assert tables[-1][1].split("│")[1].strip() == "Top 3 registry keys by operations"
    with kcap.open(live2022) as reader:
        keys = Counter(
            ev.params.value("key_name") for ev in reader.read() if ev.category == "registry"
        )
    shown = rows(tables[-1])
    assert [int(n) for _, n in shown] == sorted(keys.values(), reverse=True)[:3]
    assert all(keys[key] == int(n) for key, n in shown)


def test_net_peers_sums_bytes_per_process_and_destination(live2022: Path) -> None:
    result = replay(live2022, "net_peers,3600")
    assert result.exit_code == 0, result.stderr
    (table,) = frames(result.stdout)
    sent: Counter[tuple[str, str]] = Counter()
    received: Counter[tuple[str, str]] = Counter()
    with kcap.open(live2022) as reader:
        for ev in reader.read():
            if ev.name in ("Send", "Recv"):
                key = (
                    ev.ps.name if ev.ps else f"pid {ev.pid}",
                    f"{ev.params.value('dip')}:{ev.params.value('dport')}",
                )
                (sent if ev.name == "Send" else received)[key] += ev.params.value("size")
    shown = {(p, r): (int(s), int(v)) for p, r, s, v in rows(table)}
    assert shown == {k: (sent[k], received[k]) for k in sent.keys() | received.keys()}
    # 20 rows a page: a table of more rows is drawn as several pages
    pages = sum(line.startswith("└") for line in table)
    assert pages == (len(shown) + 19) // 20


def test_shell_spawns_alerts(newest: Path, tmp_path: Path) -> None:
    out = tmp_path / "alerts.jsonl"
    result = replay(newest, "shell_spawns", "--alerts", str(out))
    assert result.exit_code == 0, result.stderr
    (alert,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert alert == {
        "filament": "shell_spawns",
        "title": "cmd.exe started by cmd.exe",
        "text": 'cmd.exe started C:\\Windows\\system32\\cmd.exe /c "echo 日本語"',
        "severity": "high",
        "tags": ["execution", "T1059"],
        "hook": "on_next_event",
        "seq": 1008,
        "timestamp": "2024-12-11T10:20:08.1234567+02:00",
    }
    # (the synthetic capture's process events lack a few parameters: a note line says so)
    assert [line for line in lines(result.stderr) if not line.startswith("kcap: note:")] == [
        "kcap: alert: shell_spawns: high: cmd.exe started by cmd.exe: cmd.exe started "
        'C:\\Windows\\system32\\cmd.exe /c "echo 日本語" [execution, T1059] (event 1008)'
    ]


def test_process_tree_uses_the_full_event(live2022: Path) -> None:
    out = lines(replay(live2022, "process_tree").stdout)
    with kcap.open(live2022) as reader:
        created = [ev for ev in reader.read() if ev.name == "CreateProcess"]
    assert len(out) == len(created) == 2
    for line, ev in zip(out, created):
        assert ev.ps is not None
        chain = f"{ev.ps.name}({ev.ps.pid})"
        assert line.startswith(ev.timestamp.text + " ")
        assert line.endswith(f"{chain} > {ev.params.value('name')}({ev.params.value('pid')})")
