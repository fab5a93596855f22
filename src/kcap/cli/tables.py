"""Statistics tables the CLI prints: a writer's "Capture Statistics" and sizes in SI units."""

from __future__ import annotations

from kcap.writer import WriterStats


def human_size(n: int) -> str:
    """SI units as upstream prints them (``83 kB``, ``1.2 MB``)."""
    if n < 1000:
        return f"{n} B"
    for unit in ("kB", "MB", "GB", "TB", "PB"):
        n_f = n / 1000
        if n_f < 1000 or unit == "PB":
            text = f"{n_f:.1f}".rstrip("0").rstrip(".")
            return f"{text} {unit}"
        n = int(n_f)
    return f"{n} B"


def writer_rows(stats: WriterStats) -> list[tuple[str, str]]:
    """The statistics table of a writer, in upstream's order (and a little more)."""
    out = [
        ("File", stats.file),
        ("Events written", str(stats.events)),
        ("Bytes written", str(stats.bytes)),
        ("Processes written", str(stats.processes)),
        ("Handles written", str(stats.handles)),
    ]
    if stats.state_events:
        out.append(("State events written", str(stats.state_events)))
    if stats.write_errors:
        out.append(("Write errors", str(stats.write_errors)))
    if stats.lost_events:
        out.append(("Events lost", str(stats.lost_events)))
    n = stats.notes
    if n.converted_params or n.dropped_params:
        out.append(
            ("Parameters adapted", f"{n.converted_params} converted, {n.dropped_params} left out")
        )
    if n.dropped_args or n.dropped_envs:
        out.append(("Process fields cut", f"{n.dropped_args} arguments, {n.dropped_envs} env vars"))
    if stats.capture_size is not None:
        out.append(("Capture size", human_size(stats.capture_size)))
    return out
