"""What ``foreach`` can read of the items it iterates, and the default value of each kind.

Segments are the attributes upstream allows on each pseudo field's items (docs/rules.md,
"Language"); those needing what a capture does not hold (token details of ancestors) are left
out, so using them is a compile error naming the allowed ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kcap.filter.render import hex_text
from kcap.model.process import Module, PESection, Process, Thread

Segment = tuple[str, Callable[[Any], Any]]


def _process(get: Callable[[Process], Any]) -> Callable[[Any], Any]:
    return get


_ANCESTOR: dict[str, Segment] = {
    "name": ("str", _process(lambda p: p.name)),
    "pid": ("int", _process(lambda p: p.pid)),
    "cmdline": ("str", _process(lambda p: p.cmdline)),
    "exe": ("str", _process(lambda p: p.exe)),
    "args": ("strs", _process(lambda p: list(p.args))),
    "cwd": ("str", _process(lambda p: p.cwd)),
    "sid": ("str", _process(lambda p: p.sid)),
    "sessionid": ("int", _process(lambda p: p.session_id)),
    "username": ("str", _process(lambda p: p.username)),
    "domain": ("str", _process(lambda p: p.domain)),
}


def _module(get: Callable[[Module], Any]) -> Callable[[Any], Any]:
    return get


_MODULE: dict[str, Segment] = {
    "path": ("str", _module(lambda m: m.path)),
    "name": ("str", _module(lambda m: m.name)),
    "address": ("str", _module(lambda m: hex_text(m.base_address))),
    "size": ("int", _module(lambda m: m.size)),
    "checksum": ("int", _module(lambda m: m.checksum)),
}


def _thread(get: Callable[[Thread], Any]) -> Callable[[Any], Any]:
    return get


_THREAD: dict[str, Segment] = {
    "tid": ("int", _thread(lambda t: t.tid)),
    "start_address": ("str", _thread(lambda t: hex_text(t.start_address))),
    "user_stack_base": ("str", _thread(lambda t: hex_text(t.ustack_base))),
    "user_stack_limit": ("str", _thread(lambda t: hex_text(t.ustack_limit))),
    "kernel_stack_base": ("str", _thread(lambda t: hex_text(t.kstack_base))),
    "kernel_stack_limit": ("str", _thread(lambda t: hex_text(t.kstack_limit))),
}


def _section(get: Callable[[PESection], Any]) -> Callable[[Any], Any]:
    return get


_SECTION: dict[str, Segment] = {
    "name": ("str", _section(lambda s: s.name)),
    "size": ("int", _section(lambda s: s.size)),
    "entropy": ("float", _section(lambda s: s.entropy)),
    "md5": ("str", _section(lambda s: s.md5)),
}

SEGMENTS: dict[str, dict[str, Segment]] = {
    "ps._ancestors": _ANCESTOR,
    "ps._modules": _MODULE,
    "ps._threads": _THREAD,
    "ps.pe._sections": _SECTION,
    "pe._sections": _SECTION,
}

#: The value a field of each kind takes when an event lacks it (rule conditions only).
TYPED_DEFAULTS: dict[str, Any] = {
    "str": "",
    "int": 0,
    "float": 0.0,
    "bool": False,
    "strs": [],
    "ints": [],
    "any": "",
}
