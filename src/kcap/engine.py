"""Engines: the sets of implementations a reader or writer runs on (docs/engine.md).

Every rule of kcap is written once, in Python. An engine says which build of those sources runs:

* ``native``: the C byte kernel, and the Cython-compiled rule modules where they were built
  (`kcap.compiled`);
* ``pure``: the pure-Python byte kernel and the plain-Python source of the rule modules -- the
  same source the compiled modules were built from, loaded afresh under ``kcap._pure`` when the
  compiled ones are in use, so both run side by side in one process.

`default` is native where it was built and ``KCAP_PURE_PYTHON`` is not set, else pure. The
tests run every format, replay and state test on both.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from kcap import compiled
from kcap.format import kernel

#: The packages that hold compiled rule modules: the pure engine loads them from source.
RULE_PACKAGES = ("state", "replay")
_SHADOW = "kcap._pure"
_ROOT = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Engine:
    """One build of kcap's sources: a byte kernel and the rule packages."""

    name: str
    kernel: ModuleType  # kcap.format.kernel.native or .pure
    state: ModuleType  # the kcap.state package (its classes: HandleSnapshotter ...)
    replay: ModuleType  # the kcap.replay package (replay, Plan, Setup)

    def __repr__(self) -> str:
        return f"<kcap engine {self.name}>"


class _ShadowFinder(importlib.abc.MetaPathFinder):
    """Loads ``kcap._pure.X...`` from the source of ``kcap.X...``: plain Python, never a
    compiled extension."""

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(_SHADOW + "."):
            return None
        parts = fullname.split(".")[2:]
        where = _ROOT.joinpath(*parts)
        if where.is_dir():
            return importlib.util.spec_from_file_location(
                fullname, where / "__init__.py", submodule_search_locations=[str(where)]
            )
        source = where.with_suffix(".py")
        if source.is_file():
            return importlib.util.spec_from_file_location(fullname, source)
        return None


def _shadow(package: str) -> ModuleType:
    if not any(isinstance(f, _ShadowFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _ShadowFinder())
    if _SHADOW not in sys.modules:
        root = ModuleType(_SHADOW, "Plain-Python copies of kcap's compiled rule packages.")
        root.__path__ = []  # a package, whose children the finder above supplies
        sys.modules[_SHADOW] = root
    return importlib.import_module(f"{_SHADOW}.{package}")


def source_copy(module: str) -> ModuleType:
    """The plain-Python build of ``module`` (``kcap.X``), loaded from its source as
    ``kcap._pure.X`` beside whatever build is in use: tests compare a compiled module with its
    own source through it."""
    return _shadow(module.removeprefix("kcap."))


def _rules_compiled(package: str) -> bool:
    """True when a module of ``package`` in use is a compiled extension."""
    prefix = f"kcap.{package}."
    for name in compiled.COMPILED:
        if name.startswith(prefix):
            module = sys.modules.get(name) or importlib.import_module(name)
            if compiled.is_compiled(module):
                return True
    return False


_engines: dict[str, Engine] = {}


def get(name: str) -> Engine:
    """The engine ``native`` or ``pure``; `EngineUnavailable` when native was not built."""
    got = _engines.get(name)
    if got is not None:
        return got
    if name == "native":
        if kernel.native is None:
            raise EngineUnavailable(
                "the native engine is not built here (no C compiler at install time, or "
                f"{compiled.PURE_VARIABLE} is set); the pure engine gives the same results"
            )
        got = Engine("native", kernel.native, _load("kcap.state"), _load("kcap.replay"))
    elif name == "pure":
        packages = [_shadow(p) if _rules_compiled(p) else _load(f"kcap.{p}") for p in RULE_PACKAGES]
        got = Engine("pure", kernel.pure, *packages)
    else:
        raise ValueError(f"unknown engine {name!r} (native or pure)")
    _engines[name] = got
    return got


def _load(name: str) -> ModuleType:
    return importlib.import_module(name)


class EngineUnavailable(RuntimeError):
    """The native engine was asked for where it was not built."""


def available() -> tuple[str, ...]:
    """The engines that can run here, the default first."""
    names = ("native", "pure") if kernel.native is not None else ("pure",)
    return names if not compiled.pure_requested() else ("pure",)


_default: list[Engine] = []


def default() -> Engine:
    """The engine readers and writers use when none is named."""
    if not _default:
        _default.append(get(available()[0]))
    return _default[0]


def set_default(engine: Engine | str) -> Engine:
    """Make ``engine`` the default (tests run a suite on each); returns the previous one."""
    previous = default()
    _default[0] = get(engine) if isinstance(engine, str) else engine
    return previous
