/*
 * Optional accelerator for the hottest loop of kcap: turning event sections into Event objects.
 *
 * It decodes only what is well formed. At the first anomaly of any kind (unknown section type
 * or version, a length running past its record, an unknown parameter type, a process body that
 * does not decode, bytes left over) it stops and tells the caller where; the pure-Python decoder
 * in events.py then decodes that one section and raises the precise error. So the messages,
 * the error policy and the semantics live in one place, and this file is only a faster way to
 * produce the same objects. tests/format/test_speedups.py checks both paths give equal results.
 *
 * Objects are built the way their classes would build them: Event, Timestamp and Params are
 * __slots__ classes whose slots are filled by offset (taken from the classes' member
 * descriptors at configure time), Param is a tuple subclass.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#include <structmember.h> /* PyMemberDef, for slot offsets */

enum {
    C_STR16 = 1, C_I8, C_U8, C_I16, C_U16, C_I32, C_U32, C_I64, C_U64, C_F64, C_F32, C_BOOL,
    C_BIN32, C_BIN16, C_IPV4, C_IPV6, C_TIME, C_SLICE, C_NONE
};

/* ------------------------------------------------------------------ configured classes */

static PyTypeObject *EventT, *ParamT, *TimestampT, *ParamsT;
static PyObject *IPv4Cls, *IPv6Cls;
static Py_ssize_t o_seq, o_pid, o_tid, o_cpu, o_type, o_name, o_category, o_description,
    o_host, o_timestamp, o_ps, o_params, o_meta, o_process, o_tail;
static Py_ssize_t o_ts_text, o_ts_ns, o_ts_offset, o_by_name, o_duplicates;
static PyObject *zero_int;

static Py_ssize_t slot_offset(PyObject *cls, const char *name)
{
    PyObject *d = PyObject_GetAttrString(cls, name);
    if (d == NULL)
        return -1;
    if (!PyObject_TypeCheck(d, &PyMemberDescr_Type)) {
        PyErr_Format(PyExc_TypeError, "%s is not a __slots__ member", name);
        Py_DECREF(d);
        return -1;
    }
    Py_ssize_t off = ((PyMemberDescrObject *)d)->d_member->offset;
    Py_DECREF(d);
    return off;
}

/* The object in the slot at offset off (borrowed; NULL when never set). */
#define SLOT(o, off) (*(PyObject **)((char *)(o) + (off)))

/* Store v (a new reference, stolen) in the slot at offset off. */
static inline void set_slot(PyObject *o, Py_ssize_t off, PyObject *v)
{
    PyObject **addr = (PyObject **)((char *)o + off);
    PyObject *old = *addr;
    *addr = v;
    Py_XDECREF(old);
}

static PyObject *configure(PyObject *self, PyObject *args)
{
    PyObject *ev, *param, *ts, *params, *v4, *v6;
    if (!PyArg_ParseTuple(args, "OOOOOO", &ev, &param, &ts, &params, &v4, &v6))
        return NULL;
    if (!PyType_Check(ev) || !PyType_Check(param) || !PyType_Check(ts) || !PyType_Check(params))
        return PyErr_Format(PyExc_TypeError, "configure() takes classes");
    if (!PyType_IsSubtype((PyTypeObject *)param, &PyTuple_Type))
        return PyErr_Format(PyExc_TypeError, "Param must be a tuple subclass");
#define OFF(var, cls, name) if ((var = slot_offset(cls, name)) < 0) return NULL;
    OFF(o_seq, ev, "seq") OFF(o_pid, ev, "pid") OFF(o_tid, ev, "tid") OFF(o_cpu, ev, "cpu")
    OFF(o_type, ev, "type") OFF(o_name, ev, "name") OFF(o_category, ev, "category")
    OFF(o_description, ev, "description") OFF(o_host, ev, "host")
    OFF(o_timestamp, ev, "_timestamp") OFF(o_ps, ev, "ps") OFF(o_params, ev, "_params")
    OFF(o_meta, ev, "_meta") OFF(o_process, ev, "_process") OFF(o_tail, ev, "_tail")
    OFF(o_ts_text, ts, "text") OFF(o_ts_ns, ts, "_ns") OFF(o_ts_offset, ts, "_offset")
    OFF(o_by_name, params, "_by_name") OFF(o_duplicates, params, "duplicates")
#undef OFF
    Py_XSETREF(EventT, (PyTypeObject *)Py_NewRef(ev));
    Py_XSETREF(ParamT, (PyTypeObject *)Py_NewRef(param));
    Py_XSETREF(TimestampT, (PyTypeObject *)Py_NewRef(ts));
    Py_XSETREF(ParamsT, (PyTypeObject *)Py_NewRef(params));
    Py_XSETREF(IPv4Cls, Py_NewRef(v4));
    Py_XSETREF(IPv6Cls, Py_NewRef(v6));
    if (zero_int == NULL)
        zero_int = PyLong_FromLong(0);
    Py_RETURN_NONE;
}

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

/* ------------------------------------------------------------------ whole events */

/* Decode one event body [off, end). Returns a new Event, NULL on error, ANOMALY. */
/* Sentinel for an event the filter is known to drop and state does not need (see `skip`). */
#define SKIPPED ((PyObject *)2)

/*
 * skip = None or (type_info, verdicts): an event whose type is known to change no state and
 * whose kind (type id, name, category, description) the replay loop's kind-only filter has
 * already rejected is not built at all; the caller counts it as read and dropped.
 */
/*
 * Verdicts of a kind-only filter, by kind (type id, name, category, description). The dict
 * (shared by the replay loop and the decoder) holds them by value; in front of it, a small
 * direct-mapped cache matches by identity -- the decoder hands out one set of objects per kind
 * -- which saves building a key per event. Entries hold references, so an address is never
 * reused while cached, and a verdict is a pure function of its filter (the dict) and the kind.
 */
#define VERDICT_SLOTS 256
static struct {
    PyObject *dict, *type, *name, *cat, *desc;
    int keep;
} verdict_cache[VERDICT_SLOTS];

static inline size_t verdict_slot(PyObject *dict, PyObject *type, PyObject *name)
{
    uintptr_t h = (uintptr_t)type ^ ((uintptr_t)name >> 3) ^ ((uintptr_t)dict >> 7);
    h ^= h >> 17;
    return (size_t)((h >> 4) % VERDICT_SLOTS);
}

static void cache_verdict(PyObject *dict, PyObject *type, PyObject *name, PyObject *cat,
                          PyObject *desc, int keep)
{
    __typeof__(&verdict_cache[0]) e = &verdict_cache[verdict_slot(dict, type, name)];
    Py_XSETREF(e->dict, Py_NewRef(dict));
    Py_XSETREF(e->type, Py_NewRef(type));
    Py_XSETREF(e->name, Py_NewRef(name));
    Py_XSETREF(e->cat, Py_NewRef(cat));
    Py_XSETREF(e->desc, Py_NewRef(desc));
    e->keep = keep;
}

/* 1 keep, 0 drop, -1 not known yet, -2 error. */
static int known_verdict(PyObject *dict, PyObject *type, PyObject *name, PyObject *cat,
                         PyObject *desc)
{
    __typeof__(&verdict_cache[0]) e = &verdict_cache[verdict_slot(dict, type, name)];
    if (e->dict == dict && e->type == type && e->name == name && e->cat == cat && e->desc == desc)
        return e->keep;
    PyObject *kind = PyTuple_Pack(4, type, name, cat, desc);
    if (kind == NULL)
        return -2;
    PyObject *verdict = PyDict_GetItemWithError(dict, kind);
    Py_DECREF(kind);
    if (verdict == NULL)
        return PyErr_Occurred() ? -2 : -1;
    int keep = verdict == Py_True;
    cache_verdict(dict, type, name, cat, desc, keep);
    return keep;
}

/* Record a verdict in the dict (bounded) and the cache; 0 ok, -1 error. */
static int remember_verdict(PyObject *dict, PyObject *type, PyObject *name, PyObject *cat,
                            PyObject *desc, int keep)
{
    PyObject *kind = PyTuple_Pack(4, type, name, cat, desc);
    if (kind == NULL)
        return -1;
    if (PyDict_GET_SIZE(dict) >= 4096)
        PyDict_Clear(dict);
    int err = PyDict_SetItem(dict, kind, keep ? Py_True : Py_False);
    Py_DECREF(kind);
    if (err == 0)
        cache_verdict(dict, type, name, cat, desc, keep);
    return err;
}

static int is_raw_twin(PyObject *handler);
static int twin_raw(PyObject *handler, const Ctx *c, Py_ssize_t off, Py_ssize_t p, Py_ssize_t end);

/*
 * What to do with an event its consumer will not receive: a state-only event when they are
 * not included, or one of a kind the filter rejected (skip = (type info, verdicts or None,
 * include_state, track)). 0: build it as usual; 1: skip it, it changes no state; 2: skip it
 * once *handler (an updater reading raw bytes) has applied its state change. *state_only
 * tells the caller how to count it. -1 on error.
 */
static int kind_action(PyObject *skip, PyObject *type_id, PyObject *strings, PyObject **handler,
                       int *state_only)
{
    PyObject *info = PyDict_GetItemWithError(PyTuple_GET_ITEM(skip, 0), type_id);
    if (info == NULL)
        return PyErr_Occurred() ? -1 : 0; /* a kind not seen yet: the loop classifies it */
    if (!PyTuple_CheckExact(info) || PyTuple_GET_SIZE(info) != 4 ||
        !PyTuple_CheckExact(PyTuple_GET_ITEM(info, 0)) || PyTuple_GET_ITEM(info, 2) != Py_False)
        return 0; /* an event carrying a process body is always built */
    PyObject *handlers = PyTuple_GET_ITEM(info, 0);
    int only = PyTuple_GET_ITEM(info, 1) == Py_True;
    if (!only || PyTuple_GET_ITEM(skip, 2) == Py_True) {
        PyObject *verdicts = PyTuple_GET_ITEM(skip, 1);
        if (verdicts == Py_None)
            return 0;
        int keep = known_verdict(verdicts, type_id, PyTuple_GET_ITEM(strings, 0),
                                 PyTuple_GET_ITEM(strings, 1), PyTuple_GET_ITEM(strings, 2));
        if (keep == -2)
            return -1;
        if (keep != 0)
            return 0;
    }
    *state_only = only;
    Py_ssize_t n = PyTuple_GET_SIZE(handlers);
    if (n == 0 || PyTuple_GET_ITEM(skip, 3) != Py_True)
        return 1;
    if (n != 1 || PyTuple_GET_ITEM(info, 3) != Py_False || !is_raw_twin(PyTuple_GET_ITEM(handlers, 0)))
        return 0;
    *handler = PyTuple_GET_ITEM(handlers, 0);
    return 2;
}

/*
 * A front for the head cache: the head bytes of an event (type id and four strings) repeat for
 * every event of a kind, and looking them up in the dict meant making a bytes key and hashing
 * it each time. This direct-mapped table compares the bytes in place. Its entries are a pure
 * function of their bytes, so it is shared by every reader.
 */
#define HEAD_SLOTS 256
#define HEAD_MAX 512
typedef struct {
    uint64_t hash;
    Py_ssize_t len;
    unsigned char key[HEAD_MAX];
    PyObject *strings; /* (4 str, type id) or NULL */
} HeadSlot;
static HeadSlot *head_slots;

static uint64_t head_hash(const unsigned char *id, Py_ssize_t width, const unsigned char *run,
                          Py_ssize_t n)
{
    uint64_t h = (uint64_t)(width + n) * 0x9E3779B97F4A7C15ULL;
    const unsigned char *parts[2] = {id, run};
    Py_ssize_t lens[2] = {width, n};
    for (int k = 0; k < 2; k++) {
        const unsigned char *b = parts[k];
        Py_ssize_t i = 0, len = lens[k];
        for (; i + 8 <= len; i += 8) {
            uint64_t w;
            memcpy(&w, b + i, 8);
            h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
            h ^= h >> 32;
        }
        uint64_t w = 0;
        memcpy(&w, b + i, (size_t)(len - i));
        h = (h ^ w ^ (uint64_t)k) * 0xC4CEB9FE1A85EC53ULL;
        h ^= h >> 29;
    }
    return h;
}

/* The cached strings of these head bytes (borrowed), or NULL with *slot set to where they go
 * (NULL: not cacheable here). */
static PyObject *head_front(const unsigned char *id, Py_ssize_t width, const unsigned char *run,
                            Py_ssize_t n, HeadSlot **slot)
{
    *slot = NULL;
    if (width + n > HEAD_MAX)
        return NULL;
    if (head_slots == NULL) {
        head_slots = PyMem_Calloc(HEAD_SLOTS, sizeof(HeadSlot));
        if (head_slots == NULL)
            return NULL; /* no front: the dict still works */
    }
    uint64_t h = head_hash(id, width, run, n);
    HeadSlot *e = &head_slots[h % HEAD_SLOTS];
    if (e->strings != NULL && e->hash == h && e->len == width + n &&
        memcmp(e->key, id, (size_t)width) == 0 && memcmp(e->key + width, run, (size_t)n) == 0)
        return e->strings;
    e->hash = h; /* the caller fills the rest through head_remember */
    *slot = e;
    return NULL;
}

static void head_remember(HeadSlot *e, const unsigned char *id, Py_ssize_t width,
                          const unsigned char *run, Py_ssize_t n, PyObject *strings)
{
    memcpy(e->key, id, (size_t)width);
    memcpy(e->key + width, run, (size_t)n);
    e->len = width + n;
    Py_XSETREF(e->strings, Py_NewRef(strings));
}

