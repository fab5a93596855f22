"""Fixtures of the live capture tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from live_support import bpf_objects_of, children_of, kcap_instances, kcap_mounts, require_live


@pytest.fixture
def leak_check() -> Iterator[None]:
    """Skip without the kernel facilities; afterwards nothing the capture made may remain.

    Programs and maps of a capture in a child process are checked by
    `CaptureProcess.assert_released` (by id, so a concurrent capture elsewhere cannot confuse
    the check); here: no mount, no tracefs instance, no child process, and this process itself
    holds no eBPF object (for captures run in-process).
    """
    require_live()
    yield
    assert kcap_mounts() == [], "a tracefs mount made by the capture remains"
    assert kcap_instances() == [], "a tracefs instance made by the capture remains"
    assert children_of(os.getpid()) == [], "a child process of the test remains"
    assert bpf_objects_of(os.getpid()) == (set(), set()), "this process still holds eBPF objects"
