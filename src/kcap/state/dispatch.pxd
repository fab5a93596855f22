# Cython declarations for dispatch.py (compiled where a compiler exists; docs/engine.md).
cdef class Rule:
    cdef public object names, apply
