"""The life cycle through `kcap replay -f`: hooks in order, the capture clock, filters."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import kcap
from kcap.cli.filament_opts import CLOCK_CHOICES
from kcap.filaments.clock import CLOCKS

from .helpers import lines, replay


@pytest.mark.parametrize("generation", ["kevent", "event"])
def test_hooks_run_in_order_and_ticks_follow_capture_time(live2022: Path, generation: str) -> None:
    # The capture runs 21:56:28.34 .. 21:57:28.01 (its highest time). With 10 s ticks from
    # the first record: ticks at :38 :48 :58 :08 :18, then one after the last event.
    result = replay(live2022, f"hook_trace,10,evt.name = 'CreateProcess',{generation}")
    assert result.exit_code == 0, result.stderr
    assert lines(result.stdout) == [
        f"init ['hook_trace', '10', \"evt.name = 'CreateProcess'\", '{generation}']",
        "tick",
        "event 37070 2022-08-15T21:56:41.884474",
        "tick",
        "tick",
        "tick",
        "event 52078 2022-08-15T21:57:11.923050",
        "tick",
        "tick",
        "stop",
    ]


def test_replay_is_deterministic(live2022: Path) -> None:
    first = replay(live2022, "hook_trace,1,kevt.category = 'net'")
    second = replay(live2022, "hook_trace,1,kevt.category = 'net'")
    assert first.exit_code == 0 and first.stdout == second.stdout
    # one tick per whole second of the capture (59 of them) plus the final one
    assert lines(first.stdout).count("tick") == 60


def test_state_only_and_zero_time_events(newest: Path) -> None:
    # seq 1010 is a state-only event: never delivered, but its time still moves the clock;
    # 1011 has Go's zero time, which does not.
    out = lines(replay(newest, "hook_trace,10").stdout)
    seqs = [int(line.split()[1]) for line in out if line.startswith("event")]
    with kcap.open(newest) as reader:
        assert seqs == [ev.seq for ev in reader.read()]
    assert 1010 not in seqs
    assert out[out.index("event 1009 2024-12-11T10:20:09.123456") + 1] == "tick"
    # 1013 (10:20:30.000000001 local) passes the tick of 10:20:20.12; then the final one
    assert out[-5:] == [
        "event 1012 2024-12-11T10:20:12.123456",
        "tick",
        "event 1013 2024-12-11T08:20:30",
        "tick",
        "stop",
    ]


def test_wall_clock_still_ticks_once_at_the_end(cap1: Path) -> None:
    out = lines(replay(cap1, "hook_trace,3600", "--filament-clock", "wall").stdout)
    assert out.count("tick") == 1 and out[-2:] == ["tick", "stop"]


def test_cli_clock_choices_are_the_library_ones() -> None:
    assert CLOCK_CHOICES == CLOCKS


def test_the_filament_filter_replaces_the_command_line_filter(live2022: Path) -> None:
    result = replay(live2022, "hook_trace,3600,kevt.name = 'CreateProcess'", "kevt.name = 'Recv'")
    assert result.exit_code == 0
    assert "replaces the command-line filter" in result.stderr
    assert sum(line.startswith("event") for line in lines(result.stdout)) == 2


def test_the_command_line_filter_applies_without_a_filament_filter(live2022: Path) -> None:
    result = replay(live2022, "hook_trace,3600", "kevt.name = 'Connect'")
    assert sum(line.startswith("event") for line in lines(result.stdout)) == 5


def test_limit_counts_delivered_events(live2022: Path) -> None:
    result = replay(live2022, "hook_trace,3600", "kevt.category = 'net'", "-n", "3")
    out = lines(result.stdout)
    assert sum(line.startswith("event") for line in out) == 3
    assert out[-2:] == ["tick", "stop"]


@pytest.mark.parametrize(
    ("hook", "keys"),
    [
        ("on_next_kevent", "kparams comm"),
        ("on_next_event", "params cmdline comm"),
    ],
)
def test_each_generation_gets_its_dictionary(
    newest: Path, tmp_path: Path, hook: str, keys: str
) -> None:
    script = tmp_path / "keys.py"
    script.write_text(f"def {hook}(e):\n    print(e['seq'], *e)\n")
    out = {line.split()[0]: line.split()[1:] for line in lines(replay(newest, str(script)).stdout)}
    header = ["seq", "pid", "tid", "cpu", "name", "category", "description", "host", "timestamp"]
    params_key = keys.split()[0]
    assert out["1000"] == [*header, params_key]
    with_state = ["ppid", "cwd", "exe", *keys.split()[1:], "sid"]
    assert out["1008"] == [*header, *with_state, params_key]


def test_a_truncated_capture_still_ends_the_run_properly(live2022: Path, tmp_path: Path) -> None:
    from tests.cli.captures import truncated

    cut = truncated(live2022, tmp_path / "cut.kcap", 1_000_000)  # cut inside a record
    result = replay(cut, "hook_trace,3600")
    assert result.exit_code == 1
    out = lines(result.stdout)
    with kcap.open(live2022) as reader:
        total = sum(1 for _ in reader.read())
    assert 0 < sum(line.startswith("event") for line in out) < total
    assert out[-2:] == ["tick", "stop"]  # what was read was handed over, then the end
    assert lines(result.stderr)[-1].startswith(f"kcap: error: {cut}")


def test_a_closed_pipe_ends_the_replay_quietly(live2022: Path) -> None:
    from tests.cli.captures import REPO

    from .helpers import SCRIPTS

    args = ["replay", str(live2022), "-f", "hook_trace", "--filament-path", str(SCRIPTS)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "kcap", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # as `| head -1` does
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0, err
    assert first.startswith(b"init")
    assert err == b""
