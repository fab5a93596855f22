"""`kcap.writer.resolve_output`: which file a capture named by the user is written to."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import kcap
from kcap.writer import resolve_output


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ("incident", "incident.kcap"),  # a plain name: upstream's rule
        ("dir/incident", "dir/incident.kcap"),
        ("incident.", "incident.kcap"),  # not "incident..kcap"
        (".hidden", ".hidden.kcap"),
        ("incident.kcap", "incident.kcap"),
        ("incident.cap", "incident.cap"),
        ("trace.tar.zst", "trace.tar.zst"),
    ],
)
def test_a_plain_name_alone_gets_the_extension(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, written: str
) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_output(name) == Path(written)


@pytest.mark.parametrize("device", ["/dev/full", "/dev/null", "/dev/stdout"])
def test_an_existing_path_is_written_as_it_is(device: str) -> None:
    if not os.path.exists(device):
        pytest.skip(f"{device} does not exist here")
    assert resolve_output(device) == Path(device)


def test_existing_fifos_directories_and_files_are_not_renamed(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert resolve_output(fifo) == fifo
    assert resolve_output(tmp_path / "sub").name == "sub.kcap"
    (tmp_path / "sub").mkdir()
    assert resolve_output(tmp_path / "sub") == tmp_path / "sub"  # opening it says why not
    (tmp_path / "notes").write_text("not a capture")
    assert resolve_output(tmp_path / "notes") == tmp_path / "notes"


def test_a_name_too_long_to_look_up_is_left_to_the_open(tmp_path: Path) -> None:
    long = tmp_path / ("x" * 300)
    assert resolve_output(long) == long
    assert resolve_output("") == Path("")  # no name to extend


def test_the_writer_writes_the_resolved_file(tmp_path: Path) -> None:
    w = kcap.new_writer(tmp_path / "plain")
    w.close()
    assert w.path == tmp_path / "plain.kcap" and w.path.stat().st_size > 0
