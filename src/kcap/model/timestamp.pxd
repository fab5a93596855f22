# Cython declarations for timestamp.py (compiled where a compiler exists; docs/engine.md).
cimport cython


@cython.no_gc
cdef class Timestamp:
    cdef public object text, _ns, _offset
    cpdef object _load(self)


cdef dict _SECOND_CACHE
cdef long long _NOT_A_TIME, _FITS
cdef long long _SCALE[10]
cdef bint _COMPILED

# No bounds or wraparound checks (timestamp.py's first line): the indexes stay inside the
# text, whose length `_parse` checks first. Indexing ``bytes`` compiles to one memory read.
@cython.locals(value=cython.longlong, i=Py_ssize_t, d=cython.int, chunk=bytes)
cdef cython.longlong _digits(bytes b, Py_ssize_t start, Py_ssize_t count) noexcept

@cython.locals(y=cython.longlong, mo=cython.longlong, d=cython.longlong, h=cython.longlong,
               mi=cython.longlong, sec=cython.longlong, leap=cython.bint, last_day=cython.longlong,
               yy=cython.longlong,
               era=cython.longlong, yoe=cython.longlong, doy=cython.longlong,
               doe=cython.longlong, days=cython.longlong)
cdef cython.longlong _seconds(bytes b) noexcept

@cython.locals(n=Py_ssize_t, end=Py_ssize_t, digits=Py_ssize_t, hh=cython.longlong,
               mm=cython.longlong, offset=cython.longlong, frac=cython.longlong,
               secs=cython.longlong, utc=cython.longlong, last=cython.uchar, sep=cython.uchar,
               b=bytes)
cdef bint _parse_into(Timestamp ts, str text) except -1

@cython.locals(ts=Timestamp)
cpdef object _parse(str text)


# Exported to the native byte kernel through the module's C API (see timestamp.py).
@cython.locals(ts=Timestamp)
cdef Timestamp _stored(str text)