/*
 * The undecoded tail of a lazy event: what Event._load_tail needs to decode it later. It reads
 * as the tuple (decoder, buf, p, end, base, timestamp length) the Python decoder makes (with
 * five items), but is one object holding plain offsets instead of a tuple and three ints: a
 * lazy replay makes one per event. It holds no container, so the collector need not watch it.
 */
typedef struct {
    PyObject_HEAD
    PyObject *fn, *buf, *base;
    Py_ssize_t p, end, ts_len;
} RawTail;

static void raw_tail_dealloc(RawTail *self)
{
    Py_DECREF(self->fn);
    Py_DECREF(self->buf);
    Py_DECREF(self->base);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static Py_ssize_t raw_tail_len(PyObject *self) { return 6; }

static PyObject *raw_tail_item(PyObject *op, Py_ssize_t i)
{
    RawTail *self = (RawTail *)op;
    switch (i) {
    case 0: return Py_NewRef(self->fn);
    case 1: return Py_NewRef(self->buf);
    case 2: return PyLong_FromSsize_t(self->p);
    case 3: return PyLong_FromSsize_t(self->end);
    case 4: return Py_NewRef(self->base);
    case 5: return PyLong_FromSsize_t(self->ts_len);
    default:
        PyErr_SetString(PyExc_IndexError, "RawTail index out of range");
        return NULL;
    }
}

/* tail[i] and tail[a:b], as on the tuple it stands for */
static PyObject *raw_tail_subscript(PyObject *self, PyObject *key)
{
    if (PyIndex_Check(key)) {
        Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);
        if (i == -1 && PyErr_Occurred())
            return NULL;
        return raw_tail_item(self, i < 0 ? i + 6 : i);
    }
    if (!PySlice_Check(key))
        return PyErr_Format(PyExc_TypeError, "RawTail indices must be integers or slices");
    Py_ssize_t start, stop, step;
    if (PySlice_Unpack(key, &start, &stop, &step) < 0)
        return NULL;
    Py_ssize_t n = PySlice_AdjustIndices(6, &start, &stop, step);
    PyObject *out = PyTuple_New(n);
    for (Py_ssize_t k = 0; out != NULL && k < n; k++) {
        PyObject *item = raw_tail_item(self, start + k * step);
        if (item == NULL)
            Py_CLEAR(out);
        else
            PyTuple_SET_ITEM(out, k, item);
    }
    return out;
}

static PySequenceMethods raw_tail_seq = {
    .sq_length = raw_tail_len,
    .sq_item = raw_tail_item,
};

static PyMappingMethods raw_tail_map = {
    .mp_length = raw_tail_len,
    .mp_subscript = raw_tail_subscript,
};

/* copy.deepcopy (and pickle, as far as the decoder pickles) get the tuple it stands for. */
static PyObject *raw_tail_reduce(PyObject *self, PyObject *unused)
{
    PyObject *items = PySequence_Tuple(self);
    return items ? Py_BuildValue("(O(N))", (PyObject *)&PyTuple_Type, items) : NULL;
}

