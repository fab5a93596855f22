# Cython declarations for processes.py (compiled where a compiler exists; docs/engine.md).
cimport cython

from kcap.model.records cimport Module, Thread
from kcap.state.values cimport int_or_zero, int_value, text_value


cdef class ModuleIndex:
    cdef public object owner
    cdef public set bases
    cdef public Py_ssize_t length


cdef class ProcessSnapshotter:
    cdef public object rebuild_placeholders, handle_snapshotter, warnings, rule, handler
    cdef dict _procs, _carriers, _indexes
    cdef object _warn, _rules
    cpdef _terminate_process(self, seq, pid, tuple values)
    @cython.locals(thread=Thread)
    cpdef _thread(self, seq, pid, tuple v)
    cpdef _terminate_thread(self, seq, pid, tuple v)
    cpdef _load_image(self, seq, pid, tuple v)
    cpdef _image_rundown(self, seq, pid, tuple v)
    cpdef _unload_image(self, seq, pid, tuple v)
    @cython.locals(module=Module, path=str, index=ModuleIndex, exe=str)
    cdef _load_module(self, tuple v, pid)
    @cython.locals(index=ModuleIndex)
    cdef ModuleIndex _module_index(self, pid, proc)
    cdef _skip(self, str what, seq, pid, str problem)
    cdef _int_or_warn(self, str what, seq, pid, value, str name)
