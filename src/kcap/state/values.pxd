# Cython declarations for values.py (compiled where a compiler exists; docs/engine.md).
cpdef object int_value(object value)
cpdef object int_or_zero(object value)
cpdef str text_value(object value)
