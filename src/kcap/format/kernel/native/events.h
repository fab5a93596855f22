/* Part of _native.c (one translation unit; each part is included once, in order).
 * Event bodies: heads, lazy tails, whole events, batches of sections. */

/* ------------------------------------------------------------------ the codec of one layout */

/*
 * The event bodies of one file layout (byte order, parameter table, type-id width), compiled
 * from a kcap.format.schema.EventBody. It decodes well-formed bodies and refuses the rest
 * (None, or an anomaly flag), which the pure-Python kernel then decodes and reports.
 */
typedef struct {
    PyObject_HEAD
    int le, ev1_width, headerless;
    Py_ssize_t min_body;
    char head_codes[3];     /* seq, pid, tid */
    Py_ssize_t head_sizes[3];
    Node *meta, *process;   /* tail nodes after the parameter list (process: NULL if none) */
    ParamTable *table;
    /* The model's event class and how its attributes are set (see kcap.model.event.Event:
     * the head fields, then "ps" and either "tail" or "timestamp", "params", "meta",
     * "process"). */
    PyTypeObject *event_type;
    Slot head[9], s_ps, s_tail, s_timestamp, s_params, s_meta, s_process;
    PyObject *fallback;     /* fallback(buf, p, end, base): the pure kernel's tail decoder */
    PyObject *head_cache;   /* dict: type id + shared strings -> kind (5-tuple) */
    PyObject *picks;        /* dict: names tuple -> Pick capsule */
} Codec;

static PyTypeObject CodecType;

/*
 * A front for the head cache: the head bytes of an event (type id and four strings) repeat for
 * every event of a kind, and looking them up in the dict meant making a bytes key and hashing
 * it each time. This direct-mapped table compares the bytes in place. Its entries are a pure
 * function of their bytes, so it is shared by every codec.
 */
