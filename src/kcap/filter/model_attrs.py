"""What ``foreach`` can read of the items it iterates, and the default value of each kind.

Segments are the attributes upstream allows on each pseudo field's items (docs/rules.md,
"Language"); those needing what a capture does not hold (token details of ancestors) are left
out, so using them is a compile error naming the allowed ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kcap.filter.indexed import ANCESTOR_ATTRS
from kcap.filter.render import hex_text

Segment = tuple[str, Callable[[Any], Any]]


#: An ancestor's attributes are the ones ``ps.ancestor[N].ATTR`` reads.
_ANCESTOR: dict[str, Segment] = dict(ANCESTOR_ATTRS)

_MODULE: dict[str, Segment] = {
    "path": ("str", lambda m: m.path),
    "name": ("str", lambda m: m.name),
    "address": ("str", lambda m: hex_text(m.base_address)),
    "size": ("int", lambda m: m.size),
    "checksum": ("int", lambda m: m.checksum),
}


_THREAD: dict[str, Segment] = {
    "tid": ("int", lambda t: t.tid),
    "start_address": ("str", lambda t: hex_text(t.start_address)),
    "user_stack_base": ("str", lambda t: hex_text(t.ustack_base)),
    "user_stack_limit": ("str", lambda t: hex_text(t.ustack_limit)),
    "kernel_stack_base": ("str", lambda t: hex_text(t.kstack_base)),
    "kernel_stack_limit": ("str", lambda t: hex_text(t.kstack_limit)),
}


_SECTION: dict[str, Segment] = {
    "name": ("str", lambda s: s.name),
    "size": ("int", lambda s: s.size),
    "entropy": ("float", lambda s: s.entropy),
    "md5": ("str", lambda s: s.md5),
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
