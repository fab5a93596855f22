"""Failure paths of `kcap capture`: one clear message, a non-zero exit, nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from live_support import (
    CaptureProcess,
    children_of,
    kcap_mounts,
    kcap_prog_ids,
    require_live,
    wait_until,
)

import kcap
from kcap.cli.capture_cmd import capture
from kcap.errors import KcapError


@pytest.fixture
def leak_check() -> Iterator[None]:
    require_live()
    before = kcap_prog_ids()
    yield
    assert wait_until(lambda: not kcap_prog_ids() - before), "eBPF programs outlived the capture"
    assert kcap_mounts() == [], "a tracefs mount made by the capture remains"
    assert children_of(os.getpid()) == [], "a child process of the test remains"


def test_not_root_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    res = CliRunner().invoke(capture, ["-o", str(tmp_path / "x.kcap"), "--duration", "1"])
    assert res.exit_code == 2
    assert "needs root" in res.output and "sudo" in res.output
    assert not (tmp_path / "x.kcap").exists()


def test_unknown_event_kind_is_a_usage_error(tmp_path: Path) -> None:
    res = CliRunner().invoke(capture, ["-o", str(tmp_path / "x"), "--events", "file,disk"])
    assert res.exit_code == 2 and "disk" in res.output and "process" in res.output


@pytest.mark.live
def test_unwritable_output_path(tmp_path: Path, leak_check: None) -> None:
    out = tmp_path / "missing-dir" / "x.kcap"
    res = CliRunner().invoke(capture, ["-o", str(out), "--duration", "5"])
    assert res.exit_code == 2
    assert "cannot create capture file" in res.output and str(out) in res.output


@pytest.mark.live
def test_sigint_stops_cleanly_and_the_file_replays(tmp_path: Path, leak_check: None) -> None:
    out = tmp_path / "int.kcap"
    cap = CaptureProcess(out, "--duration", "120")
    cap.wait_ready()
    subprocess.run(["/bin/true"], check=True)
    assert cap.stop(signal.SIGINT) == 0, cap.stderr
    assert "Capture Statistics" in cap.stdout
    with kcap.open(out) as reader:
        names = {e.name for e in reader.read()}
    assert "CreateProcess" in names


@pytest.mark.live
@pytest.mark.slow
def test_full_disk_stops_with_a_message_and_keeps_what_was_written(
    tmp_path: Path, leak_check: None
) -> None:
    disk = tmp_path / "tiny"
    disk.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a small tmpfs to fill: {exc}")
    try:
        out = disk / "full.kcap"
        cap = CaptureProcess(out, "--duration", "60", "-q")
        cap.wait_ready()
        stop = threading.Event()

        def load() -> None:  # file activity in this (captured) process until the disk fills
            target = tmp_path / "churn"
            target.write_bytes(b"x")
            while not stop.is_set():
                for _ in range(200):
                    os.close(os.open(target, os.O_RDONLY))

        th = threading.Thread(target=load, daemon=True)
        th.start()
        try:
            rc = cap.proc.wait(timeout=60)
        finally:
            stop.set()
            th.join()
        rc = cap.stop()
        assert rc == 1, cap.stderr
        assert "No space left on device" in cap.stderr
        assert "what was captured before the failure" in cap.stderr
        # the events written before the failure still replay
        got = 0
        try:
            with kcap.open(out) as reader:
                for _ in reader.read():
                    got += 1
        except KcapError:
            pass
        assert got > 100
    finally:
        subprocess.run(["umount", str(disk)], check=False)
