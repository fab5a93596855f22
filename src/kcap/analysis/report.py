"""``kcap report``: one self-contained HTML page for triaging a capture.

The page (template ``report.html`` beside this module) needs no network access: its styles,
script, data and chart are all inside it. It shows a summary, the process tree (every process
the capture saw, with its activity by category), an event-rate chart (inline SVG, one bar per
second), the top files, registry keys and endpoints, and, one click on a process away, its
first events. Data comes from two reads of the capture: the statistics query
(`kcap.analysis.stats`) and one replay that follows processes (`kcap.analysis.lifetimes`).
"""

from __future__ import annotations

import html
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from kcap import __version__
from kcap.analysis.lifetimes import ProcessLife, track
from kcap.analysis.snapshot import tree
from kcap.analysis.stats import Stats, compute
from kcap.export.values import valid_text, value_text
from kcap.model.event import Event

#: Events of each process the page carries (the count of the rest is shown).
EVENTS_PER_PROCESS = 200
_PARAMS_TEXT = 240


@dataclass
class _Activity:
    categories: Counter[str] = field(default_factory=Counter)
    events: list[list[Any]] = field(default_factory=list)
    total: int = 0


def _key(uuid: int, pid: int) -> str:
    return f"{pid}-{uuid}"


def _params_text(ev: Event) -> str:
    parts = []
    size = 0
    for p in ev.params.all():
        piece = f"{p.name}={value_text(p.value)}"
        parts.append(piece)
        size += len(piece) + 2
        if size > _PARAMS_TEXT:
            break
    text = ", ".join(parts)
    return valid_text(text if len(text) <= _PARAMS_TEXT else text[: _PARAMS_TEXT - 1] + "…")


def collect(path: str | os.PathLike[str], top: int = 10) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data."""
    stats: Stats = compute([path], top=top)
    activity: dict[str, _Activity] = {}

    def on_event(ev: Event, kind: str, state_only: bool) -> None:
        ps = ev.ps
        if state_only or ps is None:
            return
        key = _key(ps.uuid, ps.pid)
        act = activity.get(key)
        if act is None:
            act = activity[key] = _Activity()
        act.total += 1
        act.categories[ev.category] += 1
        if len(act.events) < EVENTS_PER_PROCESS:
            act.events.append([ev.seq, ev.timestamp.text, valid_text(ev.name), _params_text(ev)])

    life = track(path, handles=False, on_event=on_event)
    procs = [p.process for p in life.processes]
    by_proc = {id(p.process): p for p in life.processes}

    def node(n: Any) -> dict[str, Any]:
        pl: ProcessLife = by_proc[id(n.process)]
        p = n.process
        key = _key(p.uuid, p.pid)
        act = activity.get(key, _Activity())
        return {
            "key": key,
            "pid": p.pid,
            "ppid": p.ppid,
            "name": valid_text(p.name),
            "cmdline": valid_text(p.cmdline),
            "exe": valid_text(p.exe),
            "start": pl.start.text,
            "exit": None if pl.exit_time is None else pl.exit_time.text,
            "events": act.total,
            "categories": dict(act.categories.most_common()),
            "children": [node(c) for c in n.children],
        }

    return {
        "file": str(path),
        "generator": f"kcap {__version__}",
        "stats": stats.as_dict(),
        "processes": len(procs),
        "tree": [node(n) for n in tree(procs)],
        "events": {k: {"total": a.total, "rows": a.events} for k, a in activity.items()},
        "events_per_process": EVENTS_PER_PROCESS,
    }


# --------------------------------------------------------------------------- rendering

_CHART_W, _CHART_H = 900, 160


def chart_svg(seconds: list[dict[str, Any]]) -> str:
    """An inline SVG bar chart of events per second (a title on each bar tells its value)."""
    if not seconds:
        return (
            '<svg class="chart" id="rate-chart" width="900" height="40">'
            '<text x="8" y="24">no events</text></svg>'
        )
    peak = max(r["events"] for r in seconds) or 1
    n = len(seconds)
    bar = _CHART_W / n
    bars = []
    for i, r in enumerate(seconds):
        h = max(1.0, (_CHART_H - 20) * r["events"] / peak)
        x, y = i * bar, _CHART_H - h
        title = html.escape(f"{r['second']}: {r['events']:,} events")
        bars.append(
            f'<rect class="bar" x="{x:.2f}" y="{y:.2f}" width="{max(bar - 0.5, 0.5):.2f}" '
            f'height="{h:.2f}"><title>{title}</title></rect>'
        )
    label = html.escape(f"peak {peak:,} events/s")
    return (
        f'<svg class="chart" id="rate-chart" viewBox="0 0 {_CHART_W} {_CHART_H}" '
        f'width="{_CHART_W}" height="{_CHART_H}" role="img" aria-label="events per second">'
        f'<text x="4" y="12" class="axis">{label}</text>{"".join(bars)}</svg>'
    )


def _rows_html(rows: list[dict[str, Any]], cols: list[tuple[str, str]]) -> str:
    if not rows:
        return "<p class='none'>none</p>"
    head = "".join(f"<th>{html.escape(t)}</th>" for _, t in cols)
    body = []
    for r in rows:
        cells = []
        for key, _ in cols:
            v = r.get(key)
            text = "" if v is None else (f"{v:,}" if key in ("events", "bytes") else str(v))
            cells.append(f"<td>{html.escape(valid_text(text))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render(data: dict[str, Any]) -> str:
    """The page for ``data`` (from `collect`)."""
    template = resources.files("kcap.analysis").joinpath("report.html").read_text("utf-8")
    s = data["stats"]
    summary = [
        ("Capture", data["file"]),
        ("Events", f"{s['events']:,}"),
        ("First event", s["first"] or "-"),
        ("Last event", s["last"] or "-"),
        ("Duration", f"{s['duration_s']:,.3f} s"),
        ("Processes seen", f"{data['processes']:,}"),
    ]
    summary_html = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(valid_text(v))}</td></tr>"
        for k, v in summary
    )
    payload = json.dumps(data, ensure_ascii=True).replace("</", "<\\/")
    parts = {
        "TITLE": html.escape(f"kcap report: {os.path.basename(data['file'])}"),
        "SUMMARY": summary_html,
        "CHART": chart_svg(s["seconds"]),
        "KINDS": _rows_html(s["kinds"], [("name", "Kind"), ("events", "Events")]),
        "FILES": _rows_html(s["files_top"], [("file_path", "File"), ("events", "Events")]),
        "REGISTRY": _rows_html(s["registry_top"], [("registry_path", "Key"), ("events", "Events")]),
        "ENDPOINTS": _rows_html(
            s["endpoints_top"],
            [
                ("net_dip", "Address"),
                ("net_dport", "Port"),
                ("events", "Events"),
                ("bytes", "Bytes"),
            ],
        ),
        "GENERATOR": html.escape(data["generator"]),
        "DATA": payload,
    }
    # one pass, so that no inserted text is itself searched for placeholders
    return re.sub(r"\{\{([A-Z]+)\}\}", lambda m: parts[m.group(1)], template)


def write_report(path: str | os.PathLike[str], out: str | os.PathLike[str], top: int = 10) -> None:
    page = render(collect(path, top))
    with open(out, "w", encoding="utf-8") as fh:
        fh.write(page)


__all__ = ["EVENTS_PER_PROCESS", "chart_svg", "collect", "render", "write_report"]
