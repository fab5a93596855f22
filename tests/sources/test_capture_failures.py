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
    lost = int(cap.stat("Events lost").replace(",", ""))
    assert lost > 0
    assert "events were lost" in cap.stderr
    # the lost file events, in events: an open makes CreateFile and CreateHandle, a close
    # CloseFile and CloseHandle, in equal numbers
    per_kind = {
        name: int(cap.stat(name).replace(",", ""))
        for name in ("CreateFile", "CreateHandle", "CloseFile", "CloseHandle")
    }
    assert per_kind["CreateFile"] > 0 and per_kind["CloseFile"] > 0
    with kcap.open(out) as reader:
        records = [e for e in reader.read(include_state=True) if e.name == "EventsLost"]
    assert records and sum(int(e.param("count")) for e in records) == lost
    last_total: dict[str, int] = {}
    for e in records:
        last_total[str(e.param("event"))] = int(e.param("total"))
    for name, n in per_kind.items():
        assert last_total[name] == n
    # at most one EventsLost per kind of event per second of capture
    seconds = float(cap.stat("Duration").split()[0]) + float(cap.stat("Stop (drain)").split()[0])
    assert len(records) <= len(last_total) * (int(seconds) + 2)


@pytest.mark.live
def test_stop_under_backlog_ends_within_a_second_and_the_file_is_complete(
    tmp_path: Path, leak_check: None
) -> None:
    out = tmp_path / "backlog.kcap"
    cap = CaptureProcess(out, "--duration", "120", "-q")
    cap.wait_ready()
    target = tmp_path / "churn"
    target.write_bytes(b"x")
    # Freeze the reader while the kernel fills the whole 32 MiB buffer, then stop at once.
    os.kill(cap.proc.pid, signal.SIGSTOP)
    try:
        for _ in range(150_000):
            os.close(os.open(target, os.O_RDONLY))
    finally:
        os.kill(cap.proc.pid, signal.SIGCONT)
        cap.proc.send_signal(signal.SIGTERM)
    assert cap.stop(signal.SIGTERM) == 0, cap.stderr
    cap.assert_released()
    drain = float(cap.stat("Stop (drain)").split()[0])
    assert drain <= 1.2, cap.stdout  # 1 s of mapping, plus detaching the programs
    lost = int(cap.stat("Events lost").replace(",", ""))
    assert lost > 0
    # every event handed to the writer replays, none missing up to the last, and the loss is
    # all recorded
    with kcap.open(out) as reader:
        events = list(reader.read(include_state=True))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    recorded = sum(int(e.param("count")) for e in events if e.name == "EventsLost")
    assert recorded == lost
    churn = [e for e in events if e.name == "CreateFile" and e.param("file_path") == str(target)]
    assert churn, "none of the buffered events was kept"
