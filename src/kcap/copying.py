"""`kcap.copy`: copy a capture, or the part of it a filter keeps, without losing its state.

A capture's process and handle state lives in two places: the handle section after the header,
and the state-only events (the rundowns: processes, threads, images, handles that existed when
capture started), which replay uses to rebuild state and does not yield by default. A copy made
with ``for ev in reader.read(): writer.write(ev)`` has neither, so replaying it finds no process
for most events. `copy` is the loop that keeps both, written with the public API only:

* the writer is given the source's handle section (``handles=reader.handles``);
* events are read with ``include_state=True``, so the rundowns come along;
* the filter decides only about events that change no state: a state-only event, and any
  event the snapshotters learn from (process and thread lifecycles, images, handles), is
  copied whatever the filter says, so that every event kept replays with the process state
  it had in the source. This is the rule of ``kcap capture EXPR`` too (README, "Python
  API"; docs/linux-capture.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from kcap.errors import KcapError, StateWarning
from kcap.model import Event, lookup
from kcap.reader import Reader
from kcap.reader import open as open_capture
from kcap.writer import WriterStats, new_writer, resolve_output

ErrorCallback = Callable[[KcapError], None]

_MAX_TYPES = 4096


def _same_file(a: os.PathLike[str], b: os.PathLike[str]) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # the destination does not exist yet
        return False


def _state_feeders(reader: Reader) -> Callable[[bytes], bool]:
    """type id -> whether replay state needs events of that type (asked of the snapshotters,
    which own that knowledge; the answer is cached per type id, as theirs is)."""
    hsnap, psnap = reader.recover_snapshotters()
    known: dict[bytes, bool] = {}

    def feeds_state(type_id: bytes) -> bool:
        got = known.get(type_id)
        if got is None:
            et = lookup(type_id)
            got = bool(et is not None and et.state_only) or (
                hsnap.handler(type_id) is not None or psnap.handler(type_id) is not None
            )
            if len(known) < _MAX_TYPES:  # garbage ids of a damaged file must not grow it
                known[type_id] = got
        return got

    return feeds_state


def copy(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    filter: str | Callable[[Event], bool] | None = None,
    *,
    on_error: ErrorCallback | None = None,
) -> WriterStats:
    """Copy capture ``src`` to ``dst`` in the newest layout, keeping what replay needs.

    ``filter`` (an expression, as `kcap.filter.compile` takes, or a predicate over events with
    ``ps`` attached) selects the events copied; the events replay rebuilds state from are kept
    whatever it says (see the module docstring), so replay the copy with the same filter to
    see only the events it selected.
    ``dst`` is overwritten if it exists (``.kcap`` is added to a plain name without extension).

    An event that cannot be decoded or written is left out; it is passed to ``on_error``, and
    without ``on_error`` the copy stops and raises it. A `StateWarning` (replay met a missing
    parameter; the event is kept and copied) goes to ``on_error`` only. An error that stops
    reading (a capture cut short) is raised too. Either way ``dst`` is closed properly first and
    replays up to the last event copied. Returns the writer's statistics.
    """
    keep: Callable[[Event], bool] | None = None
    if isinstance(filter, str):
        if filter.strip():
            from kcap.filter import compile as compile_filter

            keep = compile_filter(filter)
    else:
        keep = filter

    failure: list[KcapError] = []

    def report(exc: KcapError) -> None:
        if on_error is not None:
            on_error(exc)
        elif not failure and not isinstance(exc, StateWarning):  # a warning: the event is kept
            failure.append(exc)

    with open_capture(src, on_error=report) as reader:
        if _same_file(reader.path, resolve_output(dst)):
            raise KcapError(f"{dst}: cannot copy a capture onto itself ({reader.path})")
        writer = new_writer(dst, handles=reader.handles, on_error=report)
        feeds_state = _state_feeders(reader)
        try:
            # ``ps`` is only needed by a filter; without one the snapshotters are not run.
            for ev in reader.read(include_state=True, track_state=keep is not None):
                if failure:
                    break
                if keep is None or feeds_state(ev.type) or keep(ev):
                    writer.write(ev)
        finally:
            stats = writer.close()
    if failure:
        raise failure[0]
    return stats


__all__ = ["copy"]
