"""Shared fixtures: the Fibratus captures live in ../shared beside the checkout; ``engine`` runs
a test on each build of kcap's sources (docs/engine.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import kcap
from kcap import engine as engines

#: The engines that run here: both where the native one was built (CI builds it).
ENGINES = engines.available()

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FIBRATUS = SHARED / "fixtures" / "fibratus"
NEWEST = SHARED / "fixtures" / "newest"


def fixture_path(*parts: str) -> Path:
    path = SHARED.joinpath("fixtures", *parts)
    if not path.exists():
        pytest.skip(f"fixture {path} is absent (../shared is not beside the checkout)")
    return path


@pytest.fixture
def cap1() -> Path:
    return fixture_path("fibratus", "cap1.kcap")


@pytest.fixture
def cap2() -> Path:
    return fixture_path("fibratus", "cap2.kcap")


@pytest.fixture
def live2022() -> Path:
    return fixture_path("fibratus", "test-live-2022.kcap")


@pytest.fixture
def newest() -> Path:
    return fixture_path("newest", "synth-newest-le.kcap")


@pytest.fixture
def newest_expected() -> Path:
    return fixture_path("newest", "synth-newest-le.expected.jsonl")


#: Names a test module may import from kcap.state: rebound to the engine's build of them.
_RULE_CLASSES = ("HandleSnapshotter", "ProcessSnapshotter")


@pytest.fixture(params=ENGINES)
def engine(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[engines.Engine]:
    """The test runs once on each engine: readers and writers use it by default, and the
    snapshotter classes the test module imported are that engine's."""
    eng = engines.get(request.param)
    previous = engines.set_default(eng)
    module = request.module
    for name in _RULE_CLASSES:
        if hasattr(module, name):
            monkeypatch.setattr(module, name, getattr(eng.state, name))
    try:
        yield eng
    finally:
        engines.set_default(previous)


@pytest.fixture
def both_engines() -> tuple[engines.Engine, ...]:
    """Every engine that runs here, for tests that compare them side by side."""
    return tuple(engines.get(name) for name in ENGINES)


__all__ = ["ENGINES", "kcap"]
