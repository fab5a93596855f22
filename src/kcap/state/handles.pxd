# Cython declarations for handles.py (compiled where a compiler exists; docs/engine.md).
cimport cython

from kcap.model.records cimport Handle
from kcap.state.values cimport int_or_zero, int_value, text_value


cdef class HandleSnapshotter:
    cdef public object warnings, rule, handler
    cdef dict _by_object
    cdef object _warn, _rules
    @cython.locals(handle=Handle)
    cpdef _create_handle(self, seq, pid, tuple values)
    cpdef _close_handle(self, seq, pid, tuple values)
    cdef _missing_object(self, str what, seq, pid)
