/*
 * kcap's byte kernel in C: turns the bytes of a capture into model values and values into
 * bytes, driven by the layout declarations of kcap.format.schema (docs/engine.md).
 *
 * It knows the vocabulary of layout nodes (integers, text, lists, records, tagged unions,
 * framed records, nested sections, parameter lists) and nothing of what a capture means: no
 * filter, no state rule, no replay loop. The declarations it is given are compiled once into
 * trees of Node; decoding walks them. It decodes only what is well formed: at the first anomaly
 * of any kind it returns "not well formed" and the pure-Python twin (kcap.format.kernel.pure),
 * which reads the same declarations, decodes that one record and reports precisely what is
 * wrong. So the error messages live in one place. The typed interface is _native.pyi.
 *
 * The code is in parts by concern, included once each, in order: one translation unit, so
 * everything stays static and a part sees what the parts before it define.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#include <structmember.h> /* PyMemberDef, for slot offsets */

/* The section header, as kcap.format.schema declares it (set by configure()). */
static Py_ssize_t SEC_SIZE = 10, SEC_TYPE_AT = 0, SEC_VERSION_AT = 1, SEC_COUNT_AT = 2,
                  SEC_SIZE_AT = 6;
static int EVENT_SECTION = 3, PROCESS_SECTION = 1;

#include "nodes.h"
#include "decode.h"
#include "params.h"
#include "events.h"
#include "batch.h"
#include "records.h"
#include "encode.h"

/* ------------------------------------------------------------------ the event codec type */

