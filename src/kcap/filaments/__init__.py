"""Filaments: Fibratus's Python scripts, run unchanged over kcap's events.

    import kcap
    from kcap.filaments import FilamentRun, find, replay, search_path, split_spec

    argv = split_spec("top_registry_keys,20")
    found = find(argv[0], search_path())
    with kcap.open("incident.kcap") as reader, FilamentRun(found, argv) as run:
        replay(reader, run)

A filament defines ``on_next_kevent(kevent)`` (Fibratus up to December 2024) or
``on_next_event(event)`` (later Fibratus), and optionally ``on_init``, ``on_interval`` and
``on_stop``; it calls the builtins (``columns``, ``add_row``, ``render_table``, ``emit_alert``
...) as bare names. New scripts may define ``on_kcap_event(event)`` instead, to receive the
kcap `Event` itself.
See docs/filaments.md.
"""

from kcap.errors import FilamentError
from kcap.filaments.alerts import Alert, AlertSink
from kcap.filaments.clock import CLOCKS
from kcap.filaments.discovery import (
    BUNDLED,
    ENV_PATH,
    FilamentFile,
    Listed,
    discover,
    find,
    search_path,
)
from kcap.filaments.eventdict import Generation, event_dict, kevent_dict
from kcap.filaments.loader import split_spec
from kcap.filaments.replay import ReplayResult, replay
from kcap.filaments.runner import FilamentFailed, FilamentFilterError, FilamentRun, RunOptions
from kcap.filaments.table import Table

__all__ = [
    "BUNDLED",
    "CLOCKS",
    "ENV_PATH",
    "Alert",
    "AlertSink",
    "FilamentError",
    "FilamentFailed",
    "FilamentFile",
    "FilamentFilterError",
    "FilamentRun",
    "Generation",
    "Listed",
    "ReplayResult",
    "RunOptions",
    "Table",
    "discover",
    "event_dict",
    "find",
    "kevent_dict",
    "replay",
    "search_path",
    "split_spec",
]
