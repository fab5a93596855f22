/* Part of _native.c (one translation unit; each part is included once, in order).
 * Reading bytes: integers, text and its cache, and any compiled node. */

typedef struct {
    const unsigned char *b;
    int le;
    struct Params *params; /* the parameter table of the file, for OP_PARAMS */
} Ctx;

/* Sentinel for "not well formed here": the caller hands the record to the pure-Python kernel,
 * which decodes it again and reports precisely what is wrong. */
#define ANOMALY ((PyObject *)1)

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

/* Stored text as str: UTF-8, with bytes that are not kept as lone surrogates. Most stored
 * text is ASCII, which is copied straight into a new str (the UTF-8 decoder would find that
 * out too, after setting up its error handling). */
static PyObject *utf8_text(const unsigned char *b, Py_ssize_t n)
{
    Py_ssize_t i = 0;
    uint64_t high = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        high |= w;
    }
    for (; i < n; i++)
        high |= b[i];
    if (high & 0x8080808080808080ULL)
        return PyUnicode_DecodeUTF8((const char *)b, n, "surrogateescape");
    PyObject *s = PyUnicode_New(n, 127);
    if (s != NULL)
        memcpy(PyUnicode_1BYTE_DATA(s), b, (size_t)n);
    return s;
}

static inline PyObject *text(const Ctx *c, Py_ssize_t p, Py_ssize_t n)
{
    return utf8_text(c->b + p, n);
}

/*
 * Short strings repeat endlessly in a capture (handle types, DLL paths, parameter names); a
 * small direct-mapped cache hands out the same immutable str for the same bytes instead of
 * decoding and allocating each again. Its entries are a pure function of their bytes.
 */
#define STR_CACHE_SLOTS 512
#define STR_CACHE_MAX 64
static struct {
    PyObject *s;
    Py_ssize_t n;
    unsigned char b[STR_CACHE_MAX];
} str_cache[STR_CACHE_SLOTS];

static PyObject *shared_text(const Ctx *c, Py_ssize_t p, Py_ssize_t n)
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

/* The same u32 values (pids, tids, owner pids) recur endlessly: a small direct-mapped cache
 * hands out the same int object for the same value instead of allocating each again. */
#define U32_SLOTS 1024
static struct {
    PyObject *o;
    uint32_t v;
} u32_cache[U32_SLOTS];

static PyObject *u32_object(uint32_t v)
{
    if (v < 256)
        return PyLong_FromUnsignedLong(v); /* CPython's own small ints */
    __typeof__(&u32_cache[0]) e = &u32_cache[(v ^ (v >> 10)) % U32_SLOTS];
    if (e->o == NULL || e->v != v) {
        PyObject *o = PyLong_FromUnsignedLong(v);
        if (o == NULL)
            return NULL;
        Py_XSETREF(e->o, o);
        e->v = v;
    }
    return Py_NewRef(e->o);
}

static PyObject *int_value(const Ctx *c, char code, Py_ssize_t p)
{
    switch (code) {
    case 'B': return PyLong_FromLong(c->b[p]);
    case 'b': return PyLong_FromLong((int8_t)c->b[p]);
    case 'H': return PyLong_FromLong(rd16(c, p));
    case 'h': return PyLong_FromLong((int16_t)rd16(c, p));
    case 'I': return u32_object(rd32(c, p));
    case 'i': return PyLong_FromLong((int32_t)rd32(c, p));
    case 'Q': return PyLong_FromUnsignedLongLong(rd64(c, p));
    case 'q': return PyLong_FromLongLong((int64_t)rd64(c, p));
    case 'd': {
        uint64_t bits = rd64(c, p);
        double d;
        memcpy(&d, &bits, 8);
        return PyFloat_FromDouble(d);
    }
    case 'f': {
        uint32_t bits = rd32(c, p);
        float f;
        memcpy(&f, &bits, 4);
        return PyFloat_FromDouble((double)f);
    }
    default:
        PyErr_SetString(PyExc_SystemError, "bad integer code");
        return NULL;
    }
}

static PyObject *new_timestamp(PyObject *txt /* stolen */)
{
    PyObject *ts = stored_time_fn != NULL ? stored_time_fn(txt) : PyObject_CallOneArg(TimestampCls, txt);
    Py_DECREF(txt);
    return ts;
}

static PyObject *decode_params(const Ctx *c, Py_ssize_t *pp, Py_ssize_t end);

/* Decode one value of node n at *pp (bounded by end): a new reference, NULL on error, or
 * ANOMALY. *pp moves past the value only when a value is returned. */