static PyMethodDef raw_tail_methods[] = {
    {"__reduce__", raw_tail_reduce, METH_NOARGS, "The tuple this tail stands for."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject RawTailType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kcap.format._speedups.RawTail",
    .tp_basicsize = sizeof(RawTail),
    .tp_dealloc = (destructor)raw_tail_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The undecoded tail of a lazy event: (decoder, buf, p, end, base, timestamp length).",
    .tp_as_sequence = &raw_tail_seq,
    .tp_as_mapping = &raw_tail_map,
    .tp_methods = raw_tail_methods,
};

/* The tail's fields, from a RawTail or a tuple of at least five items (the Python decoder's);
 * 1 when it is neither or its offsets are not ints, -1 on error. ts_len is -1 when absent. */
static int tail_fields(PyObject *tl, PyObject **fn, PyObject **buf, Py_ssize_t *p,
                       Py_ssize_t *end, Py_ssize_t *ts_len)
{
    if (tl != NULL && Py_TYPE(tl) == &RawTailType) {
        RawTail *t = (RawTail *)tl;
        *fn = t->fn; *buf = t->buf; *p = t->p; *end = t->end; *ts_len = t->ts_len;
        return 0;
    }
    if (tl == NULL || !PyTuple_CheckExact(tl) || PyTuple_GET_SIZE(tl) < 5)
        return 1;
    PyObject *po = PyTuple_GET_ITEM(tl, 2), *eo = PyTuple_GET_ITEM(tl, 3);
    PyObject *no = PyTuple_GET_SIZE(tl) >= 6 ? PyTuple_GET_ITEM(tl, 5) : NULL;
    if (!PyLong_Check(po) || !PyLong_Check(eo) || (no != NULL && !PyLong_Check(no)))
        return 1;
    *fn = PyTuple_GET_ITEM(tl, 0);
    *buf = PyTuple_GET_ITEM(tl, 1);
    *p = PyLong_AsSsize_t(po);
    *end = PyLong_AsSsize_t(eo);
    *ts_len = no != NULL ? PyLong_AsSsize_t(no) : -1;
    return PyErr_Occurred() ? -1 : 0;
}

/* Sentinels of event() besides ANOMALY: SKIPPED (not built; *skipped_state_only says how to
 * count it) and STOP (not consumed: its state change must wait until the events made before it
 * have reached their consumer, who reads the state as it was at each of them). */
#define STOP ((PyObject *)3)

/*
 * The head of the event body at buf[off:end]: the strings events of its kind share (name,
 * category, description, host, type id: a borrowed tuple) and where its timestamp text lies
 * (*ts_at, *ts_len). ANOMALY when it is not well formed, NULL on error.
 */
static PyObject *event_head(const Ctx *c, Py_ssize_t off, Py_ssize_t end, int width,
                            Py_ssize_t *ts_at, Py_ssize_t *ts_len)
{
    Py_ssize_t p = off + 16 + width + 1, a, n;
    if (p > end)
        return ANOMALY;
    a = p;
    for (int i = 0; i < 4; i++) {
        if (p + 2 > end)
            return ANOMALY;
        p += 2 + rd16(c, p);
    }
    if (p + 2 > end)
        return ANOMALY;
    n = rd16(c, p);
    if (p + 2 + n > end)
        return ANOMALY;
    /* The type id and the four strings, as one key: events of a kind share one type-id
     * object (its hash computed once for every lookup by type) and one set of strings. */
    HeadSlot *front = NULL;
    PyObject *key = NULL;
    PyObject *strings = head_front(c->b + off + 16, width, c->b + a, p - a, &front); /* borrowed */
    if (strings == NULL) {
        key = PyBytes_FromStringAndSize(NULL, width + (p - a));
        if (key == NULL)
            return NULL;
        memcpy(PyBytes_AS_STRING(key), c->b + off + 16, width);
        memcpy(PyBytes_AS_STRING(key) + width, c->b + a, p - a);
        strings = PyDict_GetItemWithError(c->head_cache, key);  /* borrowed */
    }
    if (strings == NULL) {
        if (PyErr_Occurred()) { Py_DECREF(key); return NULL; }
        PyObject *s[5];
        Py_ssize_t q = a;
        for (int i = 0; i < 4; i++) {
            Py_ssize_t l = rd16(c, q);
            s[i] = text(c, q + 2, l);
            if (s[i] == NULL) {
                for (int j = 0; j < i; j++) Py_DECREF(s[j]);
                Py_DECREF(key);
                return NULL;
            }
            q += 2 + l;
        }
        s[4] = PyBytes_FromStringAndSize((const char *)c->b + off + 16, width);
        if (s[4] == NULL) {
            for (int j = 0; j < 4; j++) Py_DECREF(s[j]);
            Py_DECREF(key);
            return NULL;
        }
        strings = PyTuple_Pack(5, s[0], s[1], s[2], s[3], s[4]);
        for (int j = 0; j < 5; j++) Py_DECREF(s[j]);
        if (strings == NULL) { Py_DECREF(key); return NULL; }
        if (PyDict_GET_SIZE(c->head_cache) >= 4096)
            PyDict_Clear(c->head_cache);
        int err = PyDict_SetItem(c->head_cache, key, strings);
        Py_DECREF(strings);  /* the dict holds it now */
        if (err < 0) { Py_DECREF(key); return NULL; }
    }
    if (key != NULL) {
        Py_DECREF(key);
        if (front != NULL)
            head_remember(front, c->b + off + 16, width, c->b + a, p - a, strings);
    }
    *ts_at = p + 2;
    *ts_len = n;
    return strings;
}

static PyObject *event(const Ctx *c, PyObject *buf, Py_ssize_t off, Py_ssize_t end, int width,
                       int full, PyObject *tail_fn, PyObject *proc_fn, PyObject *base,
                       PyObject *eager, PyObject *skip, int first, int *skipped_state_only)
{
    Py_ssize_t p, n;
    PyObject *strings = event_head(c, off, end, width, &p, &n); /* borrowed */
    if (strings == NULL || strings == ANOMALY)
        return strings;
    p -= 2; /* at the timestamp's length */
    if (skip != Py_None) {
        PyObject *handler = NULL;
        int only = 0;
        int k = kind_action(skip, PyTuple_GET_ITEM(strings, 4), strings, &handler, &only);
        if (k < 0) return NULL;
        if (k == 2) {
            if (!first)
                return STOP;
            int rc = twin_raw(handler, c, off, p + 2 + n, end);
            if (rc < 0) return NULL;
            if (rc > 0) k = 0; /* not the common case: built, the loop runs its handler */
        }
        if (k > 0) {
            *skipped_state_only = only;
            return SKIPPED;
        }
    }
    Py_INCREF(strings);
    Py_ssize_t ts_len = n; /* the text ends where the tail starts; decoded now when full */
    PyObject *ts = Py_NewRef(Py_None);
    p += 2 + n;

    PyObject *ev = EventT->tp_alloc(EventT, 0);
    if (ev == NULL) { Py_DECREF(strings); Py_DECREF(ts); return NULL; }
    set_slot(ev, o_seq, PyLong_FromUnsignedLongLong(rd64(c, off)));
    set_slot(ev, o_pid, PyLong_FromUnsignedLong(rd32(c, off + 8)));
    set_slot(ev, o_tid, PyLong_FromUnsignedLong(rd32(c, off + 12)));
    PyObject *type_id = Py_NewRef(PyTuple_GET_ITEM(strings, 4));
    if (!full && eager != Py_None) {
        int hit = PySet_Contains(eager, type_id);  /* events that change state: decode now */
        if (hit < 0) { Py_DECREF(type_id); Py_DECREF(strings); Py_DECREF(ts); Py_DECREF(ev); return NULL; }
        full = hit;
    }
    set_slot(ev, o_type, type_id);
    set_slot(ev, o_cpu, PyLong_FromLong(c->b[off + 16 + width]));
    Py_ssize_t offs[4] = {o_name, o_category, o_description, o_host};
    for (int i = 0; i < 4; i++)
        set_slot(ev, offs[i], Py_NewRef(PyTuple_GET_ITEM(strings, i)));
    Py_DECREF(strings);
    if (full) {
        Py_DECREF(ts);
        PyObject *ts_text = text(c, p - ts_len, ts_len);
        ts = ts_text ? new_timestamp(ts_text) : NULL;
        if (ts == NULL) { Py_DECREF(ev); return NULL; }
    }
    set_slot(ev, o_timestamp, ts);
    set_slot(ev, o_ps, Py_NewRef(Py_None));
    if (PyErr_Occurred()) { Py_DECREF(ev); return NULL; }

    if (!full) {
        set_slot(ev, o_params, Py_NewRef(Py_None));
        set_slot(ev, o_meta, Py_NewRef(Py_None));
        set_slot(ev, o_process, Py_NewRef(Py_None));
        RawTail *t = PyObject_New(RawTail, &RawTailType);
        if (t == NULL) { Py_DECREF(ev); return NULL; }
        t->fn = Py_NewRef(tail_fn);
        t->buf = Py_NewRef(buf);
        t->base = Py_NewRef(base);
        t->p = p;
        t->end = end;
        t->ts_len = ts_len;
        set_slot(ev, o_tail, (PyObject *)t);
        return ev;
    }
    PyObject *params = NULL, *meta = NULL;
    int rc = tail(c, &p, end, &params, &meta);
    if (rc != 0) {
        Py_DECREF(ev);
        return rc < 0 ? NULL : ANOMALY;
    }
    set_slot(ev, o_params, params);
    set_slot(ev, o_meta, meta);
    set_slot(ev, o_tail, Py_NewRef(Py_None));
    if (p + 10 > end || c->b[p] != 1) { Py_DECREF(ev); return ANOMALY; }
    int pver = c->b[p + 1];
    Py_ssize_t psize = rd32(c, p + 6);
    p += 10;
    if (p + psize != end) { Py_DECREF(ev); return ANOMALY; }
    if (psize == 0) {
        set_slot(ev, o_process, Py_NewRef(Py_None));
        return ev;
    }
    PyObject *proc = PyObject_CallFunction(proc_fn, "Onni", buf, p, end, pver);
    if (proc == NULL) {
        PyErr_Clear();  /* Python decodes this section again and reports the error */
        Py_DECREF(ev);
        return ANOMALY;
    }
    set_slot(ev, o_process, proc);
    return ev;
}

/*
 * decode_batch(buf, pos, base, max_record, ev1_width, little, table, head_cache, full,
 *              tail_fn, proc_fn, limit, eager, skip)
 *   -> (events, pos, anomaly, skipped)
 * Decodes complete event sections from buf[pos:] until the data ends, `limit` events were
 * made, or a section is not well formed (anomaly=True: pos is that section's start).
 * `skipped` counts the sections `skip` (see skippable) left unbuilt.
 */
static PyObject *decode_batch(PyObject *self, PyObject *args)
{
    PyObject *buf, *table, *head_cache, *tail_fn, *proc_fn, *base, *eager, *skip;
    Py_ssize_t pos, max_record, limit, skipped = 0, skipped_state_only = 0;
    int ev1_width, le, full;
    if (!PyArg_ParseTuple(args, "O!nOniiO!O!iOOnOO", &PyBytes_Type, &buf, &pos, &base,
                          &max_record, &ev1_width, &le, &PyTuple_Type, &table, &PyDict_Type,
                          &head_cache, &full, &tail_fn, &proc_fn, &limit, &eager, &skip))
        return NULL;
    if (skip != Py_None && (!PyTuple_CheckExact(skip) || PyTuple_GET_SIZE(skip) != 4 ||
                            !PyDict_CheckExact(PyTuple_GET_ITEM(skip, 0)) ||
                            (PyTuple_GET_ITEM(skip, 1) != Py_None &&
                             !PyDict_CheckExact(PyTuple_GET_ITEM(skip, 1)))))
        return PyErr_Format(PyExc_TypeError,
                            "skip must be None or (dict, dict or None, include_state, track)");
    if (eager != Py_None && !PyAnySet_Check(eager))
        return PyErr_Format(PyExc_TypeError, "eager must be a set or None");
    if (EventT == NULL)
        return PyErr_Format(PyExc_RuntimeError, "_speedups.configure() was not called");
    Ctx c = {(const unsigned char *)PyBytes_AS_STRING(buf), le, table, head_cache};
    Py_ssize_t len = PyBytes_GET_SIZE(buf);
    PyObject *events = PyList_New(0);
    if (events == NULL)
        return NULL;
    int anomaly = 0;
    while (PyList_GET_SIZE(events) < limit && pos + 10 <= len) {
        const unsigned char *h = c.b + pos;
        Py_ssize_t size = rd32(&c, pos + 6);
        int width = h[1] == 2 ? 18 : h[1] == 1 ? ev1_width : 0;
        if (h[0] != 3 || width == 0 || size > max_record || size < 16 + width + 1 + 12 + 10) {
            anomaly = 1;
            break;
        }
        if (pos + 10 + size > len)
            break;  /* the caller brings more data */
        int only = 0;
        PyObject *ev = event(&c, buf, pos + 10, pos + 10 + size, width, full, tail_fn, proc_fn,
                             base, eager, skip, PyList_GET_SIZE(events) == 0, &only);
        if (ev == NULL) {
            Py_DECREF(events);
            return NULL;
        }
        if (ev == ANOMALY) {
            anomaly = 1;
            break;
        }
        if (ev == STOP)
            break;
        if (ev == SKIPPED) {
            if (only)
                skipped_state_only++;
            else
                skipped++;
            pos += 10 + size;
            continue;
        }
        int err = PyList_Append(events, ev);
        Py_DECREF(ev);
        if (err < 0) {
            Py_DECREF(events);
            return NULL;
        }
        pos += 10 + size;
    }
    return Py_BuildValue("NnOnn", events, pos, anomaly ? Py_True : Py_False, skipped,
                         skipped_state_only);
}


/*
 * decode_event(buf, off, end, version, ev1_width, little, table, head_cache, tail_fn, proc_fn,
 *              full, base) -> Event | None
 * One event body buf[off:end] (section version 1 or 2), fully decoded or lazy (its tail read
 * later by tail_fn); None when it is not well formed, for the Python decoder to decode or
 * report.
 */
static PyObject *decode_event(PyObject *self, PyObject *args)
{
    PyObject *buf, *table, *head_cache, *tail_fn, *proc_fn, *base;
    Py_ssize_t off, end;
    int version, ev1_width, le, full;
    if (!PyArg_ParseTuple(args, "O!nniipO!O!OOpO", &PyBytes_Type, &buf, &off, &end, &version,
                          &ev1_width, &le, &PyTuple_Type, &table, &PyDict_Type, &head_cache,
                          &tail_fn, &proc_fn, &full, &base))
        return NULL;
    if (EventT == NULL)
        return PyErr_Format(PyExc_RuntimeError, "_speedups.configure() was not called");
    int width = version == 2 ? 18 : version == 1 ? ev1_width : 0;
    if (width == 0 || off < 0 || end > PyBytes_GET_SIZE(buf) || off > end)
        Py_RETURN_NONE;
    Ctx c = {(const unsigned char *)PyBytes_AS_STRING(buf), le, table, head_cache};
    int only = 0;
    PyObject *ev = event(&c, buf, off, end, width, full, tail_fn, proc_fn, base, Py_None,
                         Py_None, 1, &only);
    if (ev == ANOMALY)
        Py_RETURN_NONE;
    return ev;
}

/* stored_timestamp(ev) -> Timestamp | None: the undecoded timestamp of a lazy event whose
 * tail is (decoder, buf, p, end, base, n) -- its n bytes of text end at p; None otherwise. */
static PyObject *stored_timestamp(PyObject *self, PyObject *ev)
{
    if (EventT == NULL || Py_TYPE(ev) != EventT)
        Py_RETURN_NONE;
    PyObject *fn, *buf;
    Py_ssize_t p, end, n;
    int rc = tail_fields(SLOT(ev, o_tail), &fn, &buf, &p, &end, &n);
    if (rc < 0)
        return NULL;
    if (rc > 0 || !PyBytes_CheckExact(buf))
        Py_RETURN_NONE;
    if (n < 0 || p - n < 0 || p > PyBytes_GET_SIZE(buf))
        Py_RETURN_NONE;
    PyObject *txt = PyUnicode_DecodeUTF8(PyBytes_AS_STRING(buf) + p - n, n, "surrogateescape");
    return txt ? new_timestamp(txt) : NULL;
}

/* ------------------------------------------------------------------ handle records */

static PyTypeObject *HandleT;
static PyObject *AlpcCls, *MutantCls, *FileCls, *UnknownCls;
static Py_ssize_t o_h_num, o_h_object, o_h_pid, o_h_type, o_h_name, o_h_meta;
static Py_ssize_t o_alpc_flags, o_alpc_seqno, o_alpc_context, o_mutant_count, o_mutant_abandoned;
static Py_ssize_t o_file_is_directory;

static PyObject *configure_handles(PyObject *self, PyObject *args)
{
    PyObject *h, *alpc, *mutant, *file, *unknown;
    if (!PyArg_ParseTuple(args, "O!OOOO", &PyType_Type, &h, &alpc, &mutant, &file, &unknown))
        return NULL;
#define OFF(var, name) if ((var = slot_offset(h, name)) < 0) return NULL;
    OFF(o_h_num, "num") OFF(o_h_object, "object") OFF(o_h_pid, "pid") OFF(o_h_type, "type")
    OFF(o_h_name, "name") OFF(o_h_meta, "meta")
#undef OFF
    if (!PyType_Check(alpc) || !PyType_Check(mutant))
        return PyErr_Format(PyExc_TypeError, "configure_handles() takes classes");
    if ((o_alpc_flags = slot_offset(alpc, "flags")) < 0 ||
        (o_alpc_seqno = slot_offset(alpc, "seqno")) < 0 ||
        (o_alpc_context = slot_offset(alpc, "context")) < 0 ||
        (o_mutant_count = slot_offset(mutant, "count")) < 0 ||
        (o_mutant_abandoned = slot_offset(mutant, "abandoned")) < 0 ||
        !PyType_Check(file) || (o_file_is_directory = slot_offset(file, "is_directory")) < 0)
        return NULL;
    Py_XSETREF(HandleT, (PyTypeObject *)Py_NewRef(h));
    Py_XSETREF(AlpcCls, Py_NewRef(alpc));
    Py_XSETREF(MutantCls, Py_NewRef(mutant));
    Py_XSETREF(FileCls, Py_NewRef(file));
    Py_XSETREF(UnknownCls, Py_NewRef(unknown));
    Py_RETURN_NONE;
}

/* The owner pid of a handle as an int: records come grouped by process, so the last one made
 * is handed out again while the pid repeats. */
static PyObject *owner_pid(uint32_t pid)
{
    static PyObject *last;
    static uint32_t last_pid;
    if (last == NULL || last_pid != pid) {
        PyObject *v = PyLong_FromUnsignedLong(pid);
        if (v == NULL)
            return NULL;
        Py_XSETREF(last, v);
        last_pid = pid;
    }
    return Py_NewRef(last);
}

/* One handle record [p, rec_end) after its u16 length: a new Handle, NULL on error, ANOMALY. */
static PyObject *one_handle(const Ctx *c, Py_ssize_t p, Py_ssize_t rec_end)
{
    if (rec_end - p < 25) return ANOMALY;
    Py_ssize_t q = p + 20, tl = rd16(c, q);
    if (q + 2 + tl + 2 > rec_end) return ANOMALY;
    Py_ssize_t nl = rd16(c, q + 2 + tl);
    Py_ssize_t t = q + 4 + tl + nl;  /* the metadata tag */
    if (t + 1 > rec_end) return ANOMALY;
    int tag = c->b[t];
    Py_ssize_t need = tag == 1 ? 16 : tag == 2 ? 5 : tag == 3 ? 1 : (tag == 4 || tag == 5) ? 0 : -1;
    if (need < 0 || t + 1 + need != rec_end) return ANOMALY;
    PyObject *meta;
    const Py_ssize_t m = t + 1;
    if (tag == 5) {
        meta = Py_NewRef(Py_None);
    } else if (tag == 4) {
        meta = PyObject_CallNoArgs(UnknownCls);
    } else if (tag == 3) {
        /* files, ALPC ports and mutants are a sixth of all handles: built like Handle, by slot */
        meta = ((PyTypeObject *)FileCls)->tp_alloc((PyTypeObject *)FileCls, 0);
        if (meta != NULL) {
            untrack(meta);
            set_slot(meta, o_file_is_directory, Py_NewRef(c->b[m] ? Py_True : Py_False));
        }
    } else if (tag == 2) {
        meta = ((PyTypeObject *)MutantCls)->tp_alloc((PyTypeObject *)MutantCls, 0);
        if (meta != NULL) {
            untrack(meta);
            set_slot(meta, o_mutant_count, PyLong_FromLong((int32_t)rd32(c, m)));
            set_slot(meta, o_mutant_abandoned, Py_NewRef(c->b[m + 4] ? Py_True : Py_False));
        }
    } else {
        meta = ((PyTypeObject *)AlpcCls)->tp_alloc((PyTypeObject *)AlpcCls, 0);
        if (meta != NULL) {
            untrack(meta);
            set_slot(meta, o_alpc_flags, PyLong_FromUnsignedLong(rd32(c, m)));
            set_slot(meta, o_alpc_seqno, PyLong_FromUnsignedLong(rd32(c, m + 4)));
            set_slot(meta, o_alpc_context, PyLong_FromUnsignedLongLong(rd64(c, m + 8)));
        }
    }
    if (meta == NULL || PyErr_Occurred()) { Py_XDECREF(meta); return NULL; }
    PyObject *h = HandleT->tp_alloc(HandleT, 0);
    if (h == NULL) { Py_DECREF(meta); return NULL; }
    untrack(h);
    set_slot(h, o_h_num, PyLong_FromUnsignedLongLong(rd64(c, p)));
    set_slot(h, o_h_object, PyLong_FromUnsignedLongLong(rd64(c, p + 8)));
    set_slot(h, o_h_pid, owner_pid(rd32(c, p + 16)));
    set_slot(h, o_h_type, cached_text(c, q + 2, tl));
    set_slot(h, o_h_name, cached_text(c, q + 4 + tl, nl));
    set_slot(h, o_h_meta, meta);
    if (PyErr_Occurred()) { Py_DECREF(h); return NULL; }
    return h;
}

/* `count` u16-length-prefixed records from *pp appended to list: 0 ok, 1 anomaly, -1 error. */
static int handle_records(const Ctx *c, Py_ssize_t *pp, Py_ssize_t end, Py_ssize_t count,
                          PyObject *list)
{
    Py_ssize_t p = *pp;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (p + 2 > end) return 1;
        Py_ssize_t rec_end = p + 2 + rd16(c, p);
        if (rec_end > end) return 1;
        PyObject *h = one_handle(c, p + 2, rec_end);
        if (h == NULL) return -1;
        if (h == ANOMALY) return 1;
        int err = PyList_Append(list, h);
        Py_DECREF(h);
        if (err < 0) return -1;
        p = rec_end;
    }
    *pp = p;
    return 0;
}

/*
 * decode_handles(buf, p, end, count, little) -> (list of Handle, offset after) | None
 * `count` records, each a u16 length then the record (§6). None at anything not well formed
 * (the Python decoder then reports it precisely).
 */
static PyObject *decode_handles(PyObject *self, PyObject *args)
{
    Py_buffer view;
    Py_ssize_t p, end, count;
    int le;
    if (!PyArg_ParseTuple(args, "y*nnnp", &view, &p, &end, &count, &le))
        return NULL;
    if (HandleT == NULL) {
        PyBuffer_Release(&view);
        return PyErr_Format(PyExc_RuntimeError, "configure_handles() was not called");
    }
    Ctx c = {view.buf, le, NULL, NULL};
    PyObject *out = NULL, *list = NULL;
    if (p < 0 || end > view.len || p > end)
        goto anomaly;
    list = PyList_New(0);
    if (list == NULL)
        goto done;
    int rc = handle_records(&c, &p, end, count, list);
    if (rc < 0) goto done;
    if (rc > 0) goto anomaly;
    out = Py_BuildValue("On", list, p);
    goto done;
anomaly:
    out = Py_NewRef(Py_None);
done:
    Py_XDECREF(list);
    PyBuffer_Release(&view);
    return out;
}

