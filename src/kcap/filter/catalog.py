"""The list of filter fields with type, description, example and availability (`kcap fields`)."""

from __future__ import annotations

from dataclasses import dataclass

from kcap.filter import fields as F
from kcap.filter.field_docs import FIELD_DOCS
from kcap.filter.fields_head import HEAD_DOCS

_KIND_WORDS = {
    "str": "string",
    "int": "integer",
    "float": "float",
    "bool": "bool",
    "ip": "ip",
    "strs": "list<string>",
    "ints": "list<uint64>",
    "time": "time",
    "any": "any",
}
_EXTRA_DOCS = {
    "ps.parent.ppid": (
        "uint32",
        "parent process id recorded in the parent's state",
        "ps.parent.ppid = 4",
    ),
    "ps.parent.modules": (
        "list<string>",
        "base file names of the parent's loaded modules",
        "ps.parent.modules in ('ntdll.dll')",
    ),
}


@dataclass(frozen=True, slots=True)
class FieldInfo:
    name: str
    type: str
    description: str
    example: str
    available: bool
    unavailable_reason: str

    def as_dict(self) -> dict[str, object]:
        return {
            "field": self.name,
            "type": self.type,
            "description": self.description,
            "example": self.example,
            "available": self.available,
            "unavailable_reason": self.unavailable_reason or None,
        }


def _pe_aliases() -> list[tuple[str, tuple[str, str, str]]]:
    """``ps.pe.*`` (current upstream's names) documented like the ``pe.*`` they alias."""
    out = []
    for name, (typ, desc, example) in FIELD_DOCS.items():
        if name.startswith("pe.") and "ps.pe." + name[3:] in F.FIELDS:
            out.append(("ps." + name, (typ, desc, example.replace(name, "ps." + name))))
    return out


def field_catalog() -> list[FieldInfo]:
    """Every field: the plain ones in table order, then the indexed families."""
    out: list[FieldInfo] = []
    seen: set[str] = set()
    for name, (typ, desc, example) in [
        *FIELD_DOCS.items(),
        *_EXTRA_DOCS.items(),
        *HEAD_DOCS.items(),
        *_pe_aliases(),
    ]:
        if "<" in name:
            reason = ""
            if name.startswith("thread.callstack["):
                reason = "captures do not keep symbolized call frames"
            out.append(FieldInfo(name, typ, desc, example, not reason, reason))
            continue
        spec = F.FIELDS.get(name)
        if spec is None:
            continue
        seen.add(name)
        reason = spec.unavailable or ""
        out.append(FieldInfo(name, typ, desc, example if not reason else "", not reason, reason))
    for name, spec in F.FIELDS.items():
        if spec.kind == "items":
            continue  # pseudo fields: only foreach in rule conditions iterates them
        if name not in seen:
            typ = _KIND_WORDS.get(spec.kind, spec.kind)
            out.append(
                FieldInfo(name, typ, "", "", spec.getter is not None, spec.unavailable or "")
            )
    return out
