/* Part of _speedups.c, which includes every part once, in order (one translation unit).
 * Process bodies without a PE body. */

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
