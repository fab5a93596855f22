/* Part of _speedups.c, which includes every part once, in order (one translation unit).
 * Whole event sections: heads, tails, lazy events, batches, kinds nobody receives. */

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
