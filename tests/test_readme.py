"""The README's Python API examples run as written (on the demo capture, as incident.kcap)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from kcap.demo import write_demo_capture

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_api_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    return [textwrap.dedent(b) for b in re.findall(r"```python\n(.*?)```", section, re.S)]


def test_the_section_has_the_reading_and_the_copying_examples() -> None:
    blocks = _python_api_blocks()
    assert len(blocks) == 2
    assert "reader.read()" in blocks[0] and "ev.param(" in blocks[0]
    # the right copy loop comes first, the helper before it
    assert blocks[1].index("kcap.copy(") < blocks[1].index("include_state=True")


def test_python_api_examples_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import kcap

    write_demo_capture(tmp_path / "incident.kcap")
    monkeypatch.chdir(tmp_path)
    reading, copying = _python_api_blocks()
    namespace: dict[str, object] = {}  # one session: the second block uses the first's import
    exec(compile(reading, "README reading example", "exec"), namespace)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 4  # bash's two CreateProcess events, each with its process line
    assert out[1].split()[1:3] == ["bash", "/usr/bin/bash"]
    exec(compile(copying, "README copying example", "exec"), namespace)
    for name in ("copy.kcap", "bash.kcap"):
        with kcap.open(tmp_path / name) as reader:
            assert sum(1 for _ in reader.read()) > 0
