"""``kcap detect``: replay captures through detection rules and report the alerts."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

import click

from kcap.cli.diagnostics import EXIT_ERROR, fail
from kcap.errors import KcapError, RuleError

SEVERITIES = ("low", "medium", "high", "critical")

EPILOG = """\b
Examples:
  kcap detect incident.kcap --rules rules/
  kcap detect a.kcap b.kcap --rules rules/ --rules my-macros.yml --min-severity high
  kcap detect incident.kcap --rules rules/ --format jsonl | jq -r .rule_name
  kcap detect samples/*.kcap --rules rules/ --fail-on high   # in a rule repository's CI

\b
Alerts are printed as they fire (text, or one JSON object per line with --format jsonl),
then a summary: rules loaded, evaluable, not evaluable on a capture and why, alerts per rule
(on stderr with --format jsonl; inside the document with --format json). Rules reading what a
capture cannot hold (call stacks, signatures, token integrity, live memory) are reported as
not evaluable unless --use-defaults gives them upstream's default values.

\b
Exit status:
  0  every capture was read (whatever fired, without --fail-on)
  1  an alert of the --fail-on severity or above fired, or a capture cannot be read
  2  bad command line or bad rule files (every problem is listed, one per line)
"""


def _emit(out: TextIO, text: str) -> None:
    out.write(text + "\n")


def _alert_text(alert: Any, capture: str, many: bool) -> str:
    r = alert.rule
    head = f"[{r.severity}] {r.name}  ({r.id})"
    if many:
        head += f"  in {capture}"
    lines = [head]
    if alert.text.strip():
        lines.append(f"  {alert.text.strip()}")
    for i, ev in enumerate(alert.events, 1):
        ps = ev.ps
        who = f"{ps.name} (pid {ev.pid})" if ps is not None and ps.name else f"pid {ev.pid}"
        lines.append(f"  #{i} seq {ev.seq}  {ev.timestamp.text}  {ev.name}  {who}")
    for act in alert.actions:
        target = f" pids {', '.join(map(str, act.pids))}" if act.name == "kill" else ""
        lines.append(f"  action {act.name}{target}: {act.result}")
    return "\n".join(lines)


def _summary(ruleset: Any, counts: dict[str, int], hidden: int, use_defaults: bool) -> dict:
    evaluable = ruleset.evaluable(use_defaults)
    return {
        "rules_loaded": len(ruleset.rules),
        "rules_evaluable": len(evaluable),
        "rules_disabled": [{"id": r.id, "name": r.name} for r in ruleset.disabled],
        "rules_not_evaluable": [
            {"id": r.id, "name": r.name, "needs": sorted(set(r.needs.values()))}
            for r in ruleset.not_evaluable()
            if not use_defaults
        ],
        "alerts": [
            {"id": r.id, "name": r.name, "severity": r.severity, "alerts": counts.get(r.id, 0)}
            for r in evaluable
        ],
        "alerts_total": sum(counts.values()),
        "alerts_below_min_severity": hidden,
    }


def _summary_text(summary: dict) -> str:
    lines = [
        "",
        f"Rules: {summary['rules_loaded']} loaded, {summary['rules_evaluable']} evaluable, "
        f"{len(summary['rules_not_evaluable'])} not evaluable, "
        f"{len(summary['rules_disabled'])} disabled",
    ]
    for r in summary["rules_not_evaluable"]:
        lines.append(f"  not evaluable on this capture: {r['name']}: needs {', '.join(r['needs'])}")
    for r in summary["rules_disabled"]:
        lines.append(f"  disabled: {r['name']}")
    rows = sorted(summary["alerts"], key=lambda r: (-r["alerts"], r["name"]))
    if rows:
        width = max(len(r["name"]) for r in rows)
        lines.append(f"{'Rule'.ljust(width)}  {'Severity':8}  Alerts")
        for r in rows:
            lines.append(f"{r['name'].ljust(width)}  {r['severity']:8}  {r['alerts']:>6}")
    total = f"Alerts: {summary['alerts_total']}"
    if summary["alerts_below_min_severity"]:
        total += f" ({summary['alerts_below_min_severity']} below --min-severity not shown)"
    lines.append(total)
    return "\n".join(lines)


def _load_rules(paths: tuple[str, ...]) -> Any:
    import kcap.rules

    try:
        return kcap.rules.load(paths)
    except RuleError as exc:
        fail(exc)


@click.command("detect", epilog=EPILOG)
@click.argument("captures", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--rules",
    "-r",
    "rule_paths",
    multiple=True,
    required=True,
    type=click.Path(exists=True),
    help="A rule file, macro file or directory of them (repeatable).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "jsonl"]),
    default="text",
    show_default=True,
    help="Alert output format.",
)
@click.option(
    "--min-severity",
    type=click.Choice(SEVERITIES),
    default="low",
    show_default=True,
    help="Show alerts of this severity and above.",
)
@click.option(
    "--fail-on",
    type=click.Choice(SEVERITIES),
    default=None,
    help="Exit with status 1 when an alert of this severity or above fired.",
)
@click.option(
    "--use-defaults",
    is_flag=True,
    help="Also evaluate rules that read what captures lack, with upstream's default values "
    "('', 0, false): expect false alerts (an unsigned-module check is then always true).",
)
def detect(
    captures: tuple[str, ...],
    rule_paths: tuple[str, ...],
    fmt: str,
    min_severity: str,
    fail_on: str | None,
    use_defaults: bool,
) -> None:
    """Evaluate Fibratus detection rules (rule files, macros, sequences) over captures."""
    import kcap.rules

    ruleset = _load_rules(rule_paths)
    for w in ruleset.warnings:
        click.echo(f"kcap: warning: {w}", err=True)
    for rule in ruleset.rules:
        for w in rule.warnings:
            click.echo(f"kcap: warning: {rule.path}: rule {rule.id}: {w}", err=True)
    floor = kcap.rules.severity_rank(min_severity)
    fail_rank = None if fail_on is None else kcap.rules.severity_rank(fail_on)
    counts: dict[str, int] = {}
    hidden = 0
    failed = False
    collected: list[dict[str, Any]] = []
    out = sys.stdout
    status = 0
    err = sys.stderr
    live = err.isatty()

    def clear_line() -> None:
        if live:
            err.write("\r\033[K")
            err.flush()

    # a reader of the output that goes away (| head) is handled by kcap.cli.output
    for capture in captures:

        def show(n: int, capture: str = capture) -> None:
            err.write(f"\r{capture}: {n:,} events, {sum(counts.values()):,} alerts")
            err.flush()

        try:
            progress = show if live else None
            found = kcap.rules.detect(
                capture, ruleset, use_defaults=use_defaults, progress=progress
            )
            for alert in found:
                clear_line()
                rank = kcap.rules.severity_rank(alert.severity)
                counts[alert.rule.id] = counts.get(alert.rule.id, 0) + 1
                if fail_rank is not None and rank >= fail_rank:
                    failed = True
                if rank < floor:
                    hidden += 1
                    continue
                if fmt == "text":
                    _emit(out, _alert_text(alert, capture, len(captures) > 1))
                else:
                    doc = alert.as_dict()
                    doc["capture"] = capture
                    if fmt == "jsonl":
                        _emit(out, json.dumps(doc, ensure_ascii=False))
                    else:
                        collected.append(doc)
        except KcapError as exc:
            clear_line()
            if len(captures) == 1:
                fail(exc, capture)
            click.echo(f"kcap: error: {capture}: {exc}", err=True)
            status = EXIT_ERROR
        clear_line()
    summary = _summary(ruleset, counts, hidden, use_defaults)
    if fmt == "json":
        _emit(out, json.dumps({"alerts": collected, "summary": summary}, indent=2))
    elif fmt == "jsonl":
        click.echo(_summary_text(summary).lstrip("\n"), err=True)
    else:
        _emit(out, _summary_text(summary))
    out.flush()
    if failed or status:
        raise click.exceptions.Exit(EXIT_ERROR)
