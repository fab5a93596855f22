"""`kcap capture` into a file that cannot take the capture: the real path, one error line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.live
def test_capture_to_a_full_device(leak_check: None) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    renamed = Path("/dev/full.kcap")
    before = renamed.stat().st_mtime_ns if renamed.exists() else None
    result = subprocess.run(
        [sys.executable, "-m", "kcap", "capture", "-o", "/dev/full", "--duration", "1"],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 1
    # /dev/full itself, not /dev/full.kcap, and an ordinary error rather than an internal one
    assert result.stderr.decode().splitlines()[-1] == (
        "kcap: error: /dev/full: couldn't write the capture header: No space left on device"
    )
    after = renamed.stat().st_mtime_ns if renamed.exists() else None
    assert after == before, "the capture went to /dev/full.kcap"
