/* Part of _native.c (one translation unit; each part is included once, in order).
 * Many event sections at a time: batches with per-kind actions, the trial, the section scan. */

/*
 * What to do with the events of a kind, as the caller (the replay loop) decided it: the kernel
 * knows nothing of why. The kind is the cached 5-tuple (type id, name, category, description,
 * host) that every event of one kind shares.
 */
enum {
    ACT_LAZY = 0,   /* build the event, its tail left undecoded */
    ACT_FULL = 1,   /* build the event, decoded */
    ACT_DROP = 2,   /* do not build it; count it in counts[0] */
    ACT_SKIP = 3,   /* do not build it; count it in counts[1] */
    ACT_VALUES = 4, /* do not build it; emit (tag, seq, pid, values of the names) */
};

/* An identity front for the actions dict: the kernel hands out one kind object per kind. */
#define ACTION_SLOTS 256
static struct {
    PyObject *dict, *kind, *action;
} action_cache[ACTION_SLOTS];

static PyObject *action_of(PyObject *actions, PyObject *classify, PyObject *kind)
{
    uintptr_t hv = ((uintptr_t)kind >> 4) ^ ((uintptr_t)actions >> 9);
    __typeof__(&action_cache[0]) e = &action_cache[hv % ACTION_SLOTS];
    if (e->dict == actions && e->kind == kind)
        return e->action; /* borrowed */
    PyObject *a = PyDict_GetItemWithError(actions, kind);
    if (a == NULL) {
        if (PyErr_Occurred())
            return NULL;
        PyObject *got = PyObject_CallOneArg(classify, kind);
        if (got == NULL)
            return NULL;
        a = PyDict_GetItemWithError(actions, kind); /* classify recorded it */
        if (a == NULL) {
            /* not recorded (a bounded dict that was cleared): use it for this event only */
            Py_XSETREF(e->action, got);
            Py_XSETREF(e->dict, NULL);
            Py_XSETREF(e->kind, NULL);
            return PyErr_Occurred() ? NULL : got;
        }
        Py_DECREF(got);
    }
    Py_XSETREF(e->dict, Py_NewRef(actions));
    Py_XSETREF(e->kind, Py_NewRef(kind));
    Py_XSETREF(e->action, Py_NewRef(a));
    return a;
}

/* An action's code and, for ACT_VALUES (a tuple (4, tag, names)), its tag and names. */
static int action_code(PyObject *a, PyObject **tag, PyObject **names)
{
    if (PyLong_CheckExact(a))
        return (int)PyLong_AsLong(a);
    if (PyTuple_CheckExact(a) && PyTuple_GET_SIZE(a) == 3 && PyLong_CheckExact(PyTuple_GET_ITEM(a, 0))) {
        *tag = PyTuple_GET_ITEM(a, 1);
        *names = PyTuple_GET_ITEM(a, 2);
        return (int)PyLong_AsLong(PyTuple_GET_ITEM(a, 0));
    }
    PyErr_SetString(PyExc_TypeError, "an action is an int or (4, tag, names)");
    return -1;
}

/*
 * batch(buf, pos, base, limit, max_record, actions, classify) -> (items, pos, anomaly, counts)
 * The complete event sections of buf[pos:], until the data ends, `limit` items were made, or a
 * section is not well formed (anomaly: pos is that section's start; the caller reads it the
 * careful way). Each section's kind selects its action in `actions` (asking classify(kind) for
 * a kind not there yet). items holds events and, for ACT_VALUES, (tag, seq, pid, values).
 * counts = (ACT_DROP sections, ACT_SKIP sections).
 */