/*
 * decode_handle_run(buf, p, count, little) -> (list of Handle, offset after, stopped)
 * Up to `count` records from buf[p:], stopping before the first record that is not wholly in
 * buf or, with stopped=True, before the first that is not well formed; the caller goes on
 * from there (fetching more data, or decoding that record in Python for its precise error).
 */
static PyObject *decode_handle_run(PyObject *self, PyObject *args)
{
    PyObject *buf;
    Py_ssize_t p, count;
    int le;
    if (!PyArg_ParseTuple(args, "O!nnp", &PyBytes_Type, &buf, &p, &count, &le))
        return NULL;
    if (HandleT == NULL)
        return PyErr_Format(PyExc_RuntimeError, "configure_handles() was not called");
    Py_ssize_t end = PyBytes_GET_SIZE(buf);
    if (p < 0 || p > end)
        return PyErr_Format(PyExc_ValueError, "offset %zd outside the buffer", p);
    Ctx c = {(const unsigned char *)PyBytes_AS_STRING(buf), le, NULL, NULL};
    PyObject *list = PyList_New(0);
    if (list == NULL)
        return NULL;
    int stopped = 0;
    for (Py_ssize_t i = 0; i < count && p + 2 <= end; i++) {
        Py_ssize_t rec_end = p + 2 + rd16(&c, p);
        if (rec_end > end)
            break;
        PyObject *h = one_handle(&c, p + 2, rec_end);
        if (h == NULL) { Py_DECREF(list); return NULL; }
        if (h == ANOMALY) { stopped = 1; break; }
        int err = PyList_Append(list, h);
        Py_DECREF(h);
        if (err < 0) { Py_DECREF(list); return NULL; }
        p = rec_end;
    }
    return Py_BuildValue("NnO", list, p, stopped ? Py_True : Py_False);
}

/* ------------------------------------------------------------------ process bodies */

/*
 * A process body (format/process.py's read_process holds the layout and the messages): the
 * common case here -- full-size handle records, no PE body -- and ANOMALY for anything else
 * or anything not well formed, which Python then decodes or reports.
 */
static PyTypeObject *ProcessT;
enum { P_PID, P_PPID, P_NAME, P_CMDLINE, P_EXE, P_CWD, P_SID, P_ARGS, P_SESSION, P_ENVS,
       P_HANDLES, P_START, P_UUID, P_USER, P_DOMAIN, P_WOW64, P_PACKAGED, P_PROTECTED, P_N };
static const char *const PROCESS_FIELDS[P_N] = {
    "pid", "ppid", "name", "cmdline", "exe", "cwd", "sid", "args", "session_id", "envs",
    "handles", "start_time", "uuid", "username", "domain", "is_wow64", "is_packaged",
    "is_protected"};
static Py_ssize_t o_proc[P_N];

static PyObject *configure_process(PyObject *self, PyObject *cls)
{
    if (!PyType_Check(cls))
        return PyErr_Format(PyExc_TypeError, "configure_process() takes the Process class");
    for (int i = 0; i < P_N; i++)
        if ((o_proc[i] = slot_offset(cls, PROCESS_FIELDS[i])) < 0) return NULL;
    Py_XSETREF(ProcessT, (PyTypeObject *)Py_NewRef(cls));
    Py_RETURN_NONE;
}

/* A u16-length string at *pp: new reference, NULL on error, ANOMALY when it runs past end. */
static PyObject *str16_at(const Ctx *c, Py_ssize_t *pp, Py_ssize_t end)
{
    Py_ssize_t p = *pp;
    if (p + 2 > end) return ANOMALY;
    Py_ssize_t n = rd16(c, p);
    if (p + 2 + n > end) return ANOMALY;
    *pp = p + 2 + n;
    return cached_text(c, p + 2, n);
}

/* A u16 count then that many strings (pairs: twice as many, as 2-tuples). */
static PyObject *str_list_at(const Ctx *c, Py_ssize_t *pp, Py_ssize_t end, int pairs)
{
    if (*pp + 2 > end) return ANOMALY;
    Py_ssize_t count = rd16(c, *pp);
    *pp += 2;
    PyObject *list = PyList_New(0);
    if (list == NULL) return NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *a = str16_at(c, pp, end);
        PyObject *b = NULL, *item;
        if (a == NULL || a == ANOMALY) { Py_DECREF(list); return a; }
        if (pairs) {
            b = str16_at(c, pp, end);
            if (b == NULL || b == ANOMALY) { Py_DECREF(a); Py_DECREF(list); return b; }
            item = PyTuple_Pack(2, a, b);
            Py_DECREF(a);
            Py_DECREF(b);
            if (item == NULL) { Py_DECREF(list); return NULL; }
        } else {
            item = a;
        }
        int err = PyList_Append(list, item);
        Py_DECREF(item);
        if (err < 0) { Py_DECREF(list); return NULL; }
    }
    return list;
}

/* decode_process(buf, p, end, version, little) -> Process | None (None: Python decodes it) */
static PyObject *decode_process(PyObject *self, PyObject *args)
{
    PyObject *buf;
    Py_ssize_t p, end;
    int version, le;
    if (!PyArg_ParseTuple(args, "O!nnip", &PyBytes_Type, &buf, &p, &end, &version, &le))
        return NULL;
    if (ProcessT == NULL || HandleT == NULL)
        return PyErr_Format(PyExc_RuntimeError, "configure_process() was not called");
    if (p < 0 || end > PyBytes_GET_SIZE(buf) || p > end || version < 1 || version > 4)
        Py_RETURN_NONE;
    Ctx c = {(const unsigned char *)PyBytes_AS_STRING(buf), le, NULL, NULL};
    PyObject *proc = PyObject_CallNoArgs((PyObject *)ProcessT);
    if (proc == NULL) return NULL;
    PyObject *v;
#define PUT(field, expr) do { v = (expr); if (v == NULL) goto error; if (v == ANOMALY) goto anomaly; \
                              set_slot(proc, o_proc[field], v); } while (0)
#define NEED(k) if (p + (k) > end) goto anomaly;
    NEED(8)
    PUT(P_PID, PyLong_FromUnsignedLong(rd32(&c, p)));
    PUT(P_PPID, PyLong_FromUnsignedLong(rd32(&c, p + 4)));
    p += 8;
    PUT(P_NAME, str16_at(&c, &p, end));
    PUT(P_CMDLINE, str16_at(&c, &p, end));
    PUT(P_EXE, str16_at(&c, &p, end));
    PUT(P_CWD, str16_at(&c, &p, end));
    PUT(P_SID, str16_at(&c, &p, end));
    PUT(P_ARGS, str_list_at(&c, &p, end, 0));
    if (version <= 2) {
        NEED(1) PUT(P_SESSION, PyLong_FromLong(c.b[p])); p += 1;
    } else {
        NEED(4) PUT(P_SESSION, PyLong_FromUnsignedLong(rd32(&c, p))); p += 4;
    }
    PUT(P_ENVS, str_list_at(&c, &p, end, 1));
    NEED(10)
    if (c.b[p] != 2) goto anomaly; /* the handle section header */
    Py_ssize_t count = rd32(&c, p + 2);
    p += 10;
    PyObject *handles = PyList_New(0);
    if (handles == NULL) goto error;
    set_slot(proc, o_proc[P_HANDLES], handles);
    int rc = handle_records(&c, &p, end, count, handles);
    if (rc < 0) goto error;
    if (rc > 0) goto anomaly;
    NEED(10)
    if (c.b[p] != 4 || rd32(&c, p + 6) != 0) goto anomaly; /* PE header; a PE body: Python */
    p += 10;
    if (version >= 2) {
        PyObject *t = str16_at(&c, &p, end);
        if (t == NULL) goto error;
        if (t == ANOMALY) goto anomaly;
        PUT(P_START, new_timestamp(t));
        NEED(8) PUT(P_UUID, PyLong_FromUnsignedLongLong(rd64(&c, p))); p += 8;
    }
    if (version >= 3) {
        PUT(P_USER, str16_at(&c, &p, end));
        PUT(P_DOMAIN, str16_at(&c, &p, end));
    }
    if (version >= 4) {
        NEED(3)
        PUT(P_WOW64, Py_NewRef(c.b[p] ? Py_True : Py_False));
        PUT(P_PACKAGED, Py_NewRef(c.b[p + 1] ? Py_True : Py_False));
        PUT(P_PROTECTED, Py_NewRef(c.b[p + 2] ? Py_True : Py_False));
        p += 3;
    }
    if (p != end) goto anomaly;
    return proc;
#undef PUT
#undef NEED
anomaly:
    Py_DECREF(proc);
    Py_RETURN_NONE;
error:
    Py_DECREF(proc);
    return NULL;
}

/* ------------------------------------------------------------------ handle state updates */

/*
 * CreateHandle and CloseHandle are nearly half the records of a Windows capture, and the
 * handle snapshotter reads only four of their values. These updaters find those values in the
 * event's raw tail (or its decoded parameters), so replay need not decode the event at all.
 * They cover the well-formed common case only: a tail that does not validate exactly as the
 * decoder would, a missing or non-integer handle_object, a type name that is not text, an event
 * built in code -- each goes to the Python handler given as fallback, which holds the semantics
 * (state.handles) and reports the problem. Parity: tests/state/test_raw_state_updates.py.
 */

/* The parameters the handle updates read, in the order HandleSnapshotter.UPDATE_PARAMS
 * lists them. */
enum { F_OBJECT, F_ID, F_TYPE_ID, F_HANDLE_TYPE, F_NAME, NFIELDS };

/* The offset after a value of `codec` at p, or -1 when it runs past end or is not known. */
static Py_ssize_t skip_value(const Ctx *c, int codec, Py_ssize_t p, Py_ssize_t end)
{
    Py_ssize_t k;
    switch (codec) {
    case C_STR16: case C_BIN16: case C_TIME:
        if (p + 2 > end) return -1;
        k = 2 + (Py_ssize_t)rd16(c, p);
        break;
    case C_BIN32:
        if (p + 4 > end) return -1;
        k = 4 + (Py_ssize_t)rd32(c, p);
        break;
    case C_U8: case C_I8: case C_BOOL: k = 1; break;
    case C_U16: case C_I16: k = 2; break;
    case C_U32: case C_I32: case C_F32: case C_IPV4: k = 4; break;
    case C_U64: case C_I64: case C_F64: k = 8; break;
    case C_IPV6: k = 16; break;
    case C_SLICE: {
        if (p + 3 > end) return -1;
        unsigned char kind = c->b[p];
        Py_ssize_t count = rd16(c, p + 1);
        p += 3;
        if (kind == '8') { k = 8 * count; break; }
        if (kind != 's') return -1;
        for (Py_ssize_t i = 0; i < count; i++) {
            if (p + 2 > end) return -1;
            p += 2 + (Py_ssize_t)rd16(c, p);
        }
        return p > end ? -1 : p;
    }
    default:
        return -1;
    }
    return p + k > end ? -1 : p + k;
}

/* Names to pick out of a tail: UTF-8 bytes and interned str (for decoded Params). */
#define MAX_FIELDS 16
typedef struct {
    int n;
    const char *utf8[MAX_FIELDS];
    Py_ssize_t len[MAX_FIELDS];
    PyObject *key[MAX_FIELDS]; /* borrowed */
} Fields;

static int fill_fields(PyObject *names, Fields *fs)
{
    fs->n = (int)PyTuple_GET_SIZE(names);
    if (fs->n > MAX_FIELDS) {
        PyErr_Format(PyExc_ValueError, "at most %d names", MAX_FIELDS);
        return -1;
    }
    for (int f = 0; f < fs->n; f++) {
        PyObject *k = PyTuple_GET_ITEM(names, f);
        if (!PyUnicode_Check(k)) {
            PyErr_SetString(PyExc_TypeError, "names must be str");
            return -1;
        }
        if ((fs->utf8[f] = PyUnicode_AsUTF8AndSize(k, &fs->len[f])) == NULL)
            return -1;
        fs->key[f] = k;
    }
    return 0;
}

static void free_fields(PyObject *capsule)
{
    PyMem_Free(PyCapsule_GetPointer(capsule, "kcap.fields"));
    Py_XDECREF((PyObject *)PyCapsule_GetContext(capsule));
}

/* The Fields of `names` (a tuple of str), prepared once for an updater's lifetime: a capsule
 * that also keeps the names, whose UTF-8 the Fields point into, alive. */
static PyObject *fields_capsule(PyObject *names, int expected)
{
    if (!PyTuple_CheckExact(names) || PyTuple_GET_SIZE(names) != expected)
        return PyErr_Format(PyExc_ValueError, "%d parameter names expected", expected);
    Fields *fs = PyMem_Malloc(sizeof(Fields));
    if (fs == NULL)
        return PyErr_NoMemory();
    PyObject *cap = fill_fields(names, fs) < 0 ? NULL : PyCapsule_New(fs, "kcap.fields", free_fields);
    if (cap == NULL) {
        PyMem_Free(fs);
        return NULL;
    }
    PyCapsule_SetContext(cap, Py_NewRef(names));
    return cap;
}

static inline const Fields *capsule_fields(PyObject *cap)
{
    return (const Fields *)PyCapsule_GetPointer(cap, "kcap.fields");
}

/* Validate the tail [p, end) as the decoder would and pick out the first value of each field.
 * 0 ok (out[] holds new references or NULL), 1 not well formed, -1 error. */
