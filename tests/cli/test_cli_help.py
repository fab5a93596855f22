"""Help, version and start-up: what ``kcap``, ``kcap --help`` and ``kcap X --help`` give."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from kcap.cli.main import cli

from .captures import REPO, run, run_process

#: Imported by a command when it runs, never by ``kcap --version`` or ``kcap --help``.
HEAVY = ("kcap.reader", "kcap.format", "kcap.model", "kcap.filter", "kcap.state", "rich")


def test_bare_kcap_prints_the_help_and_succeeds() -> None:
    result = run_process()
    assert result.returncode == 0
    assert result.stderr == b""
    out = result.stdout.decode()
    assert out.startswith("Usage: kcap ")
    assert out == run_process("--help").stdout.decode()


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_help_has_examples_and_exit_statuses(name: str) -> None:
    result = run(name, "--help")
    assert result.exit_code == 0
    out = result.stdout
    assert "Examples:" in out and f"kcap {name} " in out.split("Examples:", 1)[1]
    assert "Exit status:" in out
    statuses = out.split("Exit status:", 1)[1]
    assert "  0  " in statuses and "  2  " in statuses  # success and a bad command line


def test_top_level_help_lists_exit_statuses_and_commands() -> None:
    out = run("--help").stdout
    assert "Exit status:" in out and "70 an internal error" in out
    for name in ("info", "replay"):
        assert f"  {name} " in out


def _modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, env=env, timeout=60, check=True
    )
    return set(json.loads(done.stdout.decode().splitlines()[-1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_import_kcap_loads_nothing_heavy() -> None:
    assert _heavy(_modules_after("import kcap")) == []


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["replay", "--help"], []])
def test_start_up_imports_no_engine(args: list[str]) -> None:
    # What `kcap ARGS` loads before it exits (start-up time is measured in bench_cli.py).
    code = (
        "from kcap.cli.main import cli\n"
        "try:\n"
        f"    cli.main(args={args!r}, prog_name='kcap', standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
    )
    assert _heavy(_modules_after(code)) == []


def test_lazy_names_resolve_on_first_use() -> None:
    import kcap

    assert kcap.open.__module__ == "kcap.reader"
    assert kcap.copy.__module__ == "kcap.copying"
    assert issubclass(kcap.Truncated, kcap.KcapError)
    assert {"open", "copy", "new_writer", "Event", "KcapError"} <= set(dir(kcap))
    assert set(kcap.__all__) <= set(dir(kcap))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = kcap.nope  # type: ignore[attr-defined]
    for name in kcap.__all__:  # every advertised name exists
        assert getattr(kcap, name) is not None


def test_version() -> None:
    import kcap

    result = run_process("--version")
    assert result.returncode == 0 and result.stdout.decode() == f"kcap {kcap.__version__}\n"
