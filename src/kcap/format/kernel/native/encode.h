/* Part of _native.c (one translation unit; each part is included once, in order).
 * Values into bytes: an event's parameter list and metadata, for the writer. */

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

/* u16 length + UTF-8 (surrogateescape) of a str. 1 = not encodable here (the caller falls
 * back to the pure kernel, which says why). */
static int put_text(Out *o, PyObject *s)
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

/* An int that fits `code` (struct code). 1 = out of range or not an int. */
static int put_int(Out *o, PyObject *v, char code)
{
    if (!PyLong_Check(v) || PyBool_Check(v))
        return 1;
    int width = (int)int_size(code), is_signed = code >= 'a';
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

static PyObject *str_text, *str_packed;

/* The value v laid out as node n: 0 ok, 1 not here (the pure kernel decides), -1 error. */
static int put_node(Out *o, const Node *n, PyObject *v, PyObject *elem)
{
    switch (n->op) {
    case OP_TEXT:
        return put_text(o, v);
    case OP_INT:
        return put_int(o, v, n->code);
    case OP_BOOL:
        if (!PyBool_Check(v))
            return 1;
        return put(o, v == Py_True ? "\x01" : "\x00", 1);
    case OP_BLOB: {
        if (!PyBytes_Check(v))
            return 1;
        Py_ssize_t len = PyBytes_GET_SIZE(v);
        if (n->code == 'H' ? len > 0xFFFF : len > 0xFFFFFFFFLL)
            return 1;
        if (put_uint(o, (uint64_t)len, n->code == 'H' ? 2 : 4) < 0)
            return -1;
        return put(o, PyBytes_AS_STRING(v), len);
    }
    case OP_TIME: {
        if (!PyObject_TypeCheck(v, (PyTypeObject *)TimestampCls))
            return 1;
        PyObject *t = PyObject_GetAttr(v, str_text);
        if (t == NULL)
            return -1;
        int rc = put_text(o, t);
        Py_DECREF(t);
        return rc;
    }
    case OP_ADDRESS: {
        if (Py_TYPE(v) != (PyTypeObject *)(n->width == 4 ? IPv4Cls : IPv6Cls))
            return 1;
        PyObject *packed = PyObject_GetAttr(v, str_packed);
        if (packed == NULL)
            return -1;
        int rc = PyBytes_Check(packed) && PyBytes_GET_SIZE(packed) == n->width
                     ? put(o, PyBytes_AS_STRING(packed), n->width) : 1;
        Py_DECREF(packed);
        return rc;
    }
    case OP_SLICE: {
        if (!PyList_Check(v) || elem == NULL || !PyUnicode_Check(elem) || PyList_GET_SIZE(v) > 0xFFFF)
            return 1;
        Py_ssize_t i = 0;
        while (i < n->n && PyUnicode_Compare(n->extra[i], elem) != 0)
            i++;
        if (PyErr_Occurred())
            return -1;
        if (i == n->n)
            return 1;
        unsigned char kind = (unsigned char)n->tags[i];
        Py_ssize_t count = PyList_GET_SIZE(v);
        if (put(o, &kind, 1) < 0 || put_uint(o, (uint64_t)count, 2) < 0)
            return -1;
        for (Py_ssize_t j = 0; j < count; j++) {
            int rc = put_node(o, n->kids[i], PyList_GET_ITEM(v, j), NULL);
            if (rc)
                return rc;
        }
        return 0;
    }
    default:
        return 1;
    }
}

/* The writer's parameter table, compiled: logical type -> (wire id, node of the value). */
typedef struct {
    PyObject_HEAD
    PyObject *wire; /* dict ParamType -> (wire id, capsule index) */
    Node **nodes;
    Py_ssize_t n;
    int le;
} TailEncoder;

static void tail_encoder_dealloc(TailEncoder *self)
{
    for (Py_ssize_t i = 0; i < self->n; i++)
        free_node(self->nodes[i]);
    PyMem_Free(self->nodes);
    Py_XDECREF(self->wire);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/*
 * encode(params, meta) -> bytes | None
 * params: list of Param; meta: list of (str, str). The parameter count, the parameters, the
 * metadata count and pairs, as the newest layout stores them. None when any value needs the
 * pure kernel (a conversion, a type it rejects with a message, an out-of-range number).
 */
static PyObject *tail_encoder_encode(TailEncoder *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyList_Check(args[0]) || !PyList_Check(args[1]))
        return PyErr_Format(PyExc_TypeError, "encode(params: list, meta: list) expected");
    PyObject *params = args[0], *meta = args[1];
    Out o = {NULL, 0, 0, self->le};
    int rc = 0;
    Py_ssize_t n = PyList_GET_SIZE(params);
    if (n > 0xFFFF) { rc = 1; goto done; }
    if ((rc = put_uint(&o, (uint64_t)n, 2)) != 0) goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *p = PyList_GET_ITEM(params, i);
        if (Py_TYPE(p) != ParamT || PyTuple_GET_SIZE(p) != 4) { rc = 1; goto done; }
        PyObject *spec = PyDict_GetItemWithError(self->wire, PyTuple_GET_ITEM(p, 1));
        if (spec == NULL) { rc = PyErr_Occurred() ? -1 : 1; goto done; }
        long wid = PyLong_AsLong(PyTuple_GET_ITEM(spec, 0));
        Py_ssize_t idx = PyLong_AsSsize_t(PyTuple_GET_ITEM(spec, 1));
        if (PyErr_Occurred()) { rc = -1; goto done; }
        if ((rc = put_uint(&o, (uint64_t)wid, 2)) != 0) goto done;
        if ((rc = put_text(&o, PyTuple_GET_ITEM(p, 0))) != 0) goto done;
        if ((rc = put_node(&o, self->nodes[idx], PyTuple_GET_ITEM(p, 2), PyTuple_GET_ITEM(p, 3))) != 0)
            goto done;
    }
    Py_ssize_t m = PyList_GET_SIZE(meta);
    if (m > 0xFFFF) { rc = 1; goto done; }
    if ((rc = put_uint(&o, (uint64_t)m, 2)) != 0) goto done;
    for (Py_ssize_t i = 0; i < m; i++) {
        PyObject *kv = PyList_GET_ITEM(meta, i);
        if (!PyTuple_Check(kv) || PyTuple_GET_SIZE(kv) != 2) { rc = 1; goto done; }
        if ((rc = put_text(&o, PyTuple_GET_ITEM(kv, 0))) != 0) goto done;
        if ((rc = put_text(&o, PyTuple_GET_ITEM(kv, 1))) != 0) goto done;
    }
done:;
    PyObject *result = rc < 0 ? NULL : rc > 0 ? Py_NewRef(Py_None)
                                               : PyBytes_FromStringAndSize(o.data, o.len);
    PyMem_Free(o.data);
    return result;
}

