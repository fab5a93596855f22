"""``kcap capture``'s command line: the file it names and writes, overwriting, its tables.

The capture itself is replaced by a stand-in (these are about the command, not the kernel), so
they run without root; the live-capture suite (tests/sources) records for real.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import kcap.sources.linux.session as session
from kcap.cli.capture_cmd import capture
from kcap.writer import WriterStats


class _FakeCapture:
    """Records where it was asked to write, announces itself like the real one, writes a byte."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def __call__(
        self,
        path: str,
        config: Any = None,
        *,
        ready: Callable[[], None] | None = None,
        **_: Any,
    ) -> session.CaptureResult:
        self.paths.append(path)
        if not os.path.exists(path) or os.path.isfile(path):  # not a device
            Path(path).write_bytes(b"new")
        if ready is not None:
            ready()
        stats = WriterStats(file=Path(path).name, events=1_234_567, bytes=98_765_432, handles=12)
        return session.CaptureResult(path=path, records=2_000_001, stats=stats, duration=1.5)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> _FakeCapture:
    recorder = _FakeCapture()
    monkeypatch.setattr(session, "capture_to_file", recorder)
    monkeypatch.chdir(tmp_path)
    return recorder


def _capture(*args: str) -> Result:
    return CliRunner().invoke(capture, ["--duration", "1", *args], catch_exceptions=False)


def _banner(result: Result) -> str:
    return result.stderr.splitlines()[0]


def test_a_plain_name_gets_the_extension_and_the_banner_says_so(fake: _FakeCapture) -> None:
    result = _capture("-o", "y")
    assert result.exit_code == 0, result.stderr
    assert fake.paths == ["y.kcap"]
    assert _banner(result) == "capturing to y.kcap for 1s"
    assert Path("y.kcap").read_bytes() == b"new" and not Path("y").exists()


@pytest.mark.parametrize("name", ["run.kcap", "run.cap", "run.bin", "dir.d/run.kcap"])
def test_a_name_with_an_extension_is_kept(fake: _FakeCapture, name: str) -> None:
    Path(name).parent.mkdir(exist_ok=True)
    result = _capture("-o", name)
    assert result.exit_code == 0, result.stderr
    assert fake.paths == [name] and _banner(result) == f"capturing to {name} for 1s"


def test_a_device_is_written_as_it_is(fake: _FakeCapture) -> None:
    result = _capture("-o", "/dev/full")
    assert result.exit_code == 0, result.stderr
    assert fake.paths == ["/dev/full"]
    assert _banner(result) == "capturing to /dev/full for 1s"


@pytest.mark.parametrize(("typed", "existing"), [("old.kcap", "old.kcap"), ("old", "old.kcap")])
def test_an_existing_capture_is_kept_unless_forced(
    fake: _FakeCapture, typed: str, existing: str
) -> None:
    Path(existing).write_bytes(b"evidence")
    refused = _capture("-o", typed)
    assert refused.exit_code == 1 and fake.paths == []
    assert refused.stderr == (
        f"kcap: error: {existing}: the file exists; give --force to overwrite it, "
        "or another name with -o\n"
    )
    assert Path(existing).read_bytes() == b"evidence"
    forced = _capture("-o", typed, "--force")
    assert forced.exit_code == 0 and fake.paths == [existing]
    assert Path(existing).read_bytes() == b"new"


def test_an_empty_file_is_no_capture_to_keep(fake: _FakeCapture) -> None:
    # ``kcap capture -o /dev/stdout > new.kcap``: the shell created the file, empty.
    Path("new.kcap").touch()
    assert _capture("-o", "new.kcap").exit_code == 0 and fake.paths == ["new.kcap"]


def test_statistics_use_the_table_number_format(fake: _FakeCapture) -> None:
    result = _capture("-o", "stats")
    assert result.exit_code == 0
    rows = {
        line.strip().split("  ", 1)[0]: line.strip().split("  ", 1)[1].strip()
        for line in result.stdout.splitlines()[2:]
        if line.strip()
    }
    assert rows["File"] == "stats.kcap"
    assert rows["Events written"] == "1,234,567"
    assert rows["Bytes written"] == "98,765,432"
    assert rows["Handles written"] == "12"
    assert rows["Kernel records read"] == "2,000,001"
    assert all(line == line.rstrip() for line in result.stdout.splitlines())


def test_standard_output_is_recognised_whatever_its_name(tmp_path: Path) -> None:
    from kcap.cli.capture_cmd import _is_standard_output

    target = tmp_path / "out.kcap"
    with open(target, "wb") as fh:
        assert _is_standard_output(str(target), fh.fileno())
        assert _is_standard_output(f"/proc/self/fd/{fh.fileno()}", fh.fileno())
        assert not _is_standard_output(str(tmp_path / "other.kcap"), fh.fileno())
    read_end, write_end = os.pipe()
    try:
        assert _is_standard_output(f"/dev/fd/{write_end}", write_end)
        assert not _is_standard_output(str(target), write_end)
    finally:
        os.close(read_end)
        os.close(write_end)


def test_help_documents_naming_and_force() -> None:
    out = " ".join(CliRunner().invoke(capture, ["--help"]).stdout.split())
    assert "--force" in out and "Fibratus overwrites without asking" in out
    assert 'a name without extension that does not exist yet gets ".kcap"' in out
