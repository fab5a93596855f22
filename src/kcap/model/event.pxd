# Cython declarations for event.py (compiled where a compiler exists; docs/engine.md).
cimport cython

cdef class Event:
    cdef public object seq, pid, tid, cpu, type, name, category, description, host, ps
    cdef public object _timestamp, _params, _meta, _process, _tail
    cpdef _load_tail(self)
    cpdef Event decode(self)
    cpdef object own_process(self)
    @cython.locals(by_name=dict)
    cpdef tuple values(self, object names)


# Exported to the native byte kernel through the module's C API (see event.py).
cdef Event _lazy_event(object seq, object pid, object tid, object type, object cpu, object name,
                       object category, object description, object host, object tail)
cdef Event _whole_event(object seq, object pid, object tid, object type, object cpu,
                        object name, object category, object description, object host,
                        object timestamp, object params, object meta, object process)
