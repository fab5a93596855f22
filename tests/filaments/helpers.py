"""Running filaments in tests: the test scripts' directory and the CLI with it."""

from __future__ import annotations

from pathlib import Path

from click.testing import Result

from tests.cli.captures import run

SCRIPTS = Path(__file__).resolve().parent / "scripts"


def replay(capture: Path, spec: str, *args: str) -> Result:
    """``kcap replay CAPTURE -f SPEC --filament-path SCRIPTS ARGS`` in-process."""
    return run("replay", str(capture), "-f", spec, "--filament-path", str(SCRIPTS), *args)


def lines(text: str) -> list[str]:
    return text.splitlines()
