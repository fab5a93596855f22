"""`kcap capture -f`: a filament on this machine's live events (root, eBPF)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.captures import REPO
from tests.sources.live_support import bpf_objects_of, released, require_live, wait_until

pytestmark = pytest.mark.live

SCRIPT = '''"""Prints the processes started and the ticks."""


def on_init():
    kfilter("kevt.name = 'CreateProcess'")
    interval(1)


def on_next_kevent(kevent):
    print("started", kevent["kparams"]["pid"], kevent["kparams"]["name"], flush=True)


def on_interval():
    print("tick", flush=True)


def on_stop():
    print("stop", flush=True)
'''


def test_a_filament_sees_live_process_starts(tmp_path: Path) -> None:
    require_live()
    script = tmp_path / "starts.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "kcap", "capture", "-f", str(script), "--events", "process"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert proc.stderr is not None
        ready = proc.stderr.readline()
        assert ready.startswith("running filament starts on live events"), ready
        progs, maps = bpf_objects_of(proc.pid)
        children = []
        for _ in range(3):
            child = subprocess.Popen(["/bin/true"])
            child.wait()
            children.append(child.pid)
        time.sleep(1.5)  # at least one tick of the wall clock
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # never leave a capture behind
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    lines = out.splitlines()
    for pid in children:
        assert f"started {pid} true" in lines, out
    assert "tick" in lines
    assert lines[-2:] == ["tick", "stop"]  # the final tick, then on_stop
    assert progs and maps
    assert wait_until(lambda: released(progs, maps)), "eBPF objects outlived the capture"


def test_output_and_filament_exclude_each_other(tmp_path: Path) -> None:
    from tests.cli.captures import run

    result = run("capture", "-o", str(tmp_path / "x.kcap"), "-f", "count_events")
    assert result.exit_code == 2
    assert "-o and -f exclude each other" in result.stderr
    result = run("capture")
    assert result.exit_code == 2
    assert "missing option -o/--output (or -f NAME" in result.stderr
