"""Read/write throughput of kcap against two baselines measured in the same run (issue 2 §6).

    python benchmarks/bench_rw.py [CAPTURE ...] [--events 1000000] [--rss-sizes 250000,1000000]
    python benchmarks/bench_rw.py --compare ../baseline [--engine pure] [--rounds 5]
    python benchmarks/bench_rw.py --profile full CAPTURE

Without arguments it measures the Fibratus fixture test-live-2022.kcap and a generated capture
of ``--events`` records shaped like it (made once by gen_capture.py under ``--workdir`` and
reused). For each capture it prints one table:

* zstd floor: decompressing the file and discarding the output (no parsing at all);
* orjson baseline: the same events as zstd-compressed JSON lines (converted once, untimed),
  read back line by line with ``orjson.loads`` -- what a Python user would otherwise do;
  two information rows: the same lines with every field then read as (a) reads them
  (``touch_json``; timestamps stay text), and lines that also repeat the process state;
* (a) full decode: ``read(include_state=True)`` (every event's parameters, metadata and process
  section decoded) and every field of every event read; timestamps parsed to nanoseconds;
* (a0) decode only: the same iteration without reading any field (what (a) costs the reader);
* (b) ``read(include_state=True, lazy=True)`` reading seq, pid, name and the timestamp object;
  (b') the same but parsing the timestamp to nanoseconds;
* (c) write: `Writer.write` + ``close`` (encode, compress, write to disk) of events already
  decoded; the capture is read in chunks of ``--chunk`` events outside the timed region, so
  memory stays bounded on any size.

Every scenario runs in a fresh child process, which reports its best time over ``--repeat``
runs and its peak RSS (``getrusage``), so peaks do not mix. With ``--compare DIR`` every kcap
scenario is also run on the kcap of another checkout (say a worktree of the previous release,
built in place): the same scenario code, that checkout's package and Python, in ``--rounds``
alternating rounds (this, other, this, other ...) so a drift of the machine weighs on both
alike; the table then shows the best of each side and their ratio, for speed and peak RSS.
events/s is always the number of records in the capture (state-only rundowns included)
divided by the time. A second table shows
peak RSS on generated captures of ``--rss-sizes`` records, to show memory does not grow with the
size of the file.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    CLOCKS,
    DEFAULT_WORKDIR,
    LIVE_CAPTURE,
    THIS,
    Checkout,
    best_of,
    child_env,
    emit_result,
    engine_in_use,
    ensure_kcap_importable,
    fmt_num,
    fmt_rate,
    fmt_ratio,
    load_average,
    peak_rss_mb,
    print_table,
    progress,
    run_child,
)

ensure_kcap_importable()

from _jsonl import make_jsonl  # noqa: E402
from _scenarios import READERS, Outcome, run_orjson, timed_write  # noqa: E402

SCRIPT = Path(__file__).resolve()


def jsonl_for(path: Path, workdir: Path, with_ps: bool = False) -> Path:
    """The JSON-lines twin of a capture, made once and reused while the capture is unchanged."""
    st = path.stat()
    kind = "-ps" if with_ps else ""
    out = workdir / f"{path.stem}-{st.st_size}-{st.st_mtime_ns}{kind}.jsonl.zst"
    if not out.exists():
        progress(f"  converting {path.name} to JSON lines{kind} (untimed, once) ...")
        cmd = ["--child", "make-jsonl", str(path), "--out", str(out)]
        run_child(SCRIPT, [*cmd, "--with-ps"] if with_ps else cmd)
    return out


# --------------------------------------------------------------------------- child side


def child_main(args: argparse.Namespace) -> int:
    path = Path(args.capture)
    scenario = args.child
    clock = CLOCKS[args.clock]
    if scenario == "make-jsonl":
        emit_result({"events": make_jsonl(path, Path(args.out), args.with_ps)})
        return 0
    if scenario == "write":
        out = Path(args.out)
        best = float("inf")
        outcome = Outcome(0)
        try:
            for _ in range(max(1, args.repeat)):
                seconds, outcome = timed_write(path, out, args.chunk, clock)
                best = min(best, seconds)
        finally:
            out.unlink(missing_ok=True)
        seconds = best
    elif scenario in ORJSON_KEYS:
        jsonl = Path(args.jsonl)
        touch = scenario == "orjson-touch"
        seconds, outcome = best_of(args.repeat, lambda: run_orjson(jsonl, touch), clock)
        outcome.out_compressed = jsonl.stat().st_size
    else:
        fn = READERS[scenario]
        seconds, outcome = best_of(args.repeat, lambda: fn(path), clock)
    emit_result(
        {
            "scenario": scenario,
            "seconds": seconds,
            "events": outcome.events,
            "in_raw": outcome.in_raw,
            "out_compressed": outcome.out_compressed,
            "out_raw": outcome.out_raw,
            "rss_mb": peak_rss_mb(),
            "engine": engine_in_use(),
        }
    )
    return 0


def profile_main(scenario: str, path: Path, workdir: Path, chunk: int, top: int) -> int:
    prof = cProfile.Profile()
    if scenario == "write":
        out = workdir / f"profile-{os.getpid()}.kcap"
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            timed_write(path, out, chunk, prof=prof)  # profiles the writes only
        finally:
            out.unlink(missing_ok=True)
    elif scenario in ORJSON_KEYS:
        jsonl = jsonl_for(path, workdir, scenario == "orjson-ps")
        prof.runcall(run_orjson, jsonl, scenario == "orjson-touch")
    else:
        prof.runcall(READERS[scenario], path)
    stats = pstats.Stats(prof)
    stats.sort_stats("tottime").print_stats(top)
    return 0


# --------------------------------------------------------------------------- parent side


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    target: str = "-"
    # met(rate, zstd_rate, orjson_rate) -> bool, None when there is no target
    met: Callable[[float, float, float], bool] | None = None


SCENARIOS = [
    Scenario("zstd", "zstd floor: decompress only"),
    Scenario("orjson", "orjson baseline: zstd JSON lines + loads"),
    Scenario("orjson-touch", "(info) orjson + every field read, as (a)"),
    Scenario("orjson-ps", "(info) orjson, lines also carry ps"),
    Scenario(
        "full",
        "(a) full decode, every field read",
        ">= 2x orjson",
        lambda r, z, o: r >= 2 * o,
    ),
    Scenario("decode", "(a0) decode, no field read"),
    Scenario(
        "header",
        "(b) lazy: seq, pid, name, timestamp",
        ">= 0.3x zstd",
        lambda r, z, o: r >= 0.3 * z,
    ),
    Scenario(
        "header-ns",
        "(b') as (b) + timestamp.ns parsed",
        ">= 0.3x zstd",
        lambda r, z, o: r >= 0.3 * z,
    ),
    Scenario(
        "write",
        "(c) write decoded events (encode+zstd+disk)",
        ">= 200k/s",
        lambda r, z, o: r >= 200_000,
    ),
]
KCAP_KEYS = ("full", "decode", "header", "header-ns", "write")
ORJSON_KEYS = ("orjson", "orjson-touch", "orjson-ps")
RSS_LIMIT_MB = 200.0


def _faster(a: dict[str, Any] | None, b: dict[str, Any]) -> dict[str, Any]:
    """The better of two runs of one scenario: the faster, with the higher of their peaks
    (a peak that showed once is real)."""
    if a is None:
        return b
    best = dict(a if a["seconds"] <= b["seconds"] else b)
    best["rss_mb"] = max(a["rss_mb"], b["rss_mb"])
    return best


def measure(
    path: Path,
    keys: list[str],
    args: argparse.Namespace,
    repeat: int,
    other: Checkout | None = None,
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Results of this checkout, and of ``other`` (kcap scenarios only) when given."""
    results: dict[str, dict[str, Any]] = {}
    theirs: dict[str, dict[str, Any]] = {}
    extra = {"KCAP_PURE_PYTHON": "1"} if args.engine == "pure" else None
    for key in keys:
        cmd = ["--child", key, str(path), "--repeat", str(repeat), "--chunk", str(args.chunk)]
        cmd += ["--clock", args.clock]
        if key in ORJSON_KEYS:
            cmd += ["--jsonl", str(jsonl_for(path, args.workdir, key == "orjson-ps"))]
        if key == "write":
            cmd += ["--out", str(args.workdir / f"bench-write-{os.getpid()}.kcap")]
        sides = [THIS, other] if other is not None and key in KCAP_KEYS else [THIS]
        rounds = args.rounds if len(sides) == 2 else 1
        for r in range(rounds):
            for side in sides:
                progress(f"  {path.name}: {key} on {side.label} (round {r + 1}/{rounds}) ...")
                got = run_child(SCRIPT, cmd, env=extra, checkout=side)
                into = results if side is THIS else theirs
                into[key] = _faster(into.get(key), got)
    return results, theirs


