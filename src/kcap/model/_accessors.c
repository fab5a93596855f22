/*
 * Optional accelerator for reading the model's lazily filled attributes.
 *
 * Event.timestamp/params/meta/process and Timestamp.ns are Python properties because their
 * value may not exist yet (an undecoded tail, unparsed text). Once it exists, a property still
 * runs a Python function on every read, and a consumer reading every field of every event
 * spends a large share of its time there. A LazySlot replaces such a property: it returns the
 * __slots__ member behind it directly when that is filled, asks an optional C loader when it
 * is not, and hands every other case (and every assignment) to the original property, so the
 * semantics stay in the Python code. accel.py installs them; without this module, or with
 * KCAP_PURE_PYTHON set, the properties are used as they are.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h> /* PyMemberDef, for slot offsets */

typedef struct {
    PyObject_HEAD
    PyTypeObject *owner;  /* the class whose slots are read */
    Py_ssize_t value_off; /* the slot holding the value */
    Py_ssize_t tail_off;  /* a slot that, when None, means the value is final; -1: none */
    PyObject *loader;     /* loader(obj) -> value or None (None: ask the property); or NULL */
    PyObject *fallback;   /* the property this replaces */
} LazySlot;

#define SLOT(o, off) (*(PyObject **)((char *)(o) + (off)))

static PyObject *lazy_get(PyObject *self, PyObject *obj, PyObject *type)
{
    LazySlot *d = (LazySlot *)self;
    if (obj == NULL || obj == Py_None)
        return Py_NewRef(self);
    if (Py_TYPE(obj) != d->owner && !PyObject_TypeCheck(obj, d->owner))
        return Py_TYPE(d->fallback)->tp_descr_get(d->fallback, obj, type);
    PyObject *v = SLOT(obj, d->value_off);
    if (v != NULL && v != Py_None)
        return Py_NewRef(v);
    if (v == Py_None && d->tail_off >= 0) {
        PyObject *tail = SLOT(obj, d->tail_off);
        if (tail == NULL || tail == Py_None)
            return Py_NewRef(Py_None); /* decoded, and None is the value */
    }
    if (d->loader != NULL) {
        PyObject *loaded = PyObject_CallOneArg(d->loader, obj);
        if (loaded == NULL)
            return NULL;
        if (loaded != Py_None) {
            PyObject *old = SLOT(obj, d->value_off);
            SLOT(obj, d->value_off) = Py_NewRef(loaded);
            Py_XDECREF(old);
            return loaded;
        }
        Py_DECREF(loaded);
    }
    return Py_TYPE(d->fallback)->tp_descr_get(d->fallback, obj, type);
}

static int lazy_set(PyObject *self, PyObject *obj, PyObject *value)
{
    PyObject *fb = ((LazySlot *)self)->fallback;
    return Py_TYPE(fb)->tp_descr_set(fb, obj, value);
}

static int lazy_traverse(PyObject *self, visitproc visit, void *arg)
{
    LazySlot *d = (LazySlot *)self;
    Py_VISIT(d->owner);
    Py_VISIT(d->loader);
    Py_VISIT(d->fallback);
    return 0;
}

static int lazy_clear(PyObject *self)
{
    LazySlot *d = (LazySlot *)self;
    Py_CLEAR(d->owner);
    Py_CLEAR(d->loader);
    Py_CLEAR(d->fallback);
    return 0;
}

static void lazy_dealloc(PyObject *self)
{
    PyObject_GC_UnTrack(self);
    lazy_clear(self);
    Py_TYPE(self)->tp_free(self);
}

static Py_ssize_t member_offset(PyObject *descr, PyTypeObject **owner)
{
    if (!PyObject_TypeCheck(descr, &PyMemberDescr_Type)) {
        PyErr_SetString(PyExc_TypeError, "LazySlot takes __slots__ member descriptors");
        return -1;
    }
    PyMemberDescrObject *m = (PyMemberDescrObject *)descr;
    if (m->d_member->type != T_OBJECT_EX) {
        PyErr_SetString(PyExc_TypeError, "LazySlot reads object slots only");
        return -1;
    }
    *owner = m->d_common.d_type;
    return m->d_member->offset;
}

/* LazySlot(value_member, tail_member_or_None, loader_or_None, fallback_property) */
static PyObject *lazy_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *value_m, *tail_m, *loader, *fallback;
    if (kwds != NULL && PyDict_GET_SIZE(kwds) > 0) {
        PyErr_SetString(PyExc_TypeError, "LazySlot takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "OOOO:LazySlot", &value_m, &tail_m, &loader, &fallback))
        return NULL;
    PyTypeObject *owner, *tail_owner;
    Py_ssize_t value_off = member_offset(value_m, &owner), tail_off = -1;
    if (value_off < 0)
        return NULL;
    if (tail_m != Py_None) {
        if ((tail_off = member_offset(tail_m, &tail_owner)) < 0)
            return NULL;
        if (tail_owner != owner) {
            PyErr_SetString(PyExc_TypeError, "LazySlot: both slots must belong to one class");
            return NULL;
        }
    }
    if (loader != Py_None && !PyCallable_Check(loader)) {
        PyErr_SetString(PyExc_TypeError, "LazySlot: the loader must be callable or None");
        return NULL;
    }
    if (Py_TYPE(fallback)->tp_descr_get == NULL || Py_TYPE(fallback)->tp_descr_set == NULL) {
        PyErr_SetString(PyExc_TypeError, "LazySlot: the fallback must be a data descriptor");
        return NULL;
    }
    LazySlot *d = (LazySlot *)type->tp_alloc(type, 0);
    if (d == NULL)
        return NULL;
    d->owner = (PyTypeObject *)Py_NewRef(owner);
    d->value_off = value_off;
    d->tail_off = tail_off;
    d->loader = loader == Py_None ? NULL : Py_NewRef(loader);
    d->fallback = Py_NewRef(fallback);
    return (PyObject *)d;
}

/* help() and documentation tools see the property's docstring. */
static PyObject *lazy_doc(PyObject *self, void *closure)
{
    return PyObject_GetAttrString(((LazySlot *)self)->fallback, "__doc__");
}

static PyObject *lazy_fallback(PyObject *self, void *closure)
{
    return Py_NewRef(((LazySlot *)self)->fallback);
}

static PyGetSetDef lazy_getset[] = {
    {"__doc__", lazy_doc, NULL, NULL, NULL},
    {"fallback", lazy_fallback, NULL, "The property this descriptor replaces.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject LazySlotType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kcap.model._accessors.LazySlot",
    .tp_basicsize = sizeof(LazySlot),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "A property's fast path: the slot behind it when filled, else the property.",
    .tp_new = lazy_new,
    .tp_dealloc = lazy_dealloc,
    .tp_traverse = lazy_traverse,
    .tp_clear = lazy_clear,
    .tp_descr_get = lazy_get,
    .tp_descr_set = lazy_set,
    .tp_getset = lazy_getset,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "kcap.model._accessors",
    "Fast paths for the model's lazily filled attributes.", -1, NULL,
};

PyMODINIT_FUNC PyInit__accessors(void)
{
    if (PyType_Ready(&LazySlotType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "LazySlot", (PyObject *)&LazySlotType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