static PyObject *decode_node(const Ctx *c, const Node *n, Py_ssize_t *pp, Py_ssize_t end)
{
    Py_ssize_t p = *pp, k;
    PyObject *v = NULL;
#define NEED(x) if ((x) < 0 || p + (x) > end) return ANOMALY;
    switch (n->op) {
    case OP_INT: case OP_FLOAT:
        NEED(n->width) v = int_value(c, n->code, p);
        p += n->width;
        break;
    case OP_BOOL:
        NEED(1) v = Py_NewRef(c->b[p] ? Py_True : Py_False);
        p += 1;
        break;
    case OP_TEXT: case OP_TIME:
        NEED(2) k = rd16(c, p);
        NEED(2 + k)
        if (n->op == OP_TEXT) {
            v = n->shared ? shared_text(c, p + 2, k) : text(c, p + 2, k);
        } else {
            PyObject *t = text(c, p + 2, k);
            v = t ? new_timestamp(t) : NULL;
        }
        p += 2 + k;
        break;
    case OP_RAW:
        NEED(n->width) v = PyBytes_FromStringAndSize((const char *)c->b + p, n->width);
        p += n->width;
        break;
    case OP_ADDRESS: {
        NEED(n->width) PyObject *raw = PyBytes_FromStringAndSize((const char *)c->b + p, n->width);
        if (raw == NULL)
            return NULL;
        v = PyObject_CallOneArg(n->width == 4 ? IPv4Cls : IPv6Cls, raw);
        Py_DECREF(raw);
        p += n->width;
        break;
    }
    case OP_BLOB: {
        Py_ssize_t w = n->code == 'H' ? 2 : 4;
        NEED(w) k = w == 2 ? rd16(c, p) : (Py_ssize_t)rd32(c, p);
        NEED(w + k) v = PyBytes_FromStringAndSize((const char *)c->b + p + w, k);
        p += w + k;
        break;
    }
    case OP_SEQ: {
        NEED(2) Py_ssize_t count = rd16(c, p);
        p += 2;
        v = PyList_New(0);
        for (Py_ssize_t i = 0; v != NULL && i < count; i++) {
            PyObject *item = decode_node(c, n->kids[0], &p, end);
            if (item == NULL || item == ANOMALY) {
                Py_DECREF(v);
                return item;
            }
            if (PyList_Append(v, item) < 0)
                Py_CLEAR(v);
            Py_DECREF(item);
        }
        break;
    }
    case OP_PAIR: {
        PyObject *a = decode_node(c, n->kids[0], &p, end);
        if (a == NULL || a == ANOMALY)
            return a;
        PyObject *b = decode_node(c, n->kids[1], &p, end);
        if (b == NULL || b == ANOMALY) {
            Py_DECREF(a);
            return b;
        }
        v = PyTuple_Pack(2, a, b);
        Py_DECREF(a);
        Py_DECREF(b);
        /* a pair of atoms can close no cycle */
        if (v != NULL && atom_node(n->kids[0]) && atom_node(n->kids[1]))
            PyObject_GC_UnTrack(v);
        break;
    }
    case OP_RECORD: {
        PyObject *stack[32], **vals = n->n <= 32 ? stack : PyMem_Calloc(n->n, sizeof(PyObject *));
        if (vals == NULL)
            return PyErr_NoMemory();
        Py_ssize_t i = 0;
        for (; i < n->n; i++) {
            PyObject *x = decode_node(c, n->kids[i], &p, end);
            if (x == NULL || x == ANOMALY) {
                for (Py_ssize_t j = 0; j < i; j++)
                    Py_DECREF(vals[j]);
                if (vals != stack)
                    PyMem_Free(vals);
                return x;
            }
            vals[i] = x;
        }
        v = build_record(n, vals);
        if (vals != stack)
            PyMem_Free(vals);
        break;
    }
    case OP_TAGGED: {
        NEED(1) long tag = c->b[p];
        p += 1;
        Py_ssize_t i = 0;
        while (i < n->n && n->tags[i] != tag)
            i++;
        if (i == n->n)
            return ANOMALY;
        if (n->kids[i] == NULL) {
            v = Py_NewRef(Py_None);
        } else {
            v = decode_node(c, n->kids[i], &p, end);
            if (v == NULL || v == ANOMALY)
                return v;
        }
        break;
    }
    case OP_FRAMED: {
        Py_ssize_t w = n->code == 'H' ? 2 : 4;
        NEED(w) k = w == 2 ? rd16(c, p) : (Py_ssize_t)rd32(c, p);
        if (k == 0 && n->empty) {
            v = Py_NewRef(Py_None);
            p += w;
            break;
        }
        if (k < n->width)
            return ANOMALY;
        NEED(w + k) Py_ssize_t q = p + w, rec_end = p + w + k;
        v = decode_node(c, n->kids[0], &q, rec_end);
        if (v == NULL || v == ANOMALY)
            return v;
        if (q != rec_end) {
            Py_DECREF(v);
            return ANOMALY;
        }
        p = rec_end;
        break;
    }
    case OP_SECTION: {
        NEED(SEC_SIZE) if (c->b[p + SEC_TYPE_AT] != n->width)
            return ANOMALY;
        int version = c->b[p + SEC_VERSION_AT];
        Py_ssize_t count = rd32(c, p + SEC_COUNT_AT), size = rd32(c, p + SEC_SIZE_AT);
        p += SEC_SIZE;
        if (n->counted != NULL) {
            v = PyList_New(0);
            for (Py_ssize_t i = 0; v != NULL && i < count; i++) {
                PyObject *item = decode_node(c, n->counted, &p, end);
                if (item == NULL || item == ANOMALY) {
                    Py_DECREF(v);
                    return item;
                }
                if (PyList_Append(v, item) < 0)
                    Py_CLEAR(v);
                Py_DECREF(item);
            }
            break;
        }
        if (size == 0) {
            v = Py_NewRef(Py_None);
            break;
        }
        NEED(size) Py_ssize_t i = 0;
        while (i < n->n && n->tags[i] != version)
            i++;
        if (i == n->n || n->kids[i] == NULL)
            return ANOMALY;
        Py_ssize_t q = p;
        v = decode_node(c, n->kids[i], &q, p + size);
        if (v == NULL || v == ANOMALY)
            return v;
        if (q != p + size) {
            Py_DECREF(v);
            return ANOMALY;
        }
        p += size;
        break;
    }
    case OP_SLICE: {
        NEED(3) long kind = c->b[p];
        Py_ssize_t count = rd16(c, p + 1);
        p += 3;
        Py_ssize_t i = 0;
        while (i < n->n && n->tags[i] != kind)
            i++;
        if (i == n->n)
            return ANOMALY;
        v = PyList_New(0);
        for (Py_ssize_t j = 0; v != NULL && j < count; j++) {
            PyObject *item = decode_node(c, n->kids[i], &p, end);
            if (item == NULL || item == ANOMALY) {
                Py_DECREF(v);
                return item;
            }
            if (PyList_Append(v, item) < 0)
                Py_CLEAR(v);
            Py_DECREF(item);
        }
        break;
    }
    case OP_PARAMS:
        return decode_params(c, pp, end);
    default:
        PyErr_SetString(PyExc_SystemError, "bad layout node");
        return NULL;
    }
#undef NEED
    if (v != NULL)
        *pp = p;
    return v;
}