def capture_table(
    path: Path,
    results: dict[str, dict[str, Any]],
    clock: str,
    theirs: dict[str, dict[str, Any]] | None = None,
    other: Checkout | None = None,
) -> dict[str, Any]:
    full = results.get("full") or results["header"]
    n = full["events"]
    for key, res in results.items():
        if key in KCAP_KEYS and res["events"] != n:
            raise SystemExit(f"{key} saw {res['events']} events, (a) saw {n}")
    size = path.stat().st_size
    raw = full["in_raw"]
    rates = {k: n / r["seconds"] for k, r in results.items()}
    z, o = rates.get("zstd"), rates.get("orjson")
    rows = []
    summary: dict[str, Any] = {"file": str(path), "events": n, "scenarios": {}}
    for sc in SCENARIOS:
        if sc.key not in results:
            continue
        res, rate = results[sc.key], rates[sc.key]
        if sc.key in ORJSON_KEYS:
            bpe = f"{res['out_compressed'] / n:.1f} / -"
        elif sc.key == "write":
            bpe = f"{res['out_compressed'] / n:.1f} / {res['out_raw'] / n:.1f}"
        else:
            bpe = f"{size / n:.1f} / {raw / n:.1f}"
        met = "-"
        if sc.met is not None and z is not None and o is not None:
            met = "yes" if sc.met(rate, z, o) else "NO"
        row = [
            sc.label,
            fmt_rate(rate),
            fmt_ratio(rate / z if z else None),
            fmt_ratio(rate / o if o else None),
            bpe,
            fmt_num(res["rss_mb"]),
            sc.target,
            met,
        ]
        entry = {**res, "events_per_s": rate}
        if theirs is not None:
            them = theirs.get(sc.key)
            their_rate = n / them["seconds"] if them else None
            row += [
                fmt_rate(their_rate),
                fmt_ratio(rate / their_rate if their_rate else None),
                fmt_ratio(res["rss_mb"] / them["rss_mb"] if them else None),
            ]
            if them:
                entry["compared"] = {**them, "events_per_s": their_rate}
        rows.append(row)
        summary["scenarios"][sc.key] = entry
    peak = max(results[k]["rss_mb"] for k in KCAP_KEYS if k in results)
    big = n >= 1_000_000
    peak_row = [
        "peak RSS, any kcap scenario",
        "",
        "",
        "",
        "",
        fmt_num(peak),
        f"< {RSS_LIMIT_MB:.0f} MB" if big else "-",
        ("yes" if peak < RSS_LIMIT_MB else "NO") if big else "-",
    ]
    columns = [
        "scenario",
        "events/s",
        "vs zstd",
        "vs orjson",
        "B/event zst/raw",
        "peak RSS MB",
        "target",
        "met?",
    ]
    engines = sorted({r.get("engine", "?") for k, r in results.items() if k in KCAP_KEYS})
    title = (
        f"{path.name}: {n:,} events ({size / 1e6:.1f} MB compressed, {raw / 1e6:.1f} MB raw); "
        f"{clock} time, {load_average()}, engine {'/'.join(engines)}"
    )
    if theirs is not None and other is not None:
        their_peak = max((theirs[k]["rss_mb"] for k in KCAP_KEYS if k in theirs), default=None)
        peak_row += ["", "", fmt_ratio(peak / their_peak if their_peak else None)]
        columns += [f"{other.label} events/s", f"vs {other.label}", "RSS vs"]
        their_engines = sorted({r.get("engine", "?") for r in theirs.values()})
        title += f"; compared with {other.label} ({other.root}, {'/'.join(their_engines)})"
    rows.append(peak_row)
    print_table(title, columns, rows, plain=args_plain)
    return summary


