"""Loading: the -f value and sys.argv, the import by path, hook checks, restored state."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kcap.errors import FilamentError
from kcap.filaments import FilamentRun, Generation, find, search_path, split_spec
from kcap.filaments.discovery import BUNDLED, FilamentFile

from .helpers import SCRIPTS, lines, replay


def write(directory: Path, name: str, body: str) -> FilamentFile:
    path = directory / f"{name}.py"
    path.write_text(body, encoding="utf-8")
    return FilamentFile(name, path)


def test_spec_is_split_on_every_comma_untrimmed() -> None:
    assert split_spec("watch_files,powershell.exe, x") == ["watch_files", "powershell.exe", " x"]
    assert split_spec("f,") == ["f", ""]


def test_sys_argv_name_and_state_are_restored(tmp_path: Path) -> None:
    f = write(
        tmp_path,
        "argv_probe",
        "import sys\nSEEN = (list(sys.argv), __name__)\ndef on_next_kevent(kevent):\n    pass\n",
    )
    argv, path, modules = list(sys.argv), list(sys.path), set(sys.modules)
    with FilamentRun(f, ["argv_probe", "a", " b"]) as run:
        assert run._hooks is not None
        assert run._hooks.module.SEEN == (["argv_probe", "a", " b"], "argv_probe")
        assert sys.argv == ["argv_probe", "a", " b"]
        assert str(tmp_path.resolve()) in sys.path
    assert (sys.argv, sys.path) == (argv, path)
    assert set(sys.modules) == modules


def test_a_filament_named_like_a_standard_module_is_still_the_filament(tmp_path: Path) -> None:
    f = write(tmp_path, "string", "def on_next_kevent(kevent):\n    pass\nMINE = True\n")
    import string

    with FilamentRun(f) as run:
        assert run._hooks is not None and run._hooks.module.MINE
        assert run._hooks.module.__name__ == "string"
        assert sys.modules["string"] is string


def test_helpers_of_the_filament_directory_and_the_bundled_dotdict_import(tmp_path: Path) -> None:
    (tmp_path / "helpers_pkg").mkdir()
    (tmp_path / "helpers_pkg" / "names.py").write_text("PREFIX = 'seen:'\n")
    f = write(
        tmp_path,
        "uses_helpers",
        "from helpers_pkg.names import PREFIX\nfrom utils.dotdict import dotdictify\n"
        "@dotdictify\ndef on_next_kevent(kevent):\n"
        "    print(PREFIX, kevent.name, kevent.kparams.file_name, kevent.missing)\n",
    )
    from tests.cli.captures import run

    cap = Path(__file__).resolve().parents[2].parent / "shared/fixtures/fibratus/cap1.kcap"
    if not cap.exists():
        pytest.skip("fixture cap1.kcap is absent")
    result = run("replay", str(cap), "-f", str(f.path), "-n", "1")
    assert result.exit_code == 0, result.stderr
    assert lines(result.stdout)[0].startswith("seen: CreateFile \\Device\\")
    assert lines(result.stdout)[0].endswith(" None")
    assert "helpers_pkg" not in sys.modules and "utils" not in sys.modules


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("two_args", "expected 1 argument for on_next_event but found 2 args"),
        ("no_hook", "required on_next_kevent function is not defined"),
        ("bad_interval", "invalid interval value specified (0)"),
        ("bad_sort", "#ops column can't be sorted since it is not defined"),
        ("init_raises", "filament init error: on_init raised RuntimeError: no database connection"),
    ],
)
def test_start_up_errors(cap1: Path, script: str, message: str) -> None:
    result = replay(cap1, script)
    assert result.exit_code == 1
    last = lines(result.stderr)[-1]
    assert last.startswith(f"kcap: error: {SCRIPTS / script}.py: ")
    assert message in last
    assert result.stdout == ""


def test_on_init_traceback_is_shown(cap1: Path) -> None:
    err = replay(cap1, "init_raises").stderr
    assert 'init_raises.py", line 6, in on_init' in err
    assert "runner.py" not in err


def test_a_syntax_error_shows_the_line(cap1: Path, tmp_path: Path) -> None:
    # (written here: a file that does not compile cannot live in the repository's lint run)
    f = write(
        tmp_path, "broken", '"""Does not compile."""\n\n\ndef on_next_kevent(kevent)\n    pass\n'
    )
    result = replay(cap1, str(f.path))
    assert result.exit_code == 1
    assert 'broken.py", line 4' in result.stderr
    assert "def on_next_kevent(kevent)" in result.stderr
    assert lines(result.stderr)[-1] == (
        f"kcap: error: {f.path}: the filament cannot be imported: SyntaxError: expected ':'"
    )


def test_an_exception_at_import_shows_its_traceback(cap1: Path, tmp_path: Path) -> None:
    f = write(tmp_path, "import_fails", "import no_such_module_here\n")
    result = replay(cap1, str(f.path))
    assert result.exit_code == 1
    assert 'import_fails.py", line 1, in <module>' in result.stderr
    assert "frozen" not in result.stderr
    assert "ModuleNotFoundError: No module named 'no_such_module_here'" in lines(result.stderr)[-1]


def test_a_bad_filter_in_on_init_is_a_usage_error_with_the_diagram(cap1: Path) -> None:
    result = replay(cap1, "bad_filter")
    assert result.exit_code == 2
    first, *rest = lines(result.stderr)
    assert first.startswith(f"kcap: error: {SCRIPTS}/bad_filter.py: the filter set in on_init")
    assert "(column 11)" in first
    assert any(line.strip().endswith("^") for line in rest)  # the caret under the column


@pytest.mark.parametrize(
    ("source", "generation"),
    [
        ("def on_next_kevent(e):\n    pass\n", Generation.KEVENT),
        ("def on_next_event(e):\n    pass\n", Generation.EVENT),
        ("def on_kcap_event(e):\n    pass\n", Generation.KCAP),
        # a script written for both Fibratus generations gets the later one
        ("def on_next_kevent(e):\n    pass\ndef on_next_event(e):\n    pass\n", Generation.EVENT),
    ],
)
def test_the_hook_decides_the_generation(
    tmp_path: Path, source: str, generation: Generation
) -> None:
    with FilamentRun(write(tmp_path, "gen", source)) as run:
        assert run.generation is generation


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("on_next_kevent = 3\n", "on_next_kevent is not callable"),
        ("on_next_kevent = lambda a, b: 0\n", "found 2 args"),
        ("def on_next_kevent(*a):\n    pass\n", "found 0 args"),
        ("import functools\non_next_kevent = functools.partial(print)\n", "found 0 args"),
        ("def on_next_kevent(e):\n    pass\non_interval = None\n", "on_interval is not callable"),
    ],
)
def test_hook_checks(tmp_path: Path, source: str, message: str) -> None:
    with pytest.raises(FilamentError, match=message):
        FilamentRun(write(tmp_path, "checks", source)).__enter__()


def test_builtins_win_over_module_names_and_work_at_module_level(tmp_path: Path) -> None:
    source = (
        "title('set at import')\n"
        "def render_table():\n    return 'mine'\n"
        "def on_next_kevent(e):\n    pass\n"
    )
    with FilamentRun(write(tmp_path, "shadow", source)) as run:
        assert run.settings.table.title == "set at import"
        assert run._hooks is not None and run._hooks.module.render_table() is None


def test_finding_filaments(tmp_path: Path) -> None:
    path = search_path([tmp_path])
    assert path[0] == tmp_path and path[-1] == BUNDLED
    write(tmp_path, "count_events", "def on_next_kevent(e):\n    pass\n")
    assert find("count_events", path).path == tmp_path / "count_events.py"  # first wins
    assert find("count_events.py", path).path == tmp_path / "count_events.py"
    assert find("net_peers", path).path == BUNDLED / "net_peers.py"
    with pytest.raises(FilamentError, match='"nope" filament does not exist'):
        find("nope", path)
    with pytest.raises(FilamentError, match="does not exist or is not a directory"):
        search_path([tmp_path / "missing"])


def test_environment_search_path(tmp_path: Path) -> None:
    env = {"KCAP_FILAMENT_PATH": f"{tmp_path}:{tmp_path / 'missing'}"}
    assert search_path([], env) == [tmp_path, BUNDLED]


def test_argv0_is_the_bare_name_also_for_a_path(cap1: Path) -> None:
    from tests.cli.captures import run

    result = run("replay", str(cap1), "-f", f"{SCRIPTS}/hook_trace.py,3600")
    assert lines(result.stdout)[0] == "init ['hook_trace', '3600']"
