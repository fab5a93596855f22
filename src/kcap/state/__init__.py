"""Replay-side state: the process and handle snapshotters (docs/state.md).

Pure state machines driven by `kcap.model.Event`s; the reader feeds them every event of a
capture, a live source seeds them with what it finds at start. Each transition is one `Rule`,
written once; both snapshotters offer ``rule(type_id)`` and ``handler(type_id)`` (cached per raw
type id, None for irrelevant types) and ``update(event)``. Deviations from upstream Fibratus are
listed in each module's docstring and in docs/state.md.
"""

from .dispatch import Rule
from .handles import HandleSnapshotter
from .processes import (
    FLAG_PACKAGED,
    FLAG_PROTECTED,
    FLAG_WOW64,
    ProcessSnapshotter,
    derive_uuid,
)
from .sid import sid_to_text
from .warnings import WarningLog, WarningSink

__all__ = [
    "FLAG_PACKAGED",
    "FLAG_PROTECTED",
    "FLAG_WOW64",
    "HandleSnapshotter",
    "ProcessSnapshotter",
    "Rule",
    "WarningLog",
    "WarningSink",
    "derive_uuid",
    "sid_to_text",
]