static int raw_fields(const Ctx *c, Py_ssize_t p, Py_ssize_t end, const Fields *fs,
                      PyObject **out)
{
    Py_ssize_t ntable = PyTuple_GET_SIZE(c->table);
    if (p + 2 > end) return 1;
    Py_ssize_t count = rd16(c, p);
    p += 2;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (p + 4 > end) return 1;
        Py_ssize_t wire = rd16(c, p), nlen = rd16(c, p + 2);
        p += 4;
        if (p + nlen > end || wire >= ntable) return 1;
        PyObject *spec = PyTuple_GET_ITEM(c->table, wire);
        if (spec == Py_None) return 1;
        int codec = (int)PyLong_AsLong(PyTuple_GET_ITEM(spec, 1));
        int field = -1;
        for (int f = 0; f < fs->n; f++) {
            if (out[f] == NULL && fs->len[f] == nlen && memcmp(c->b + p, fs->utf8[f], nlen) == 0) {
                field = f;
                break;
            }
        }
        p += nlen;
        if (field < 0) {
            if ((p = skip_value(c, codec, p, end)) < 0) return 1;
            continue;
        }
        PyObject *elem = NULL;
        PyObject *v = value(c, codec, &p, end, &elem);
        Py_XDECREF(elem);
        if (v == NULL) return -1;
        if (v == ANOMALY) return 1;
        out[field] = v;
    }
    if (p + 2 > end) return 1;
    Py_ssize_t mcount = rd16(c, p);
    p += 2;
    for (Py_ssize_t i = 0; i < mcount; i++) {
        for (int j = 0; j < 2; j++) {
            if (p + 2 > end) return 1;
            p += 2 + (Py_ssize_t)rd16(c, p);
        }
        if (p > end) return 1;
    }
    /* An empty process section closes the body; an event with a process body is left to
     * Python (its handler needs the decoded body anyway). */
    if (p + 10 != end || c->b[p] != 1 || rd32(c, p + 6) != 0) return 1;
    return 0;
}

/* The first value of each field from a decoded Params (new references). */
static int decoded_fields(PyObject *params, const Fields *fs, PyObject **out)
{
    PyObject *by_name = *(PyObject **)((char *)params + o_by_name);
    if (by_name == NULL || !PyDict_CheckExact(by_name)) return 1;
    for (int f = 0; f < fs->n; f++) {
        PyObject *param = PyDict_GetItemWithError(by_name, fs->key[f]);
        if (param == NULL) {
            if (PyErr_Occurred()) return -1;
            continue;
        }
        if (Py_TYPE(param) != ParamT || PyTuple_GET_SIZE(param) != 4) return 1;
        out[f] = Py_NewRef(PyTuple_GET_ITEM(param, 2));
    }
    return 0;
}

/* The fields of ev, from its decoded parameters or its raw tail: 0 ok, 1 leave to Python,
 * -1 error. cfg items 2-4 are (tail_fn, table, little) of this capture's layout. */
static int event_fields(PyObject *cfg, PyObject *ev, const Fields *fs, PyObject **out)
{
    if (Py_TYPE(ev) != EventT) return 1;
    PyObject *params = *(PyObject **)((char *)ev + o_params);
    PyObject *tl = *(PyObject **)((char *)ev + o_tail);
    if (params != NULL && params != Py_None)
        return Py_TYPE(params) == ParamsT ? decoded_fields(params, fs, out) : 1;
    PyObject *fn, *buf;
    Py_ssize_t p, end, ts_len;
    int rc = tail_fields(tl, &fn, &buf, &p, &end, &ts_len);
    if (rc != 0) return rc;
    if (fn != PyTuple_GET_ITEM(cfg, 2) || !PyBytes_CheckExact(buf)) return 1;
    if (p < 0 || end > PyBytes_GET_SIZE(buf) || p > end) return 1;
    Ctx c = {(const unsigned char *)PyBytes_AS_STRING(buf), PyTuple_GET_ITEM(cfg, 4) == Py_True,
             PyTuple_GET_ITEM(cfg, 3), NULL};
    return raw_fields(&c, p, end, fs, out);
}

/* cfg = (by_object, fallback, tail_fn, table, little, fields) */
static int handle_fields(PyObject *cfg, PyObject *ev, PyObject *out[NFIELDS])
{
    return event_fields(cfg, ev, capsule_fields(PyTuple_GET_ITEM(cfg, 5)), out);
}

static void drop_fields(PyObject *out[NFIELDS])
{
    for (int f = 0; f < NFIELDS; f++)
        Py_CLEAR(out[f]);
}

/* The state change of a CreateHandle whose values are out[] (pid: the event's): 0 applied,
 * 1 not the common case (nothing changed: the Python handler decides), -1 error.
 * cfg = (by_object dict, fallback, tail_fn, table, little, fields) */
static int create_handle_apply(PyObject *cfg, PyObject **out, PyObject *pid)
{
    PyObject *type = out[F_TYPE_ID] ? out[F_TYPE_ID] : out[F_HANDLE_TYPE];
    if (out[F_OBJECT] == NULL || !PyLong_CheckExact(out[F_OBJECT]) ||
        (out[F_ID] != NULL && !PyLong_CheckExact(out[F_ID])) ||
        (type != NULL && !PyUnicode_CheckExact(type)) ||
        (out[F_NAME] != NULL && !PyUnicode_CheckExact(out[F_NAME])))
        return 1;
    PyObject *empty = PyUnicode_New(0, 0);
    PyObject *h = empty ? HandleT->tp_alloc(HandleT, 0) : NULL;
    if (h == NULL) { Py_XDECREF(empty); return -1; }
    untrack(h);
    set_slot(h, o_h_num, out[F_ID] ? Py_NewRef(out[F_ID]) : Py_NewRef(zero_int));
    set_slot(h, o_h_object, Py_NewRef(out[F_OBJECT]));
    set_slot(h, o_h_pid, Py_NewRef(pid));
    set_slot(h, o_h_type, Py_NewRef(type ? type : empty));
    set_slot(h, o_h_name, Py_NewRef(out[F_NAME] ? out[F_NAME] : empty));
    set_slot(h, o_h_meta, Py_NewRef(Py_None));
    Py_DECREF(empty);
    int err = PyDict_SetItem(PyTuple_GET_ITEM(cfg, 0), out[F_OBJECT], h);
    Py_DECREF(h);
    return err;
}

/* The state change of a CloseHandle (as create_handle_apply). */
static int close_handle_apply(PyObject *cfg, PyObject **out)
{
    if (out[F_OBJECT] == NULL || !PyLong_CheckExact(out[F_OBJECT]))
        return 1;
    PyObject *by_object = PyTuple_GET_ITEM(cfg, 0);
    int has = PyDict_Contains(by_object, out[F_OBJECT]);
    return has < 0 ? -1 : has ? PyDict_DelItem(by_object, out[F_OBJECT]) : 0;
}

/* An updater's result: None once applied, else what the Python fallback returns. */
static PyObject *applied_or_fallback(int rc, PyObject *fallback, PyObject *ev)
{
    if (rc < 0)
        return NULL;
    if (rc > 0)
        return PyObject_CallOneArg(fallback, ev);
    Py_RETURN_NONE;
}

static PyObject *create_handle(PyObject *cfg, PyObject *ev)
{
    PyObject *out[NFIELDS] = {NULL};
    int rc = handle_fields(cfg, ev, out);
    PyObject *pid = Py_TYPE(ev) == EventT ? *(PyObject **)((char *)ev + o_pid) : NULL;
    if (rc == 0)
        rc = pid != NULL ? create_handle_apply(cfg, out, pid) : 1;
    drop_fields(out);
    return applied_or_fallback(rc, PyTuple_GET_ITEM(cfg, 1), ev);
}

static PyObject *close_handle(PyObject *cfg, PyObject *ev)
{
    PyObject *out[NFIELDS] = {NULL};
    int rc = handle_fields(cfg, ev, out);
    if (rc == 0)
        rc = close_handle_apply(cfg, out);
    drop_fields(out);
    return applied_or_fallback(rc, PyTuple_GET_ITEM(cfg, 1), ev);
}

static PyMethodDef create_def = {"create_handle", create_handle, METH_O,
                                 "Apply a CreateHandle event to the handle table."};
static PyMethodDef close_def = {"close_handle", close_handle, METH_O,
                                "Apply a CloseHandle event to the handle table."};

/*
 * read_values(ev, names) with cfg = (None, None, tail_fn, table, little): the first value of each
 * parameter of `names` (a tuple of str, at most 16) as a tuple, None for one that is absent;
 * or None when the event is not one this can read (damaged, built in code, carrying a process
 * body): the caller then reads the decoded parameters, whose decoding reports any problem.
 */
static PyObject *read_values(PyObject *cfg, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyTuple_CheckExact(args[1]))
        return PyErr_Format(PyExc_TypeError, "read_values(event, names: tuple)");
    Fields fs;
    if (fill_fields(args[1], &fs) < 0)
        return NULL;
    PyObject *out[MAX_FIELDS] = {NULL};
    int rc = event_fields(cfg, args[0], &fs, out);
    PyObject *result = NULL;
    if (rc == 0 && (result = PyTuple_New(fs.n)) != NULL) {
        for (int f = 0; f < fs.n; f++) {
            PyTuple_SET_ITEM(result, f, out[f] ? out[f] : Py_NewRef(Py_None));
            out[f] = NULL;
        }
    }
    for (int f = 0; f < fs.n; f++)
        Py_XDECREF(out[f]);
    if (rc > 0)
        Py_RETURN_NONE;
    return result;
}

static PyMethodDef read_values_def = {"read_values", (PyCFunction)(void (*)(void))read_values,
                                      METH_FASTCALL, "Parameter values of an event by name."};

/* value_reader(tail_fn, table, little) -> read_values bound to this capture's layout */
static PyObject *value_reader(PyObject *self, PyObject *args)
{
    PyObject *tail_fn, *table;
    int le;
    if (!PyArg_ParseTuple(args, "OO!p", &tail_fn, &PyTuple_Type, &table, &le))
        return NULL;
    if (EventT == NULL)
        return PyErr_Format(PyExc_RuntimeError, "configure() was not called");
    PyObject *cfg = Py_BuildValue("(OOOOO)", Py_None, Py_None, tail_fn, table,
                                  le ? Py_True : Py_False);
    if (cfg == NULL)
        return NULL;
    PyObject *fn = PyCFunction_New(&read_values_def, cfg);
    Py_DECREF(cfg);
    return fn;
}

/* (d1 bound to cfg1, d2 bound to cfg2); steals both configuration tuples (NULL: error). */
static PyObject *bound_pair(PyMethodDef *d1, PyObject *cfg1, PyMethodDef *d2, PyObject *cfg2)
{
    PyObject *f1 = cfg1 && cfg2 ? PyCFunction_New(d1, cfg1) : NULL;
    PyObject *f2 = f1 ? PyCFunction_New(d2, cfg2) : NULL;
    Py_XDECREF(cfg1);
    Py_XDECREF(cfg2);
    if (f2 == NULL) { Py_XDECREF(f1); return NULL; }
    return Py_BuildValue("(NN)", f1, f2);
}

/*
 * handle_updaters(by_object, names, create_fallback, close_fallback, tail_fn, table, little)
 *   -> (create, close): callables on an event that update the dict `by_object` in place.
 */
static PyObject *handle_updaters(PyObject *self, PyObject *args)
{
    PyObject *by_object, *names, *create_fb, *close_fb, *tail_fn, *table;
    int le;
    if (!PyArg_ParseTuple(args, "O!OOOOO!p", &PyDict_Type, &by_object, &names, &create_fb,
                          &close_fb, &tail_fn, &PyTuple_Type, &table, &le))
        return NULL;
    if (HandleT == NULL || EventT == NULL)
        return PyErr_Format(PyExc_RuntimeError, "configure() and configure_handles() first");
    PyObject *fields = fields_capsule(names, NFIELDS);
    /* CloseHandle reads handle_object alone: the other values are not even made for it */
    PyObject *first = fields ? PyTuple_GetSlice(names, 0, 1) : NULL;
    PyObject *close_fields = first ? fields_capsule(first, 1) : NULL;
    Py_XDECREF(first);
    if (close_fields == NULL) {
        Py_XDECREF(fields);
        return NULL;
    }
    PyObject *little = le ? Py_True : Py_False;
    PyObject *pair = bound_pair(
        &create_def, Py_BuildValue("(OOOOOO)", by_object, create_fb, tail_fn, table, little, fields),
        &close_def,
        Py_BuildValue("(OOOOOO)", by_object, close_fb, tail_fn, table, little, close_fields));
    Py_DECREF(fields);
    Py_DECREF(close_fields);
    return pair;
}

/* ------------------------------------------------------------------ module state updates */

/*
 * LoadImage and ImageRundown add a module to a process; image rundowns alone are ~14% of a
 * Windows capture. This twin of ProcessSnapshotter._load_module (state/processes.py, which
 * holds the semantics) covers the common case: integer and text values, a known process whose
 * module index is current, an ASCII file extension. Anything else -- before any change is
 * made -- goes to the Python handler given as fallback.
 */
static PyTypeObject *ModuleT, *IndexT;
static Py_ssize_t o_mod[7], o_ix_owner, o_ix_bases, o_ix_length;
static PyObject *str_exe, *str_modules;



/* True when the last four characters of s are ".exe" in any case; -1 when one is not ASCII
 * (Python's str.lower() decides those). */
static int ends_with_exe(PyObject *s)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    if (n < 4) return 0;
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    static const char want[4] = {'.', 'e', 'x', 'e'};
    int match = 1;
    for (int i = 0; i < 4; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, n - 4 + i);
        if (ch >= 128) return -1;
        if ((ch >= 'A' && ch <= 'Z' ? ch + 32 : ch) != (Py_UCS4)want[i]) match = 0;
    }
    return match;
}