static PyMethodDef tail_encoder_methods[] = {
    {"encode", (PyCFunction)(void (*)(void))tail_encoder_encode, METH_FASTCALL,
     "encode(params, meta) -> bytes | None"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject TailEncoderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kcap.format.kernel._native.TailEncoder",
    .tp_basicsize = sizeof(TailEncoder),
    .tp_dealloc = (destructor)tail_encoder_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An event's parameters and metadata into bytes, by the writer's table.",
    .tp_methods = tail_encoder_methods,
};

/* tail_encoder(wire, little) -> TailEncoder; wire: dict ParamType -> (wire id, node) */
static PyObject *tail_encoder(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyDict_Check(args[0]))
        return PyErr_Format(PyExc_TypeError, "tail_encoder(wire: dict, little) expected");
    int le = PyObject_IsTrue(args[1]);
    if (le < 0)
        return NULL;
    Py_ssize_t n = PyDict_GET_SIZE(args[0]), pos = 0, i = 0;
    TailEncoder *enc = PyObject_New(TailEncoder, &TailEncoderType);
    if (enc == NULL)
        return NULL;
    enc->nodes = PyMem_Calloc(n + 1, sizeof(Node *));
    enc->n = 0;
    enc->le = le;
    enc->wire = PyDict_New();
    if (enc->nodes == NULL || enc->wire == NULL) {
        Py_DECREF(enc);
        return PyErr_NoMemory();
    }
    PyObject *k, *v;
    while (PyDict_Next(args[0], &pos, &k, &v)) {
        if (!PyTuple_Check(v) || PyTuple_GET_SIZE(v) != 2) {
            Py_DECREF(enc);
            return PyErr_Format(PyExc_TypeError, "a wire entry is (wire id, node)");
        }
        if ((enc->nodes[i] = compile_node(PyTuple_GET_ITEM(v, 1))) == NULL) {
            Py_DECREF(enc);
            return NULL;
        }
        enc->n = i + 1;
        PyObject *spec = Py_BuildValue("(On)", PyTuple_GET_ITEM(v, 0), i);
        if (spec == NULL || PyDict_SetItem(enc->wire, k, spec) < 0) {
            Py_XDECREF(spec);
            Py_DECREF(enc);
            return NULL;
        }
        Py_DECREF(spec);
        i++;
    }
    return (PyObject *)enc;
}
