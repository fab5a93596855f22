/* Part of _native.c (one translation unit; each part is included once, in order).
 * Layout nodes compiled from the declarations of kcap.format.schema, and the objects they build. */

/* ------------------------------------------------------------------ compiled nodes */

enum {
    OP_INT, OP_BOOL, OP_FLOAT, OP_TEXT, OP_TIME, OP_RAW, OP_BLOB, OP_ADDRESS, OP_SLICE,
    OP_SEQ, OP_PAIR, OP_RECORD, OP_TAGGED, OP_FRAMED, OP_SECTION, OP_PARAMS
};

/* How one attribute of a built object is set: at a slot offset (a __slots__ member), through a
 * C setter (a compiled class's attribute), or by name (anything else). */
typedef struct {
    Py_ssize_t offset; /* > 0: a member slot */
    setter set;        /* else, when not NULL: the getset descriptor's setter */
    void *closure;
    PyObject *name;    /* else: setattr by name */
} Slot;

typedef struct Node Node;
struct Node {
    int op;
    char code;          /* INT/FLOAT: struct code; BLOB/FRAMED: 'H' or 'I' */
    int shared;         /* TEXT: repeated text, handed out from the cache */
    int empty;          /* FRAMED: a length of 0 means no value */
    int atoms;          /* RECORD: holds only immutable atoms: left out of the cycle collector */
    Py_ssize_t width;   /* INT/FLOAT/RAW/ADDRESS: bytes; FRAMED: least length; SECTION: type */
    Py_ssize_t n;       /* children */
    Node **kids;        /* SEQ/PAIR: items; RECORD: fields; TAGGED/SECTION/SLICE: cases */
    long *tags;         /* TAGGED: tags; SECTION: versions; SLICE: kind bytes */
    Node *counted;      /* SECTION: the item of a counted section */
    PyObject **extra;   /* SLICE: element names; RECORD defaults (value or factory) */
    int *is_factory;    /* RECORD: which defaults are factories */
    Slot *slots;        /* RECORD: fields then defaults */
    Py_ssize_t nslots;
    PyTypeObject *type; /* RECORD */
};

static PyObject *empty_tuple, *IPv4Cls, *IPv6Cls, *TimestampCls;

/* The model's own constructors, where the model is compiled (configure() receives them from
 * the modules' C API): kcap.model.event._lazy_event / _whole_event and
 * kcap.model.timestamp._stored. They take borrowed references and return a new one (NULL with
 * an exception on error). Where absent, objects are made by setting their attributes. */
typedef PyObject *(*LazyEventFn)(PyObject *, PyObject *, PyObject *, PyObject *, PyObject *,
                                 PyObject *, PyObject *, PyObject *, PyObject *, PyObject *);
typedef PyObject *(*WholeEventFn)(PyObject *, PyObject *, PyObject *, PyObject *, PyObject *,
                                  PyObject *, PyObject *, PyObject *, PyObject *, PyObject *,
                                  PyObject *, PyObject *, PyObject *);
typedef PyObject *(*StoredTimeFn)(PyObject *);
static PyObject *ctor_event_type; /* the class the two event constructors make */
static LazyEventFn lazy_event_fn;
static WholeEventFn whole_event_fn;
static StoredTimeFn stored_time_fn;

static void free_node(Node *n)
{
    if (n == NULL)
        return;
    for (Py_ssize_t i = 0; i < n->n; i++)
        free_node(n->kids[i]);
    free_node(n->counted);
    if (n->extra != NULL) {
        Py_ssize_t k = n->op == OP_RECORD ? n->nslots - n->n : n->n;
        for (Py_ssize_t i = 0; i < k; i++)
            Py_XDECREF(n->extra[i]);
    }
    if (n->slots != NULL)
        for (Py_ssize_t i = 0; i < n->nslots; i++)
            Py_XDECREF(n->slots[i].name);
    Py_XDECREF((PyObject *)n->type);
    PyMem_Free(n->kids);
    PyMem_Free(n->tags);
    PyMem_Free(n->extra);
    PyMem_Free(n->is_factory);
    PyMem_Free(n->slots);
    PyMem_Free(n);
}