def rss_table(by_size: dict[int, dict[str, dict[str, Any]]]) -> None:
    sizes = sorted(by_size)
    keys = [k for k in ("full", "header", "write") if all(k in by_size[s] for s in sizes)]
    rows = []
    for key in keys:
        label = next(sc.label for sc in SCENARIOS if sc.key == key)
        peaks = [by_size[s][key]["rss_mb"] for s in sizes]
        growth = peaks[-1] - peaks[0]
        rows.append([label, *(fmt_num(p) for p in peaks), f"{growth:+.1f}"])
    print_table(
        "peak RSS (MB) by capture size",
        ["scenario", *(f"{s:,} events" for s in sizes), "growth"],
        rows,
        plain=args_plain,
    )


def generated(workdir: Path, events: int, source: Path) -> Path:
    from gen_capture import GENERATOR_VERSION

    path = workdir / f"gen-v{GENERATOR_VERSION}-{events}.kcap"
    if not path.exists():
        progress(f"generating {path} ({events:,} events; reused by later runs) ...")
        # in a child: this process stays small, so nothing it did shows in a child's numbers
        cmd = [sys.executable, str(SCRIPT.parent / "gen_capture.py"), str(path)]
        cmd += ["--events", str(events), "--source", str(source)]
        subprocess.run(cmd, env=child_env(), check=True)
    return path


