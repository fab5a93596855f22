"""The triage report in a real browser: it loads with no console error and no network
request, the tree and chart render, and a click on a process shows its events."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.analysis.browser import browser_page

pytest.importorskip("duckdb", reason="the analysis extra is not installed")


def _report(capture: Path, tmp_path: Path) -> Path:
    from click.testing import CliRunner

    from kcap.cli.main import cli

    out = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["report", str(capture), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _events_of(capture: Path, name: str) -> int:
    """Events replay attaches to the process called ``name``, counted by the reader."""
    import kcap

    with kcap.open(capture) as reader:
        return sum(1 for ev in reader.read(lazy=True) if ev.ps is not None and ev.ps.name == name)


def test_report_renders_and_a_click_shows_events(live2022: Path, tmp_path: Path) -> None:
    page_file = _report(live2022, tmp_path)
    with browser_page() as page:
        errors: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_file.as_uri())
        page.wait_for_load_state("load")

        bars = page.locator("#rate-chart rect.bar")
        assert bars.count() > 30  # the capture spans about a minute: one bar per second
        box = page.locator("#rate-chart").bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 50

        procs = page.locator("#tree button.proc")
        assert procs.count() > 100  # every process the capture saw
        assert page.locator("#tree ul ul").count() > 0  # nested: children under parents

        # yara.test.exe runs CreateFile, registry and handle work in this capture
        target = page.locator("#tree button.proc", has_text="yara.test.exe").first
        target.click()
        rows = page.locator("#events-table tbody tr")
        assert rows.count() == 200  # the first 200 of its events
        assert "yara.test.exe" in page.locator("#events-title").inner_text()
        assert (
            f"of {_events_of(live2022, 'yara.test.exe')}"
            in page.locator("#events-title").inner_text()
        )

        assert errors == []
        assert all(u.startswith("file:") for u in requests), requests