static Node *new_node(int op, Py_ssize_t n)
{
    Node *node = PyMem_Calloc(1, sizeof(Node));
    if (node == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    node->op = op;
    if (n > 0) {
        node->kids = PyMem_Calloc(n, sizeof(Node *));
        node->tags = PyMem_Calloc(n, sizeof(long));
        if (node->kids == NULL || node->tags == NULL) {
            free_node(node);
            PyErr_NoMemory();
            return NULL;
        }
    }
    node->n = n;
    return node;
}

static int resolve_slot(PyTypeObject *type, PyObject *name, Slot *slot)
{
    slot->name = Py_NewRef(name);
    PyObject *d = _PyType_Lookup(type, name); /* borrowed */
    if (d != NULL && Py_IS_TYPE(d, &PyMemberDescr_Type)) {
        PyMemberDef *m = ((PyMemberDescrObject *)d)->d_member;
        if (m->type == T_OBJECT_EX || m->type == T_OBJECT)
            slot->offset = m->offset;
    } else if (d != NULL && Py_IS_TYPE(d, &PyGetSetDescr_Type)) {
        PyGetSetDef *g = ((PyGetSetDescrObject *)d)->d_getset;
        slot->set = g->set;
        slot->closure = g->closure;
    }
    return 0;
}

/* Store v (a new reference, stolen) as attribute `slot` of o: 0 ok, -1 error. */
static int set_attr(PyObject *o, const Slot *slot, PyObject *v)
{
    if (slot->offset > 0) {
        PyObject **addr = (PyObject **)((char *)o + slot->offset);
        PyObject *old = *addr;
        *addr = v;
        Py_XDECREF(old);
        return 0;
    }
    int rc = slot->set != NULL ? slot->set(o, v, slot->closure) : PyObject_SetAttr(o, slot->name, v);
    Py_DECREF(v);
    return rc;
}

static int atom_node(const Node *n)
{
    switch (n->op) {
    case OP_INT: case OP_BOOL: case OP_FLOAT: case OP_TEXT: case OP_TIME: case OP_RAW:
    case OP_BLOB: case OP_ADDRESS:
        return 1;
    case OP_RECORD:
        return n->atoms;
    case OP_TAGGED:
        for (Py_ssize_t i = 0; i < n->n; i++)
            if (n->kids[i] != NULL && !atom_node(n->kids[i]))
                return 0;
        return 1;
    default:
        return 0;
    }
}

static Node *compile_node(PyObject *t);

static int op_is(PyObject *op, const char *name) { return PyUnicode_CompareWithASCIIString(op, name) == 0; }

static char code_of(PyObject *t, Py_ssize_t i)
{
    PyObject *c = PyTuple_GetItem(t, i);
    if (c == NULL || !PyUnicode_Check(c) || PyUnicode_GET_LENGTH(c) != 1) {
        PyErr_SetString(PyExc_TypeError, "a layout code must be one character");
        return 0;
    }
    return (char)PyUnicode_READ_CHAR(c, 0);
}

static Py_ssize_t int_size(char code)
{
    switch (code) {
    case 'B': case 'b': return 1;
    case 'H': case 'h': return 2;
    case 'I': case 'i': case 'f': return 4;
    case 'Q': case 'q': case 'd': return 8;
    default: return 0;
    }
}

static Node *compile_record(PyObject *t)
{
    /* ("record", cls, what, fields, defaults) */
    PyObject *cls = PyTuple_GetItem(t, 1), *fields = PyTuple_GetItem(t, 3),
             *defaults = PyTuple_GetItem(t, 4);
    if (cls == NULL || fields == NULL || defaults == NULL)
        return NULL;
    if (!PyType_Check(cls) || !PyTuple_Check(fields) || !PyTuple_Check(defaults)) {
        PyErr_SetString(PyExc_TypeError, "a record is (op, class, what, fields, defaults)");
        return NULL;
    }
    Py_ssize_t nf = PyTuple_GET_SIZE(fields), nd = PyTuple_GET_SIZE(defaults);
    Node *n = new_node(OP_RECORD, nf);
    if (n == NULL)
        return NULL;
    n->type = (PyTypeObject *)Py_NewRef(cls);
    n->nslots = nf + nd;
    n->slots = PyMem_Calloc(nf + nd + 1, sizeof(Slot));
    n->extra = PyMem_Calloc(nd + 1, sizeof(PyObject *));
    n->is_factory = PyMem_Calloc(nd + 1, sizeof(int));
    if (n->slots == NULL || n->extra == NULL || n->is_factory == NULL) {
        free_node(n);
        PyErr_NoMemory();
        return NULL;
    }
    n->atoms = 1;
    for (Py_ssize_t i = 0; i < nf; i++) {
        PyObject *f = PyTuple_GET_ITEM(fields, i); /* Field(slot, label, node) */
        if (!PyTuple_Check(f) || PyTuple_GET_SIZE(f) != 3 || !PyUnicode_Check(PyTuple_GET_ITEM(f, 0))) {
            PyErr_SetString(PyExc_TypeError, "a field is (slot, label, node)");
            free_node(n);
            return NULL;
        }
        if ((n->kids[i] = compile_node(PyTuple_GET_ITEM(f, 2))) == NULL ||
            resolve_slot(n->type, PyTuple_GET_ITEM(f, 0), &n->slots[i]) < 0) {
            free_node(n);
            return NULL;
        }
        if (!atom_node(n->kids[i]))
            n->atoms = 0;
    }
    for (Py_ssize_t i = 0; i < nd; i++) {
        PyObject *d = PyTuple_GET_ITEM(defaults, i); /* (slot, value or factory) */
        if (!PyTuple_Check(d) || PyTuple_GET_SIZE(d) != 2 || !PyUnicode_Check(PyTuple_GET_ITEM(d, 0))) {
            PyErr_SetString(PyExc_TypeError, "a default is (slot, value)");
            free_node(n);
            return NULL;
        }
        PyObject *v = PyTuple_GET_ITEM(d, 1);
        n->extra[i] = Py_NewRef(v);
        n->is_factory[i] = PyCallable_Check(v) && !PyType_Check(v);
        if (n->is_factory[i] || !(v == Py_None || PyLong_CheckExact(v) || PyUnicode_CheckExact(v) ||
                                  PyBool_Check(v)))
            n->atoms = 0;
        if (resolve_slot(n->type, PyTuple_GET_ITEM(d, 0), &n->slots[nf + i]) < 0) {
            free_node(n);
            return NULL;
        }
    }
    /* A class whose instances hold only atoms and that has no cycle-collector support of its
     * own (dataclasses with __slots__ do) is untracked after building. */
    if (!PyType_HasFeature(n->type, Py_TPFLAGS_HAVE_GC))
        n->atoms = 0;
    return n;
}

static Node *compile_cases(PyObject *cases, int op)
{
    /* ((tag, node or None), ...) */
    if (!PyTuple_Check(cases)) {
        PyErr_SetString(PyExc_TypeError, "cases must be a tuple");
        return NULL;
    }
    Py_ssize_t k = PyTuple_GET_SIZE(cases);
    Node *n = new_node(op, k);
    if (n == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < k; i++) {
        PyObject *c = PyTuple_GET_ITEM(cases, i);
        if (!PyTuple_Check(c) || PyTuple_GET_SIZE(c) != 2 || !PyLong_Check(PyTuple_GET_ITEM(c, 0))) {
            PyErr_SetString(PyExc_TypeError, "a case is (tag, node)");
            free_node(n);
            return NULL;
        }
        n->tags[i] = PyLong_AsLong(PyTuple_GET_ITEM(c, 0));
        PyObject *sub = PyTuple_GET_ITEM(c, 1);
        if (sub != Py_None && (n->kids[i] = compile_node(sub)) == NULL) {
            free_node(n);
            return NULL;
        }
    }
    return n;
}

/* Compile one node tuple of kcap.format.schema into a Node (NULL with an exception set). */
static Node *compile_node(PyObject *t)
{
    if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) < 1 || !PyUnicode_Check(PyTuple_GET_ITEM(t, 0))) {
        PyErr_SetString(PyExc_TypeError, "a layout node is a tuple starting with its op");
        return NULL;
    }
    PyObject *op = PyTuple_GET_ITEM(t, 0);
    Node *n = NULL;
    if (op_is(op, "int") || op_is(op, "float")) {
        char code = code_of(t, 1);
        if (code == 0 || int_size(code) == 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "unknown integer code");
            return NULL;
        }
        n = new_node(op_is(op, "int") ? OP_INT : OP_FLOAT, 0);
        if (n) { n->code = code; n->width = int_size(code); }
    } else if (op_is(op, "bool")) {
        if ((n = new_node(OP_BOOL, 0))) n->width = 1;
    } else if (op_is(op, "text") || op_is(op, "time")) {
        n = new_node(op_is(op, "text") ? OP_TEXT : OP_TIME, 0);
        if (n && n->op == OP_TEXT) n->shared = PyObject_IsTrue(PyTuple_GetItem(t, 1)) == 1;
    } else if (op_is(op, "raw") || op_is(op, "address")) {
        Py_ssize_t w = PyLong_AsSsize_t(PyTuple_GetItem(t, 1));
        if (w < 0) return NULL;
        n = new_node(op_is(op, "raw") ? OP_RAW : OP_ADDRESS, 0);
        if (n) n->width = w;
    } else if (op_is(op, "blob")) {
        char code = code_of(t, 1);
        if (code == 0) return NULL;
        if ((n = new_node(OP_BLOB, 0))) n->code = code;
    } else if (op_is(op, "seq")) {
        if ((n = new_node(OP_SEQ, 1)) && (n->kids[0] = compile_node(PyTuple_GetItem(t, 1))) == NULL)
            goto fail;
    } else if (op_is(op, "pair")) {
        if ((n = new_node(OP_PAIR, 2)) &&
            ((n->kids[0] = compile_node(PyTuple_GetItem(t, 1))) == NULL ||
             (n->kids[1] = compile_node(PyTuple_GetItem(t, 2))) == NULL))
            goto fail;
    } else if (op_is(op, "record")) {
        n = compile_record(t);
    } else if (op_is(op, "tagged")) {
        n = compile_cases(PyTuple_GetItem(t, 2), OP_TAGGED);
    } else if (op_is(op, "framed")) {
        /* ("framed", prefix, item, what, empty, least) */
        char code = code_of(t, 1);
        if (code == 0) return NULL;
        if ((n = new_node(OP_FRAMED, 1)) == NULL) return NULL;
        n->code = code;
        n->empty = PyObject_IsTrue(PyTuple_GetItem(t, 4)) == 1;
        n->width = PyLong_AsSsize_t(PyTuple_GetItem(t, 5));
        if ((n->kids[0] = compile_node(PyTuple_GetItem(t, 2))) == NULL)
            goto fail;
    } else if (op_is(op, "section")) {
        /* ("section", stype, label, versions, counted) */
        if ((n = compile_cases(PyTuple_GetItem(t, 3), OP_SECTION)) == NULL) return NULL;
        n->width = PyLong_AsSsize_t(PyTuple_GetItem(t, 1));
        PyObject *counted = PyTuple_GetItem(t, 4);
        if (counted == NULL) goto fail;
        if (counted != Py_None && (n->counted = compile_node(counted)) == NULL)
            goto fail;
    } else if (op_is(op, "slice")) {
        /* ("slice", ((kind byte, elem name, node), ...)) */
        PyObject *kinds = PyTuple_GetItem(t, 1);
        if (kinds == NULL || !PyTuple_Check(kinds)) return NULL;
        Py_ssize_t k = PyTuple_GET_SIZE(kinds);
        if ((n = new_node(OP_SLICE, k)) == NULL) return NULL;
        if ((n->extra = PyMem_Calloc(k + 1, sizeof(PyObject *))) == NULL) goto fail;
        for (Py_ssize_t i = 0; i < k; i++) {
            PyObject *c = PyTuple_GET_ITEM(kinds, i);
            if (!PyTuple_Check(c) || PyTuple_GET_SIZE(c) != 3) {
                PyErr_SetString(PyExc_TypeError, "a slice kind is (byte, name, node)");
                goto fail;
            }
            n->tags[i] = PyLong_AsLong(PyTuple_GET_ITEM(c, 0));
            n->extra[i] = Py_NewRef(PyTuple_GET_ITEM(c, 1));
            if ((n->kids[i] = compile_node(PyTuple_GET_ITEM(c, 2))) == NULL)
                goto fail;
        }
    } else if (op_is(op, "params")) {
        n = new_node(OP_PARAMS, 0);
    } else {
        PyErr_Format(PyExc_ValueError, "unknown layout node %R", op);
    }
    if (n == NULL || PyErr_Occurred())
        goto fail;
    return n;
fail:
    free_node(n);
    return NULL;
}

/* A new instance of a record's class with every attribute from `values` (stolen, in slot order:
 * fields first) and the record's defaults. NULL on error (the values are released). */
static PyObject *build_record(const Node *n, PyObject **values)
{
    PyObject *o = n->type->tp_new(n->type, empty_tuple, NULL);
    Py_ssize_t i = 0;
    if (o == NULL)
        goto fail;
    for (; i < n->n; i++) {
        PyObject *v = values[i];
        values[i] = NULL;
        if (set_attr(o, &n->slots[i], v) < 0) { i++; goto fail; }
    }
    for (Py_ssize_t d = 0; d < n->nslots - n->n; d++) {
        PyObject *v = n->is_factory[d] ? PyObject_CallNoArgs(n->extra[d]) : Py_NewRef(n->extra[d]);
        if (v == NULL || set_attr(o, &n->slots[n->n + d], v) < 0)
            goto fail;
    }
    if (n->atoms && PyObject_GC_IsTracked(o))
        PyObject_GC_UnTrack(o);
    return o;
fail:
    for (; i < n->n; i++)
        Py_CLEAR(values[i]);
    Py_XDECREF(o);
    return NULL;
}
