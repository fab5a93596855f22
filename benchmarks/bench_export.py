"""Export and SQL throughput against Fibratus's own decoder, side by side in one run (issue 11).

    python benchmarks/bench_export.py [CAPTURE ...] [--events 1000000] [--repeat 1]

Without arguments: the Fibratus fixture test-live-2022.kcap and a generated capture of
``--events`` records (gen_capture.py, made once under ``--workdir`` and reused). Each command
runs as its own process; its CPU time (user + system, from ``wait4``) and peak RSS are that
process's alone. events/s = records in the capture (rundowns included, as the peer counts) /
CPU seconds. Rows:

* peer: ``fibratus-kcapdump -q`` (every record decoded into Go structures, nothing printed);
  the 2024 build for captures it reads, the 2022 build for format 1.0 (which 2024 refuses);
* ``kcap convert --to parquet`` (every column), and ``--columns`` of the header only;
* ``kcap replay --format jsonl`` to /dev/null;
* ``kcap sql "SELECT name, count(*) FROM events GROUP BY 1"``.

Process start-up (interpreter, pyarrow, DuckDB imports: about 0.3 s of CPU) is included, as a
user waits for it; on the small fixture it dominates.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    DEFAULT_WORKDIR,
    LIVE_CAPTURE,
    SHARED,
    child_env,
    fmt_rate,
    fmt_ratio,
    load_average,
    print_table,
    progress,
)
from gen_capture import GENERATOR_VERSION

PEERS = SHARED / "peers"


def measure(cmd: list[str], stdout: int | None = subprocess.DEVNULL) -> tuple[float, float]:
    """(CPU seconds, peak RSS MiB) of one run of ``cmd``."""
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, env=child_env())
    _, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {err.strip()}")
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def best(cmd: list[str], repeat: int) -> tuple[float, float]:
    runs = [measure(cmd) for _ in range(max(1, repeat))]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def records_of(path: Path) -> int:
    out = subprocess.run(
        [sys.executable, "-m", "kcap", "info", str(path), "--json"],
        capture_output=True,
        text=True,
        check=True,
        env=child_env(),
    ).stdout
    return int(json.loads(out)["events"])


def peer_for(path: Path) -> Path:
    head = subprocess.run(
        [sys.executable, "-m", "kcap", "info", str(path), "--json"],
        capture_output=True,
        text=True,
        check=True,
        env=child_env(),
    ).stdout
    version = json.loads(head).get("format_version", "")
    return PEERS / (
        "fibratus-kcapdump-2022" if str(version).startswith("1.") else "fibratus-kcapdump-2024"
    )


def bench(path: Path, repeat: int, tmp: Path) -> list[list[str]]:
    n = records_of(path)
    kcap = [sys.executable, "-m", "kcap"]
    rows = []
    peer = peer_for(path)
    peer_cpu, peer_rss = best([str(peer), "-q", str(path)], repeat)
    rows.append((f"peer {peer.name} -q", peer_cpu, peer_rss))
    out = str(tmp / "bench.parquet")
    scenarios = [
        ("convert --to parquet", [*kcap, "convert", str(path), "-o", out, "--to", "parquet"]),
        (
            "convert --to parquet (header columns)",
            [
                *kcap,
                "convert",
                str(path),
                "-o",
                out,
                "--columns",
                "seq,pid,tid,cpu,name,category,host,timestamp",
            ],
        ),
        ("replay --format jsonl", [*kcap, "replay", str(path), "--format", "jsonl"]),
        (
            "sql GROUP BY name",
            [*kcap, "sql", "SELECT name, count(*) FROM events GROUP BY 1", str(path)],
        ),
    ]
    for label, cmd in scenarios:
        progress(f"  {path.name}: {label}")
        cpu, rss = best(cmd, repeat)
        rows.append((label, cpu, rss))
    table = []
    for label, cpu, rss in rows:
        rate = n / cpu if cpu else None
        table.append(
            [
                label,
                f"{cpu:.2f}",
                fmt_rate(rate),
                fmt_ratio(peer_cpu / cpu if cpu else None),
                f"{rss:.0f}",
            ]
        )
    return table


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("captures", nargs="*", type=Path)
    ap.add_argument("--events", type=int, default=1_000_000, help="size of the generated capture")
    ap.add_argument("--repeat", type=int, default=1, help="runs per row (best CPU time kept)")
    ap.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    args = ap.parse_args(argv)
    captures = args.captures
    if not captures:
        gen = args.workdir / f"gen-v{GENERATOR_VERSION}-{args.events}.kcap"  # as bench_rw names it
        if not gen.exists():
            progress(f"generating {gen} ...")
            subprocess.run(
                [
                    sys.executable,
                    str(Path(__file__).with_name("gen_capture.py")),
                    str(gen),
                    "--events",
                    str(args.events),
                    "--quiet",
                ],
                check=True,
                env=child_env(),
            )
        captures = [LIVE_CAPTURE, gen]
    args.workdir.mkdir(parents=True, exist_ok=True)
    for path in captures:
        started = time.perf_counter()
        table = bench(path, args.repeat, args.workdir)
        print_table(
            f"{path.name}: {records_of(path):,} records; CPU time ({load_average()}; "
            f"{time.perf_counter() - started:.0f} s)",
            ["scenario", "CPU s", "events/s", "vs peer", "peak RSS MB"],
            table,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
