"""Failure paths of `kcap capture`: one clear message, a non-zero exit, nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from live_support import (
    CaptureProcess,
)

import kcap
from kcap.cli.capture_cmd import capture
from kcap.errors import KcapError


def test_not_root_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    res = CliRunner().invoke(capture, ["-o", str(tmp_path / "x.kcap"), "--duration", "1"])
    assert res.exit_code == 1
    assert "needs root" in res.output and "sudo" in res.output
    assert not (tmp_path / "x.kcap").exists()


def test_bad_filter_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    res = CliRunner().invoke(capture, ["-o", str(tmp_path / "x"), "ps.name", "=", "("])
    assert res.exit_code == 2 and "filter" in res.output
    assert not (tmp_path / "x.kcap").exists()


def test_unknown_event_kind_is_a_usage_error(tmp_path: Path) -> None:
    res = CliRunner().invoke(capture, ["-o", str(tmp_path / "x"), "--events", "file,disk"])
    assert res.exit_code == 2 and "disk" in res.output and "process" in res.output


@pytest.mark.live
def test_unwritable_output_path(tmp_path: Path, leak_check: None) -> None:
    out = tmp_path / "missing-dir" / "x.kcap"
    res = CliRunner().invoke(capture, ["-o", str(out), "--duration", "5"])
    assert res.exit_code == 1
    assert "cannot create capture file" in res.output and str(out) in res.output


@pytest.mark.live
def test_sigint_stops_cleanly_and_the_file_replays(tmp_path: Path, leak_check: None) -> None:
    out = tmp_path / "int.kcap"
    cap = CaptureProcess(out, "--duration", "120")
    cap.wait_ready()
    subprocess.run(["/bin/true"], check=True)
    assert cap.stop(signal.SIGINT) == 0, cap.stderr
    cap.assert_released()
    assert "Capture Statistics" in cap.stdout
    with kcap.open(out) as reader:
        names = {e.name for e in reader.read()}
    assert "CreateProcess" in names


@pytest.mark.live
def test_repeated_sigterm_while_waiting_stops_cleanly(tmp_path: Path, leak_check: None) -> None:
    # Regression: a signal handler that set the stop event on the main thread deadlocked with
    # the main thread's own wait on that event, leaving the capture and its programs behind.
    out = tmp_path / "term.kcap"
    cap = CaptureProcess(out, "--duration", "120")
    cap.wait_ready()
    # A burst across the whole shutdown: writing the end of the file, statistics, exit.
    assert cap.stop(signal.SIGTERM, timeout=30, repeat=20) == 0, cap.stderr
    assert "Capture Statistics" in cap.stdout
    with kcap.open(out) as reader:
        assert sum(1 for _ in reader.read(include_state=True)) > 0


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
        cap.assert_released()
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


@pytest.mark.live
def test_kernel_loss_is_counted_and_recorded(tmp_path: Path, leak_check: None) -> None:
    out = tmp_path / "lossy.kcap"
    cap = CaptureProcess(out, "--duration", "120", "--buffer-mb", "1", "-q")
    cap.wait_ready()
    target = tmp_path / "churn"
    target.write_bytes(b"x")
    # Freeze the reader while the kernel keeps producing: the 1 MiB ring buffer overflows.
    os.kill(cap.proc.pid, signal.SIGSTOP)
    try:
        for _ in range(20_000):
            os.close(os.open(target, os.O_RDONLY))
    finally:
        os.kill(cap.proc.pid, signal.SIGCONT)
    assert cap.stop(signal.SIGTERM) == 0, cap.stderr
    cap.assert_released()
    lost = int(cap.stat("Events lost (kernel buffers)").replace(",", ""))
    assert lost > 0
    assert "the kernel dropped" in cap.stderr
    with kcap.open(out) as reader:
        records = [e for e in reader.read(include_state=True) if e.name == "EventsLost"]
    assert records and records[-1].param("total") == lost
    assert sum(int(e.param("count")) for e in records) == lost


def test_output_that_is_a_directory_is_one_error_line(tmp_path: Path) -> None:
    res = CliRunner().invoke(capture, ["-o", str(tmp_path), "--duration", "1"])
    assert res.exit_code == 1, res.output
    lines = res.output.strip().splitlines()
    assert lines == [
        f"kcap: error: {tmp_path}: is a directory: give the name of the capture file to write"
    ]
    assert list(tmp_path.iterdir()) == []
