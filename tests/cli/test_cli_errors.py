"""Error paths: one line on stderr, the right exit code, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard

import kcap
from kcap.cli.diagnostics import error_message, exit_code
from kcap.errors import FilterError, KcapError, Truncated

from .captures import REPO, demo_capture, rewrite, run, run_process, truncated


def _one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("kcap: error: ")
    return lines[0]


@pytest.mark.parametrize("command", ["replay", "info"])
def test_missing_file_is_named(tmp_path: Path, command: str) -> None:
    missing = tmp_path / "nowhere.kcap"
    result = run(command, str(missing))
    assert result.exit_code == 1
    line = _one_error_line(result.stderr)
    assert str(missing) in line and "does not exist" in line
    assert result.stdout == ""


def test_name_without_extension_gets_kcap(tmp_path: Path) -> None:
    demo_capture(tmp_path)
    result = run("replay", str(tmp_path / "demo"), "--limit", "1")
    assert result.exit_code == 0 and "CreateProcess" in result.stdout


@pytest.mark.parametrize("command", ["replay", "info"])
def test_not_zstd(tmp_path: Path, command: str) -> None:
    path = tmp_path / "text.kcap"
    path.write_text("just some text\n")
    result = run(command, str(path))
    assert result.exit_code == 1
    line = _one_error_line(result.stderr)
    assert line.startswith(f"kcap: error: {path}: ") and "zstd" in line
    assert line.count(str(path)) == 1


@pytest.mark.parametrize("command", ["replay", "info"])
def test_bad_magic(tmp_path: Path, command: str) -> None:
    path = tmp_path / "magic.kcap"
    path.write_bytes(zstandard.ZstdCompressor().compress(b"notakcap" + bytes(64)))
    result = run(command, str(path))
    assert result.exit_code == 1
    line = _one_error_line(result.stderr)
    assert line.startswith(f"kcap: error: {path}: ") and "magic" in line


@pytest.mark.parametrize("command", ["replay", "info"])
def test_directory(tmp_path: Path, command: str) -> None:
    result = run(command, str(tmp_path))
    assert result.exit_code == 1
    line = _one_error_line(result.stderr)
    assert line.startswith(f"kcap: error: {tmp_path}: ") and "directory" in line
    assert line.count(str(tmp_path)) == 1


@pytest.mark.parametrize("command", ["replay", "info"])
def test_errors_name_the_file_as_typed(
    live2022: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    # "cut" is read as cut.kcap; the error line names what the user typed, once, in front.
    truncated(live2022, tmp_path / "cut.kcap", 200_000)
    monkeypatch.chdir(tmp_path)
    result = run(command, "cut", *(["--json"] if command == "info" else ["--format", "jsonl"]))
    assert result.exit_code == 1
    line = _one_error_line(result.stderr)
    assert line.startswith("kcap: error: cut: byte ") and "cut.kcap" not in line
    missing = run(command, "nowhere")
    assert _one_error_line(missing.stderr) == "kcap: error: nowhere: capture file does not exist"


def _without_dac_override(*args: str) -> subprocess.CompletedProcess[bytes]:
    """``kcap ARGS`` as root without the capabilities that bypass file permissions."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is not installed")
    if os.geteuid() != 0:
        return run_process(*args)  # an ordinary user meets permissions anyway
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    drop = "--bounding-set=-dac_override,-dac_read_search"
    return subprocess.run(
        [setpriv, drop, sys.executable, "-m", "kcap", *args],
        capture_output=True,
        env=env,
        timeout=120,
    )


@pytest.mark.parametrize("command", ["replay", "info"])
def test_unreadable_file_is_one_line(tmp_path: Path, command: str) -> None:
    path = demo_capture(tmp_path)
    path.chmod(0)
    result = _without_dac_override(command, str(path))
    assert result.returncode == 1
    line = _one_error_line(result.stderr.decode())
    assert line.startswith(f"kcap: error: {path}: ") and "Permission denied" in line


@pytest.mark.parametrize("command", ["replay", "info"])
def test_file_in_an_unreadable_directory_is_one_line(tmp_path: Path, command: str) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    path = demo_capture(locked)
    locked.chmod(0)
    try:
        result = _without_dac_override(command, str(path))
    finally:
        locked.chmod(0o755)
    assert result.returncode == 1
    line = _one_error_line(result.stderr.decode())
    assert line.startswith(f"kcap: error: {path}: ") and "Permission denied" in line


