"""Shared fixtures: the Fibratus captures live in ../shared beside the checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

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
