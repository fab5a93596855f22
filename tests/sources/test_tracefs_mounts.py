"""tracefs is never left mounted: not by a SIGKILL during start-up, nor by an older kcap."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from live_support import CaptureProcess, require_live

from kcap.sources.linux import sysapi, tracefs

pytestmark = pytest.mark.live


def tracefs_mounts() -> list[str]:
    """Mount points of tracefs in this (the machine's) mount namespace."""
    out = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        parts = line.split()
        if len(parts) > 2 and parts[2] == "tracefs":
            out.append(parts[1])
    return out


def test_sigkill_during_start_up_leaves_no_tracefs_mount(tmp_path: Path, leak_check: None) -> None:
    # Watch the machine's mounts while a capture starts and kill it the moment a new tracefs
    # mount shows up (it used to be mounted on $TMPDIR/kcap-tracefs-* for ~8 ms), or once it
    # is recording if none ever does. Either way no new tracefs mount may remain.
    before = set(tracefs_mounts())
    for attempt in range(3):
        cap = CaptureProcess(tmp_path / f"k{attempt}.kcap", "--duration", "60", "-q")
        seen: set[str] = set()
        deadline = time.monotonic() + 60
        try:
            while cap.proc.poll() is None and time.monotonic() < deadline:
                seen = set(tracefs_mounts()) - before
                if seen:
                    break
                if any(line.startswith("capturing to") for line in _peek_stderr(cap)):
                    break
        finally:
            cap.proc.kill()
            cap.proc.communicate(timeout=30)
        assert not seen, f"tracefs was mounted where others see it: {seen}"
        left = set(tracefs_mounts()) - before
        assert not left, f"a SIGKILL'd capture left tracefs mounted on {left}"


def _peek_stderr(cap: CaptureProcess) -> list[str]:
    """Lines the capture printed so far, without blocking."""
    assert cap.proc.stderr is not None
    os.set_blocking(cap.proc.stderr.fileno(), False)
    try:
        text = cap.proc.stderr.read() or ""
    except (BlockingIOError, TypeError):
        text = ""
    cap.stderr += text
    return cap.stderr.splitlines()


def test_stale_mount_of_an_older_kcap_is_removed_at_start(leak_check: None) -> None:
    require_live()
    stale = tempfile.mkdtemp(prefix=tracefs.STALE_PREFIX)
    try:
        sysapi.mount("nodev", stale, "tracefs")
    except OSError as exc:
        os.rmdir(stale)
        pytest.skip(f"cannot mount tracefs to make a stale mount: {exc}")
    try:
        found = tracefs.lookup(["sched/sched_process_exit", "no_such/tracepoint"])
        assert set(found) == {"sched/sched_process_exit"}
        assert found["sched/sched_process_exit"].id > 0
        assert "group_dead" in found["sched/sched_process_exit"].fields
        assert stale not in tracefs_mounts() and not os.path.exists(stale)
    finally:
        if stale in tracefs_mounts():
            subprocess.run(["umount", stale], check=False)
        if os.path.isdir(stale):
            os.rmdir(stale)


def test_lookup_mounts_nothing_others_can_see(leak_check: None) -> None:
    before = tracefs_mounts()
    found = tracefs.lookup(["task/task_newtask"])
    assert found["task/task_newtask"].fields["clone_flags"].offset == 32
    assert tracefs_mounts() == before
