"""Rules on a live capture: alerts as events are written, saved beside the capture.

`LiveDetector.observe` sees every event the capture writes (rundowns first, so process state is
complete); each alert is appended to ``<capture>.alerts.jsonl`` (flushed per alert, so a
crash loses none) and announced on stderr. An action is reported, never executed, unless the
user allowed actions: then ``kill`` sends SIGKILL to the alert's processes (never to kcap
itself or to pid 0/1) and ``isolate``, which has no Linux meaning here, is reported as not
supported.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import IO

from kcap.errors import RuleError
from kcap.model.event import Event
from kcap.rules import RuleSet
from kcap.rules.alerts import ActionReport, Alert


def alerts_path(capture: str | os.PathLike[str]) -> Path:
    """Where the alerts of a capture go: beside it, ``NAME.kcap.alerts.jsonl``."""
    p = Path(capture)
    if not p.suffix:
        p = p.with_suffix(".kcap")
    return p.with_name(p.name + ".alerts.jsonl")


def run_action(report: ActionReport) -> None:
    """Execute an action on this host (only when the user passed --allow-actions)."""
    if report.name != "kill":
        report.result = f"{report.name} is not supported on Linux"
        return
    done = []
    for pid in report.pids:
        if pid <= 1 or pid == os.getpid():
            continue
        try:
            os.kill(pid, signal.SIGKILL)
            done.append(str(pid))
        except ProcessLookupError:
            continue
        except PermissionError:
            report.result = f"kill {pid}: permission denied"
            return
    report.executed = bool(done)
    report.result = f"killed {', '.join(done)}" if done else "no such process"


class LiveDetector:
    def __init__(
        self,
        ruleset: RuleSet,
        capture: str | os.PathLike[str],
        *,
        allow_actions: bool = False,
        announce: Callable[[str], None] | None = None,
    ) -> None:
        self.path = alerts_path(capture)
        self.engine = ruleset.engine(act=run_action if allow_actions else None)
        self.announce = announce
        self.count = 0
        self._out: IO[str] | None = None

    def observe(self, ev: Event) -> None:
        alerts = self.engine.feed(ev)
        for alert in alerts:
            self._write(alert)

    def _write(self, alert: Alert) -> None:
        if self._out is None:
            try:
                self._out = self.path.open("w", encoding="utf-8")
            except OSError as exc:
                raise RuleError(f"{self.path}: cannot write alerts: {exc.strerror}") from None
        self._out.write(json.dumps(alert.as_dict(), ensure_ascii=False) + "\n")
        self._out.flush()
        self.count += 1
        if self.announce is not None:
            self.announce(
                f"alert [{alert.severity}] {alert.rule.name} (seq {alert.events[-1].seq})"
            )

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
