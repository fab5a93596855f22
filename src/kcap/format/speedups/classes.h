/* Part of _speedups.c, which includes every part once, in order (one translation unit).
 * The model classes the accelerator builds, bound at configure time. */

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
