/* Part of _speedups.c, which includes every part once, in order (one translation unit).
 * Reader.read's per-event loop and the iterator that starts it. */

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
