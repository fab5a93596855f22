"""The replay loop: what `Reader.read` does with each decoded event, and its helpers.

Per event, in file order: classify it by type id, decode it when a state handler needs the
decoded event, run the handlers, drop a state-only event unless asked for, attach the process
state, apply the filter. `ReplayLoop` is the Python reference; the C accelerator's
``replay_loop`` takes the same arguments and runs the same steps (tests/format/test_speedups.py
compares them). `state_twins` wires the accelerator's state updates that read raw bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from kcap.errors import FormatError
from kcap.format.stream import RawEvent
from kcap.model.event import Event

if TYPE_CHECKING:
    from kcap.model.process import Process
    from kcap.state import HandleSnapshotter, ProcessSnapshotter

Handler = Callable[[Event], None]
# Per type id: (state handlers, state-only?, carries a process body?, handlers need the
# decoded event?)
TypeInfo = tuple[tuple[Handler, ...], bool, bool, bool]

#: Verdicts of a kind-only filter are remembered for at most this many kinds.
MAX_VERDICTS = 4096


class ReplayLoop:
    """The per-event loop of `Reader.read`, in Python (the accelerator has a C twin).

    ``source`` yields batches of events, where a `FormatError` stands for a section that did
    not decode; ``verdicts`` (a dict, or None) remembers the verdict of a filter that depends
    only on the kind of event. A `FormatError` raised by decoding, a handler or the filter goes
    to ``report`` and the event is dropped. ``on_end`` gets the final `counts` once, when the
    loop ends, fails or is dropped unfinished.
    """

    def __init__(
        self,
        source: Iterable[Sequence[Event | FormatError]],
        type_info: dict[bytes, TypeInfo],
        info_of: Callable[[bytes], TypeInfo],
        procs: dict[int, Process],
        flt: Callable[[Event], bool] | None,
        report: Callable[[FormatError], None],
        format_error: type[FormatError],
        defer: bool,
        track: bool,
        include_state: bool,
        lazy: bool,
        verdicts: dict[Any, bool] | None,
        on_end: Callable[[tuple[int, int, int, int]], None] | None = None,
    ) -> None:
        self._args = (source, type_info, info_of, procs, flt, report, defer, track)
        self._on_end = on_end
        self._include_state = include_state
        self._lazy = lazy
        self._verdicts = verdicts if flt is not None else None
        self._counts = (0, 0, 0, 0)
        self._it = self._run()

    def __iter__(self) -> Iterator[Event]:
        return self._it

    def counts(self) -> tuple[int, int, int, int]:
        """(events read, emitted, state-only, dropped by the filter) so far."""
        return self._counts

    def _run(self) -> Iterator[Event]:
        source, type_info, info_of, procs, flt, report, defer, track = self._args
        include_state, lazy, verdicts = self._include_state, self._lazy, self._verdicts
        find = procs.get
        read = emitted = state_only_count = dropped = 0
        try:
            for batch in source:
                for ev in batch:
                    if type(ev) is not Event:
                        report(ev)  # type: ignore[arg-type]
                        continue
                    try:
                        read += 1
                        handlers, state_only, carries_process, needs_decoded = type_info.get(
                            ev.type
                        ) or info_of(ev.type)
                        if defer and ((needs_decoded and track) or carries_process):
                            ev.decode()
                        if track:
                            for handler in handlers:
                                handler(ev)
                    except FormatError as exc:
                        report(exc)
                        continue
                    if state_only:
                        state_only_count += 1
                        if not include_state:
                            continue
                    embedded = ev._process
                    ev.ps = embedded if embedded is not None or not track else find(ev.pid)
                    if flt is not None:
                        try:
                            keep = flt(ev) if verdicts is None else _by_kind(flt, verdicts, ev)
                            if not keep:
                                dropped += 1
                                continue
                            if not lazy:
                                ev.decode()
                        except FormatError as exc:
                            report(exc)
                            continue
                    emitted += 1
                    self._counts = (read, emitted, state_only_count, dropped)
                    yield ev
        finally:
            self._counts = (read, emitted, state_only_count, dropped)
            if self._on_end is not None:
                self._on_end(self._counts)


def _by_kind(flt: Callable[[Event], bool], verdicts: dict[Any, bool], ev: Event) -> bool:
    """The verdict of a kind-only filter, asked once per kind of event."""
    kind = (ev.type, ev.name, ev.category, ev.description)
    keep = verdicts.get(kind)
    if keep is None:
        keep = bool(flt(ev))
        if len(verdicts) >= MAX_VERDICTS:
            verdicts.clear()
        verdicts[kind] = keep
    return keep


def state_twins(
    hsnap: HandleSnapshotter,
    psnap: ProcessSnapshotter,
    raw_tail: tuple[Any, tuple[Any, ...], bool],
) -> dict[Handler, Handler]:
    """Snapshotter handlers -> the accelerator's twins that read an event's raw tail.

    The handle updates are nearly half the records of a Windows capture, image rundowns a
    seventh; their twins leave those events undecoded. The process snapshotter's remaining
    thread and termination updates get the accelerator's value reader instead.
    """
    from kcap.format.accel import handle_updaters, module_loaders, thread_updater, value_reader

    py = hsnap.updaters()
    create, close = handle_updaters(
        hsnap.by_object, hsnap.UPDATE_PARAMS, py["CreateHandle"], py["CloseHandle"], raw_tail
    )
    images = psnap.image_update_parts()
    load, rundown = module_loaders(images, raw_tail)
    threads = psnap.thread_update_parts()
    psnap.value_reader = value_reader(raw_tail)
    return {
        py["CreateHandle"]: create,
        py["CloseHandle"]: close,
        images.on_load_image: load,
        images.on_image_rundown: rundown,
        threads.on_thread: thread_updater(threads, raw_tail),
    }


def batches(items: Iterator[Event | FormatError], size: int) -> Iterator[list[Event | FormatError]]:
    """``items`` in lists of up to ``size``; an error ending ``items`` (a cut file) comes after
    the list of what was complete before it."""
    while True:
        chunk: list[Event | FormatError] = []
        try:
            for item in items:
                chunk.append(item)
                if len(chunk) == size:
                    break
        except FormatError:
            if chunk:
                yield chunk
            raise
        if not chunk:
            return
        yield chunk


def decode_one(raw: RawEvent, decode: Callable[..., Event]) -> Event | FormatError:
    """One raw section decoded, or the error it raised."""
    try:
        return decode(*raw)
    except FormatError as exc:
        return exc


def decode_each(
    raws: Iterable[RawEvent], decode: Callable[..., Event]
) -> Iterator[Event | FormatError]:
    """Decode raw sections one by one; a section that does not decode yields its error."""
    for raw in raws:
        yield decode_one(raw, decode)
