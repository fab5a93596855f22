/* Part of _speedups.c, which includes every part once, in order (one translation unit).
 * Reading the buffer: integers, strings and their caches, parameter values. */

/* ------------------------------------------------------------------ primitives */

typedef struct {
    const unsigned char *b;
    int le;
    PyObject *table;     /* tuple: wire id -> (ParamType, codec) or None */
    PyObject *head_cache; /* dict: type id + the four head strings -> (4 str, type id) */
} Ctx;

static inline uint16_t rd16(const Ctx *c, Py_ssize_t p)
{
    const unsigned char *b = c->b + p;
    return c->le ? (uint16_t)(b[0] | b[1] << 8) : (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t rd32(const Ctx *c, Py_ssize_t p)
{
    const unsigned char *b = c->b + p;
    return c->le ? ((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24)
                 : ((uint32_t)b[3] | (uint32_t)b[2] << 8 | (uint32_t)b[1] << 16 | (uint32_t)b[0] << 24);
}

static inline uint64_t rd64(const Ctx *c, Py_ssize_t p)
{
    uint64_t lo = rd32(c, p), hi = rd32(c, p + 4);
    return c->le ? (hi << 32 | lo) : (lo << 32 | hi);
}

static inline PyObject *text(const Ctx *c, Py_ssize_t p, Py_ssize_t n)
{
    return PyUnicode_DecodeUTF8((const char *)c->b + p, n, "surrogateescape");
}

/*
 * Short strings repeat endlessly in a capture (handle types, DLL paths, registry value names);
 * a small direct-mapped cache hands out the same immutable str for the same bytes instead of
 * decoding and allocating each again.
 */
#define STR_CACHE_SLOTS 512
#define STR_CACHE_MAX 64
static struct {
    PyObject *s;
    Py_ssize_t n;
    unsigned char b[STR_CACHE_MAX];
} str_cache[STR_CACHE_SLOTS];

static PyObject *cached_text(const Ctx *c, Py_ssize_t p, Py_ssize_t n)
{
    if (n == 0 || n > STR_CACHE_MAX)
        return text(c, p, n);
    const unsigned char *b = c->b + p;
    uint32_t h = 2166136261u;
    for (Py_ssize_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    h ^= h >> 15;
    __typeof__(&str_cache[0]) e = &str_cache[h % STR_CACHE_SLOTS];
    if (e->s != NULL && e->n == n && memcmp(e->b, b, n) == 0)
        return Py_NewRef(e->s);
    PyObject *s = text(c, p, n);
    if (s == NULL)
        return NULL;
    Py_XSETREF(e->s, Py_NewRef(s));
    e->n = n;
    memcpy(e->b, b, n);
    return s;
}

/*
 * Objects that hold only atoms (numbers, text, bytes, a decoder function) cannot be part of a
 * reference cycle, so the cycle collector need not watch them -- CPython does the same for
 * tuples of atoms. A replay allocates millions of them (timestamps, lazy-tail tuples, handles,
 * modules); watched, they made the collector a fifth of the replay time.
 */
static inline void untrack(PyObject *o)
{
    if (PyObject_GC_IsTracked(o))
        PyObject_GC_UnTrack(o);
}

static PyObject *new_timestamp(PyObject *txt /* stolen */)
{
    PyObject *ts = TimestampT->tp_alloc(TimestampT, 0);
    if (ts == NULL) {
        Py_DECREF(txt);
        return NULL;
    }
    untrack(ts);
    set_slot(ts, o_ts_text, txt);
    set_slot(ts, o_ts_ns, Py_NewRef(Py_None));
    set_slot(ts, o_ts_offset, Py_NewRef(zero_int));
    return ts;
}

/* Sentinel for "not well formed here": the caller falls back to Python for this section. */
#define ANOMALY ((PyObject *)1)

/* Decode one parameter value at *pp (bounded by end). New reference, NULL on error, ANOMALY. */
static PyObject *value(const Ctx *c, int codec, Py_ssize_t *pp, Py_ssize_t end, PyObject **elem)
{
    Py_ssize_t p = *pp, n;
    PyObject *v;
#define NEED(k) if (p + (k) > end) return ANOMALY;
    switch (codec) {
    case C_STR16:
        NEED(2) n = rd16(c, p);
        NEED(2 + n) v = cached_text(c, p + 2, n);
        p += 2 + n;
        break;
    case C_U64: NEED(8) v = PyLong_FromUnsignedLongLong(rd64(c, p)); p += 8; break;
    case C_U32: NEED(4) v = PyLong_FromUnsignedLong(rd32(c, p)); p += 4; break;
    case C_U8: NEED(1) v = PyLong_FromLong(c->b[p]); p += 1; break;
    case C_U16: NEED(2) v = PyLong_FromLong(rd16(c, p)); p += 2; break;
    case C_I8: NEED(1) v = PyLong_FromLong((int8_t)c->b[p]); p += 1; break;
    case C_I16: NEED(2) v = PyLong_FromLong((int16_t)rd16(c, p)); p += 2; break;
    case C_I32: NEED(4) v = PyLong_FromLong((int32_t)rd32(c, p)); p += 4; break;
    case C_I64: NEED(8) v = PyLong_FromLongLong((int64_t)rd64(c, p)); p += 8; break;
    case C_BOOL: NEED(1) v = Py_NewRef(c->b[p] ? Py_True : Py_False); p += 1; break;
    case C_F64: {
        NEED(8) uint64_t bits = rd64(c, p);
        double d;
        memcpy(&d, &bits, 8);
        v = PyFloat_FromDouble(d);
        p += 8;
        break;
    }
    case C_F32: {
        NEED(4) uint32_t bits = rd32(c, p);
        float f;
        memcpy(&f, &bits, 4);
        v = PyFloat_FromDouble((double)f);
        p += 4;
        break;
    }
    case C_BIN32:
        NEED(4) n = rd32(c, p);
        NEED(4 + n) v = PyBytes_FromStringAndSize((const char *)c->b + p + 4, n);
        p += 4 + n;
        break;
    case C_BIN16:
        NEED(2) n = rd16(c, p);
        NEED(2 + n) v = PyBytes_FromStringAndSize((const char *)c->b + p + 2, n);
        p += 2 + n;
        break;
    case C_IPV4: case C_IPV6: {
        Py_ssize_t k = codec == C_IPV4 ? 4 : 16;
        NEED(k) PyObject *raw = PyBytes_FromStringAndSize((const char *)c->b + p, k);
        if (raw == NULL)
            return NULL;
        v = PyObject_CallOneArg(codec == C_IPV4 ? IPv4Cls : IPv6Cls, raw);
        Py_DECREF(raw);
        p += k;
        break;
    }
    case C_TIME: {
        NEED(2) n = rd16(c, p);
        NEED(2 + n) PyObject *t = text(c, p + 2, n);
        if (t == NULL)
            return NULL;
        v = new_timestamp(t);
        p += 2 + n;
        break;
    }
    case C_SLICE: {
        NEED(3) unsigned char kind = c->b[p];
        Py_ssize_t count = rd16(c, p + 1);
        p += 3;
        if (kind == 's') {
            v = PyList_New(0);
            if (v == NULL)
                return NULL;
            for (Py_ssize_t i = 0; i < count; i++) {
                if (p + 2 > end) { Py_DECREF(v); return ANOMALY; }
                n = rd16(c, p);
                if (p + 2 + n > end) { Py_DECREF(v); return ANOMALY; }
                PyObject *s = text(c, p + 2, n);
                if (s == NULL || PyList_Append(v, s) < 0) { Py_XDECREF(s); Py_DECREF(v); return NULL; }
                Py_DECREF(s);
                p += 2 + n;
            }
            *elem = PyUnicode_FromString("s");
        } else if (kind == '8') {
            NEED(8 * count) v = PyList_New(count);
            if (v == NULL)
                return NULL;
            for (Py_ssize_t i = 0; i < count; i++) {
                PyObject *x = PyLong_FromUnsignedLongLong(rd64(c, p));
                if (x == NULL) { Py_DECREF(v); return NULL; }
                PyList_SET_ITEM(v, i, x);
                p += 8;
            }
            *elem = PyUnicode_FromString("8");
        } else {
            return ANOMALY;
        }
        if (*elem == NULL) { Py_DECREF(v); return NULL; }
        break;
    }
    default:
        return ANOMALY;
    }
#undef NEED
    *pp = p;
    return v;
}

/* Parameters and metadata from *pp. Fills a new Params object and meta list; 0 ok, -1 error,
 * 1 anomaly. */
static int tail(const Ctx *c, Py_ssize_t *pp, Py_ssize_t end, PyObject **params_out,
                PyObject **meta_out)
{
    Py_ssize_t p = *pp;
    PyObject *by_name = NULL, *dups = NULL, *meta = NULL, *params = NULL;
    int rc = -1;
    Py_ssize_t ntable = PyTuple_GET_SIZE(c->table);
    if (p + 2 > end)
        return 1;
    Py_ssize_t count = rd16(c, p);
    p += 2;
    by_name = PyDict_New();
    dups = PyList_New(0);
    if (by_name == NULL || dups == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (p + 4 > end) { rc = 1; goto done; }
        Py_ssize_t wire = rd16(c, p), nlen = rd16(c, p + 2);
        p += 4;
        if (p + nlen > end || wire >= ntable) { rc = 1; goto done; }
        PyObject *spec = PyTuple_GET_ITEM(c->table, wire);
        if (spec == Py_None) { rc = 1; goto done; }
        PyObject *name = cached_text(c, p, nlen); /* names repeat: one str, hash kept */
        if (name == NULL)
            goto done;
        p += nlen;
        PyObject *elem = NULL;
        int codec = (int)PyLong_AsLong(PyTuple_GET_ITEM(spec, 1));
        PyObject *v = value(c, codec, &p, end, &elem);
        if (v == NULL || v == ANOMALY) {
            Py_DECREF(name);
            rc = v == NULL ? -1 : 1;
            goto done;
        }
        PyObject *param = ParamT->tp_alloc(ParamT, 4);
        if (param == NULL) {
            Py_DECREF(name); Py_DECREF(v); Py_XDECREF(elem);
            goto done;
        }
        PyTuple_SET_ITEM(param, 0, name);  /* steals name */
        PyTuple_SET_ITEM(param, 1, Py_NewRef(PyTuple_GET_ITEM(spec, 0)));
        PyTuple_SET_ITEM(param, 2, v);
        PyTuple_SET_ITEM(param, 3, elem ? elem : Py_NewRef(Py_None));
        /* Immutable and holding no container (slices are lists): it can close no cycle. */
        if (!PyList_Check(v))
            untrack(param);
        PyObject *first = PyDict_SetDefault(by_name, name, param); /* borrowed */
        int err = first == NULL ? -1 : first != param ? PyList_Append(dups, param) : 0;
        Py_DECREF(param);
        if (err < 0)
            goto done;
    }
    if (p + 2 > end) { rc = 1; goto done; }
    Py_ssize_t mcount = rd16(c, p);
    p += 2;
    meta = PyList_New(0);
    if (meta == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < mcount; i++) {
        if (p + 2 > end) { rc = 1; goto done; }
        Py_ssize_t kl = rd16(c, p);
        if (p + 2 + kl + 2 > end) { rc = 1; goto done; }
        Py_ssize_t vl = rd16(c, p + 2 + kl);
        if (p + 4 + kl + vl > end) { rc = 1; goto done; }
        PyObject *k = cached_text(c, p + 2, kl), *v = k ? cached_text(c, p + 4 + kl, vl) : NULL;
        PyObject *pair = v ? PyTuple_Pack(2, k, v) : NULL;
        Py_XDECREF(k);
        Py_XDECREF(v);
        if (pair != NULL)
            untrack(pair);
        if (pair == NULL || PyList_Append(meta, pair) < 0) { Py_XDECREF(pair); goto done; }
        Py_DECREF(pair);
        p += 4 + kl + vl;
    }
    params = ParamsT->tp_alloc(ParamsT, 0);
    if (params == NULL)
        goto done;
    set_slot(params, o_by_name, by_name);
    set_slot(params, o_duplicates, dups);
    by_name = dups = NULL;
    *params_out = params;
    *meta_out = meta;
    meta = NULL;
    *pp = p;
    rc = 0;
done:
    Py_XDECREF(by_name);
    Py_XDECREF(dups);
    Py_XDECREF(meta);
    return rc;
}

/* decode_tail(buf, p, end, table, little) -> (Params, meta, offset after meta) | None */
static PyObject *decode_tail(PyObject *self, PyObject *args)
{
    Py_buffer view;
    Py_ssize_t p, end;
    PyObject *table;
    int le;
    if (!PyArg_ParseTuple(args, "y*nnO!p", &view, &p, &end, &PyTuple_Type, &table, &le))
        return NULL;
    PyObject *result = NULL, *params = NULL, *meta = NULL;
    if (p < 0 || end > view.len || p > end) {
        result = Py_NewRef(Py_None);
        goto out;
    }
    Ctx c = {view.buf, le, table, NULL};
    int rc = tail(&c, &p, end, &params, &meta);
    if (rc < 0)
        goto out;
    if (rc > 0) {
        result = Py_NewRef(Py_None);
        goto out;
    }
    result = Py_BuildValue("NNn", params, meta, p);
out:
    PyBuffer_Release(&view);
    return result;
}
