"""synth-newest-le.kcap decodes to exactly the values of its expected.jsonl."""

from __future__ import annotations

import json
from pathlib import Path

import kcap

from .expected_shape import handle_shape, process_shape, value_shape

# Upstream's writer stores these three types as unicode text (Q3); the expected file lists the
# type the value had before that rewrite, which the bytes cannot carry.
REWRITTEN_TO_UNICODE = {"dospath", "key", "handletype"}


def load_expected(path: Path) -> tuple[list[dict], list[dict]]:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert records[0] == {"record": "header", "byte_order": "little"}
    handles = [r for r in records if r["record"] == "handle"]
    events = [r for r in records if r["record"] == "event"]
    return handles, events


def test_newest_fixture_matches_expected(newest: Path, newest_expected: Path) -> None:
    exp_handles, exp_events = load_expected(newest_expected)
    with kcap.open(newest) as reader:
        events = [ev.decode() for ev in reader.read(include_state=True)]
        assert reader.stats.errors == 0
        assert reader.detection.layout.table == "2023c"
        assert reader.header.order.label == "little"
        got_handles = [handle_shape(h) for h in reader.handles]
    assert got_handles == [{k: v for k, v in h.items() if k != "record"} for h in exp_handles]
    assert len(events) == len(exp_events)
    for exp, ev in zip(exp_events, events):
        assert (ev.seq, ev.pid, ev.tid, ev.cpu) == (exp["seq"], exp["pid"], exp["tid"], exp["cpu"])
        assert ev.type.hex() == exp["type"]
        assert (ev.name, ev.category, ev.description, ev.host) == (
            exp["name"],
            exp["category"],
            exp["description"],
            exp["host"],
        )
        assert ev.timestamp.text == exp["timestamp"]
        want_params = [
            {
                "name": p["name"],
                "type": "unicode" if p["type"] in REWRITTEN_TO_UNICODE else p["type"],
                "value": p["value"],
            }
            for p in exp["params"]
        ]
        got_params = [
            {"name": p.name, "type": p.type.label, "value": value_shape(p)} for p in ev.params.all()
        ]
        assert got_params == want_params
        assert [list(kv) for kv in ev.meta] == exp["meta"]
        assert process_shape(ev.process) == exp["ps"]
