"""Helpers for the live capture tests: skip reasons, running `kcap capture`, leak checks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"


def live_skip_reason() -> str | None:
    """Why live capture cannot be tested here, or None when it can."""
    if sys.platform != "linux" or os.uname().machine != "x86_64":
        return f"live capture is implemented for Linux x86_64 only (this is {sys.platform})"
    if os.geteuid() != 0:
        return "live capture needs root (the CI runs as root)"
    if not os.path.exists("/proc/sys/kernel/bpf_stats_enabled"):
        return "the kernel has no eBPF support (/proc/sys/kernel/bpf_stats_enabled is absent)"
    events = [
        "/sys/kernel/tracing/events",
        "/sys/kernel/debug/tracing/events",
    ]
    if not any(os.path.isdir(e) for e in events):
        fs = Path("/proc/filesystems").read_text()
        if "tracefs" not in fs:
            return "the kernel has no tracefs (CONFIG_TRACING is off)"
    return None


def require_live() -> None:
    reason = live_skip_reason()
    if reason:
        pytest.skip(reason)


def kcap_prog_ids() -> set[int]:
    from kcap.sources.linux import sysapi

    return {i for i, name in sysapi.prog_names().items() if name.startswith("kcap_")}


def bpf_objects_of(pid: int) -> tuple[set[int], set[int]]:
    from kcap.sources.linux import sysapi

    return sysapi.bpf_objects_of(pid)


def released(progs: set[int], maps: set[int]) -> bool:
    """True once none of these eBPF programs and maps exists in the kernel any more."""
    from kcap.sources.linux import sysapi

    return not (progs & set(sysapi.prog_ids())) and not (maps & set(sysapi.map_ids()))


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``check``: the kernel frees a closed program's memory asynchronously."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def kcap_mounts() -> list[str]:
    return [line for line in Path("/proc/mounts").read_text().splitlines() if "kcap-" in line]


def kcap_instances() -> list[str]:
    out = []
    for root in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing"):
        inst = Path(root) / "instances"
        if inst.is_dir():
            out += [p.name for p in inst.iterdir() if p.name.startswith("kcap")]
    return out


def children_of(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(b")") + 2 :].split()[1])
        if ppid == pid:
            out.append(int(entry.name))
    return out


class CaptureProcess:
    """`kcap capture` running in a child process (so the test's own activity is captured)."""

    def __init__(self, out: Path, *args: str) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(SRC) + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kcap", "capture", "-o", str(out), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        self.stdout = ""
        self.stderr = ""
        self.progs: set[int] = set()
        self.maps: set[int] = set()

    def wait_ready(self, timeout: float = 60) -> None:
        """Block until the capture prints that it is recording."""
        assert self.proc.stderr is not None
        deadline = time.monotonic() + timeout
        lines = []
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("capturing to"):
                self.progs, self.maps = bpf_objects_of(self.proc.pid)
                return
        self.stop(signal.SIGKILL)
        raise AssertionError(f"capture did not start: {''.join(lines)}{self.stderr}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60, repeat: int = 1) -> int:
        for _ in range(repeat):
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
                time.sleep(0.05)
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            # Never leave a capture behind (it would hold BPF programs and a tracefs instance).
            self.proc.kill()
            out, err = self.proc.communicate()
            self.stdout += out
            self.stderr += err
            raise AssertionError(f"capture did not stop on signal {sig}: {self.stderr}") from None
        self.stdout += out
        self.stderr += err
        return self.proc.returncode

    def assert_released(self) -> None:
        """The capture held eBPF programs and maps while running; none survives it."""
        assert self.progs and self.maps, "the running capture held no eBPF objects"
        assert wait_until(lambda: released(self.progs, self.maps)), (
            "eBPF programs or maps of the capture outlived it"
        )

    def stat(self, name: str) -> str:
        for line in self.stdout.splitlines():
            if line.strip().startswith(name):
                return line.strip()[len(name) :].strip()
        raise AssertionError(f"no {name!r} in the statistics:\n{self.stdout}")
