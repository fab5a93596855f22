"""Replay: the loop that connects decoding, state, filter and consumer (docs/engine.md).

`replay` is the per-record loop (compiled by Cython where a compiler exists), `Plan` decides
once per kind what the loop and the byte kernel do with its events, `batches` feeds the loop.
"""

from .loop import Info, Setup, replay
from .plan import Plan
from .source import Counts, batches

__all__ = ["Counts", "Info", "Plan", "Setup", "batches", "replay"]
