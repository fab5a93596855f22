"""Every test here runs on each engine (tests/conftest.py, ``engine``)."""

import pytest


@pytest.fixture(autouse=True)
def _on_each_engine(engine: object) -> None:
    """Parametrises the whole directory by engine."""
