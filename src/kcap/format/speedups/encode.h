/* Part of _speedups.c, which includes every part once, in order (one translation unit).
 * Encoding parameters and metadata for the writer. */

/* ------------------------------------------------------------------ encoding */

typedef struct {
    char *data;
    Py_ssize_t len, cap;
    int le;
} Out;

static int grow(Out *o, Py_ssize_t n)
{
    if (o->len + n <= o->cap)
        return 0;
    Py_ssize_t cap = o->cap ? o->cap : 256;
    while (cap < o->len + n)
        cap *= 2;
    char *d = PyMem_Realloc(o->data, cap);
    if (d == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    o->data = d;
    o->cap = cap;
    return 0;
}

static int put(Out *o, const void *src, Py_ssize_t n)
{
    if (grow(o, n) < 0)
        return -1;
    memcpy(o->data + o->len, src, n);
    o->len += n;
    return 0;
}

static int put_uint(Out *o, uint64_t v, int width)
{
    unsigned char b[8];
    for (int i = 0; i < width; i++)
        b[o->le ? i : width - 1 - i] = (unsigned char)(v >> (8 * i));
    return put(o, b, width);
}

/* u16 length + UTF-8 (surrogateescape) of a str. 1 = not encodable here (caller falls back). */
static int put_str16(Out *o, PyObject *s)
{
    if (!PyUnicode_Check(s))
        return 1;
    if (PyUnicode_IS_ASCII(s)) {
        Py_ssize_t n = PyUnicode_GET_LENGTH(s);
        if (n > 0xFFFF)
            return 1;
        if (put_uint(o, (uint64_t)n, 2) < 0)
            return -1;
        return put(o, PyUnicode_DATA(s), n);
    }
    PyObject *b = PyUnicode_AsEncodedString(s, "utf-8", "surrogateescape");
    if (b == NULL) {
        PyErr_Clear();
        return 1;
    }
    Py_ssize_t n = PyBytes_GET_SIZE(b);
    int rc = n > 0xFFFF ? 1 : put_uint(o, (uint64_t)n, 2) < 0 ? -1 : put(o, PyBytes_AS_STRING(b), n);
    Py_DECREF(b);
    return rc;
}

/* An int in [lo, hi] as `width` bytes. 1 = out of range or not an int. */
static int put_int(Out *o, PyObject *v, int width, int is_signed)
{
    if (!PyLong_Check(v) || PyBool_Check(v))
        return 1;
    int overflow = 0;
    if (is_signed) {
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (overflow || (x == -1 && PyErr_Occurred())) { PyErr_Clear(); return 1; }
        if (width < 8) {
            long long lim = 1LL << (8 * width - 1);
            if (x < -lim || x >= lim)
                return 1;
        }
        return put_uint(o, (uint64_t)x, width) < 0 ? -1 : 0;
    }
    unsigned long long x = PyLong_AsUnsignedLongLong(v);
    if (x == (unsigned long long)-1 && PyErr_Occurred()) { PyErr_Clear(); return 1; }
    if (width < 8 && x >> (8 * width))
        return 1;
    return put_uint(o, x, width) < 0 ? -1 : 0;
}

static int put_value(Out *o, int codec, PyObject *v, PyObject *elem)
{
    switch (codec) {
    case C_STR16: return put_str16(o, v);
    case C_U8: return put_int(o, v, 1, 0);
    case C_U16: return put_int(o, v, 2, 0);
    case C_U32: return put_int(o, v, 4, 0);
    case C_U64: return put_int(o, v, 8, 0);
    case C_I8: return put_int(o, v, 1, 1);
    case C_I16: return put_int(o, v, 2, 1);
    case C_I32: return put_int(o, v, 4, 1);
    case C_I64: return put_int(o, v, 8, 1);
    case C_BOOL:
        if (!PyBool_Check(v))
            return 1;
        return put(o, v == Py_True ? "\x01" : "\x00", 1);
    case C_BIN32:
        if (!PyBytes_Check(v) || PyBytes_GET_SIZE(v) > 0xFFFFFFFFLL)
            return 1;
        if (put_uint(o, (uint64_t)PyBytes_GET_SIZE(v), 4) < 0)
            return -1;
        return put(o, PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v));
    case C_TIME:
        if (Py_TYPE(v) != TimestampT)
            return 1;
        return put_str16(o, *(PyObject **)((char *)v + o_ts_text));
    case C_IPV4: case C_IPV6: {
        if (Py_TYPE(v) != (PyTypeObject *)(codec == C_IPV4 ? IPv4Cls : IPv6Cls))
            return 1;
        PyObject *packed = PyObject_GetAttrString(v, "packed");
        if (packed == NULL)
            return -1;
        int rc = PyBytes_Check(packed) ? put(o, PyBytes_AS_STRING(packed), PyBytes_GET_SIZE(packed)) : 1;
        Py_DECREF(packed);
        return rc;
    }
    case C_SLICE: {
        if (!PyList_Check(v) || !PyUnicode_Check(elem) || PyList_GET_SIZE(v) > 0xFFFF)
            return 1;
        int ints = PyUnicode_CompareWithASCIIString(elem, "8") == 0;
        Py_ssize_t n = PyList_GET_SIZE(v);
        if (put(o, ints ? "8" : "s", 1) < 0 || put_uint(o, (uint64_t)n, 2) < 0)
            return -1;
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *x = PyList_GET_ITEM(v, i);
            int rc = ints ? put_int(o, x, 8, 0) : put_str16(o, x);
            if (rc)
                return rc;
        }
        return 0;
    }
    default:
        return 1;
    }
}

