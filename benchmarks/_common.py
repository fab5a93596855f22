"""Helpers shared by the benchmark scripts: paths, timing, peak memory, child runs, tables.

Every scenario of a benchmark runs in a fresh child process (`run_child`), so the peak resident
set size a child reports (`peak_rss_mb`, from ``getrusage``) belongs to that scenario alone and
not to whatever ran before it in the same interpreter.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
SHARED = REPO / ".." / "shared"
LIVE_CAPTURE = SHARED / "fixtures" / "fibratus" / "test-live-2022.kcap"
#: Generated captures and baselines are large; they live outside the repository and are reused.
DEFAULT_WORKDIR = Path(tempfile.gettempdir()) / "kcap-bench"

T = TypeVar("T")


def ensure_kcap_importable() -> None:
    """Let the scripts run from a checkout without installing the package."""
    try:
        import kcap  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(SRC))


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB.

    On Linux this is VmHWM, the high-water mark of the current address space. ``ru_maxrss`` is
    the fallback elsewhere; on Linux it is kept across ``execve``, so a child started by a big
    parent would report at least the parent's peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


#: Clocks a benchmark can time with. "cpu" (user + system time of the process, all threads)
#: does not count time the process waits for a core, so it stays meaningful on a machine that
#: is busy with other work; "wall" is what a user waits on an idle machine.
CLOCKS: dict[str, Callable[[], float]] = {"cpu": time.process_time, "wall": time.perf_counter}


def best_of(
    repeat: int, fn: Callable[[], T], clock: Callable[[], float] = time.process_time
) -> tuple[float, T]:
    """Run ``fn`` ``repeat`` times; return the fastest time (s) on ``clock`` and the last result.

    The fastest run is the one least disturbed by the rest of the machine; all runs do the
    same work, so it is the best estimate of the code's own cost.
    """
    best = float("inf")
    result: Any = None
    for _ in range(max(1, repeat)):
        start = clock()
        result = fn()
        best = min(best, clock() - start)
    return best, result


def load_average() -> str:
    """The 1-minute load average and core count, to print beside results (contention shows)."""
    try:
        return f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    except OSError:
        return f"{os.cpu_count()} cores"


class Checkout:
    """A kcap checkout whose code a benchmark child imports: this one, or another one given
    with ``--compare`` (a second worktree at an older commit, built in place, typically with
    its own ``.venv``). The benchmark code itself is always this checkout's, so both sides are
    measured by the same scenarios."""

    def __init__(self, root: Path, label: str | None = None) -> None:
        self.root = root.resolve()
        self.src = self.root / "src"
        if not (self.src / "kcap" / "__init__.py").is_file():
            raise SystemExit(f"{root} is not a kcap checkout (no src/kcap/__init__.py)")
        venv = self.root / ".venv" / "bin" / "python"
        self.python = str(venv) if venv.exists() else sys.executable
        self.label = label or self.describe()

    def describe(self) -> str:
        """The checkout's short commit id (its directory name when git cannot tell)."""
        try:
            done = subprocess.run(
                ["git", "-C", str(self.root), "rev-parse", "--short", "HEAD"],
                capture_output=True, text=True, check=True, timeout=10,
            )  # fmt: skip
            return done.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return self.root.name


THIS = Checkout(REPO, "this")


def child_env(extra: dict[str, str] | None = None, src: Path = SRC) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra or {})
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(src), env.get("PYTHONPATH", "")) if p)
    return env


def run_child(
    script: Path,
    args: Sequence[str],
    timeout: float = 3600,
    env: dict[str, str] | None = None,
    checkout: Checkout | None = None,
) -> dict[str, Any]:
    """Run ``python script args`` in a fresh interpreter; its last stdout line is JSON.

    ``env`` adds variables to the child's environment; ``checkout`` (default: this one) is the
    kcap the child imports, run by that checkout's Python.
    """
    where = checkout or THIS
    cmd = [where.python, str(script), *args]
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        env=child_env(env, where.src),
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"benchmark child failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr.strip()}"
        )
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if not lines:
        raise RuntimeError(f"benchmark child printed nothing: {' '.join(cmd)}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def engine_in_use() -> str:
    """Which build of kcap this process runs: ``native`` or ``pure`` (older checkouts, from
    before `kcap.engine`, say ``C accelerator`` or ``pure``)."""
    try:
        from kcap import engine

        return engine.default().name
    except ImportError:  # an older checkout
        try:
            from kcap.format import accel  # type: ignore[attr-defined]

            return "C accelerator" if accel.ACCELERATED else "pure"
        except ImportError:
            return "pure"


def emit_result(result: dict[str, Any]) -> None:
    """What a child prints last: one JSON line `run_child` reads back."""
    print(json.dumps(result), flush=True)


# --------------------------------------------------------------------------- formatting


def fmt_rate(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    if value >= 1e3:
        return f"{value / 1e3:.1f}k"
    return f"{value:.0f}"


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def fmt_num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_table(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], plain: bool | None = None
) -> None:
    """Print a table with rich on a terminal, as aligned plain text otherwise (logs, pipes).

    Plain text is the default off a terminal so the output can be pasted into notes as is.
    """
    if plain is None:
        plain = not sys.stdout.isatty()
    if not plain:
        try:
            from rich.console import Console
            from rich.table import Table
        except ImportError:
            plain = True
        else:
            table = Table(title=title)
            for i, col in enumerate(columns):
                table.add_column(col, justify="left" if i == 0 else "right")
            for row in rows:
                table.add_row(*row)
            Console().print(table)
            return
    widths = [len(c) for c in columns]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row)]

    def line(cells: Sequence[str]) -> str:
        out = [cells[0].ljust(widths[0])]
        out += [c.rjust(w) for c, w in zip(cells[1:], widths[1:])]
        return "| " + " | ".join(out) + " |"

    print(f"\n{title}")
    print(line(columns))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))
    sys.stdout.flush()


def progress(message: str) -> None:
    """A progress line on stderr (stdout stays for results)."""
    print(message, file=sys.stderr, flush=True)
