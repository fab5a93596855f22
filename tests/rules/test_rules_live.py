"""`kcap capture --rules`: rules evaluated on the live stream, alerts written beside the capture."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rule_kit import write_rules
from tests.sources.live_support import SRC, require_live

import kcap.rules
from kcap.rules.live import alerts_path


@pytest.mark.live
def test_live_capture_writes_alerts_beside_the_capture(tmp_path: Path) -> None:
    require_live()
    marker = tmp_path / "kcap-rule-marker"
    shutil.copy("/bin/sleep", marker)
    rules = write_rules(
        tmp_path,
        (
            f"spawn_process and ps.exe = '{marker}'",
            {"name": "Marker started", "severity": "high", "action": [{"name": "kill"}]},
        ),
    )
    out = tmp_path / "live.kcap"
    cmd = [sys.executable, "-m", "kcap", "capture", "-o", str(out), "--duration", "4", "-q"]
    proc = subprocess.Popen(
        [*cmd, "--rules", str(rules)],
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(2)
        subprocess.run([str(marker), "0.3"], check=True)  # not killed: actions are reported only
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    alerts = [json.loads(x) for x in alerts_path(out).read_text().splitlines()]
    assert [a["rule_name"] for a in alerts] == ["Marker started"]
    (act,) = alerts[0]["actions"]
    assert act["name"] == "kill" and act["executed"] is False
    assert "1 alert(s) written to" in err
    # The same rules over the written capture agree with what the live stream said.
    offline = list(kcap.rules.detect(out, kcap.rules.load([rules])))
    assert [[e.seq for e in a.events] for a in offline] == [alerts[0]["seq"]]