static PyObject *codec_batch(Codec *k, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7 || !PyBytes_CheckExact(args[0]) || !PyDict_CheckExact(args[5]))
        return PyErr_Format(PyExc_TypeError,
                            "(buf, pos, base, limit, max_record, actions: dict, classify) expected");
    PyObject *buf = args[0], *base = args[2], *actions = args[5], *classify = args[6];
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]), limit = PyLong_AsSsize_t(args[3]);
    Py_ssize_t max_record = PyLong_AsSsize_t(args[4]);
    if (PyErr_Occurred())
        return NULL;
    Ctx c = {(const unsigned char *)PyBytes_AS_STRING(buf), k->le, k->table};
    Py_ssize_t len = PyBytes_GET_SIZE(buf), dropped = 0, skipped = 0;
    PyObject *items = PyList_New(0);
    if (items == NULL)
        return NULL;
    int anomaly = 0;
    while (pos >= 0 && PyList_GET_SIZE(items) < limit && pos + SEC_SIZE <= len) {
        const unsigned char *sh = c.b + pos;
        Py_ssize_t size = rd32(&c, pos + SEC_SIZE_AT);
        int width = width_of(k, sh[SEC_VERSION_AT]);
        if (sh[SEC_TYPE_AT] != EVENT_SECTION || width == 0 || size > max_record) {
            anomaly = 1;
            break;
        }
        if (pos + SEC_SIZE + size > len)
            break; /* the caller brings more data */
        Head h;
        int rc = read_head(k, &c, pos + SEC_SIZE, pos + SEC_SIZE + size, width, &h);
        if (rc < 0)
            goto error;
        if (rc > 0) {
            anomaly = 1;
            break;
        }
        PyObject *a = action_of(actions, classify, h.kind), *tag = NULL, *names = NULL;
        if (a == NULL)
            goto error;
        int code = action_code(a, &tag, &names);
        if (code < 0)
            goto error;
        PyObject *item = NULL;
        if (code == ACT_DROP || code == ACT_SKIP) {
            if (code == ACT_DROP)
                dropped++;
            else
                skipped++;
            pos += SEC_SIZE + size;
            continue;
        }
        if (code == ACT_VALUES) {
            PyObject *values = values_at(k, &c, h.tail, h.end, names);
            if (values == NULL)
                goto error;
            if (values != ANOMALY) {
                Py_ssize_t p = h.off;
                PyObject *seq = int_value(&c, k->head_codes[0], p);
                PyObject *pid = int_value(&c, k->head_codes[1], p + k->head_sizes[0]);
                item = seq && pid ? PyTuple_Pack(4, tag, seq, pid, values) : NULL;
                Py_XDECREF(seq);
                Py_XDECREF(pid);
                Py_DECREF(values);
                if (item == NULL)
                    goto error;
            }
            /* an unusual tail: the event is built and its update reads it the careful way */
        }
        if (item == NULL) {
            item = build_event(k, &c, buf, base, &h, code == ACT_FULL);
            if (item == NULL)
                goto error;
            if (item == ANOMALY) {
                anomaly = 1;
                break;
            }
        }
        int err = PyList_Append(items, item);
        Py_DECREF(item);
        if (err < 0)
            goto error;
        pos += SEC_SIZE + size;
    }
    return Py_BuildValue("Nnb(nn)", items, pos, anomaly, dropped, skipped);
error:
    Py_DECREF(items);
    return NULL;
}

/*
 * check_run(raws, start, valid_time) -> int
 * How many raw events (buf, off, end, version, base) from raws[start] on certainly decode under
 * this layout, without an embedded process body, with a timestamp valid_time(text) accepts, in
 * a row: the generation trial vouches for them without building them.
 */
