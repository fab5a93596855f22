"""Replay-side state: the process and handle snapshotters (snapshotters.md §2, §3).

Pure state machines driven by `kcap.model.Event`s; the reader feeds them every event of a
capture, a live source seeds them with what it finds at start. Both offer ``handler(type_id)``
(the update function for a raw type id, cached, None for irrelevant types) and ``update(event)``.
Deviations from upstream Fibratus are listed in each module's docstring and in docs/state.md.
"""

from kcap.state.handles import HandleSnapshotter
from kcap.state.processes import (
    FLAG_PACKAGED,
    FLAG_PROTECTED,
    FLAG_WOW64,
    ProcessSnapshotter,
    derive_uuid,
)
from kcap.state.sid import sid_to_text
from kcap.state.warnings import WarningLog, WarningSink

__all__ = [
    "FLAG_PACKAGED",
    "FLAG_PROTECTED",
    "FLAG_WOW64",
    "HandleSnapshotter",
    "ProcessSnapshotter",
    "WarningLog",
    "WarningSink",
    "derive_uuid",
    "sid_to_text",
]
