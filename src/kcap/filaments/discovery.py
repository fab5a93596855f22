"""Where filaments are looked for, how a ``-f`` value names one, and what `kcap filaments` lists.

The search path (docs/filaments.md, "Finding filaments") is, in order: the directories given
with ``--filament-path``, those in ``$KCAP_FILAMENT_PATH`` (separated like ``$PATH``; missing
ones are ignored there), then the filaments bundled with kcap. The first directory holding
``NAME.py`` wins. A ``-f`` value whose name is a path to a ``.py`` file loads that file.

Only regular files ending exactly in ``.py`` are filaments; sub-directories (``utils/``) are
helper packages a filament may import, never filaments themselves.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kcap.errors import FilamentError

#: The filaments shipped with kcap (and the ``utils.dotdict`` helper upstream's filaments use).
BUNDLED = Path(__file__).resolve().parent / "bundled"

ENV_PATH = "KCAP_FILAMENT_PATH"

#: Filament files larger than this are not read to find their description.
_MAX_DESCRIBE_BYTES = 4 << 20


@dataclass(frozen=True, slots=True)
class FilamentFile:
    """A filament on disk: its ``name`` (file name without ``.py``) and ``path``."""

    name: str
    path: Path

    @property
    def directory(self) -> Path:
        return self.path.parent


@dataclass(frozen=True, slots=True)
class Listed:
    """One entry of `discover`: the file, its description, and the file that wins over it
    when another directory earlier in the search path has a filament of the same name."""

    file: FilamentFile
    description: str
    shadowed_by: Path | None = None


def search_path(
    dirs: Iterable[str | os.PathLike[str]] = (), env: Mapping[str, str] | None = None
) -> list[Path]:
    """The directories to look in, in order. A directory given explicitly must exist."""
    out: list[Path] = []
    for d in dirs:
        p = Path(d)
        if not p.is_dir():
            raise FilamentError(f"{p}: the filament directory does not exist or is not a directory")
        out.append(p)
    environ = os.environ if env is None else env
    for entry in environ.get(ENV_PATH, "").split(os.pathsep):
        if entry and Path(entry).is_dir():
            out.append(Path(entry))
    out.append(BUNDLED)
    seen: set[Path] = set()
    unique = []
    for p in out:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def filaments_in(directory: Path) -> list[FilamentFile]:
    """The filaments of one directory, by file name."""
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError as exc:
        raise FilamentError(f"{directory}: cannot list the directory: {exc.strerror}") from None
    out = []
    for entry in entries:
        if entry.name.endswith(".py") and len(entry.name) > 3 and entry.is_file():
            out.append(FilamentFile(entry.name[:-3], Path(entry.path)))
    return out


def find(name: str, path: Sequence[Path]) -> FilamentFile:
    """The filament a ``-f`` value names: a path to a ``.py`` file, or a name on ``path``."""
    if not name:
        raise FilamentError("the filament name is empty: give -f NAME[,ARG...]")
    as_file = Path(name)
    if (os.sep in name or (os.altsep and os.altsep in name) or name.endswith(".py")) and (
        as_file.is_file()
    ):
        return FilamentFile(as_file.stem, as_file)
    bare = name[:-3] if name.endswith(".py") else name
    for directory in path:
        candidate = directory / f"{bare}.py"
        if candidate.is_file():
            return FilamentFile(bare, candidate)
    where = ", ".join(str(d) for d in path)
    raise FilamentError(
        f'"{name}" filament does not exist (looked in {where}); run "kcap filaments" to list '
        "the available ones, or add a directory with --filament-path"
    )


def description(path: Path) -> str:
    """The first line of a filament's module docstring ("" without one)."""
    try:
        if path.stat().st_size > _MAX_DESCRIBE_BYTES:
            return ""
        source = path.read_bytes()
    except OSError as exc:
        return f"(cannot be read: {exc.strerror})"
    try:
        tree = ast.parse(source, filename=str(path))
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        return f"(does not parse: {getattr(exc, 'msg', exc)}" + (f", line {line})" if line else ")")
    doc = ast.get_docstring(tree)
    if not doc:
        return ""
    return doc.strip().splitlines()[0].strip()


def discover(path: Sequence[Path]) -> list[Listed]:
    """Every filament on ``path``, directory by directory, with its description."""
    winner: dict[str, Path] = {}
    out = []
    for directory in path:
        for f in filaments_in(directory):
            first = winner.setdefault(f.name, f.path)
            shadowed = None if first == f.path else first
            out.append(Listed(f, description(f.path), shadowed))
    return out


__all__ = [
    "BUNDLED",
    "ENV_PATH",
    "FilamentFile",
    "Listed",
    "description",
    "discover",
    "filaments_in",
    "find",
    "search_path",
]