@pytest.mark.parametrize("command", ["replay", "info"])
def test_name_too_long_is_one_line(tmp_path: Path, command: str) -> None:
    path = tmp_path / ("x" * 300 + ".kcap")  # NAME_MAX is 255: ENAMETOOLONG
    result = run_process(command, str(path))
    assert result.returncode == 1
    line = _one_error_line(result.stderr.decode())
    assert line.startswith(f"kcap: error: {path}: ")


class _NewKindOfError(KcapError):
    """A KcapError the CLI has never heard of (as the library's OpenError is, today)."""


@pytest.mark.parametrize("command", ["replay", "info"])
def test_any_kcap_error_is_one_line_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    import kcap.info

    def refuse(path: object, **_: object) -> None:
        raise _NewKindOfError(f"{path}: cannot be opened today\n(second line)")

    monkeypatch.setattr(kcap, "open", refuse)
    monkeypatch.setattr(kcap.info, "summarize", refuse)
    name = str(tmp_path / "x.kcap")
    result = run(command, name)
    assert result.exit_code == 1 and result.stdout == ""
    assert _one_error_line(result.stderr) == (
        f"kcap: error: {name}: cannot be opened today (second line)"
    )


def test_error_lines_keep_the_file_out_of_the_message() -> None:
    # Messages that mention the file inside: the line names it once, in front.
    from kcap.errors import CaptureError, FormatError

    header = CaptureError("couldn't write the capture header to /dev/full: [Errno 28] No space")
    assert error_message(header, "/dev/full") == (
        "kcap: error: /dev/full: couldn't write the capture header: No space"
    )
    create = CaptureError("cannot create capture file d/x.kcap: No such file or directory; use -o")
    assert error_message(create, "d/x.kcap") == (
        "kcap: error: d/x.kcap: cannot create capture file: No such file or directory; use -o"
    )
    quoted = FormatError('"in.kcap" capture file does not exist')
    assert error_message(quoted, "in") == "kcap: error: in: capture file does not exist"
    located = Truncated("the stream ends inside an event", path="in.kcap", offset=42)
    assert error_message(located, "in") == (
        "kcap: error: in: byte 42: the stream ends inside an event"
    )
    assert (
        error_message(located) == "kcap: error: in.kcap: byte 42: the stream ends inside an event"
    )
    assert error_message(CaptureError("capture needs root")) == "kcap: error: capture needs root"


@pytest.mark.parametrize("fmt", ["jsonl", "json", "text"])
def test_truncated_prints_events_then_error(live2022: Path, tmp_path: Path, fmt: str) -> None:
    cut = truncated(live2022, tmp_path / "cut.kcap", 1_000_000)
    expected: list[int] = []
    with kcap.open(cut) as reader, pytest.raises(Truncated):
        for ev in reader.read():
            expected.append(ev.seq)
    assert expected
    result = run_process("replay", str(cut), "--format", fmt)
    assert result.returncode == 1
    line = _one_error_line(result.stderr.decode())
    assert line.startswith(f"kcap: error: {cut}: ")
    out = result.stdout.decode("utf-8")
    if fmt == "jsonl":
        seqs = [json.loads(x)["seq"] for x in out.splitlines()]
    elif fmt == "json":
        seqs = [o["seq"] for o in json.loads(out)]  # still a complete JSON array
    else:
        seqs = [int(x.split(" ", 1)[0]) for x in out.splitlines()]
    assert seqs == expected


def test_damaged_event_is_skipped_with_a_warning(tmp_path: Path) -> None:
    good = demo_capture(tmp_path)
    # Give the first TerminateProcess's exit_status parameter an unknown type id.
    bad = rewrite(
        good, tmp_path / "bad.kcap", b"\x08\x00\x0b\x00exit_status", b"\xee\xee\x0b\x00exit_status"
    )
    result = run("replay", str(bad), "--format", "jsonl")
    assert result.exit_code == 0
    assert "Traceback" not in result.stderr
    warnings = result.stderr.strip().splitlines()
    assert len(warnings) == 2 and all(w.startswith("kcap: warning: ") for w in warnings)
    assert str(bad) in warnings[0]
    assert warnings[1] == "kcap: warning: 1 event could not be decoded and was skipped"
    names = [json.loads(x)["name"] for x in result.stdout.splitlines()]
    assert len(names) == 22 and names.count("TerminateProcess") == 1
    info = json.loads(run("info", str(bad), "--json").stdout)
    assert info["errors"] == 1 and len(info["error_messages"]) == 1