/* The state change of a LoadImage/ImageRundown whose values are out[] (as
 * create_handle_apply). cfg = (tail cfg, fields of the nine names, procs, indexes, fallback,
 * rundown) */
static int load_module_apply(PyObject *cfg, PyObject **out)
{
    PyObject *procs = PyTuple_GET_ITEM(cfg, 2), *indexes = PyTuple_GET_ITEM(cfg, 3);
    int rundown = PyTuple_GET_ITEM(cfg, 5) == Py_True;
    PyObject *key = NULL, *modules = NULL, *exe = NULL;
    int rc = -1;
    /* values: pid, file_path, file_name, base, size, checksum, default base, sig level, type */
    PyObject *path = out[1] ? out[1] : out[2];
    if (out[0] == NULL || !PyLong_CheckExact(out[0]) || (path && !PyUnicode_CheckExact(path)))
        return 1;
    for (int f = 3; f < 9; f++)
        if (out[f] && !PyLong_CheckExact(out[f])) return 1;
    int overflow;
    long long pid = PyLong_AsLongLongAndOverflow(out[0], &overflow);
    if (pid == -1 && PyErr_Occurred()) return -1;
    key = rundown && !overflow && pid == 0 ? PyLong_FromLong(4) : Py_NewRef(out[0]);
    if (key == NULL) return -1;
    PyObject *proc = PyDict_GetItemWithError(procs, key);
    if (proc == NULL) {
        if (!PyErr_Occurred()) rc = 0; /* no such process: nothing to change */
        goto done;
    }
    PyObject *index = PyDict_GetItemWithError(indexes, key);
    if (index == NULL && PyErr_Occurred()) goto done;
    if (index == NULL || Py_TYPE(index) != IndexT || SLOT(index, o_ix_owner) != proc) {
        rc = 1;
        goto done;
    }
    modules = PyObject_GetAttr(proc, str_modules);
    exe = modules ? PyObject_GetAttr(proc, str_exe) : NULL;
    if (exe == NULL) goto done;
    PyObject *length = SLOT(index, o_ix_length), *bases = SLOT(index, o_ix_bases);
    if (!PyList_CheckExact(modules) || !PyUnicode_CheckExact(exe) || length == NULL ||
        !PyLong_CheckExact(length) || bases == NULL || !PySet_CheckExact(bases) ||
        PyLong_AsSsize_t(length) != PyList_GET_SIZE(modules)) {
        rc = 1;
        goto done;
    }
    PyObject *empty = PyUnicode_New(0, 0);
    if (empty == NULL) goto done;
    if (path == NULL) path = empty;
    int is_exe = ends_with_exe(path);
    if (is_exe < 0) { Py_DECREF(empty); rc = 1; goto done; }
    /* from here on the state changes, as the Python handler would change it */
    if (PyUnicode_GET_LENGTH(path) > PyUnicode_GET_LENGTH(exe) && is_exe &&
        PyObject_SetAttr(proc, str_exe, path) < 0) {
        Py_DECREF(empty);
        goto done;
    }
    PyObject *base = out[3] ? out[3] : zero_int;
    int has = PySet_Contains(bases, base);
    if (has != 0) {
        Py_DECREF(empty);
        if (has > 0) rc = 0;
        goto done;
    }
    PyObject *new_length = PyLong_FromSsize_t(PyList_GET_SIZE(modules) + 1);
    PyObject *mod = new_length ? ModuleT->tp_alloc(ModuleT, 0) : NULL;
    if (mod == NULL || PySet_Add(bases, base) < 0) {
        Py_XDECREF(new_length); Py_XDECREF(mod); Py_DECREF(empty);
        goto done;
    }
    untrack(mod);
    set_slot(index, o_ix_length, new_length);
    set_slot(mod, o_mod[0], Py_NewRef(path));
    set_slot(mod, o_mod[1], Py_NewRef(base));
    for (int f = 4; f < 9; f++)
        set_slot(mod, o_mod[f - 2], Py_NewRef(out[f] ? out[f] : zero_int));
    Py_DECREF(empty);
    rc = PyList_Append(modules, mod);
    Py_DECREF(mod);
done:
    Py_XDECREF(key);
    Py_XDECREF(modules);
    Py_XDECREF(exe);
    return rc;
}

/* A process-state updater on an event: cfg = (tail cfg, fields, ...) with its Python fallback
 * at cfg[fallback_at]; `apply` changes the state from the values. */
static PyObject *process_update(PyObject *cfg, PyObject *ev, int (*apply)(PyObject *, PyObject **),
                                Py_ssize_t fallback_at)
{
    PyObject *out[MAX_FIELDS] = {NULL};
    int rc = event_fields(PyTuple_GET_ITEM(cfg, 0), ev, capsule_fields(PyTuple_GET_ITEM(cfg, 1)),
                          out);
    if (rc == 0)
        rc = apply(cfg, out);
    for (int f = 0; f < MAX_FIELDS; f++)
        Py_XDECREF(out[f]);
    return applied_or_fallback(rc, PyTuple_GET_ITEM(cfg, fallback_at), ev);
}

static PyObject *load_module(PyObject *cfg, PyObject *ev)
{
    return process_update(cfg, ev, load_module_apply, 4);
}

static PyMethodDef load_module_def = {"load_module", load_module, METH_O,
                                      "Apply a LoadImage or ImageRundown event to the processes."};

/*
 * module_loaders(module_cls, index_cls, procs, indexes, names, load_fallback,
 *                rundown_fallback, tail_fn, table, little) -> (load, rundown)
 */
static PyObject *module_loaders(PyObject *self, PyObject *args)
{
    PyObject *mcls, *icls, *procs, *indexes, *names, *load_fb, *rundown_fb, *tail_fn, *table;
    int le;
    if (!PyArg_ParseTuple(args, "O!O!O!O!O!OOOO!p", &PyType_Type, &mcls, &PyType_Type, &icls,
                          &PyDict_Type, &procs, &PyDict_Type, &indexes, &PyTuple_Type, &names,
                          &load_fb, &rundown_fb, &tail_fn, &PyTuple_Type, &table, &le))
        return NULL;
    if (EventT == NULL)
        return PyErr_Format(PyExc_RuntimeError, "configure() was not called");
    static const char *mfields[7] = {"path", "base_address", "size", "checksum",
                                     "default_base_address", "signature_level", "signature_type"};
    for (int i = 0; i < 7; i++)
        if ((o_mod[i] = slot_offset(mcls, mfields[i])) < 0) return NULL;
    if ((o_ix_owner = slot_offset(icls, "owner")) < 0 ||
        (o_ix_bases = slot_offset(icls, "bases")) < 0 ||
        (o_ix_length = slot_offset(icls, "length")) < 0)
        return NULL;
    if (str_exe == NULL && (str_exe = PyUnicode_InternFromString("exe")) == NULL) return NULL;
    if (str_modules == NULL && (str_modules = PyUnicode_InternFromString("modules")) == NULL)
        return NULL;
    Py_XSETREF(ModuleT, (PyTypeObject *)Py_NewRef(mcls));
    Py_XSETREF(IndexT, (PyTypeObject *)Py_NewRef(icls));
    PyObject *fields = fields_capsule(names, 9);
    if (fields == NULL) return NULL;
    PyObject *tailcfg = Py_BuildValue("(OOOOO)", Py_None, Py_None, tail_fn, table,
                                      le ? Py_True : Py_False);
    if (tailcfg == NULL) { Py_DECREF(fields); return NULL; }
    PyObject *pair = bound_pair(
        &load_module_def,
        Py_BuildValue("(OOOOOO)", tailcfg, fields, procs, indexes, load_fb, Py_False),
        &load_module_def,
        Py_BuildValue("(OOOOOO)", tailcfg, fields, procs, indexes, rundown_fb, Py_True));
    Py_DECREF(tailcfg);
    Py_DECREF(fields);
    return pair;
}

/* ------------------------------------------------------------------ thread state updates */

/*
 * CreateThread and ThreadRundown record a thread in its process; twin of
 * ProcessSnapshotter._on_thread for integer values and a known process, anything else (a
 * missing pid or tid, which warns) going to the Python handler before any change.
 */
static PyTypeObject *ThreadT;
static Py_ssize_t o_thread[10];
static PyObject *str_threads;

/* cfg = (tail cfg, fields of ProcessSnapshotter's 11 thread names, procs, fallback) */
/* The state change of a CreateThread/ThreadRundown whose values are out[] (as
 * create_handle_apply). cfg = (tail cfg, fields, procs, fallback) */
static int record_thread_apply(PyObject *cfg, PyObject **out)
{
    PyObject *procs = PyTuple_GET_ITEM(cfg, 2);
    if (out[0] == NULL || out[1] == NULL)
        return 1;
    for (int f = 0; f < 11; f++)
        if (out[f] && !PyLong_CheckExact(out[f])) return 1;
    PyObject *proc = PyDict_GetItemWithError(procs, out[0]);
    if (proc == NULL)
        return PyErr_Occurred() ? -1 : 0; /* no such process: nothing to change */
    PyObject *threads = PyObject_GetAttr(proc, str_threads);
    if (threads == NULL) return -1;
    if (!PyDict_CheckExact(threads)) { Py_DECREF(threads); return 1; }
    PyObject *t = ThreadT->tp_alloc(ThreadT, 0);
    if (t == NULL) { Py_DECREF(threads); return -1; }
    untrack(t);
    /* tid, pid, then the eight values; the start address under its newest name first */
    set_slot(t, o_thread[0], Py_NewRef(out[1]));
    set_slot(t, o_thread[1], Py_NewRef(out[0]));
    for (int f = 2; f < 9; f++)
        set_slot(t, o_thread[f], Py_NewRef(out[f] ? out[f] : zero_int));
    PyObject *start = out[9] ? out[9] : out[10];
    set_slot(t, o_thread[9], Py_NewRef(start ? start : zero_int));
    int err = PyDict_SetItem(threads, out[1], t);
    Py_DECREF(t);
    Py_DECREF(threads);
    return err;
}

static PyObject *record_thread(PyObject *cfg, PyObject *ev)
{
    return process_update(cfg, ev, record_thread_apply, 3);
}

static PyMethodDef record_thread_def = {"record_thread", record_thread, METH_O,
                                        "Apply a CreateThread or ThreadRundown event."};

/* ------------------------------------------------------------------ updates without events */

/* True for the updaters above (bound to their configuration), which twin_raw can apply. */
static int is_raw_twin(PyObject *handler)
{
    if (!PyCFunction_Check(handler))
        return 0;
    PyMethodDef *ml = ((PyCFunctionObject *)handler)->m_ml;
    return ml == &create_def || ml == &close_def || ml == &load_module_def ||
           ml == &record_thread_def;
}

/*
 * Apply `handler`'s state change to an event that is never built: the body starting at off,
 * whose tail is [p, end), read in c's buffer. The same checks as on an event decide: 0
 * applied, 1 not the common case (nothing changed: build the event and let the loop run the
 * handler, which falls back to Python), -1 error.
 */
static int twin_raw(PyObject *handler, const Ctx *c, Py_ssize_t off, Py_ssize_t p, Py_ssize_t end)
{
    PyMethodDef *ml = ((PyCFunctionObject *)handler)->m_ml;
    PyObject *cfg = PyCFunction_GET_SELF(handler);
    int handle_event = ml == &create_def || ml == &close_def;
    /* create/close: (by_object, fallback, tail_fn, table, little, fields);
     * modules/threads: ((None, None, tail_fn, table, little), fields, ...) */
    PyObject *table = handle_event ? PyTuple_GET_ITEM(cfg, 3)
                                   : PyTuple_GET_ITEM(PyTuple_GET_ITEM(cfg, 0), 3);
    if (table != c->table)
        return 1; /* another capture's layout */
    const Fields *fs = capsule_fields(PyTuple_GET_ITEM(cfg, handle_event ? 5 : 1));
    PyObject *out[MAX_FIELDS] = {NULL};
    int rc = raw_fields(c, p, end, fs, out);
    if (rc == 0) {
        if (ml == &create_def) {
            PyObject *pid = PyLong_FromUnsignedLong(rd32(c, off + 8));
            rc = pid ? create_handle_apply(cfg, out, pid) : -1;
            Py_XDECREF(pid);
        } else if (ml == &close_def) {
            rc = close_handle_apply(cfg, out);
        } else if (ml == &load_module_def) {
            rc = load_module_apply(cfg, out);
        } else {
            rc = record_thread_apply(cfg, out);
        }
    }
    for (int f = 0; f < MAX_FIELDS; f++)
        Py_XDECREF(out[f]);
    return rc;
}

/* thread_updater(thread_cls, procs, names, fallback, tail_fn, table, little) -> callable */
static PyObject *thread_updater(PyObject *self, PyObject *args)
{
    PyObject *tcls, *procs, *names, *fallback, *tail_fn, *table;
    int le;
    if (!PyArg_ParseTuple(args, "O!O!O!OOO!p", &PyType_Type, &tcls, &PyDict_Type, &procs,
                          &PyTuple_Type, &names, &fallback, &tail_fn, &PyTuple_Type, &table, &le))
        return NULL;
    if (EventT == NULL)
        return PyErr_Format(PyExc_RuntimeError, "configure() was not called");
    static const char *tfields[10] = {"tid", "pid", "io_prio", "base_prio", "page_prio",
                                      "ustack_base", "ustack_limit", "kstack_base",
                                      "kstack_limit", "start_address"};
    for (int i = 0; i < 10; i++)
        if ((o_thread[i] = slot_offset(tcls, tfields[i])) < 0) return NULL;
    if (str_threads == NULL && (str_threads = PyUnicode_InternFromString("threads")) == NULL)
        return NULL;
    Py_XSETREF(ThreadT, (PyTypeObject *)Py_NewRef(tcls));
    PyObject *fields = fields_capsule(names, 11);
    if (fields == NULL) return NULL;
    PyObject *cfg = Py_BuildValue("((OOOOO)NOO)", Py_None, Py_None, tail_fn, table,
                                  le ? Py_True : Py_False, fields, procs, fallback);
    if (cfg == NULL) return NULL;
    PyObject *fn = PyCFunction_New(&record_thread_def, cfg);
    Py_DECREF(cfg);
    return fn;
}

