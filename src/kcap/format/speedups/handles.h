/* Part of _speedups.c, which includes every part once, in order (one translation unit).
 * Handle records: the snapshot after the header and the handles in process bodies. */

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
