# Cython declarations for loop.py (compiled where a compiler exists; docs/engine.md).
from kcap.model.event cimport Event
from kcap.state.dispatch cimport Rule


cdef class Info:
    cdef public tuple rules
    cdef public bint state_only, carries