/* The offset after the value of node n at p, without building it; -1 when not well formed. */
static Py_ssize_t skip_node(const Ctx *c, const Node *n, Py_ssize_t p, Py_ssize_t end)
{
    Py_ssize_t k;
    switch (n->op) {
    case OP_INT: case OP_FLOAT: case OP_BOOL: case OP_RAW: case OP_ADDRESS:
        k = n->op == OP_BOOL ? 1 : n->width;
        return p + k > end ? -1 : p + k;
    case OP_TEXT: case OP_TIME:
        if (p + 2 > end) return -1;
        k = 2 + (Py_ssize_t)rd16(c, p);
        return p + k > end ? -1 : p + k;
    case OP_BLOB: {
        Py_ssize_t w = n->code == 'H' ? 2 : 4;
        if (p + w > end) return -1;
        k = w + (w == 2 ? (Py_ssize_t)rd16(c, p) : (Py_ssize_t)rd32(c, p));
        return p + k > end ? -1 : p + k;
    }
    case OP_SEQ: {
        if (p + 2 > end) return -1;
        Py_ssize_t count = rd16(c, p);
        p += 2;
        for (Py_ssize_t i = 0; i < count && p >= 0; i++)
            p = skip_node(c, n->kids[0], p, end);
        return p;
    }
    case OP_PAIR:
        p = skip_node(c, n->kids[0], p, end);
        return p < 0 ? -1 : skip_node(c, n->kids[1], p, end);
    case OP_SLICE: {
        if (p + 3 > end) return -1;
        long kind = c->b[p];
        Py_ssize_t count = rd16(c, p + 1), i = 0;
        p += 3;
        while (i < n->n && n->tags[i] != kind)
            i++;
        if (i == n->n) return -1;
        for (Py_ssize_t j = 0; j < count && p >= 0; j++)
            p = skip_node(c, n->kids[i], p, end);
        return p;
    }
    default:
        return -1; /* records and sections are never skipped: they are decoded or refused */
    }
}
