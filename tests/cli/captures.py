"""Captures made for CLI tests: the demo capture, damaged copies, and a runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import zstandard
from click.testing import CliRunner, Result

from kcap.cli.main import cli
from kcap.demo import write_demo_capture

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> Result:
    """Invoke ``kcap ARGS`` in-process; stdout and stderr are kept apart."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def run_process(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m kcap ARGS`` as a real process (real stdout, exit code, signals)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "kcap", *args], capture_output=True, env=env, timeout=120
    )


def demo_capture(directory: Path) -> Path:
    path = directory / "demo.kcap"
    stats = write_demo_capture(path)
    assert stats.write_errors == 0
    return path


def rewrite(src: Path, dst: Path, old: bytes, new: bytes) -> Path:
    """Copy a capture with the first ``old`` in its decompressed stream replaced by ``new``."""
    raw = zstandard.ZstdDecompressor().decompressobj().decompress(src.read_bytes())
    assert raw.count(old) >= 1, old
    assert len(old) == len(new)
    dst.write_bytes(zstandard.ZstdCompressor().compress(raw.replace(old, new, 1)))
    return dst


def truncated(src: Path, dst: Path, size: int) -> Path:
    dst.write_bytes(src.read_bytes()[:size])
    return dst
