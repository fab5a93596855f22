"""The main job: scripts/demo, on its generated-capture path, and the demo capture itself."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import kcap
from kcap.demo import write_demo_capture

from .captures import REPO


def test_demo_capture_replays_with_process_state(tmp_path: Path) -> None:
    stats = write_demo_capture(tmp_path / "d.kcap")
    assert (stats.events, stats.state_events, stats.handles) == (23, 12, 4)
    with kcap.open(tmp_path / "d.kcap") as reader:
        events = list(reader.read())
        assert reader.stats.errors == 0
    curl = [ev for ev in events if ev.pid == 2101]
    assert curl and all(ev.ps is not None and ev.ps.name == "curl" for ev in curl[:-1])
    parent = curl[0].ps.parent if curl[0].ps else None
    assert parent is not None and parent.name == "bash" and parent.parent is not None
    assert parent.parent.name == "sshd"


@pytest.mark.skipif(shutil.which("bash") is None, reason="scripts/demo is a bash script")
def test_demo_script_generated_path(tmp_path: Path) -> None:
    env = dict(
        os.environ,
        KCAP_DEMO_MODE="generated",
        KCAP_DEMO_DIR=str(tmp_path),
        PYTHON=sys.executable,
        PYTHONPATH=str(REPO / "src"),
        PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
    )
    result = subprocess.run(
        [str(REPO / "scripts" / "demo")], capture_output=True, env=env, timeout=300, text=True
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "demo.kcap").exists()
    out = result.stdout
    assert "Compressed size" in out and "Events by recorded name" in out
    assert " - CreateProcess (" in out and "curl" in out
    assert "Traceback" not in result.stderr


def test_demo_module_reports_an_unwritable_path(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    target = tmp_path / "missing-dir" / "d.kcap"
    result = subprocess.run(
        [sys.executable, "-m", "kcap.demo", str(target)], capture_output=True, text=True, env=env
    )
    assert result.returncode == 1
    assert result.stderr.startswith("kcap.demo: error: ") and "Traceback" not in result.stderr