static void codec_dealloc(Codec *self)
{
    free_node(self->meta);
    free_node(self->process);
    free_table(self->table);
    Py_XDECREF((PyObject *)self->event_type);
    for (int i = 0; i < 9; i++)
        Py_XDECREF(self->head[i].name);
    Slot *more[] = {&self->s_ps, &self->s_tail, &self->s_timestamp, &self->s_params, &self->s_meta,
                    &self->s_process};
    for (int i = 0; i < 6; i++)
        Py_XDECREF(more[i]->name);
    Py_XDECREF(self->fallback);
    Py_XDECREF(self->head_cache);
    if (self->picks != NULL) {
        free_picks(self->picks);
        Py_DECREF(self->picks);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

#define FASTCALL(fn) (PyCFunction)(void (*)(void))(fn), METH_FASTCALL

static PyMethodDef codec_methods[] = {
    {"lazy", FASTCALL(codec_lazy), "lazy(buf, off, end, version, base) -> Event | None"},
    {"full", FASTCALL(codec_full), "full(buf, off, end, version, base) -> Event | None"},
    {"decode_tail", FASTCALL(codec_decode_tail),
     "decode_tail(buf, p, end) -> (params, meta, process) | None"},
    {"batch", FASTCALL(codec_batch),
     "batch(buf, pos, base, limit, max_record, actions, classify) -> (items, pos, anomaly, counts)"},
    {"check_run", FASTCALL(codec_check_run), "check_run(raws, start, valid_time) -> int"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject CodecType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kcap.format.kernel._native.Codec",
    .tp_basicsize = sizeof(Codec),
    .tp_dealloc = (destructor)codec_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The event bodies of one file layout.",
    .tp_methods = codec_methods,
};

static int resolve_named(PyTypeObject *type, const char *name, Slot *slot)
{
    PyObject *s = PyUnicode_InternFromString(name);
    if (s == NULL)
        return -1;
    int rc = resolve_slot(type, s, slot);
    Py_DECREF(s);
    return rc;
}

/*
 * event_codec(body, table, little, ev1_width, min_body, event class, fallback) -> Codec
 * body: a schema.EventBody; table: dict wire id -> (ParamType, node or None).
 */
static PyObject *event_codec(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7 || !PyType_Check(args[5]))
        return PyErr_Format(PyExc_TypeError, "event_codec() takes 7 arguments (the 6th a class)");
    PyObject *body = args[0];
    /* ("event", width, head, shared, timestamp, tail) */
    if (!PyTuple_Check(body) || PyTuple_GET_SIZE(body) != 6)
        return PyErr_Format(PyExc_TypeError, "an event body is (op, width, head, shared, timestamp, tail)");
    PyObject *head = PyTuple_GET_ITEM(body, 2), *shared = PyTuple_GET_ITEM(body, 3),
             *tail = PyTuple_GET_ITEM(body, 5);
    if (!PyTuple_Check(head) || PyTuple_GET_SIZE(head) != 5 || !PyTuple_Check(shared) ||
        PyTuple_GET_SIZE(shared) != 4 || !PyTuple_Check(tail) || PyTuple_GET_SIZE(tail) < 2)
        return PyErr_Format(PyExc_TypeError,
                            "an event head is 5 fields (3 integers, the type id, the cpu), 4 shared "
                            "texts, and a tail of parameters, metadata and maybe a process section");
    int le = PyObject_IsTrue(args[2]);
    int ev1_width = (int)PyLong_AsLong(args[3]);
    Py_ssize_t min_body = PyLong_AsSsize_t(args[4]);
    if (le < 0 || PyErr_Occurred())
        return NULL;
    Codec *k = PyObject_New(Codec, &CodecType);
    if (k == NULL)
        return NULL;
    k->meta = k->process = NULL;
    k->table = NULL;
    memset(k->head, 0, sizeof(k->head));
    memset(&k->s_ps, 0, 6 * sizeof(Slot));
    k->event_type = (PyTypeObject *)Py_NewRef(args[5]);
    k->fallback = Py_NewRef(args[6]);
    k->head_cache = PyDict_New();
    k->picks = PyDict_New();
    k->le = le;
    k->ev1_width = ev1_width;
    k->min_body = min_body;
    k->headerless = PyTuple_GET_SIZE(tail) < 3;
    if (k->head_cache == NULL || k->picks == NULL)
        goto fail;
    /* the attributes the head fields fill, in the order the layout stores them */
    for (int i = 0; i < 9; i++) {
        PyObject *f = PyTuple_GET_ITEM(i < 5 ? head : shared, i < 5 ? i : i - 5);
        if (!PyTuple_Check(f) || PyTuple_GET_SIZE(f) != 3 || !PyUnicode_Check(PyTuple_GET_ITEM(f, 0))) {
            PyErr_SetString(PyExc_TypeError, "a field is (slot, label, node)");
            goto fail;
        }
        if (resolve_slot(k->event_type, PyTuple_GET_ITEM(f, 0), &k->head[i]) < 0)
            goto fail;
    }
    if (resolve_named(k->event_type, "ps", &k->s_ps) < 0 ||
        resolve_named(k->event_type, "tail", &k->s_tail) < 0 ||
        resolve_named(k->event_type, "timestamp", &k->s_timestamp) < 0 ||
        resolve_named(k->event_type, "params", &k->s_params) < 0 ||
        resolve_named(k->event_type, "meta", &k->s_meta) < 0 ||
        resolve_named(k->event_type, "process", &k->s_process) < 0)
        goto fail;
    for (int i = 0; i < 3; i++) {
        PyObject *node = PyTuple_GET_ITEM(PyTuple_GET_ITEM(head, i), 2);
        char code = code_of(node, 1);
        if (code == 0 || (k->head_sizes[i] = int_size(code)) == 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "the event head starts with three integers");
            goto fail;
        }
        k->head_codes[i] = code;
    }
    if ((k->table = compile_table(args[1])) == NULL)
        goto fail;
    if ((k->meta = compile_node(PyTuple_GET_ITEM(PyTuple_GET_ITEM(tail, 1), 2))) == NULL)
        goto fail;
    if (!k->headerless &&
        (k->process = compile_node(PyTuple_GET_ITEM(PyTuple_GET_ITEM(tail, 2), 2))) == NULL)
        goto fail;
    return (PyObject *)k;
fail:
    Py_DECREF(k);
    return NULL;
}

/* ------------------------------------------------------------------ module */

/* The function a capsule of a Cython module's C API holds, if its name (the function's C
 * signature) says it returns an object pointer and takes nargs objects; else NULL (the kernel
 * then builds objects by setting their attributes). */
static void *capsule_function(PyObject *cap, int nargs)
{
    if (cap == Py_None)
        return NULL;
    if (!PyCapsule_CheckExact(cap)) {
        PyErr_SetString(PyExc_TypeError, "constructors are capsules or None");
        return NULL;
    }
    const char *name = PyCapsule_GetName(cap);
    const char *args = name ? strchr(name, '(') : NULL;
    char want[256] = "(";
    for (int i = 0; i < nargs && strlen(want) < 200; i++)
        strcat(want, i ? ", PyObject *" : "PyObject *");
    strcat(want, ")");
    if (args == NULL || args - name < 3 || strncmp(name, "struct ", 7) != 0 ||
        strncmp(args - 2, " *", 2) != 0 || strcmp(args, want) != 0)
        return NULL;
    return PyCapsule_GetPointer(cap, name);
}

/*
 * configure(timestamp, ipv4, ipv6, param, params, section, constructors)
 * The model classes the kernel builds and the section header layout:
 * section = (size, type at, version at, count at, size at, event type, process type);
 * constructors = (event class, lazy event, whole event, stored timestamp): the compiled model's
 * constructors (capsules, checked by the caller against their C signatures) or Nones.
 */
static PyObject *configure(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7 || !PyType_Check(args[0]) || !PyType_Check(args[3]) || !PyType_Check(args[4]) ||
        !PyTuple_Check(args[6]) || PyTuple_GET_SIZE(args[6]) != 4)
        return PyErr_Format(PyExc_TypeError,
                            "configure(Timestamp, IPv4Address, IPv6Address, Param, Params, section, "
                            "(Event, lazy, whole, stored))");
    if (!PyType_IsSubtype((PyTypeObject *)args[3], &PyTuple_Type))
        return PyErr_Format(PyExc_TypeError, "Param must be a tuple subclass");
    Py_ssize_t v[7];
    if (!PyTuple_Check(args[5]) || PyTuple_GET_SIZE(args[5]) != 7)
        return PyErr_Format(PyExc_TypeError, "section is 7 integers");
    for (int i = 0; i < 7; i++)
        if ((v[i] = PyLong_AsSsize_t(PyTuple_GET_ITEM(args[5], i))) < 0)
            return PyErr_Occurred() ? NULL : PyErr_Format(PyExc_ValueError, "bad section layout");
    SEC_SIZE = v[0]; SEC_TYPE_AT = v[1]; SEC_VERSION_AT = v[2]; SEC_COUNT_AT = v[3];
    SEC_SIZE_AT = v[4]; EVENT_SECTION = (int)v[5]; PROCESS_SECTION = (int)v[6];
    PyObject *ctors = args[6];
    void *lazy = capsule_function(PyTuple_GET_ITEM(ctors, 1), 10);
    void *whole = lazy ? capsule_function(PyTuple_GET_ITEM(ctors, 2), 13) : NULL;
    void *stored = capsule_function(PyTuple_GET_ITEM(ctors, 3), 1);
    if (PyErr_Occurred())
        return NULL;
    Py_XSETREF(ctor_event_type, Py_NewRef(PyTuple_GET_ITEM(ctors, 0)));
    lazy_event_fn = whole ? (LazyEventFn)lazy : NULL;
    whole_event_fn = (WholeEventFn)whole;
    stored_time_fn = (StoredTimeFn)stored;
    Py_XSETREF(TimestampCls, Py_NewRef(args[0]));
    Py_XSETREF(IPv4Cls, Py_NewRef(args[1]));
    Py_XSETREF(IPv6Cls, Py_NewRef(args[2]));
    Py_XSETREF(ParamT, (PyTypeObject *)Py_NewRef(args[3]));
    Py_XSETREF(ParamsT, (PyTypeObject *)Py_NewRef(args[4]));
    PyObject *by_name = PyUnicode_InternFromString("by_name");
    PyObject *dups = PyUnicode_InternFromString("duplicates");
    if (by_name == NULL || dups == NULL) {
        Py_XDECREF(by_name);
        Py_XDECREF(dups);
        return NULL;
    }
    Py_XDECREF(params_by_name.name);
    Py_XDECREF(params_duplicates.name);
    memset(&params_by_name, 0, sizeof(Slot));
    memset(&params_duplicates, 0, sizeof(Slot));
    resolve_slot(ParamsT, by_name, &params_by_name);
    resolve_slot(ParamsT, dups, &params_duplicates);
    Py_DECREF(by_name);
    Py_DECREF(dups);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"configure", FASTCALL(configure), "Bind the model classes and the section header layout."},
    {"program", FASTCALL(program), "program(node, little) -> Program"},
    {"event_codec", FASTCALL(event_codec), "The event bodies of one file layout."},
    {"tail_encoder", FASTCALL(tail_encoder), "tail_encoder(wire, little) -> TailEncoder"},
    {"scan_sections", FASTCALL(scan_sections),
     "scan_sections(buf, pos, base, max_record, limit, max_bytes, little) -> (raws, pos, bytes)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "kcap.format.kernel._native",
    "kcap's byte kernel in C (see kcap.format.kernel).", -1, methods,
};

PyMODINIT_FUNC PyInit__native(void)
{
    if (PyType_Ready(&TailType) < 0 || PyType_Ready(&CodecType) < 0 ||
        PyType_Ready(&ProgramType) < 0 || PyType_Ready(&TailEncoderType) < 0)
        return NULL;
    if ((empty_tuple = PyTuple_New(0)) == NULL)
        return NULL;
    if ((str_text = PyUnicode_InternFromString("text")) == NULL ||
        (str_packed = PyUnicode_InternFromString("packed")) == NULL)
        return NULL;
    return PyModule_Create(&module);
}
