"""What the writer changes so that Fibratus can read what it writes (docs/format.md,
"Writing").

Values Fibratus's reader cannot take are converted or left out before they are encoded, and
every change is counted in `EncodeNotes` so a caller can report it (never silently):

* float and double parameters become unicode text (``repr`` of the value): the reader crashes
  on them whatever their width;
* table-2020 sid / wbem sid account text becomes unicode text;
* an empty binary sid / wbem sid is left out (turning it into text crashes Fibratus);
* argument and environment blocks are cut to what Fibratus's 16-bit counters can sum;
* a process start time that does not parse becomes Go's zero time (Fibratus rejects it);
* a PE import name of 65534 bytes or more is refused (it crashes Fibratus).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kcap.errors import EncodeError
from kcap.model.params import Param, ParamType
from kcap.model.process import PE, Process
from kcap.model.timestamp import ZERO_TEXT, Timestamp

MAX_BLOCK = 0xFFFF  # Fibratus sums the argument and environment blocks in 16-bit counters


@dataclass
class EncodeNotes:
    """What the encoder had to change to keep a file readable by Fibratus."""

    dropped_args: int = 0
    dropped_envs: int = 0
    dropped_params: int = 0
    converted_params: int = 0

    def any(self) -> bool:
        return bool(
            self.dropped_args or self.dropped_envs or self.dropped_params or self.converted_params
        )


def newest_param(p: Param, notes: EncodeNotes) -> tuple[ParamType, Any] | None:
    """The type and value the newest layout stores for ``p`` (None: left out)."""
    ptype = p.type
    value = p.value
    if ptype is ParamType.FLOAT or ptype is ParamType.DOUBLE:
        notes.converted_params += 1
        return ParamType.UNICODE, repr(float(value))
    if ptype is ParamType.SID or ptype is ParamType.WBEM_SID:
        if isinstance(value, str):
            notes.converted_params += 1
            return ParamType.UNICODE, value
        if not value:
            notes.dropped_params += 1
            return None
    return ptype, value


def _utf8_len(s: str) -> int:
    return len(s.encode("utf-8", "surrogateescape"))


def _fit_block(
    items: list[Any], cost: Callable[[Any], int], notes: EncodeNotes, which: str
) -> list[Any]:
    """The leading items whose summed cost stays within Fibratus's 16-bit counter (``items``
    itself when they all fit)."""
    total = 0
    for n, item in enumerate(items):
        total += cost(item)
        if total > MAX_BLOCK:
            setattr(notes, which, getattr(notes, which) + len(items) - n)
            return items[:n]
    return items


def newest_process(p: Process, notes: EncodeNotes) -> Process:
    """``p`` as the newest writer stores it (a copy where anything had to change)."""
    args = _fit_block(p.args, lambda a: 2 + _utf8_len(a), notes, "dropped_args")
    envs = _fit_block(
        p.envs, lambda kv: 4 + _utf8_len(kv[0]) + _utf8_len(kv[1]), notes, "dropped_envs"
    )
    start_time = p.start_time if p.start_time.valid else Timestamp(ZERO_TEXT)
    if p.pe is not None:
        _check_pe(p.pe)
    if args is p.args and envs is p.envs and start_time is p.start_time:
        return p
    return dataclasses.replace(p, args=args, envs=envs, start_time=start_time)


def _check_pe(pe: PE) -> None:
    for name in (*pe.symbols, *pe.imports):
        if _utf8_len(name) >= 0xFFFE:
            raise EncodeError("a PE import name of 65534 bytes or more crashes Fibratus")
