"""Reading event parameters the way the snapshotters need them, across writer generations.

Parameter *types* changed between writer generations (a pid is PID-typed in every generation,
but an address was ``hex int64`` in 2020 and ``address`` from 2023) and so did a few *names*
(``file_name`` became ``file_path`` in December 2024). The snapshotters only care about the
value, so these helpers accept any integer-valued parameter where upstream demands one exact
type, and look a value up under each of its historical names.
"""

from __future__ import annotations

from kcap.model import Event, Param, ParamType, Timestamp
from kcap.model.timestamp import ZERO


def int_value(value: object) -> int | None:
    """An integer parameter value, or None when the value is not an integer.

    ``bool`` is rejected (a flag is not a pid); text is not parsed (no writer stores numbers as
    text for the parameters the snapshotters read).
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def param_int(event: Event, name: str) -> int | None:
    """The integer value of parameter ``name``, or None when absent or not an integer."""
    p: Param | None = event.params.get(name)
    return None if p is None else int_value(p.value)


def param_int_or_zero(event: Event, name: str) -> int:
    """Like `param_int` with upstream's default for optional numbers: 0."""
    value = param_int(event, name)
    return 0 if value is None else value


def text_value(value: object) -> str:
    """Render a parameter value as text the way a state field holds it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return str(value)


def param_text(event: Event, *names: str) -> str:
    """The text of the first of ``names`` the event has, or '' when it has none of them."""
    params = event.params
    for name in names:
        p = params.get(name)
        if p is not None:
            return text_value(p.value)
    return ""


def param_time(event: Event, name: str) -> Timestamp:
    """A time parameter, or Go's zero time when absent or not a time."""
    value = event.param(name)
    return value if isinstance(value, Timestamp) else ZERO


def is_wbem_sid(event: Event, name: str) -> bool:
    p = event.params.get(name)
    return p is not None and p.type is ParamType.WBEM_SID
