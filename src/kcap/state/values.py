# cython: annotation_typing=False
"""Reading event parameters the way the snapshotters need them, across writer generations.

Parameter *types* changed between writer generations (a pid is PID-typed in every generation,
but an address was ``hex int64`` in 2020 and ``address`` from 2023) and so did a few *names*
(``file_name`` became ``file_path`` in December 2024). The snapshotters only care about the
value, so these helpers accept any integer-valued parameter where upstream demands one exact
type, and look a value up under each of its historical names.

Handlers call `params_of` once per event and pass the mapping around: the state update of an
image event reads eight parameters, and this keeps each read a plain dict lookup.
"""

from __future__ import annotations

from collections.abc import Mapping

from kcap.model import Event, Param, ParamType, Timestamp
from kcap.model.timestamp import ZERO

ParamMap = Mapping[str, Param]

# Parameter names that changed between writer generations, newest first. The 2022 names were
# checked against the live 2022 fixture (docs/state.md, "Parameters across writer generations").
#: Image path: ``file_name`` until the December 2024 rename.
IMAGE_PATH = ("file_path", "file_name")
#: Process command line: ``comm`` in 2020-2022 captures.
CMDLINE = ("cmdline", "comm")
#: Thread start address: ``entrypoint`` in 2020-2022 captures.
THREAD_START = ("start_address", "entrypoint")
#: Handle object type name: ``handle_type`` in 2020-2022 captures.
HANDLE_TYPE = ("type_id", "handle_type")


def params_of(event: Event) -> ParamMap:
    """The event's parameters by name (first occurrence wins, as `Params` defines).

    The model's `Params` keeps a plain dict; reading it directly saves a Python-level call per
    parameter on the replay hot path. Any other mapping is used as it is.
    """
    params = event.params
    by_name: ParamMap | None = getattr(params, "by_name", None)
    return params if by_name is None else by_name


def int_value(value: object) -> int | None:
    """An integer parameter value, or None when the value is not an integer.

    ``bool`` is rejected (a flag is not a pid); text is not parsed (no writer stores numbers as
    text for the parameters the snapshotters read).
    """
    if type(value) is int:  # the common case, checked first for speed
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    return None


def int_or_zero(value: object) -> int:
    """An integer value, or upstream's default 0 for an absent or non-integer one."""
    if type(value) is int:
        return value
    number = None if value is None else int_value(value)
    return 0 if number is None else number


def param_int(params: ParamMap, name: str) -> int | None:
    """The integer value of parameter ``name``, or None when absent or not an integer."""
    p = params.get(name)
    return None if p is None else int_value(p.value)


def param_int_or_zero(params: ParamMap, *names: str) -> int:
    """The integer value of the first of ``names`` present, else upstream's default 0."""
    for name in names:
        p = params.get(name)
        if p is not None:
            return int_or_zero(p.value)
    return 0


def text_value(value: object) -> str:
    """Render a parameter value as text the way a state field holds it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return str(value)


def param_text(params: ParamMap, *names: str) -> str:
    """The text of the first of ``names`` present, or '' when none is."""
    for name in names:
        p = params.get(name)
        if p is not None:
            return text_value(p.value)
    return ""


def param_time(params: ParamMap, name: str) -> Timestamp:
    """A time parameter, or Go's zero time when absent or not a time."""
    p = params.get(name)
    return p.value if p is not None and isinstance(p.value, Timestamp) else ZERO


def param_sid(params: ParamMap, name: str) -> tuple[object, bool]:
    """The raw value of SID parameter ``name`` and whether it is a wbem SID."""
    p = params.get(name)
    if p is None:
        return None, False
    return p.value, p.type is ParamType.WBEM_SID