/* ------------------------------------------------------------------ the replay loop */

/*
 * Reader.read's per-event loop (reader.py holds the same steps in Python, the reference and
 * the path without this module): classify the event by type id, decode it when a state
 * handler needs it, run the handlers, skip state-only events unless asked for, attach the
 * process state, apply the filter. Batches of events come from a Python iterator of lists,
 * where a FormatError instance stands for a section that did not decode. A FormatError
 * raised by decoding, a handler or the filter goes to `report` and the event is dropped, as
 * in Python; any other exception propagates.
 */
typedef struct {
    PyObject_HEAD
    PyObject *source, *batch, *type_info, *info_of, *procs, *flt, *report, *format_error;
    PyObject *verdicts; /* dict (type, name, category, description) -> bool, or NULL */
    PyObject *on_end;   /* on_end(counts), called once when the loop ends; or NULL */
    Py_ssize_t index;
    int defer, track, include_state, lazy;
    long long read, emitted, state_only, dropped;
} ReplayLoop;

static PyObject *loop_counts(ReplayLoop *self, PyObject *unused);

/* Hand the counts to on_end, once: when the loop ends, fails, or is dropped unfinished (as a
 * generator's finally clause would run). An exception in flight is kept; one raised by on_end
 * replaces none. 0 ok, -1 on_end raised (and nothing else was in flight). */
static int loop_finish(ReplayLoop *self)
{
    PyObject *on_end = self->on_end;
    if (on_end == NULL)
        return 0;
    self->on_end = NULL;
    PyObject *type, *exc, *tb;
    PyErr_Fetch(&type, &exc, &tb);
    PyObject *counts = loop_counts(self, NULL);
    PyObject *r = counts ? PyObject_CallOneArg(on_end, counts) : NULL;
    Py_XDECREF(counts);
    Py_DECREF(on_end);
    if (r != NULL) {
        Py_DECREF(r);
        PyErr_Restore(type, exc, tb);
        return 0;
    }
    if (type == NULL)
        return -1;
    PyErr_WriteUnraisable(NULL);
    PyErr_Restore(type, exc, tb);
    return 0;
}

static void loop_dealloc(ReplayLoop *self)
{
    if (self->on_end != NULL && loop_finish(self) < 0)
        PyErr_WriteUnraisable((PyObject *)self);
    Py_XDECREF(self->source); Py_XDECREF(self->batch); Py_XDECREF(self->type_info);
    Py_XDECREF(self->info_of); Py_XDECREF(self->procs); Py_XDECREF(self->flt);
    Py_XDECREF(self->report); Py_XDECREF(self->format_error); Py_XDECREF(self->verdicts);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* After a failed call: 1 when it raised a FormatError, now passed to report; -1 otherwise. */
static int reported(ReplayLoop *self)
{
    if (!PyErr_ExceptionMatches(self->format_error))
        return -1;
    PyObject *type, *exc, *tb;
    PyErr_Fetch(&type, &exc, &tb);
    PyErr_NormalizeException(&type, &exc, &tb);
    if (tb != NULL && exc != NULL)
        PyException_SetTraceback(exc, tb);
    PyObject *r = exc ? PyObject_CallOneArg(self->report, exc) : NULL;
    Py_XDECREF(type);
    Py_XDECREF(exc);
    Py_XDECREF(tb);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 1;
}

static PyObject *decode_now(PyObject *ev)
{
    PyObject *tl = *(PyObject **)((char *)ev + o_tail);
    if (tl == NULL || tl == Py_None)
        return Py_NewRef(Py_None);
    return PyObject_CallMethod(ev, "decode", NULL);
}

static PyObject *loop_step(ReplayLoop *self)
{
    for (;;) {
        if (self->batch == NULL || self->index >= PyList_GET_SIZE(self->batch)) {
            Py_CLEAR(self->batch);
            PyObject *b = PyIter_Next(self->source);
            if (b == NULL)
                return NULL; /* the end, or an error (a fatal FormatError) */
            if (!PyList_CheckExact(b)) {
                Py_DECREF(b);
                return PyErr_Format(PyExc_TypeError, "the replay source must yield lists");
            }
            self->batch = b;
            self->index = 0;
            continue;
        }
        PyObject *ev = PyList_GET_ITEM(self->batch, self->index);
        self->index++;
        if (Py_TYPE(ev) != EventT) {
            PyObject *r = PyObject_CallOneArg(self->report, ev);
            if (r == NULL) return NULL;
            Py_DECREF(r);
            continue;
        }
        self->read++;
        PyObject *type_id = *(PyObject **)((char *)ev + o_type);
        PyObject *info = PyDict_GetItemWithError(self->type_info, type_id);
        if (info != NULL) {
            Py_INCREF(info);
        } else {
            if (PyErr_Occurred()) return NULL;
            info = PyObject_CallOneArg(self->info_of, type_id);
            if (info == NULL) return NULL;
        }
        if (!PyTuple_CheckExact(info) || PyTuple_GET_SIZE(info) != 4) {
            Py_DECREF(info);
            return PyErr_Format(PyExc_TypeError, "bad type info");
        }
        PyObject *handlers = PyTuple_GET_ITEM(info, 0);
        int state_only = PyTuple_GET_ITEM(info, 1) == Py_True;
        int carries = PyTuple_GET_ITEM(info, 2) == Py_True;
        int needs = PyTuple_GET_ITEM(info, 3) == Py_True;
        Py_INCREF(ev); /* our own reference: the one returned, or dropped on skipping it */
        int skip = 0;
        if (self->defer && ((needs && self->track) || carries)) {
            PyObject *r = decode_now(ev);
            if (r == NULL) { int k = reported(self); if (k < 0) goto fail; skip = 1; }
            else Py_DECREF(r);
        }
        if (!skip && self->track && PyTuple_CheckExact(handlers)) {
            Py_ssize_t n = PyTuple_GET_SIZE(handlers);
            for (Py_ssize_t i = 0; i < n; i++) {
                PyObject *r = PyObject_CallOneArg(PyTuple_GET_ITEM(handlers, i), ev);
                if (r == NULL) { int k = reported(self); if (k < 0) goto fail; skip = 1; break; }
                Py_DECREF(r);
            }
        }
        Py_DECREF(info);
        if (skip) { Py_DECREF(ev); continue; }
        if (state_only) {
            self->state_only++;
            if (!self->include_state) { Py_DECREF(ev); continue; }
        }
        PyObject *embedded = *(PyObject **)((char *)ev + o_process);
        PyObject *ps;
        if ((embedded != NULL && embedded != Py_None) || !self->track) {
            ps = Py_NewRef(embedded ? embedded : Py_None);
        } else {
            PyObject *pid = *(PyObject **)((char *)ev + o_pid);
            ps = pid ? PyDict_GetItemWithError(self->procs, pid) : NULL;
            if (ps == NULL && PyErr_Occurred()) { Py_DECREF(ev); return NULL; }
            ps = Py_NewRef(ps ? ps : Py_None);
        }
        set_slot(ev, o_ps, ps);
        if (self->flt != Py_None) {
            int keep = -1;
            PyObject *name = SLOT(ev, o_name), *cat = SLOT(ev, o_category);
            PyObject *desc = SLOT(ev, o_description);
            int by_kind = self->verdicts != NULL && name && cat && desc;
            if (by_kind) {
                /* A filter on the kind of event only: one verdict per kind. */
                keep = known_verdict(self->verdicts, type_id, name, cat, desc);
                if (keep == -2) { Py_DECREF(ev); return NULL; }
            }
            if (keep < 0) {
                PyObject *r = PyObject_CallOneArg(self->flt, ev);
                if (r == NULL) {
                    if (reported(self) < 0) { Py_DECREF(ev); return NULL; }
                    Py_DECREF(ev);
                    continue;
                }
                keep = PyObject_IsTrue(r);
                Py_DECREF(r);
                if (keep >= 0 && by_kind &&
                    remember_verdict(self->verdicts, type_id, name, cat, desc, keep) < 0)
                    keep = -1;
            }
            if (keep < 0) { Py_DECREF(ev); return NULL; }
            if (!keep) { self->dropped++; Py_DECREF(ev); continue; }
            if (!self->lazy) {
                PyObject *r = decode_now(ev);
                if (r == NULL) {
                    if (reported(self) < 0) { Py_DECREF(ev); return NULL; }
                    Py_DECREF(ev);
                    continue;
                }
                Py_DECREF(r);
            }
        }
        self->emitted++;
        return ev;
    fail:
        Py_XDECREF(info);
        Py_DECREF(ev);
        return NULL;
    }
}

static PyObject *loop_next(ReplayLoop *self)
{
    PyObject *ev = loop_step(self);
    if (ev == NULL && self->on_end != NULL && loop_finish(self) < 0)
        return NULL;
    return ev;
}

static PyObject *loop_counts(ReplayLoop *self, PyObject *unused)
{
    return Py_BuildValue("(LLLL)", self->read, self->emitted, self->state_only, self->dropped);
}

static PyMethodDef loop_methods[] = {
    {"counts", (PyCFunction)loop_counts, METH_NOARGS,
     "(events read, emitted, state-only, dropped by the filter) so far."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ReplayLoopType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kcap.format._speedups.ReplayLoop",
    .tp_basicsize = sizeof(ReplayLoop),
    .tp_dealloc = (destructor)loop_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Reader.read's per-event loop.",
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)loop_next,
    .tp_methods = loop_methods,
};

/*
 * replay_loop(source, type_info, info_of, procs, flt, report, format_error,
 *             defer, track, include_state, lazy, verdicts[, on_end]) -> ReplayLoop
 * verdicts: a dict when the filter reads nothing but the type id, name, category and
 * description of an event; its verdict is then remembered there per such kind (and the
 * decoder, given the same dict, does not even build events of a rejected kind).
 */
static PyObject *replay_loop(PyObject *self, PyObject *args)
{
    PyObject *source, *type_info, *info_of, *procs, *flt, *report, *format_error, *verdicts;
    PyObject *on_end = Py_None;
    int defer, track, include_state, lazy;
    if (!PyArg_ParseTuple(args, "OO!OO!OOOppppO|O", &source, &PyDict_Type, &type_info,
                          &info_of, &PyDict_Type, &procs, &flt, &report, &format_error, &defer,
                          &track, &include_state, &lazy, &verdicts, &on_end))
        return NULL;
    if (verdicts != Py_None && !PyDict_CheckExact(verdicts))
        return PyErr_Format(PyExc_TypeError, "verdicts must be a dict or None");
    if (on_end != Py_None && !PyCallable_Check(on_end))
        return PyErr_Format(PyExc_TypeError, "on_end must be callable or None");
    if (EventT == NULL)
        return PyErr_Format(PyExc_RuntimeError, "configure() was not called");
    if (PyType_Ready(&ReplayLoopType) < 0)
        return NULL;
    PyObject *it = PyObject_GetIter(source);
    if (it == NULL)
        return NULL;
    ReplayLoop *loop = PyObject_New(ReplayLoop, &ReplayLoopType);
    if (loop == NULL) { Py_DECREF(it); return NULL; }
    loop->source = it;
    loop->batch = NULL;
    loop->type_info = Py_NewRef(type_info);
    loop->info_of = Py_NewRef(info_of);
    loop->procs = Py_NewRef(procs);
    loop->flt = Py_NewRef(flt);
    loop->report = Py_NewRef(report);
    loop->format_error = Py_NewRef(format_error);
    loop->verdicts = verdicts != Py_None && flt != Py_None ? Py_NewRef(verdicts) : NULL;
    loop->on_end = on_end != Py_None ? Py_NewRef(on_end) : NULL;
    loop->index = 0;
    loop->defer = defer; loop->track = track; loop->include_state = include_state;
    loop->lazy = lazy;
    loop->read = loop->emitted = loop->state_only = loop->dropped = 0;
    return (PyObject *)loop;
}

/*
 * deferred(start) -> an iterator that calls start() on its first next() and then yields what
 * the iterator start returned yields. Reader.read returns one so that nothing is read before
 * iteration begins, as with a generator, without a generator frame between every event and
 * its consumer. Like a generator, it is exhausted for good once it ended or raised.
 */
typedef struct {
    PyObject_HEAD
    PyObject *start; /* until the first next() */
    PyObject *it;    /* after it, until the end */
} Deferred;

static PyObject *deferred_next(Deferred *self)
{
    if (self->it == NULL) {
        PyObject *start = self->start;
        if (start == NULL)
            return NULL; /* ended */
        self->start = NULL;
        PyObject *it = PyObject_CallNoArgs(start);
        Py_DECREF(start);
        if (it == NULL)
            return NULL;
        if (!PyIter_Check(it)) {
            Py_DECREF(it);
            return PyErr_Format(PyExc_TypeError, "deferred: start() must return an iterator");
        }
        self->it = it;
    }
    PyObject *item = Py_TYPE(self->it)->tp_iternext(self->it);
    if (item == NULL)
        Py_CLEAR(self->it); /* the end or an error: let go of the loop now */
    return item;
}

static int deferred_traverse(Deferred *self, visitproc visit, void *arg)
{
    Py_VISIT(self->start);
    Py_VISIT(self->it);
    return 0;
}

static int deferred_clear(Deferred *self)
{
    Py_CLEAR(self->start);
    Py_CLEAR(self->it);
    return 0;
}

static void deferred_dealloc(Deferred *self)
{
    PyObject_GC_UnTrack(self);
    deferred_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject DeferredType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kcap.format._speedups.Deferred",
    .tp_basicsize = sizeof(Deferred),
    .tp_dealloc = (destructor)deferred_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "An iterator started on its first next().",
    .tp_traverse = (traverseproc)deferred_traverse,
    .tp_clear = (inquiry)deferred_clear,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)deferred_next,
};

