/* Part of _native.c (one translation unit; each part is included once, in order).
 * An event's parameter list, read by the file's parameter table. */

/* A file's parameter table, compiled: per wire id, the logical type and the node of its value
 * (NULL: the writer stores no value for that type, so such an event does not decode). */
typedef struct Params {
    Py_ssize_t n;
    PyObject **ptype; /* per wire id, or NULL for an unknown id */
    Node **node;
} ParamTable;

static PyTypeObject *ParamT, *ParamsT;
static Slot params_by_name, params_duplicates;

static void free_table(ParamTable *t)
{
    if (t == NULL)
        return;
    for (Py_ssize_t i = 0; i < t->n; i++) {
        Py_XDECREF(t->ptype[i]);
        free_node(t->node[i]);
    }
    PyMem_Free(t->ptype);
    PyMem_Free(t->node);
    PyMem_Free(t);
}

/* table: dict wire id -> (ParamType, node or None) */
static ParamTable *compile_table(PyObject *table)
{
    if (!PyDict_Check(table)) {
        PyErr_SetString(PyExc_TypeError, "the parameter table must be a dict");
        return NULL;
    }
    Py_ssize_t n = 0, pos = 0;
    PyObject *k, *v;
    while (PyDict_Next(table, &pos, &k, &v)) {
        Py_ssize_t id = PyLong_AsSsize_t(k);
        if (id < 0 || id > 0xFFFF) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "parameter ids are u16");
            return NULL;
        }
        if (id + 1 > n)
            n = id + 1;
    }
    ParamTable *t = PyMem_Calloc(1, sizeof(ParamTable));
    if (t == NULL)
        return (ParamTable *)PyErr_NoMemory();
    t->n = n;
    t->ptype = PyMem_Calloc(n + 1, sizeof(PyObject *));
    t->node = PyMem_Calloc(n + 1, sizeof(Node *));
    if (t->ptype == NULL || t->node == NULL) {
        free_table(t);
        return (ParamTable *)PyErr_NoMemory();
    }
    pos = 0;
    while (PyDict_Next(table, &pos, &k, &v)) {
        Py_ssize_t id = PyLong_AsSsize_t(k);
        if (!PyTuple_Check(v) || PyTuple_GET_SIZE(v) != 2) {
            PyErr_SetString(PyExc_TypeError, "a table entry is (ParamType, node)");
            free_table(t);
            return NULL;
        }
        t->ptype[id] = Py_NewRef(PyTuple_GET_ITEM(v, 0));
        PyObject *node = PyTuple_GET_ITEM(v, 1);
        if (node != Py_None && (t->node[id] = compile_node(node)) == NULL) {
            free_table(t);
            return NULL;
        }
    }
    return t;
}

/* The element kind name a slice value was read as (a Param's fourth item), else None. */
static PyObject *slice_elem(const Ctx *c, const Node *n, Py_ssize_t p)
{
    if (n->op != OP_SLICE)
        return Py_NewRef(Py_None);
    for (Py_ssize_t i = 0; i < n->n; i++)
        if (n->tags[i] == c->b[p])
            return Py_NewRef(n->extra[i]);
    return Py_NewRef(Py_None);
}

