"""The byte kernels: bytes into model values and values into bytes, and nothing else.

Two twins read the same declarations (`kcap.format.schema`) and offer the same functions:

* `pure` compiles each declaration into Python functions; it runs everywhere and makes every
  error message of the byte layer;
* `native` is the C kernel (``_native.c``, typed in ``_native.pyi``), used where it was built;
  it hands anything unusual to `pure`.

Neither knows about filters, state or the replay loop (docs/engine.md, "Two kernels").
A kernel module offers ``NAME``, ``record_codec(node, order)``, ``event_codec(layout)`` and,
native only, ``record_run``, ``scan_sections`` and ``tail_encoder``.
"""

from __future__ import annotations

from types import ModuleType

from kcap.format.kernel import pure

native: ModuleType | None
try:
    from kcap.format.kernel import native
except ImportError:  # not built (no compiler at install time), or KCAP_PURE_PYTHON is set
    native = None

__all__ = ["native", "pure"]