/*
 * encode_tail(params, meta, wire, little) -> bytes | None
 * params: list of Param; meta: list of (str, str); wire: dict ParamType -> (wire id, codec).
 * The parameter count, the parameters, the metadata count and pairs, as the newest layout
 * stores them. None when any value needs the Python encoder (a conversion, a type it has to
 * reject with a message, an out-of-range number): that one encodes the whole tail instead.
 */
static PyObject *encode_tail(PyObject *self, PyObject *args)
{
    PyObject *params, *meta, *wire;
    int le;
    if (!PyArg_ParseTuple(args, "O!O!O!p", &PyList_Type, &params, &PyList_Type, &meta,
                          &PyDict_Type, &wire, &le))
        return NULL;
    Out o = {NULL, 0, 0, le};
    int rc = 0;
    Py_ssize_t n = PyList_GET_SIZE(params);
    if (n > 0xFFFF) { rc = 1; goto done; }
    if ((rc = put_uint(&o, (uint64_t)n, 2)) != 0) goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *p = PyList_GET_ITEM(params, i);
        if (Py_TYPE(p) != ParamT || PyTuple_GET_SIZE(p) != 4) { rc = 1; goto done; }
        PyObject *spec = PyDict_GetItemWithError(wire, PyTuple_GET_ITEM(p, 1));
        if (spec == NULL) { rc = PyErr_Occurred() ? -1 : 1; goto done; }
        long wid = PyLong_AsLong(PyTuple_GET_ITEM(spec, 0));
        int codec = (int)PyLong_AsLong(PyTuple_GET_ITEM(spec, 1));
        if ((rc = put_uint(&o, (uint64_t)wid, 2)) != 0) goto done;
        if ((rc = put_str16(&o, PyTuple_GET_ITEM(p, 0))) != 0) goto done;
        if ((rc = put_value(&o, codec, PyTuple_GET_ITEM(p, 2), PyTuple_GET_ITEM(p, 3))) != 0)
            goto done;
    }
    Py_ssize_t m = PyList_GET_SIZE(meta);
    if (m > 0xFFFF) { rc = 1; goto done; }
    if ((rc = put_uint(&o, (uint64_t)m, 2)) != 0) goto done;
    for (Py_ssize_t i = 0; i < m; i++) {
        PyObject *kv = PyList_GET_ITEM(meta, i);
        if (!PyTuple_Check(kv) || PyTuple_GET_SIZE(kv) != 2) { rc = 1; goto done; }
        if ((rc = put_str16(&o, PyTuple_GET_ITEM(kv, 0))) != 0) goto done;
        if ((rc = put_str16(&o, PyTuple_GET_ITEM(kv, 1))) != 0) goto done;
    }
done:;
    PyObject *result = rc < 0 ? NULL : rc > 0 ? Py_NewRef(Py_None)
                                               : PyBytes_FromStringAndSize(o.data, o.len);
    PyMem_Free(o.data);
    return result;
}
