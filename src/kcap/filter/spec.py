"""What the compiler knows about one field: its kind, cost class and accessor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kcap.model.event import Event

COSTS = {"header": 0, "state": 1, "params": 2}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    kind: str
    cost: str  # 'header' | 'state' | 'params'
    getter: Callable[[Event], Any] | None
    unavailable: str | None = None  # why a capture cannot provide it (compile error)
    params: tuple[str, ...] = ()  # event parameters it reads

    @property
    def namespace(self) -> str:
        if self.name.startswith("ps.parent.") or self.name.startswith("ps.ancestor["):
            return "ps.parent"
        return self.name.split(".", 1)[0].split("[", 1)[0]
