"""The keys of rule and macro files and what each may hold (docs/rules.md, "Rule files").

Each check yields one problem per bad key, worded for the person who wrote the file: which
key, what it holds, what it should hold. Upstream validates the same keys with a JSON Schema;
its oddities are fixed here and listed in docs/rules.md (only the first element of a list was
checked, version numbers accepted any character between the digits).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import Any

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_VERSION = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+")
_MACRO_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SEVERITIES = ("low", "medium", "high", "critical")
ACTIONS = ("kill", "isolate")

RULE_KEYS = {
    "id",
    "name",
    "version",
    "condition",
    "min-engine-version",
    "description",
    "output",
    "severity",
    "labels",
    "tags",
    "references",
    "notes",
    "authors",
    "enabled",
    "action",
}
_REQUIRED = ("id", "name", "version", "condition", "min-engine-version")
_STRING_LISTS = ("tags", "references", "authors")


def _type_name(v: Any) -> str:
    if v is None:
        return "nothing"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int | float):
        return "a number"
    if isinstance(v, str):
        return "text"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "a mapping"
    return type(v).__name__


def rule_problems(doc: Any) -> Iterator[tuple[str, str]]:
    """(key, what is wrong) for every problem of one rule document."""
    if not isinstance(doc, dict):
        yield "", f"a rule file holds one rule (a mapping of keys), not {_type_name(doc)}"
        return
    for key in doc:
        if key not in RULE_KEYS:
            yield str(key), f"unknown key; the keys are {', '.join(sorted(RULE_KEYS))}"
    for key in _REQUIRED:
        if key not in doc:
            yield key, "is required"
    for key in (
        "id",
        "name",
        "version",
        "condition",
        "min-engine-version",
        "description",
        "output",
        "severity",
        "notes",
    ):
        if key in doc and not isinstance(doc[key], str):
            yield key, f"must be text, not {_type_name(doc[key])}"
    if isinstance(doc.get("id"), str) and not _UUID.fullmatch(doc["id"]):
        yield "id", f"{doc['id']!r} is not a lowercase UUID (8-4-4-4-12 hex digits)"
    if isinstance(doc.get("name"), str) and len(doc["name"]) < 3:
        yield "name", "must be at least 3 characters"
    for key in ("version", "min-engine-version"):
        if isinstance(doc.get(key), str) and not _VERSION.fullmatch(doc[key]):
            yield key, f"{doc[key]!r} is not a version such as 1.0.0"
    if isinstance(doc.get("condition"), str) and len(doc["condition"].strip()) < 3:
        yield "condition", "must be at least 3 characters"
    if isinstance(doc.get("output"), str) and len(doc["output"]) < 5:
        yield "output", "must be at least 5 characters"
    if isinstance(doc.get("severity"), str) and doc["severity"] not in SEVERITIES:
        yield "severity", f"{doc['severity']!r} is not one of {', '.join(SEVERITIES)}"
    if "labels" in doc:
        labels = doc["labels"]
        if not isinstance(labels, dict):
            yield "labels", f"must be a mapping of names to text, not {_type_name(labels)}"
        else:
            for k, v in labels.items():
                if not isinstance(v, str):
                    yield f"labels.{k}", f"must be text, not {_type_name(v)} (quote it)"
    for key in _STRING_LISTS:
        if key in doc:
            items = doc[key]
            if not isinstance(items, list):
                yield key, f"must be a list of text, not {_type_name(items)}"
                continue
            for i, item in enumerate(items):
                if not isinstance(item, str) or not item:
                    yield f"{key}[{i}]", f"must be non-empty text, not {_type_name(item)}"
    if "enabled" in doc and not isinstance(doc["enabled"], bool):
        yield "enabled", f"must be true or false, not {_type_name(doc['enabled'])}"
    if "action" in doc:
        yield from _action_problems(doc["action"])


def _action_problems(actions: Any) -> Iterator[tuple[str, str]]:
    if not isinstance(actions, list):
        yield "action", f"must be a list of actions, not {_type_name(actions)}"
        return
    for i, act in enumerate(actions):
        where = f"action[{i}]"
        if not isinstance(act, dict):
            yield where, f"must be a mapping with a name, not {_type_name(act)}"
            continue
        for key in act:
            if key not in ("name", "whitelist"):
                yield (
                    f"{where}.{key}",
                    "unknown key; an action has name and, for isolate, whitelist",
                )
        name = act.get("name")
        if name not in ACTIONS:
            yield f"{where}.name", f"{name!r} is not one of {', '.join(ACTIONS)}"
        if "whitelist" in act:
            wl = act["whitelist"]
            if name != "isolate":
                yield f"{where}.whitelist", "is allowed only for the isolate action"
            elif not isinstance(wl, list) or not wl:
                yield f"{where}.whitelist", "must be a non-empty list of IPv4 addresses"
            else:
                for j, addr in enumerate(wl):
                    try:
                        ipaddress.IPv4Address(str(addr))
                    except ValueError:
                        yield f"{where}.whitelist[{j}]", f"{addr!r} is not an IPv4 address"


def macro_problems(item: Any) -> Iterator[tuple[str, str]]:
    """(key, what is wrong) for one entry of a macro file."""
    if not isinstance(item, dict):
        yield "", f"a macro is a mapping with macro and expr or list, not {_type_name(item)}"
        return
    for key in item:
        if key not in ("macro", "expr", "list", "description"):
            yield str(key), "unknown key; a macro has macro, expr or list, description"
    name = item.get("macro")
    if not isinstance(name, str):
        yield "macro", "the macro's name is required (text)"
    elif not _MACRO_NAME.fullmatch(name):
        yield (
            "macro",
            (
                f"{name!r} cannot be used in a condition: a name is letters, digits and _, "
                "not starting with a digit"
            ),
        )
    has_expr, has_list = "expr" in item, "list" in item
    if has_expr == has_list:
        yield "expr", "a macro has exactly one of expr (an expression) or list (a list)"
    if has_expr and (not isinstance(item["expr"], str) or len(item["expr"].strip()) < 2):
        yield "expr", "must be an expression (text)"
    if has_list:
        items = item["list"]
        if not isinstance(items, list) or not items:
            yield "list", "must be a non-empty list of text"
        else:
            for i, v in enumerate(items):
                if not isinstance(v, str | int):
                    yield f"list[{i}]", f"must be text, not {_type_name(v)}"