/* The parameter list at *pp as a Params object; NULL on error, ANOMALY when not well formed. */
static PyObject *decode_params(const Ctx *c, Py_ssize_t *pp, Py_ssize_t end)
{
    const ParamTable *t = c->params;
    Py_ssize_t p = *pp;
    if (t == NULL || p + 2 > end)
        return ANOMALY;
    Py_ssize_t count = rd16(c, p);
    p += 2;
    /* dups: the repeated names, made when the first one is met (Params takes an empty tuple
     * for none, as most events have) */
    PyObject *by_name = PyDict_New(), *dups = NULL, *result = NULL;
    if (by_name == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (p + 4 > end) { result = ANOMALY; goto done; }
        Py_ssize_t wire = rd16(c, p), nlen = rd16(c, p + 2);
        p += 4;
        if (p + nlen > end || wire >= t->n || t->ptype[wire] == NULL || t->node[wire] == NULL) {
            result = ANOMALY;
            goto done;
        }
        PyObject *name = shared_text(c, p, nlen); /* names repeat: one str, hash kept */
        if (name == NULL)
            goto done;
        p += nlen;
        const Node *vn = t->node[wire];
        Py_ssize_t at = p;
        PyObject *v;
        /* the two kinds most values are, without the general dispatch */
        if (vn->op == OP_INT && p + vn->width <= end) {
            v = int_value(c, vn->code, p);
            p += vn->width;
        } else if (vn->op == OP_TEXT && p + 2 <= end && p + 2 + rd16(c, p) <= end) {
            Py_ssize_t k = rd16(c, p);
            v = vn->shared ? shared_text(c, p + 2, k) : text(c, p + 2, k);
            p += 2 + k;
        } else {
            v = decode_node(c, vn, &p, end);
        }
        if (v == NULL || v == ANOMALY) {
            Py_DECREF(name);
            result = v;
            goto done;
        }
        PyObject *param = ParamT->tp_alloc(ParamT, 4);
        if (param == NULL) {
            Py_DECREF(name);
            Py_DECREF(v);
            goto done;
        }
        PyTuple_SET_ITEM(param, 0, name);
        PyTuple_SET_ITEM(param, 1, Py_NewRef(t->ptype[wire]));
        PyTuple_SET_ITEM(param, 2, v);
        PyTuple_SET_ITEM(param, 3, slice_elem(c, vn, at));
        /* Immutable and holding no container (slices are lists): it can close no cycle. */
        if (!PyList_Check(v))
            PyObject_GC_UnTrack(param);
        PyObject *first = PyDict_SetDefault(by_name, name, param); /* borrowed */
        int err = first == NULL ? -1 : 0;
        if (first != NULL && first != param) {
            if (dups == NULL && (dups = PyList_New(0)) == NULL)
                err = -1;
            else
                err = PyList_Append(dups, param);
        }
        Py_DECREF(param);
        if (err < 0)
            goto done;
    }
    PyObject *params = ParamsT->tp_new(ParamsT, empty_tuple, NULL);
    if (params == NULL)
        goto done;
    if (set_attr(params, &params_by_name, by_name) < 0 ||
        set_attr(params, &params_duplicates, dups ? dups : Py_NewRef(empty_tuple)) < 0) {
        by_name = dups = NULL;
        Py_DECREF(params);
        goto done;
    }
    by_name = dups = NULL;
    *pp = p;
    result = params;
done:
    Py_XDECREF(by_name);
    Py_XDECREF(dups);
    return result;
}

/* ------------------------------------------------------------------ picking values */

/* Parameter names to pick out of a tail, as UTF-8. */
#define MAX_PICK 16
typedef struct {
    int n;
    const char *utf8[MAX_PICK];
    Py_ssize_t len[MAX_PICK];
} Pick;

static int fill_pick(PyObject *names, Pick *pk)
{
    if (!PyTuple_Check(names) || PyTuple_GET_SIZE(names) > MAX_PICK) {
        PyErr_Format(PyExc_ValueError, "names must be a tuple of at most %d str", MAX_PICK);
        return -1;
    }
    pk->n = (int)PyTuple_GET_SIZE(names);
    for (int f = 0; f < pk->n; f++) {
        PyObject *k = PyTuple_GET_ITEM(names, f);
        if (!PyUnicode_Check(k)) {
            PyErr_SetString(PyExc_TypeError, "names must be str");
            return -1;
        }
        if ((pk->utf8[f] = PyUnicode_AsUTF8AndSize(k, &pk->len[f])) == NULL)
            return -1;
    }
    return 0;
}

/*
 * The first value of each picked name in the parameter list at p (out[] gets new references
 * or NULL), checking the whole list and the parameters it skips as a decoder would: 0 ok, 1 not
 * well formed, -1 error. *pp moves past the list.
 */
static int pick_params(const Ctx *c, Py_ssize_t *pp, Py_ssize_t end, const Pick *pk, PyObject **out)
{
    const ParamTable *t = c->params;
    Py_ssize_t p = *pp;
    if (t == NULL || p + 2 > end) return 1;
    Py_ssize_t count = rd16(c, p);
    p += 2;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (p + 4 > end) return 1;
        Py_ssize_t wire = rd16(c, p), nlen = rd16(c, p + 2);
        p += 4;
        if (p + nlen > end || wire >= t->n || t->ptype[wire] == NULL || t->node[wire] == NULL)
            return 1;
        int field = -1;
        for (int f = 0; f < pk->n; f++) {
            if (out[f] == NULL && pk->len[f] == nlen && memcmp(c->b + p, pk->utf8[f], nlen) == 0) {
                field = f;
                break;
            }
        }
        p += nlen;
        if (field < 0) {
            if ((p = skip_node(c, t->node[wire], p, end)) < 0) return 1;
            continue;
        }
        PyObject *v = decode_node(c, t->node[wire], &p, end);
        if (v == NULL) return -1;
        if (v == ANOMALY) return 1;
        out[field] = v;
    }
    *pp = p;
    return 0;
}
