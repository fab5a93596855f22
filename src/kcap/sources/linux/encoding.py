"""Encoding shared parameters once: a writer encoder that remembers each `Param` object's bytes.

The mapper shares `Param` objects between events (`mapper.P`), so at high event rates most
parameters of an event are objects the encoder has seen before. This subclass of the format
layer's encoder keeps the encoded bytes per parameter object (holding a reference, so an id is
never reused while cached) and skips re-encoding them.
"""

from __future__ import annotations

from typing import Any

from kcap.format.encode import EventEncoder
from kcap.model import Param

_LIMIT = 65536


class SharedParamEncoder(EventEncoder):
    def __init__(self, prefix: str = "<") -> None:
        super().__init__(prefix)
        self._by_param: dict[int, tuple[Param, bytes | None]] = {}

    def _param(self, p: Param) -> bytes | None:
        hit = self._by_param.get(id(p))
        if hit is not None and hit[0] is p:
            return hit[1]
        data = super()._param(p)
        if len(self._by_param) >= _LIMIT:
            self._by_param.clear()
        self._by_param[id(p)] = (p, data)
        return data


def share_param_encoding(writer: Any) -> bool:
    """Give ``writer`` the caching encoder; False when the writer is not the expected kind."""
    enc = getattr(writer, "_encoder", None)
    if type(enc) is not EventEncoder:
        return False
    new = SharedParamEncoder(enc.prefix)
    writer._encoder = new
    writer.stats.notes = new.notes
    return True
