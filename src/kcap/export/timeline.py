"""Timeline documents: Timesketch JSON lines and Elastic Common Schema (ECS) documents.

Both are made from one row of the export schema (text-format values, `formats.rows`), so they
carry the same values as every other export; docs/schema.md ("Timeline formats") lists the
fields. Timesketch needs ``message``, ``datetime``, ``timestamp_desc`` (and takes
``timestamp`` in microseconds); every other column goes in as a flat field, each parameter as
``param_<name>``. ECS documents use the ECS field set where one fits (``@timestamp``,
``event.*``, ``process.*``, ``file.path``, ``registry.path``, ``source.*``/``destination.*``,
``dll.path``) and keep the rest under ``kcap.*``.
"""

from __future__ import annotations

from typing import Any

#: A short description of what the event is about, by the first typed column that is set.
_TARGETS = ("file_path", "registry_path", "image_path", "handle_name", "child_name")


def target(row: dict[str, Any]) -> str:
    """What the event acted on: a path, key, endpoint, handle or process ('' when none)."""
    for col in _TARGETS:
        v = row.get(col)
        if v:
            return str(v)
    dip = row.get("net_dip")
    if dip:
        port = row.get("net_dport")
        return f"{dip}:{port}" if port is not None else str(dip)
    return ""


def message(row: dict[str, Any]) -> str:
    """``NAME TARGET by PROCESS (pid N)``, the parts that are known."""
    parts = [str(row.get("name") or "")]
    what = target(row)
    if what:
        parts.append(what)
    proc = row.get("ps_name")
    pid = row.get("pid")
    if proc:
        parts.append(f"by {proc} (pid {pid})")
    elif pid is not None:
        parts.append(f"by pid {pid}")
    return " ".join(parts)


def timesketch_doc(row: dict[str, Any], ns: int | None) -> dict[str, Any]:
    """One Timesketch event: the required fields, then every non-null column, flat."""
    doc: dict[str, Any] = {
        "message": message(row),
        "datetime": row.get("timestamp"),
        "timestamp": None if ns is None else ns // 1000,
        "timestamp_desc": "Event Recorded",
        "data_type": "kcap:event",
    }
    for key, value in row.items():
        if value is None or key in ("params", "param_types", "meta"):
            continue
        doc.setdefault(key, value)
    for name, value in (row.get("params") or {}).items():
        doc[f"param_{name}"] = value
    if row.get("meta"):
        doc["meta"] = row["meta"]
    return doc


# event.category values of ECS by kcap category (ECS allows a fixed list).
_ECS_CATEGORY = {
    "file": ["file"],
    "registry": ["registry"],
    "net": ["network"],
    "process": ["process"],
    "thread": ["process"],
    "image": ["library"],
    "driver": ["driver"],
    "handle": [],
    "mem": [],
}


def _put(doc: dict[str, Any], dotted: str, value: Any) -> None:
    if value is None:
        return
    *parents, leaf = dotted.split(".")
    node = doc
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value


def ecs_doc(row: dict[str, Any], ns: int | None) -> dict[str, Any]:
    """One ECS document (ECS 8.x field names)."""
    doc: dict[str, Any] = {"@timestamp": row.get("timestamp"), "message": message(row)}
    put = _put
    put(doc, "ecs.version", "8.11.0")
    put(doc, "event.kind", "event")
    put(doc, "event.action", row.get("name"))
    put(doc, "event.category", _ECS_CATEGORY.get(row.get("category") or "", []) or None)
    put(doc, "event.sequence", row.get("seq"))
    put(doc, "event.provider", "kcap")
    put(doc, "event.dataset", "kcap.events")
    put(doc, "host.name", row.get("host"))
    put(doc, "process.pid", row.get("pid"))
    put(doc, "process.thread.id", row.get("tid"))
    put(doc, "process.name", row.get("ps_name"))
    put(doc, "process.executable", row.get("ps_exe"))
    put(doc, "process.command_line", row.get("ps_cmdline"))
    put(doc, "process.working_directory", row.get("ps_cwd"))
    put(doc, "process.start", row.get("ps_start_time"))
    uuid = row.get("ps_uuid")
    put(doc, "process.entity_id", None if uuid is None else str(uuid))
    put(doc, "process.parent.pid", row.get("ps_ppid"))
    put(doc, "process.parent.name", row.get("ps_parent_name"))
    parent_uuid = row.get("ps_parent_uuid")
    put(doc, "process.parent.entity_id", None if parent_uuid is None else str(parent_uuid))
    put(doc, "user.id", row.get("ps_sid") or None)
    put(doc, "user.name", row.get("ps_username") or None)
    put(doc, "user.domain", row.get("ps_domain") or None)
    put(doc, "file.path", row.get("file_path"))
    put(doc, "registry.path", row.get("registry_path"))
    put(doc, "dll.path", row.get("image_path"))
    put(doc, "source.ip", row.get("net_sip"))
    put(doc, "source.port", row.get("net_sport"))
    put(doc, "destination.ip", row.get("net_dip"))
    put(doc, "destination.port", row.get("net_dport"))
    put(doc, "network.bytes", row.get("net_size"))
    kcap: dict[str, Any] = {
        k: v
        for k, v in row.items()
        if v is not None and k in ("category", "cpu", "description", "tz_offset", "file", "raw")
    }
    if row.get("params"):
        kcap["params"] = row["params"]
    if row.get("meta"):
        kcap["meta"] = row["meta"]
    if kcap:
        doc["kcap"] = kcap
    return doc


__all__ = ["ecs_doc", "message", "target", "timesketch_doc"]
