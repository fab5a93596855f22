"""A loaded rule, its severity, and what its alerts carry."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kcap.filter.condition import Condition

SEVERITY_ORDER = {"low": 0, "medium": 1, "high": 2, "critical": 3}


def severity_rank(name: str) -> int:
    """Order of a severity name; unknown names rank as low (as upstream reads them)."""
    return SEVERITY_ORDER.get(name.lower(), 0)


@dataclass
class Rule:
    id: str
    name: str
    version: str
    condition_text: str
    min_engine_version: str
    path: Path
    description: str = ""
    output: str = ""
    severity: str = "low"
    labels: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    notes: str = ""
    authors: list[str] = field(default_factory=list)
    enabled: bool = True
    actions: list[dict[str, Any]] = field(default_factory=list)
    #: Set when the rule is enabled and compiled.
    condition: Condition | None = None
    #: Fields the rule reads that this kind of capture cannot hold: field -> what it needs.
    needs: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def is_sequence(self) -> bool:
        return self.condition is not None and self.condition.sequence

    def __repr__(self) -> str:
        return f"Rule({self.name!r}, id={self.id})"
