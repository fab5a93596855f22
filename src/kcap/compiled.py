"""Which modules are compiled by Cython, and how kcap runs their plain-Python source instead.

The modules below hold rules (the replay loop, the state updates) and the model classes read
on every event. Each is written once, as Python; where a C compiler exists at install time
Cython compiles that same source into an extension module (``setup.py`` reads this list), which
Python then imports in place of the ``.py`` file. docs/engine.md says why and how.

* ``KCAP_PURE_PYTHON=1`` in the environment makes ``import kcap`` load every one of them, and
  the C byte kernel, as plain Python (a finder put first on ``sys.meta_path``).
* `kcap.engine.source_copy` loads a fresh copy of a module from its ``.py`` file under another
  name: the pure engine runs the compiled and the pure source side by side in one process,
  which is how the tests compare them.
"""

from __future__ import annotations

# Only what `import kcap` loads anyway: this module runs first on every import of kcap, which
# must stay cheap (importlib.machinery and .util are imported when a finder is used).
import os
import sys

TYPE_CHECKING = False  # typing itself is not imported: it would double `import kcap`'s time
if TYPE_CHECKING:
    import importlib.machinery
    from types import ModuleType

COMPILED = (
    "kcap.model.event",
    "kcap.model.timestamp",
    "kcap.model.records",
    "kcap.state.values",
    "kcap.state.dispatch",
    "kcap.state.handles",
    "kcap.state.processes",
    "kcap.replay.loop",
)

#: Set (to anything but "") to run kcap as plain Python.
PURE_VARIABLE = "KCAP_PURE_PYTHON"
_ROOT = os.path.dirname(os.path.abspath(__file__))  # src/kcap


def pure_requested() -> bool:
    return bool(os.environ.get(PURE_VARIABLE))


def _source_path(name: str) -> str:
    path = os.path.join(_ROOT, *name.split(".")[1:])
    return os.path.join(path, "__init__.py") if os.path.isdir(path) else path + ".py"


class _SourceFirst:
    """Finds the listed modules' ``.py`` source before their compiled extension."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.names:
            return None
        import importlib.util

        return importlib.util.spec_from_file_location(fullname, _source_path(fullname))


class _Blocked:
    """Makes the listed modules fail to import (the C kernel under KCAP_PURE_PYTHON)."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if fullname in self.names:
            raise ImportError(f"{fullname} is disabled by {PURE_VARIABLE}")
        return None


NATIVE_KERNEL = "kcap.format.kernel._native"


def install() -> None:
    """Honour ``KCAP_PURE_PYTHON`` (called by ``import kcap`` before anything else)."""
    if pure_requested() and not any(isinstance(f, _SourceFirst) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourceFirst(frozenset(COMPILED)))
        sys.meta_path.insert(0, _Blocked(frozenset({NATIVE_KERNEL})))


def is_compiled(module: ModuleType) -> bool:
    """True when ``module`` was loaded from a compiled extension."""
    import importlib.machinery

    return isinstance(getattr(module, "__loader__", None), importlib.machinery.ExtensionFileLoader)
