# Cython declarations for records.py (compiled where a compiler exists; docs/engine.md).
# no_gc: the records hold only numbers, text and a small metadata record, so they can close no
# reference cycle; the cycle collector need not watch the millions replay makes.
cimport cython


@cython.no_gc
cdef class Handle:
    cdef public object num, object, pid, type, name, meta


@cython.no_gc
cdef class Thread:
    cdef public object tid, pid, io_prio, base_prio, page_prio, ustack_base, ustack_limit
    cdef public object kstack_base, kstack_limit, start_address


@cython.no_gc
cdef class Module:
    cdef public object path, base_address, size, checksum, default_base_address
    cdef public object signature_level, signature_type
