"""Loading rule and macro files: discovery, YAML, schema, macros, compilation.

A path is a rule file (a YAML mapping), a macro file (a YAML list of macros) or a directory,
searched recursively for ``.yml``/``.yaml`` files of either kind. All macros are read before
any rule is compiled, so a rule may use a macro from any file. Every problem found is reported
(file, rule id, key, what is wrong) in one `RuleError`, instead of stopping at the first.
Duplicate ids, disabled rules and ``min-engine-version`` follow upstream (docs/rules.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from kcap.errors import FilterError, RuleError
from kcap.filter.condition import compile_condition
from kcap.filter.macros import Macro
from kcap.rules.model import Rule
from kcap.rules.schema import macro_problems, rule_problems
from kcap.rules.validate import check_kind_names

#: The upstream engine version whose rule semantics kcap implements (docs/rules.md).
ENGINE_VERSION = "3.1.1"
#: Largest rule or macro file read (upstream's largest is 13 KB).
MAX_FILE_BYTES = 4 << 20
_SUFFIXES = (".yml", ".yaml")


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: Path, what: str, rule_id: str | None = None, key: str = "") -> None:
        where = str(path)
        if rule_id:
            where += f": rule {rule_id}"
        if key:
            where += f": {key}"
        self.items.append(f"{where}: {what}")


def discover(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The YAML files named or found under the directories named, in a stable order."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in _SUFFIXES)
            if not found:
                raise RuleError(f"{p}: no .yml or .yaml files in this directory")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise RuleError(f"{p}: no such rule file or directory")
    seen: set[Path] = set()
    unique = []
    for f in out:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


def _read_yaml(path: Path, problems: _Problems) -> Any:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            problems.add(path, f"{size:,} bytes is larger than a rule file can be")
            return None
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.add(path, f"cannot be read: {getattr(exc, 'strerror', None) or exc}")
        return None
    if "{{" in text:
        problems.add(
            path,
            "uses a Go template ({{ ... }}), which kcap does not expand; write the text out",
        )
        return None
    try:
        return yaml.safe_load(text)
    except RecursionError:
        problems.add(path, "nests lists or mappings too deeply to be a rule or macro file")
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).split("\n")[0]
        problems.add(path, f"is not valid YAML{where}: {problem}")
        return None


def load_files(files: list[Path]) -> tuple[list[Rule], dict[str, Macro], list[str]]:
    """Rules (in file order, compiled when enabled), macros and warnings; raises `RuleError`."""
    problems = _Problems()
    warnings: list[str] = []
    macros: dict[str, Macro] = {}
    rule_docs: list[tuple[Path, dict[str, Any]]] = []
    for path in files:
        doc = _read_yaml(path, problems)
        if doc is None:
            continue
        if isinstance(doc, list):
            _add_macros(path, doc, macros, problems, warnings)
            continue
        bad = list(rule_problems(doc))
        rid = doc.get("id") if isinstance(doc, dict) and isinstance(doc.get("id"), str) else None
        for key, what in bad:
            problems.add(path, what, rid, key)
        if not bad:
            rule_docs.append((path, doc))
    rules: list[Rule] = []
    ids: dict[str, Path] = {}
    for path, doc in rule_docs:
        rule = _rule_of(path, doc)
        if rule.id in ids:
            problems.add(
                path, f'"{rule.name}" uses the id of a rule in {ids[rule.id]}', rule.id, "id"
            )
            continue
        ids[rule.id] = path
        rules.append(rule)
        if not rule.enabled:
            warnings.append(f"{path}: rule {rule.id}: [{rule.name}] rule is disabled")
            continue
        if _version_tuple(rule.min_engine_version) > _version_tuple(ENGINE_VERSION):
            problems.add(
                path,
                f"needs engine version {rule.min_engine_version}, but kcap implements the "
                f"rule semantics of upstream {ENGINE_VERSION}",
                rule.id,
                "min-engine-version",
            )
            continue
        _compile(rule, macros, problems)
    if problems.items:
        n = len(problems.items)
        head = problems.items[0] if n == 1 else f"{n} problems in the rule files"
        raise RuleError(head, problems.items)
    return rules, macros, warnings


def _add_macros(
    path: Path,
    doc: list[Any],
    macros: dict[str, Macro],
    problems: _Problems,
    warnings: list[str],
) -> None:
    for i, item in enumerate(doc):
        bad = list(macro_problems(item))
        label = item.get("macro") if isinstance(item, dict) else None
        for key, what in bad:
            where = f"macro {label}" if isinstance(label, str) else f"item {i + 1}"
            problems.add(path, f"{where}: {key + ': ' if key else ''}{what}")
        if bad:
            continue
        name = item["macro"]
        items = tuple(str(v) for v in item["list"]) if "list" in item else None
        macro = Macro(name, item.get("expr"), items, str(path))
        old = macros.get(name)
        if old is not None and (old.expr, old.items) != (macro.expr, macro.items):
            warnings.append(f"{path}: macro {name} replaces the one defined in {old.source}")
        macros[name] = macro


def _rule_of(path: Path, doc: dict[str, Any]) -> Rule:
    return Rule(
        id=doc["id"],
        name=doc["name"],
        version=doc["version"],
        condition_text=doc["condition"],
        min_engine_version=doc["min-engine-version"],
        path=path,
        description=doc.get("description") or "",
        output=doc.get("output") or "",
        severity=doc.get("severity") or "low",
        labels=dict(doc.get("labels") or {}),
        tags=list(doc.get("tags") or []),
        references=list(doc.get("references") or []),
        notes=doc.get("notes") or "",
        authors=list(doc.get("authors") or []),
        enabled=doc.get("enabled", True),
        actions=[dict(a) for a in doc.get("action") or []],
    )


def _compile(rule: Rule, macros: dict[str, Macro], problems: _Problems) -> None:
    try:
        cond = compile_condition(rule.condition_text, macros)
    except FilterError as exc:
        problems.add(rule.path, f"condition: {exc}", rule.id)
        return
    for what in check_kind_names(cond):
        problems.add(rule.path, what, rule.id, "condition")
    rule.condition = cond
    rule.needs = dict(cond.needs)
    rule.warnings = list(cond.warnings)
    if cond.kinds is None:
        rule.warnings.append(
            "the condition names no event type or category, so the rule is evaluated on "
            "every event (upstream discards such a rule)"
        )