static PyObject *deferred(PyObject *self, PyObject *start)
{
    if (!PyCallable_Check(start))
        return PyErr_Format(PyExc_TypeError, "deferred() takes a callable");
    if (PyType_Ready(&DeferredType) < 0)
        return NULL;
    Deferred *d = PyObject_GC_New(Deferred, &DeferredType);
    if (d == NULL)
        return NULL;
    d->start = Py_NewRef(start);
    d->it = NULL;
    PyObject_GC_Track(d);
    return (PyObject *)d;
}

/* ------------------------------------------------------------------ timestamps */

/*
 * parse_time(text) -> (utc_ns, offset_seconds) | None for the canonical RFC 3339 forms
 * writers store (ASCII digits, 'T', 'Z' or +hh:mm, 1-9 fraction digits, years 1678-2261 so the
 * nanoseconds fit 64 bits). None means "not decided here": model/timestamp.py's parser, which
 * holds the rules, then parses the text or rejects it.
 */
static int two_or_four(const unsigned char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

static long long days_from_civil(long long y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* 1 with *ns and *offset set when s[0:n] is canonical RFC 3339 text (see parse_time), else 0. */
static int canonical_time(const unsigned char *s, Py_ssize_t n, long long *ns, long long *offset)
{
    int y, mo, d, h, mi, sec, hh = 0, mm = 0;
    if (n < 20 || n > 64 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
        s[13] != ':' || s[16] != ':')
        return 0;
    if (!two_or_four(s, 4, &y) || !two_or_four(s + 5, 2, &mo) || !two_or_four(s + 8, 2, &d) ||
        !two_or_four(s + 11, 2, &h) || !two_or_four(s + 14, 2, &mi) ||
        !two_or_four(s + 17, 2, &sec))
        return 0;
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1678 || y > 2261 || mo < 1 || mo > 12 || d < 1 ||
        d > dim[mo - 1] + (mo == 2 && leap) || h > 23 || mi > 59)
        return 0;
    Py_ssize_t end;
    int sign = 0;
    if (s[n - 1] == 'Z' || s[n - 1] == 'z') {
        end = n - 1;
    } else if (n >= 25 && s[n - 3] == ':' && (s[n - 6] == '+' || s[n - 6] == '-')) {
        if (!two_or_four(s + n - 5, 2, &hh) || !two_or_four(s + n - 2, 2, &mm) || hh > 23 ||
            mm > 59)
            return 0;
        sign = s[n - 6] == '+' ? 1 : -1;
        end = n - 6;
    } else {
        return 0;
    }
    long long frac = 0;
    if (end > 19) {
        Py_ssize_t digits = end - 20;
        if ((s[19] != '.' && s[19] != ',') || digits < 1 || digits > 9)
            return 0;
        for (Py_ssize_t i = 20; i < end; i++) {
            if (s[i] < '0' || s[i] > '9') return 0;
            frac = frac * 10 + (s[i] - '0');
        }
        for (Py_ssize_t i = digits; i < 9; i++)
            frac *= 10;
    }
    *offset = sign * (hh * 3600LL + mm * 60LL);
    long long secs = days_from_civil(y, mo, d) * 86400LL + h * 3600LL + mi * 60LL + sec - *offset;
    *ns = secs * 1000000000LL + frac;
    return 1;
}

static PyObject *parse_time(PyObject *self, PyObject *arg)
{
    if (!PyUnicode_Check(arg) || !PyUnicode_IS_ASCII(arg))
        Py_RETURN_NONE;
    long long ns, offset;
    if (!canonical_time((const unsigned char *)PyUnicode_DATA(arg), PyUnicode_GET_LENGTH(arg),
                        &ns, &offset))
        Py_RETURN_NONE;
    return Py_BuildValue("(LL)", ns, offset);
}

/* load_ns(ts) -> int | None: parse a Timestamp's canonical text into its _ns and _offset slots
 * and return the nanoseconds; None leaves it to Timestamp.ns (any other text, its verdicts). */
static PyObject *load_ns(PyObject *self, PyObject *ts)
{
    if (TimestampT == NULL || Py_TYPE(ts) != TimestampT)
        Py_RETURN_NONE;
    PyObject *txt = SLOT(ts, o_ts_text);
    if (txt == NULL || !PyUnicode_Check(txt) || !PyUnicode_IS_ASCII(txt))
        Py_RETURN_NONE;
    long long ns, offset;
    if (!canonical_time((const unsigned char *)PyUnicode_DATA(txt), PyUnicode_GET_LENGTH(txt),
                        &ns, &offset))
        Py_RETURN_NONE;
    PyObject *ns_obj = PyLong_FromLongLong(ns), *off_obj = PyLong_FromLongLong(offset);
    if (ns_obj == NULL || off_obj == NULL) {
        Py_XDECREF(ns_obj);
        Py_XDECREF(off_obj);
        return NULL;
    }
    set_slot(ts, o_ts_ns, Py_NewRef(ns_obj));
    set_slot(ts, o_ts_offset, off_obj);
    return ns_obj;
}

/*
 * check_event(buf, off, end, version, ev1_width, little, table) -> True | None
 * True when the body would decode under this layout, without an embedded process body, and
 * carries a canonical, valid timestamp -- decided without building anything. None when it
 * cannot tell: the decoders then decide (generation detection uses this for its trial).
 */
/* 1 when the body buf[off:end] passes check_event's test, 0 when it cannot tell, -1 error. */
static int body_checks(PyObject *buf, Py_ssize_t off, Py_ssize_t end, int version,
                       int ev1_width, int le, PyObject *table)
{
    int width = version == 2 ? 18 : version == 1 ? ev1_width : 0;
    if (width == 0 || off < 0 || end > PyBytes_GET_SIZE(buf) || off > end)
        return 0;
    Ctx c = {(const unsigned char *)PyBytes_AS_STRING(buf), le, table, NULL};
    Py_ssize_t p = off + 16 + width + 1;
    if (p > end)
        return 0;
    for (int i = 0; i < 4; i++) {
        if (p + 2 > end)
            return 0;
        p += 2 + rd16(&c, p);
    }
    if (p + 2 > end)
        return 0;
    Py_ssize_t n = rd16(&c, p);
    if (p + 2 + n > end)
        return 0;
    long long ns, offset;
    if (!canonical_time(c.b + p + 2, n, &ns, &offset))
        return 0;
    p += 2 + n;
    Fields none = {0};
    PyObject *out[1] = {NULL};
    int rc = raw_fields(&c, p, end, &none, out);
    return rc < 0 ? -1 : rc == 0;
}

static PyObject *check_event(PyObject *self, PyObject *args)
{
    PyObject *buf, *table;
    Py_ssize_t off, end;
    int version, ev1_width, le;
    if (!PyArg_ParseTuple(args, "O!nniipO!", &PyBytes_Type, &buf, &off, &end, &version,
                          &ev1_width, &le, &PyTuple_Type, &table))
        return NULL;
    int rc = body_checks(buf, off, end, version, ev1_width, le, table);
    if (rc < 0)
        return NULL;
    if (rc == 0)
        Py_RETURN_NONE;
    Py_RETURN_TRUE;
}

/*
 * check_run(raws, start, ev1_width, little, table) -> int
 * How many raw events (buf, off, end, version, base) from raws[start] on pass check_event's
 * test in a row: the generation trial vouches for them without a call per event.
 */
static PyObject *check_run(PyObject *self, PyObject *args)
{
    PyObject *raws, *table;
    Py_ssize_t start;
    int ev1_width, le;
    if (!PyArg_ParseTuple(args, "O!nipO!", &PyList_Type, &raws, &start, &ev1_width, &le,
                          &PyTuple_Type, &table))
        return NULL;
    Py_ssize_t i = start < 0 ? 0 : start;
    for (; i < PyList_GET_SIZE(raws); i++) {
        PyObject *raw = PyList_GET_ITEM(raws, i);
        if (!PyTuple_CheckExact(raw) || PyTuple_GET_SIZE(raw) != 5 ||
            !PyBytes_CheckExact(PyTuple_GET_ITEM(raw, 0)))
            break;
        Py_ssize_t off = PyLong_AsSsize_t(PyTuple_GET_ITEM(raw, 1));
        Py_ssize_t end = PyLong_AsSsize_t(PyTuple_GET_ITEM(raw, 2));
        long version = PyLong_AsLong(PyTuple_GET_ITEM(raw, 3));
        if (PyErr_Occurred())
            return NULL;
        int rc = body_checks(PyTuple_GET_ITEM(raw, 0), off, end, (int)version, ev1_width, le,
                             table);
        if (rc < 0)
            return NULL;
        if (rc == 0)
            break;
    }
    return PyLong_FromSsize_t(i - (start < 0 ? 0 : start));
}

/*
 * scan_sections(buf, pos, base, max_record, limit, max_bytes, little)
 *   -> (raws, pos, body bytes)
 * The raw events (buf, body start, body end, section version, base) of the complete event
 * sections at buf[pos:], at most `limit` of them and stopping once their bodies reach
 * `max_bytes`; it stops early at anything else (not an event section, too large, cut by the
 * end of buf), which the Python reader then reads and, if need be, reports.
 */
static PyObject *scan_sections(PyObject *self, PyObject *args)
{
    PyObject *buf, *base;
    Py_ssize_t pos, max_record, limit, max_bytes, total = 0;
    int le;
    if (!PyArg_ParseTuple(args, "O!nOnnnp", &PyBytes_Type, &buf, &pos, &base, &max_record,
                          &limit, &max_bytes, &le))
        return NULL;
    Ctx c = {(const unsigned char *)PyBytes_AS_STRING(buf), le, NULL, NULL};
    Py_ssize_t len = PyBytes_GET_SIZE(buf);
    PyObject *raws = PyList_New(0);
    if (raws == NULL)
        return NULL;
    while (pos >= 0 && PyList_GET_SIZE(raws) < limit && total < max_bytes && pos + 10 <= len) {
        const unsigned char *h = c.b + pos;
        Py_ssize_t size = rd32(&c, pos + 6);
        if (h[0] != 3 || size > max_record || pos + 10 + size > len)
            break;
        PyObject *raw = Py_BuildValue("(OnniO)", buf, pos + 10, pos + 10 + size, (int)h[1], base);
        if (raw == NULL || PyList_Append(raws, raw) < 0) {
            Py_XDECREF(raw);
            Py_DECREF(raws);
            return NULL;
        }
        Py_DECREF(raw);
        total += size;
        pos += 10 + size;
    }
    return Py_BuildValue("(Nnn)", raws, pos, total);
}

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

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS, "Bind the model classes (Event, Param, ...)."},
    {"decode_batch", decode_batch, METH_VARARGS, "Decode well-formed event sections."},
    {"decode_event", decode_event, METH_VARARGS, "Decode one well-formed event body."},
    {"stored_timestamp", stored_timestamp, METH_O, "The undecoded timestamp of a lazy event."},
    {"decode_tail", decode_tail, METH_VARARGS, "Decode parameters and metadata."},
    {"encode_tail", encode_tail, METH_VARARGS, "Encode parameters and metadata."},
    {"configure_handles", configure_handles, METH_VARARGS, "Bind the handle classes."},
    {"decode_handles", decode_handles, METH_VARARGS, "Decode length-prefixed handle records."},
    {"decode_handle_run", decode_handle_run, METH_VARARGS, "Decode the handle records in a buffer."},
    {"handle_updaters", handle_updaters, METH_VARARGS, "CreateHandle/CloseHandle state updaters."},
    {"value_reader", value_reader, METH_VARARGS, "Reads named parameter values of events."},
    {"replay_loop", replay_loop, METH_VARARGS, "Reader.read's per-event loop."},
    {"deferred", deferred, METH_O, "An iterator started on its first next()."},
    {"parse_time", parse_time, METH_O, "Parse canonical RFC 3339 text to (ns, offset)."},
    {"load_ns", load_ns, METH_O, "Parse a Timestamp's canonical text into its slots."},
    {"check_event", check_event, METH_VARARGS, "Whether an event body decodes (no objects)."},
    {"check_run", check_run, METH_VARARGS, "How many raw events in a row check_event passes."},
    {"scan_sections", scan_sections, METH_VARARGS, "The complete event sections in a buffer."},
    {"configure_process", configure_process, METH_O, "Bind the Process class."},
    {"decode_process", decode_process, METH_VARARGS, "Decode a common process body."},
    {"module_loaders", module_loaders, METH_VARARGS, "LoadImage/ImageRundown state updaters."},
    {"thread_updater", thread_updater, METH_VARARGS, "CreateThread/ThreadRundown state updater."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "kcap.format._speedups",
    "Optional C accelerator for decoding event sections (see events.py).", -1, methods,
};

PyMODINIT_FUNC PyInit__speedups(void)
{
    if (PyType_Ready(&RawTailType) < 0)
        return NULL;
    return PyModule_Create(&module);
}
