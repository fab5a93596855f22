/* Part of _speedups.c, which includes every part once, in order (one translation unit).
 * State updates read from raw bytes: handles, modules, threads; updates without events. */

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