def test_damaged_tail_decoded_late_is_skipped_too(tmp_path: Path) -> None:
    good = demo_capture(tmp_path)
    # Connect has no state handler: its tail is first decoded when rendered.
    bad = rewrite(
        good, tmp_path / "bad.kcap", b"\x01\x00\x08\x00l4_proto", b"\xee\xee\x08\x00l4_proto"
    )
    result = run("replay", str(bad), "--format", "jsonl")
    assert result.exit_code == 0
    assert result.stderr.startswith("kcap: warning: ") and "Traceback" not in result.stderr
    names = [json.loads(x)["name"] for x in result.stdout.splitlines()]
    assert len(names) == 22 and "Connect" not in names


def test_expression_without_filter_package_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # None in sys.modules makes "import kcap.filter" fail, as in a build without it.
    monkeypatch.setitem(sys.modules, "kcap.filter", None)
    result = run("replay", str(demo_capture(tmp_path)), "kevt.name", "=", "'x'")
    assert result.exit_code == 2
    line = _one_error_line(result.stderr)
    assert "filter" in line


def test_usage_errors_exit_2(cap1: Path) -> None:
    assert run("replay").exit_code == 2
    assert run("replay", str(cap1), "--format", "xml").exit_code == 2
    assert run("replay", str(cap1), "--limit", "-1").exit_code == 2
    assert run("info").exit_code == 2
    assert run("nosuchcommand").exit_code == 2


def test_broken_pipe_is_quiet(live2022: Path) -> None:
    env_cmd = [sys.executable, "-m", "kcap", "replay", str(live2022), "--format", "jsonl"]
    import os

    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    proc = subprocess.Popen(env_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    stderr = proc.stderr.read()
    rc = proc.wait(timeout=120)
    assert json.loads(first)["seq"] == 0
    assert stderr == b""
    assert rc == 0


def test_help_and_version() -> None:
    top = run("--help")
    assert top.exit_code == 0 and "Examples:" in top.stdout
    assert "info" in top.stdout and "replay" in top.stdout
    for command in ("info", "replay"):
        result = run(command, "--help")
        assert result.exit_code == 0
        assert "Examples:" in result.stdout and f"kcap {command} incident.kcap" in result.stdout
    version = run("--version")
    assert version.exit_code == 0 and version.stdout.strip() == f"kcap {kcap.__version__}"


def test_filter_errors_lead_with_one_complete_line() -> None:
    from kcap.filter import compile

    with pytest.raises(FilterError) as info:
        compile("ps.name =")
    lines = error_message(info.value).split("\n")
    assert lines[0] == (
        "kcap: error: filter: expected field, string, number, bool, ip, function: "
        "the expression ends where an operand is needed (column 10)"
    )
    assert lines[1:] == ["  ps.name =", "           ^"]
    with pytest.raises(FilterError) as info:
        compile("ps.nme = 'a'")
    hinted = error_message(info.value).split("\n")[0]
    assert hinted.startswith("kcap: error: filter: unknown field 'ps.nme'; did you mean")
    assert hinted.endswith("(column 1)")
    plain = error_message(FilterError("bad filter"))
    assert plain == "kcap: error: filter: bad filter"
    assert exit_code(FilterError("x")) == 2 and exit_code(Truncated("x")) == 1


def test_capture_still_being_written(tmp_path: Path) -> None:
    from kcap.demo import demo_events
    from kcap.writer import Config

    path = tmp_path / "growing.kcap"
    writer = kcap.new_writer(path, config=Config(flush_period=0))
    try:
        writer.write_all(demo_events())
        writer.flush()  # everything is in the file, but the zstd frame is not ended
        info = run("info", str(path), "--json")
        assert info.exit_code == 0
        d = json.loads(info.stdout)
        assert d["terminated"] is False and d["events"] == 35
        replay = run("replay", str(path))
        assert replay.exit_code == 0 and len(replay.stdout.splitlines()) == 23
        assert replay.stderr.startswith("kcap: warning: ") and "not closed" in replay.stderr
        assert run("replay", str(path), "--limit", "3").stderr == ""  # did not read to the end
    finally:
        writer.close()
    assert run("replay", str(path)).stderr == ""


def test_warnings_are_bounded_with_a_final_count(capsys: pytest.CaptureFixture[str]) -> None:
    from kcap.cli.diagnostics import WarningPrinter
    from kcap.errors import Corrupt

    printer = WarningPrinter(limit=3)
    for i in range(10):
        printer(Corrupt(f"event {i} is damaged", path="x.kcap", offset=i))
    printer.finish()
    lines = capsys.readouterr().err.splitlines()
    assert lines[:3] == [f"kcap: warning: x.kcap: byte {i}: event {i} is damaged" for i in range(3)]
    assert lines[3:] == [
        "kcap: warning: 10 events could not be decoded and were skipped (7 warning(s) not shown)"
    ]
