"""Loading a filament: ``sys.argv``, the import by path, the builtins, the hooks.

As upstream (docs/filaments.md, "Loading"): the ``-f`` value is split on every comma, nothing
trimmed, and the list becomes ``sys.argv`` (``argv[0]`` the bare name); the filament's
directory is appended to ``sys.path`` so its helper packages (``utils.dotdict``) import, and
kcap's bundled directory after it so ``utils.dotdict`` is found even where a user's directory
lacks it; the file is imported as module NAME. Unlike upstream the file is imported *by path*, so a
filament named like a standard module (``string.py``) is still the filament.

Everything changed here (``sys.argv``, ``sys.path``, the modules imported from the filament
directories) is put back when the run ends, so several runs in one process do not see each
other.
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kcap.errors import FilamentError
from kcap.filaments.discovery import BUNDLED, FilamentFile
from kcap.filaments.eventdict import Generation

#: The per-event hooks, the first defined one wins: kcap's own, then upstream's later and
#: earlier names.
EVENT_HOOKS = (
    ("on_kcap_event", Generation.KCAP),
    ("on_next_event", Generation.EVENT),
    ("on_next_kevent", Generation.KEVENT),
)


def split_spec(value: str) -> list[str]:
    """``NAME[,ARG...]`` as upstream splits it: on every comma, nothing trimmed."""
    return value.split(",")


@dataclass
class Hooks:
    """The callables a loaded filament provides."""

    module: types.ModuleType
    generation: Generation
    event_hook_name: str
    on_event: Callable[[Any], Any]
    on_init: Callable[[], Any] | None
    on_interval: Callable[[], Any] | None
    on_stop: Callable[[], Any] | None


def format_exception(exc: BaseException) -> list[str]:
    """The traceback lines of a filament's exception without kcap's own frames: the leading
    ones (kcap calling the hook, the import machinery) and trailing ones inside this package
    (a builtin that raised for a bad argument: the filament's line calling it is above). A
    syntax error is only its message and caret."""
    lines = []
    if not isinstance(exc, SyntaxError):
        frames = traceback.extract_tb(exc.__traceback__)
        while len(frames) > 1 and _not_filament_code(frames[0].filename):
            frames.pop(0)
        while len(frames) > 1 and _not_filament_code(frames[-1].filename):
            frames.pop()
        if frames:
            lines.append("Traceback (most recent call last):")
            lines.extend(line.rstrip("\n") for line in traceback.format_list(frames))
    lines.extend(line.rstrip("\n") for line in traceback.format_exception_only(type(exc), exc))
    return [sub for line in lines for sub in line.split("\n")]


_HERE = Path(__file__).resolve().parent  # this package's modules, not bundled/ below it


def _not_filament_code(filename: str) -> bool:
    return filename.startswith("<frozen ") or Path(filename).resolve().parent == _HERE


def exception_summary(exc: BaseException) -> str:
    """``Type: message`` on one line."""
    text = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return " ".join(text.split())


@contextmanager
def activated(found: FilamentFile, argv: list[str]) -> Iterator[None]:
    """While inside: ``sys.argv`` is ``argv`` and the filament's directories are on
    ``sys.path``. Afterwards both are restored and the modules imported from those
    directories are forgotten."""
    saved_argv = sys.argv
    saved_path = list(sys.path)
    before = set(sys.modules)
    dirs = [str(found.directory.resolve())]
    if str(BUNDLED) not in dirs:
        dirs.append(str(BUNDLED))
    sys.argv = list(argv)
    # Appended, as upstream does: a filament directory must not shadow the standard library.
    sys.path.extend(d for d in dirs if d not in sys.path)
    try:
        yield
    finally:
        sys.argv = saved_argv
        sys.path[:] = saved_path
        for name in set(sys.modules) - before:
            module = sys.modules.get(name)
            origin = getattr(module, "__file__", None) or ""
            spec = getattr(module, "__spec__", None)
            locations = list(getattr(spec, "submodule_search_locations", None) or [])
            if any(str(p).startswith(tuple(dirs)) for p in [origin, *locations] if p):
                del sys.modules[name]


def import_filament(
    found: FilamentFile, builtins: dict[str, Callable[..., Any]]
) -> types.ModuleType:
    """Execute the filament file as module ``found.name`` with ``builtins`` in its globals
    (before its body runs, so module-level code may call them, and again after, so they win
    over module-level names, as upstream installs them after the import)."""
    name = found.name
    # Taken names (a standard module, an earlier import) are left alone: the filament is entered
    # in sys.modules under a private key, and still sees its own name as __name__.
    key = name if name not in sys.modules else f"_kcap_filament_{name}"
    spec = importlib.util.spec_from_file_location(name, found.path)
    if spec is None or spec.loader is None:
        raise FilamentError(f"{found.path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    module.__dict__.update(builtins)
    sys.modules[key] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[key]
        raise FilamentImportError(found, exc, format_exception(exc)) from None
    module.__dict__.update(builtins)
    return module


class FilamentImportError(FilamentError):
    """The filament file raised (or did not compile) while it was imported; ``details`` are
    the traceback lines to show."""

    def __init__(self, found: FilamentFile, exc: BaseException, details: list[str]) -> None:
        self.details = details
        super().__init__(f"{found.path}: the filament cannot be imported: {exception_summary(exc)}")


_ABSENT = object()


def _positional_count(fn: object) -> int:
    code = getattr(fn, "__code__", None)
    return int(getattr(code, "co_argcount", 0)) if code is not None else 0


def hooks_of(found: FilamentFile, module: types.ModuleType) -> Hooks:
    """Find and check the hooks, with upstream's messages for upstream's hooks."""
    where = str(found.path)
    defined = [(name, gen) for name, gen in EVENT_HOOKS if hasattr(module, name)]
    if not defined:
        raise FilamentError(
            f"{where}: required on_next_kevent function is not defined (define "
            "on_next_kevent(kevent), on_next_event(event) or kcap's on_kcap_event(event))"
        )
    hook_name, generation = defined[0]
    fn = getattr(module, hook_name)
    if not callable(fn):
        raise FilamentError(f"{where}: {hook_name} is not callable")
    args = _positional_count(fn)
    if args != 1:
        raise FilamentError(f"{where}: expected 1 argument for {hook_name} but found {args} args")
    optional: dict[str, Callable[[], Any] | None] = {}
    for name in ("on_init", "on_interval", "on_stop"):
        # Present but not callable (None included) is an error at start, where upstream fails
        # at the first call.
        value = getattr(module, name, _ABSENT)
        if value is _ABSENT:
            optional[name] = None
        elif callable(value):
            optional[name] = value
        else:
            raise FilamentError(f"{where}: {name} is not callable")
    return Hooks(
        module=module,
        generation=generation,
        event_hook_name=hook_name,
        on_event=fn,
        on_init=optional["on_init"],
        on_interval=optional["on_interval"],
        on_stop=optional["on_stop"],
    )


__all__ = [
    "EVENT_HOOKS",
    "FilamentImportError",
    "Hooks",
    "activated",
    "exception_summary",
    "format_exception",
    "hooks_of",
    "import_filament",
    "split_spec",
]