static PyObject *codec_check_run(Codec *k, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyList_CheckExact(args[0]))
        return PyErr_Format(PyExc_TypeError, "(raws: list, start, valid_time) expected");
    PyObject *raws = args[0], *valid = args[2];
    Py_ssize_t start = PyLong_AsSsize_t(args[1]);
    if (PyErr_Occurred())
        return NULL;
    Py_ssize_t i = start < 0 ? 0 : start;
    PyObject *none = PyTuple_New(0);
    if (none == NULL)
        return NULL;
    for (; i < PyList_GET_SIZE(raws); i++) {
        PyObject *raw = PyList_GET_ITEM(raws, i);
        if (!PyTuple_CheckExact(raw) || PyTuple_GET_SIZE(raw) != 5 ||
            !PyBytes_CheckExact(PyTuple_GET_ITEM(raw, 0)))
            break;
        PyObject *buf = PyTuple_GET_ITEM(raw, 0);
        Py_ssize_t off = PyLong_AsSsize_t(PyTuple_GET_ITEM(raw, 1));
        Py_ssize_t end = PyLong_AsSsize_t(PyTuple_GET_ITEM(raw, 2));
        long version = PyLong_AsLong(PyTuple_GET_ITEM(raw, 3));
        if (PyErr_Occurred())
            goto error;
        int width = width_of(k, (int)version);
        if (width == 0 || off < 0 || end > PyBytes_GET_SIZE(buf) || off > end)
            break;
        Ctx c = {(const unsigned char *)PyBytes_AS_STRING(buf), k->le, k->table};
        Head h;
        int rc = read_head(k, &c, off, end, width, &h);
        if (rc < 0)
            goto error;
        if (rc > 0)
            break;
        PyObject *got = values_at(k, &c, h.tail, h.end, none);
        if (got == NULL)
            goto error;
        if (got == ANOMALY)
            break;
        Py_DECREF(got);
        PyObject *txt = text(&c, h.ts_at, h.ts_len);
        PyObject *ok = txt ? PyObject_CallOneArg(valid, txt) : NULL;
        Py_XDECREF(txt);
        if (ok == NULL)
            goto error;
        int yes = PyObject_IsTrue(ok);
        Py_DECREF(ok);
        if (yes < 0)
            goto error;
        if (!yes)
            break;
    }
    Py_DECREF(none);
    return PyLong_FromSsize_t(i - (start < 0 ? 0 : start));
error:
    Py_DECREF(none);
    return NULL;
}

/*
 * scan_sections(buf, pos, base, max_record, limit, max_bytes, little)
 *   -> (raws, pos, body bytes)
 * The raw events (buf, body start, body end, section version, base) of the complete event
 * sections at buf[pos:], at most `limit` of them and stopping once their bodies reach
 * `max_bytes`; it stops early at anything else (not an event section, too large, cut by the
 * end of buf), which the caller then reads and, if need be, reports.
 */
static PyObject *scan_sections(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7 || !PyBytes_CheckExact(args[0]))
        return PyErr_Format(PyExc_TypeError,
                            "(buf: bytes, pos, base, max_record, limit, max_bytes, little) expected");
    PyObject *buf = args[0], *base = args[2];
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]), max_record = PyLong_AsSsize_t(args[3]);
    Py_ssize_t limit = PyLong_AsSsize_t(args[4]), max_bytes = PyLong_AsSsize_t(args[5]), total = 0;
    int le = PyObject_IsTrue(args[6]);
    if (PyErr_Occurred() || le < 0)
        return NULL;
    Ctx c = {(const unsigned char *)PyBytes_AS_STRING(buf), le, NULL};
    Py_ssize_t len = PyBytes_GET_SIZE(buf);
    PyObject *raws = PyList_New(0);
    if (raws == NULL)
        return NULL;
    while (pos >= 0 && PyList_GET_SIZE(raws) < limit && total < max_bytes && pos + SEC_SIZE <= len) {
        const unsigned char *h = c.b + pos;
        Py_ssize_t size = rd32(&c, pos + SEC_SIZE_AT);
        if (h[SEC_TYPE_AT] != EVENT_SECTION || size > max_record || pos + SEC_SIZE + size > len)
            break;
        PyObject *raw = Py_BuildValue("(OnniO)", buf, pos + SEC_SIZE, pos + SEC_SIZE + size, (int)h[SEC_VERSION_AT], base);
        if (raw == NULL || PyList_Append(raws, raw) < 0) {
            Py_XDECREF(raw);
            Py_DECREF(raws);
            return NULL;
        }
        Py_DECREF(raw);
        total += size;
        pos += SEC_SIZE + size;
    }
    return Py_BuildValue("(Nnn)", raws, pos, total);
}
