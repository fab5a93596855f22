"""Standard output that goes away, fills up or cannot show a character: never an internal error.

These run ``python -m kcap`` as a real process, since they are about the real descriptor 1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard

from .captures import REPO, demo_capture, rewrite

# Every command that writes standard output, in each of its shapes.
WRITERS = [
    ["info", "{cap}"],
    ["info", "{cap}", "--json"],
    ["replay", "{cap}"],
    ["replay", "{cap}", "--format", "jsonl"],
    ["replay", "{cap}", "--format", "json"],
    ["fields"],
    ["fields", "--json"],
    ["--help"],
    ["info", "--help"],
    ["--version"],
    [],
]


def _argv(template: list[str], cap: Path) -> list[str]:
    return [a.format(cap=cap) for a in template]


def _kcap(
    args: list[str], stdout: int, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    full_env = dict(os.environ, PYTHONPATH=str(REPO / "src"), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "kcap", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=full_env,
        timeout=120,
    )


@pytest.fixture(scope="module")
def cap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_capture(tmp_path_factory.mktemp("out"))


@pytest.mark.parametrize("template", WRITERS, ids=" ".join)
def test_a_reader_that_went_away_is_a_quiet_success(cap: Path, template: list[str]) -> None:
    # The read end is closed before kcap writes anything: its first write gets EPIPE, which
    # is what ``kcap info FILE | head -1`` meets once head has exited.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = _kcap(_argv(template, cap), stdout=write_end)
    finally:
        os.close(write_end)
    assert result.stderr == b""
    assert result.returncode == 0


def test_info_piped_into_head_exits_0(live2022: Path) -> None:
    head = subprocess.Popen(["head", "-1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert head.stdin is not None and head.stdout is not None
    result = _kcap(["info", str(live2022)], stdout=head.stdin.fileno())
    head.stdin.close()
    first = head.stdout.read()
    head.wait(timeout=60)
    assert first.strip() == b"Capture"
    assert result.stderr == b"" and result.returncode == 0


@pytest.mark.parametrize("template", WRITERS, ids=" ".join)
def test_a_full_output_is_one_error_line(cap: Path, template: list[str]) -> None:
    with open("/dev/full", "wb") as full:
        result = _kcap(_argv(template, cap), stdout=full.fileno())
    assert result.stderr.decode() == "kcap: error: standard output: No space left on device\n"
    assert result.returncode == 1


def test_a_closed_output_is_one_error_line(cap: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    result = subprocess.run(
        [sys.executable, "-m", "kcap", "info", str(cap)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        # close descriptor 1 in the child, as ``kcap info x >&-`` does
        preexec_fn=lambda: os.close(1),
        timeout=120,
    )
    assert result.stderr.decode() == "kcap: error: standard output: Bad file descriptor\n"
    assert result.returncode == 1


@pytest.fixture(scope="module")
def odd_strings(cap: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo capture with invalid UTF-8 in its first timestamp and non-ASCII (and invalid
    UTF-8) in the host name of every event but the first."""
    d = tmp_path_factory.mktemp("odd")
    step = rewrite(
        cap, d / "step.kcap", b"2024-06-01T12:00:00.00015Z", b"2024-06-01T12:00:00.0001\xff\xfe"
    )
    raw = zstandard.ZstdDecompressor().decompressobj().decompress(step.read_bytes())
    first_host = raw.index(b"demo-host") + len(b"demo-host")
    raw = raw[:first_host] + raw[first_host:].replace(b"demo-host", b"d\xc3\xa9mo-h\xffs")
    odd = d / "odd.kcap"
    odd.write_bytes(zstandard.ZstdCompressor().compress(raw))
    return odd


@pytest.mark.parametrize("encoding", ["utf-8", "ascii", "latin-1"])
def test_info_escapes_what_the_output_encoding_cannot_show(
    odd_strings: Path, encoding: str
) -> None:
    result = _kcap(
        ["info", str(odd_strings)], stdout=subprocess.PIPE, env={"PYTHONIOENCODING": encoding}
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    out = result.stdout.decode(encoding)  # every byte is valid in the output encoding
    first = next(line for line in out.splitlines() if line.startswith("  First timestamp"))
    # invalid UTF-8 shows as \xNN, whatever the encoding, as in the replay text format
    assert first.endswith("2024-06-01T12:00:00.0001\\xff\\xfe")
    hosts = next(line for line in out.splitlines() if line.startswith("  Hosts"))
    shown = {"utf-8": "démo", "latin-1": "démo", "ascii": "d\\xe9mo"}[encoding]
    assert hosts.endswith(f"{shown}-h\\xffs, demo-host")  # most frequent first
    assert "--------" in out or "────────" in out  # the header rules, in what the output has


@pytest.mark.parametrize("encoding", ["utf-8", "ascii"])
def test_replay_text_and_json_under_strict_encodings(odd_strings: Path, encoding: str) -> None:
    env = {"PYTHONIOENCODING": encoding}
    text = _kcap(["replay", str(odd_strings)], stdout=subprocess.PIPE, env=env)
    assert text.returncode == 0 and text.stderr == b""
    lines = text.stdout.decode(encoding).splitlines()
    assert len(lines) == 23
    delimiter = "➜ " if encoding == "utf-8" else "\\u279c "
    assert f"dport{delimiter}443" in next(line for line in lines if " Connect " in line)
    jsonl = _kcap(
        ["replay", str(odd_strings), "--format", "jsonl"], stdout=subprocess.PIPE, env=env
    )
    assert jsonl.returncode == 0 and jsonl.stderr == b""
    # JSON is UTF-8 whatever the locale says; the odd host survives as escapes
    hosts = {json.loads(line)["host"] for line in jsonl.stdout.decode("utf-8").splitlines()}
    assert "d\u00e9mo-h\udcffs" in hosts


def test_error_lines_escape_the_file_name(tmp_path: Path) -> None:
    # A name holding invalid UTF-8 and a newline: the error stays one line, bytes as \xNN.
    name = os.fsencode(tmp_path) + b"/bad\xff\nname.kcap"
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), PYTHONIOENCODING="utf-8")
    result = subprocess.run(
        [sys.executable.encode(), b"-m", b"kcap", b"info", name],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 1
    lines = result.stderr.decode("utf-8").splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"kcap: error: {tmp_path}/bad\\xff\\nname.kcap: ")
