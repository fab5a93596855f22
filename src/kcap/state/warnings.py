"""Where snapshotters report events they could not apply.

Upstream logs a warning and carries on when a state update fails (docs/state.md, "Deviations
from upstream"), and
panics on a few missing parameters. Here every such problem becomes one message given to an
``on_warning`` callback; without a callback the messages are kept in a `WarningLog`, bounded so
that a capture full of malformed events cannot grow memory.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator

#: What a snapshotter calls with one human-readable message per problem.
WarningSink = Callable[[str], None]


class WarningLog:
    """A bounded record of warnings: a total count and the most recent messages.

    ``count`` counts every warning ever added; ``recent`` keeps only the last ``keep`` messages.
    """

    __slots__ = ("count", "recent")

    def __init__(self, keep: int = 100) -> None:
        self.count = 0
        self.recent: deque[str] = deque(maxlen=keep)

    def __call__(self, message: str) -> None:
        self.count += 1
        self.recent.append(message)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[str]:
        return iter(self.recent)

    def __repr__(self) -> str:
        return f"WarningLog(count={self.count}, recent={len(self.recent)})"