#define HEAD_SLOTS 256
#define HEAD_MAX 512
typedef struct {
    uint64_t hash;
    Py_ssize_t len;
    unsigned char key[HEAD_MAX];
    PyObject *kind; /* (type id, name, category, description, host) or NULL */
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

/* Where an event body's head lies: its fixed fields' offsets and the shared run. */
typedef struct {
    Py_ssize_t off, end, width, run, run_end, ts_at, ts_len, tail;
    PyObject *kind; /* borrowed from the cache */
} Head;

/* The kind (type id and shared strings, cached) of the body at buf[off:end]: 0 ok, 1 not well
 * formed, -1 error. */
static int read_head(Codec *k, const Ctx *c, Py_ssize_t off, Py_ssize_t end, int width, Head *h)
{
    h->off = off;
    h->end = end;
    h->width = width;
    if (end - off < k->min_body)
        return 1;
    Py_ssize_t fixed = k->head_sizes[0] + k->head_sizes[1] + k->head_sizes[2];
    Py_ssize_t p = off + fixed + width + 1; /* seq, pid, tid, type id, cpu */
    if (p > end)
        return 1;
    h->run = p;
    for (int i = 0; i < 4; i++) {
        if (p + 2 > end)
            return 1;
        p += 2 + rd16(c, p);
    }
    if (p + 2 > end)
        return 1;
    h->run_end = p;
    h->ts_len = rd16(c, p);
    h->ts_at = p + 2;
    h->tail = p + 2 + h->ts_len;
    if (h->tail > end)
        return 1;
    const unsigned char *id = c->b + off + fixed;
    Py_ssize_t n = h->run_end - h->run;
    HeadSlot *front = NULL;
    if (width + n <= HEAD_MAX) {
        if (head_slots == NULL && (head_slots = PyMem_Calloc(HEAD_SLOTS, sizeof(HeadSlot))) == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        uint64_t hv = head_hash(id, width, c->b + h->run, n);
        HeadSlot *e = &head_slots[hv % HEAD_SLOTS];
        if (e->kind != NULL && e->hash == hv && e->len == width + n &&
            memcmp(e->key, id, (size_t)width) == 0 && memcmp(e->key + width, c->b + h->run, (size_t)n) == 0) {
            h->kind = e->kind;
            return 0;
        }
        e->hash = hv;
        front = e;
    }
    PyObject *key = PyBytes_FromStringAndSize(NULL, width + n);
    if (key == NULL)
        return -1;
    memcpy(PyBytes_AS_STRING(key), id, width);
    memcpy(PyBytes_AS_STRING(key) + width, c->b + h->run, n);
    PyObject *kind = PyDict_GetItemWithError(k->head_cache, key); /* borrowed */
    if (kind == NULL) {
        if (PyErr_Occurred()) { Py_DECREF(key); return -1; }
        PyObject *s[5] = {NULL};
        s[0] = PyBytes_FromStringAndSize((const char *)id, width);
        Py_ssize_t q = h->run;
        for (int i = 1; i < 5 && s[i - 1] != NULL; i++) {
            Py_ssize_t l = rd16(c, q);
            s[i] = text(c, q + 2, l);
            q += 2 + l;
        }
        kind = s[4] ? PyTuple_Pack(5, s[0], s[1], s[2], s[3], s[4]) : NULL;
        for (int j = 0; j < 5; j++)
            Py_XDECREF(s[j]);
        if (kind == NULL) { Py_DECREF(key); return -1; }
        if (PyDict_GET_SIZE(k->head_cache) >= 4096)
            PyDict_Clear(k->head_cache);
        int err = PyDict_SetItem(k->head_cache, key, kind);
        Py_DECREF(kind); /* the dict holds it now */
        if (err < 0) { Py_DECREF(key); return -1; }
    }
    Py_DECREF(key);
    if (front != NULL) {
        memcpy(front->key, id, (size_t)width);
        memcpy(front->key + width, c->b + h->run, (size_t)n);
        front->len = width + n;
        Py_XSETREF(front->kind, Py_NewRef(kind));
    }
    h->kind = kind;
    return 0;
}

/* The head values in declaration order (seq, pid, tid, type id, cpu, name, category,
 * description, host) into out[9]: new references; -1 on error. */
static int head_values(Codec *k, const Ctx *c, const Head *h, PyObject **out)
{
    Py_ssize_t p = h->off;
    for (int i = 0; i < 3; i++) {
        out[i] = int_value(c, k->head_codes[i], p);
        p += k->head_sizes[i];
    }
    out[3] = Py_NewRef(PyTuple_GET_ITEM(h->kind, 0));
    out[4] = PyLong_FromLong(c->b[p + h->width]);
    for (int i = 1; i < 5; i++)
        out[4 + i] = Py_NewRef(PyTuple_GET_ITEM(h->kind, i));
    for (int i = 0; i < 9; i++)
        if (out[i] == NULL) {
            for (int j = 0; j < 9; j++)
                Py_CLEAR(out[j]);
            return -1;
        }
    return 0;
}

/* ------------------------------------------------------------------ the lazy tail */

/*
 * What a lazy event has not decoded yet (a kcap.model.event.TailSource): its body's bytes from
 * the parameter list on, and where its timestamp text lies. One object of plain offsets per
 * event; it holds no container, so the cycle collector need not watch it.
 */
typedef struct {
    PyObject_HEAD
    Codec *codec;
    PyObject *buf, *base;
    Py_ssize_t p, end, ts_len;
} Tail;

static PyTypeObject TailType;

/* The tail fields at [p, end): (params, meta, process) as a new tuple; ANOMALY; NULL error. */
static PyObject *decode_tail_at(Codec *k, const Ctx *c, Py_ssize_t p, Py_ssize_t end)
{
    PyObject *params = decode_params(c, &p, end);
    if (params == NULL || params == ANOMALY)
        return params;
    PyObject *meta = decode_node(c, k->meta, &p, end), *process = Py_NewRef(Py_None);
    if (meta == NULL || meta == ANOMALY) {
        Py_DECREF(params);
        Py_DECREF(process);
        return meta;
    }
    if (k->process != NULL) {
        Py_DECREF(process);
        process = decode_node(c, k->process, &p, end);
        if (process == NULL || process == ANOMALY) {
            Py_DECREF(params);
            Py_DECREF(meta);
            return process;
        }
    }
    if (p != end) {
        Py_DECREF(params);
        Py_DECREF(meta);
        Py_DECREF(process);
        return ANOMALY;
    }
    PyObject *out = PyTuple_New(3);
    if (out == NULL) {
        Py_DECREF(params);
        Py_DECREF(meta);
        Py_DECREF(process);
        return NULL;
    }
    PyTuple_SET_ITEM(out, 0, params);
    PyTuple_SET_ITEM(out, 1, meta);
    PyTuple_SET_ITEM(out, 2, process);
    return out;
}

static PyObject *tail_decode(Tail *self, PyObject *unused)
{
    Codec *k = self->codec;
    Ctx c = {(const unsigned char *)PyBytes_AS_STRING(self->buf), k->le, k->table};
    PyObject *got = decode_tail_at(k, &c, self->p, self->end);
    if (got != ANOMALY)
        return got;
    /* Something unusual: the pure kernel decodes it (or says precisely what is wrong). */
    return PyObject_CallFunction(k->fallback, "OnnO", self->buf, self->p, self->end, self->base);
}

static PyObject *tail_timestamp(Tail *self, PyObject *unused)
{
    PyObject *txt = utf8_text((const unsigned char *)PyBytes_AS_STRING(self->buf) + self->p -
                                  self->ts_len, self->ts_len);
    return txt ? new_timestamp(txt) : NULL;
}

/* The Pick of a names tuple, prepared once (the tuples are constants of their callers). */
static const Pick *pick_of(Codec *k, PyObject *names)
{
    PyObject *cap = PyDict_GetItemWithError(k->picks, names);
    if (cap != NULL)
        return PyCapsule_GetPointer(cap, "kcap.pick");
    if (PyErr_Occurred())
        return NULL;
    Pick *pk = PyMem_Malloc(sizeof(Pick));
    if (pk == NULL)
        return (const Pick *)PyErr_NoMemory();
    if (fill_pick(names, pk) < 0) {
        PyMem_Free(pk);
        return NULL;
    }
    cap = PyCapsule_New(pk, "kcap.pick", NULL);
    if (cap == NULL) {
        PyMem_Free(pk);
        return NULL;
    }
    if (PyDict_GET_SIZE(k->picks) >= 256)
        PyDict_Clear(k->picks);
    /* the dict keeps the names (whose UTF-8 the Pick points into) alive as its key */
    int err = PyDict_SetItem(k->picks, names, cap);
    Py_DECREF(cap);
    return err < 0 ? NULL : pk;
}

static void free_picks(PyObject *picks)
{
    Py_ssize_t pos = 0;
    PyObject *key, *cap;
    while (PyDict_Next(picks, &pos, &key, &cap))
        PyMem_Free(PyCapsule_GetPointer(cap, "kcap.pick"));
}

/* The picked values of the tail at [p, end) as a new tuple; ANOMALY when the tail is not well
 * formed or carries a process body (its readers need the decoded event); NULL on error. */
static PyObject *values_at(Codec *k, const Ctx *c, Py_ssize_t p, Py_ssize_t end, PyObject *names)
{
    const Pick *pk = pick_of(k, names);
    if (pk == NULL)
        return NULL;
    PyObject *out[MAX_PICK] = {NULL};
    int rc = pick_params(c, &p, end, pk, out);
    if (rc == 0) {
        p = skip_node(c, k->meta, p, end);
        if (p < 0)
            rc = 1;
        else if (k->process != NULL && (p + SEC_SIZE != end || c->b[p + SEC_TYPE_AT] != PROCESS_SECTION || rd32(c, p + SEC_SIZE_AT) != 0))
            rc = 1;
        else if (k->process == NULL && p != end)
            rc = 1;
    }
    PyObject *tuple = rc == 0 ? PyTuple_New(pk->n) : NULL;
    for (int f = 0; f < pk->n; f++) {
        if (tuple != NULL)
            PyTuple_SET_ITEM(tuple, f, out[f] ? out[f] : Py_NewRef(Py_None));
        else
            Py_XDECREF(out[f]);
    }
    if (rc > 0)
        return ANOMALY;
    return tuple;
}

static PyObject *tail_values(Tail *self, PyObject *names)
{
    Codec *k = self->codec;
    Ctx c = {(const unsigned char *)PyBytes_AS_STRING(self->buf), k->le, k->table};
    PyObject *got = values_at(k, &c, self->p, self->end, names);
    return got == ANOMALY ? Py_NewRef(Py_None) : got;
}

static PyObject *tail_self(PyObject *self, PyObject *memo) { return Py_NewRef(self); }

static void tail_dealloc(Tail *self)
{
    Py_DECREF(self->codec);
    Py_DECREF(self->buf);
    Py_DECREF(self->base);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef tail_methods[] = {
    {"decode", (PyCFunction)tail_decode, METH_NOARGS, "(params, meta, process) of the tail."},
    {"timestamp", (PyCFunction)tail_timestamp, METH_NOARGS, "The stored timestamp."},
    {"values", (PyCFunction)tail_values, METH_O,
     "The first value of each named parameter (None where absent), or None when that cannot "
     "be told without decoding."},
    {"__deepcopy__", tail_self, METH_O, "Tails are immutable: the copy is the tail itself."},
    {"__copy__", (PyCFunction)tail_self, METH_NOARGS, "The tail itself."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject TailType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kcap.format.kernel._native.Tail",
    .tp_basicsize = sizeof(Tail),
    .tp_dealloc = (destructor)tail_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The undecoded rest of a lazy event (a kcap.model.event.TailSource).",
    .tp_methods = tail_methods,
};

/* ------------------------------------------------------------------ whole events */

static PyObject *make_tail(Codec *k, PyObject *buf, PyObject *base, const Head *h)
{
    Tail *t = PyObject_New(Tail, &TailType);
    if (t == NULL)
        return NULL;
    t->codec = (Codec *)Py_NewRef(k);
    t->buf = Py_NewRef(buf);
    t->base = Py_NewRef(base);
    t->p = h->tail;
    t->end = h->end;
    t->ts_len = h->ts_len;
    return (PyObject *)t;
}

/* The event of a read head: lazy (its tail left undecoded) or whole. NULL on error, ANOMALY. */
static PyObject *build_event(Codec *k, const Ctx *c, PyObject *buf, PyObject *base, const Head *h,
                             int full)
{
    PyObject *head[9] = {NULL}, *parts = NULL, *ev = NULL;
    if (head_values(k, c, h, head) < 0)
        return NULL;
    if (full) {
        parts = decode_tail_at(k, c, h->tail, h->end);
        if (parts == NULL || parts == ANOMALY) {
            for (int i = 0; i < 9; i++)
                Py_DECREF(head[i]);
            return parts;
        }
    }
    if (lazy_event_fn != NULL && (PyObject *)k->event_type == ctor_event_type) {
        /* the model's compiled constructors: one call, no attribute setting */
        if (!full) {
            PyObject *t = make_tail(k, buf, base, h);
            if (t != NULL) {
                ev = lazy_event_fn(head[0], head[1], head[2], head[3], head[4], head[5], head[6],
                                   head[7], head[8], t);
                Py_DECREF(t);
            }
        } else {
            PyObject *txt = text(c, h->ts_at, h->ts_len);
            PyObject *ts = txt ? new_timestamp(txt) : NULL;
            if (ts != NULL) {
                ev = whole_event_fn(head[0], head[1], head[2], head[3], head[4], head[5],
                                    head[6], head[7], head[8], ts, PyTuple_GET_ITEM(parts, 0),
                                    PyTuple_GET_ITEM(parts, 1), PyTuple_GET_ITEM(parts, 2));
                Py_DECREF(ts);
            }
        }
        for (int j = 0; j < 9; j++)
            Py_DECREF(head[j]);
        Py_XDECREF(parts);
        return ev;
    }
    ev = k->event_type->tp_new(k->event_type, empty_tuple, NULL);
    int i = 0, err = ev == NULL;
    for (; !err && i < 9; i++) {
        err = set_attr(ev, &k->head[i], head[i]) < 0;
        head[i] = NULL;
    }
    for (; i < 9; i++)
        Py_XDECREF(head[i]);
    if (!err)
        err = set_attr(ev, &k->s_ps, Py_NewRef(Py_None)) < 0;
    if (!err && !full) {
        PyObject *t = make_tail(k, buf, base, h);
        err = t == NULL || set_attr(ev, &k->s_tail, t) < 0;
    } else if (!err) {
        PyObject *txt = text(c, h->ts_at, h->ts_len);
        PyObject *ts = txt ? new_timestamp(txt) : NULL;
        err = ts == NULL || set_attr(ev, &k->s_tail, Py_NewRef(Py_None)) < 0 ||
              set_attr(ev, &k->s_timestamp, ts) < 0 ||
              set_attr(ev, &k->s_params, Py_NewRef(PyTuple_GET_ITEM(parts, 0))) < 0 ||
              set_attr(ev, &k->s_meta, Py_NewRef(PyTuple_GET_ITEM(parts, 1))) < 0 ||
              set_attr(ev, &k->s_process, Py_NewRef(PyTuple_GET_ITEM(parts, 2))) < 0;
    }
    Py_XDECREF(parts);
    if (err) {
        Py_XDECREF(ev);
        return NULL;
    }
    return ev;
}

static int width_of(Codec *k, int version) { return version == 2 ? 18 : version == 1 ? k->ev1_width : 0; }

/* lazy/full(buf, off, end, version, base) -> Event | None (None: not well formed) */
static PyObject *codec_event(Codec *k, PyObject *const *args, Py_ssize_t nargs, int full)
{
    if (nargs != 5 || !PyBytes_CheckExact(args[0]))
        return PyErr_Format(PyExc_TypeError, "(buf: bytes, off, end, version, base) expected");
    Py_ssize_t off = PyLong_AsSsize_t(args[1]), end = PyLong_AsSsize_t(args[2]);
    long version = PyLong_AsLong(args[3]);
    if (PyErr_Occurred())
        return NULL;
    int width = width_of(k, (int)version);
    if (width == 0 || off < 0 || end > PyBytes_GET_SIZE(args[0]) || off > end)
        Py_RETURN_NONE;
    Ctx c = {(const unsigned char *)PyBytes_AS_STRING(args[0]), k->le, k->table};
    Head h;
    int rc = read_head(k, &c, off, end, width, &h);
    if (rc < 0)
        return NULL;
    if (rc > 0)
        Py_RETURN_NONE;
    PyObject *ev = build_event(k, &c, args[0], args[4], &h, full);
    if (ev == ANOMALY)
        Py_RETURN_NONE;
    return ev;
}

static PyObject *codec_lazy(Codec *k, PyObject *const *args, Py_ssize_t nargs)
{
    return codec_event(k, args, nargs, 0);
}

static PyObject *codec_full(Codec *k, PyObject *const *args, Py_ssize_t nargs)
{
    return codec_event(k, args, nargs, 1);
}

/* decode_tail(buf, p, end) -> (params, meta, process) | None */
static PyObject *codec_decode_tail(Codec *k, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyBytes_CheckExact(args[0]))
        return PyErr_Format(PyExc_TypeError, "(buf: bytes, p, end) expected");
    Py_ssize_t p = PyLong_AsSsize_t(args[1]), end = PyLong_AsSsize_t(args[2]);
    if (PyErr_Occurred())
        return NULL;
    if (p < 0 || end > PyBytes_GET_SIZE(args[0]) || p > end)
        Py_RETURN_NONE;
    Ctx c = {(const unsigned char *)PyBytes_AS_STRING(args[0]), k->le, k->table};
    PyObject *got = decode_tail_at(k, &c, p, end);
    return got == ANOMALY ? Py_NewRef(Py_None) : got;
}