args_plain: bool | None = None


def main(argv: list[str] | None = None) -> int:
    global args_plain
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("captures", nargs="*", type=Path, help="captures to measure")
    ap.add_argument("--events", type=int, default=1_000_000, help="size of the generated capture")
    ap.add_argument("--source", type=Path, default=LIVE_CAPTURE, help="capture to imitate")
    ap.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="generated files")
    ap.add_argument(
        "--rss-sizes",
        default="250000,1000000",
        help="comma-separated sizes of generated captures for the RSS table ('' for none)",
    )
    ap.add_argument("--repeat", type=int, default=5, help="runs per scenario on small files")
    ap.add_argument(
        "--repeat-large", type=int, default=1, help="runs per scenario at >= 500k events"
    )
    ap.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="cpu",
        help="cpu: process CPU time, robust on a busy machine (default); wall: elapsed time",
    )
    ap.add_argument(
        "--engine",
        choices=("native", "pure"),
        default="native",
        help="which build of kcap to measure: native (C kernel and compiled rules, where "
        "built) or pure (KCAP_PURE_PYTHON=1 in the children)",
    )
    ap.add_argument("--pure", action="store_true", help="the same as --engine pure")
    ap.add_argument(
        "--compare",
        type=Path,
        metavar="DIR",
        help="also run every kcap scenario on the kcap of the checkout DIR (built in place), "
        "in alternating rounds, and show the ratio",
    )
    ap.add_argument(
        "--rounds", type=int, default=3, help="alternating rounds per scenario with --compare"
    )
    ap.add_argument("--chunk", type=int, default=20_000, help="events per write batch in (c)")
    ap.add_argument("--only", default="", help="comma-separated scenario keys to run")
    ap.add_argument("--plain", action="store_true", default=None, help="plain-text tables")
    ap.add_argument("--json", type=Path, help="also write the results as JSON here")
    ap.add_argument("--profile", metavar="SCENARIO", help="cProfile one scenario on CAPTURE")
    ap.add_argument("--top", type=int, default=30, help="functions shown with --profile")
    # internal: one scenario in this (fresh) process
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--jsonl", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--with-ps", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        args.capture = args.captures[0]
        return child_main(args)
    args_plain = args.plain
    if args.pure:
        args.engine = "pure"
    if args.engine == "native" and engine_in_use() != "native":
        progress(
            "note: kcap's native engine is not built, so the pure-Python code is measured "
            "(build it with: python setup.py build_ext --inplace)"
        )
    other = Checkout(args.compare) if args.compare else None
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.profile:
        if len(args.captures) != 1:
            ap.error("--profile takes exactly one capture")
        return profile_main(args.profile, args.captures[0], args.workdir, args.chunk, args.top)

    keys = [sc.key for sc in SCENARIOS]
    if args.only:
        keys = [k for k in keys if k in args.only.split(",")]
    captures = list(args.captures)
    if not captures:
        if not args.source.exists():
            ap.error(f"{args.source} not found; pass captures to measure")
        captures = [args.source, generated(args.workdir, args.events, args.source)]
    summaries = []
    measured: dict[Path, dict[str, dict[str, Any]]] = {}
    for path in captures:
        path = path.resolve()
        repeat = args.repeat if path.stat().st_size < 12_000_000 else args.repeat_large
        results, theirs = measure(path, keys, args, repeat, other)
        measured[path] = results
        compared = theirs if other is not None else None
        summaries.append(capture_table(path, results, args.clock, compared, other))

    sizes = [int(s) for s in args.rss_sizes.split(",") if s.strip()]
    if sizes:
        by_size: dict[int, dict[str, dict[str, Any]]] = {}
        for size in sizes:
            path = generated(args.workdir, size, args.source).resolve()
            have = measured.get(path, {})
            need = [k for k in ("full", "header", "write") if k not in have]
            by_size[size] = {**have, **measure(path, need, args, 1)[0]}
        rss_table(by_size)
        summaries.append({"rss_by_size": {str(k): v for k, v in by_size.items()}})
    if args.json:
        args.json.write_text(json.dumps(summaries, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
