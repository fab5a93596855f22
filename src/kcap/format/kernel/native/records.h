/* Part of _native.c (one translation unit; each part is included once, in order).
 * Any declared structure: one at a time, or a run of records in a buffer. */

typedef struct {
    PyObject_HEAD
    Node *node;
    int le;
} Program;

static void program_dealloc(Program *self)
{
    free_node(self->node);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* decode(buf, p, end) -> (value, p_after) | None (None: not well formed) */
static PyObject *program_decode(Program *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyBytes_CheckExact(args[0]))
        return PyErr_Format(PyExc_TypeError, "(buf: bytes, p, end) expected");
    Py_ssize_t p = PyLong_AsSsize_t(args[1]), end = PyLong_AsSsize_t(args[2]);
    if (PyErr_Occurred())
        return NULL;
    if (p < 0 || end > PyBytes_GET_SIZE(args[0]) || p > end)
        Py_RETURN_NONE;
    Ctx c = {(const unsigned char *)PyBytes_AS_STRING(args[0]), self->le, NULL};
    PyObject *v = decode_node(&c, self->node, &p, end);
    if (v == NULL)
        return NULL;
    if (v == ANOMALY)
        Py_RETURN_NONE;
    return Py_BuildValue("Nn", v, p);
}

/*
 * run(buf, p, count) -> (values, p_after, stopped)
 * Up to `count` values one after the other from buf[p:], as long as each is complete in buf
 * and well formed; `stopped` is true when one was not (the caller reads it the careful way).
 */
static PyObject *program_run(Program *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyBytes_CheckExact(args[0]))
        return PyErr_Format(PyExc_TypeError, "(buf: bytes, p, count) expected");
    Py_ssize_t p = PyLong_AsSsize_t(args[1]), count = PyLong_AsSsize_t(args[2]);
    if (PyErr_Occurred())
        return NULL;
    Py_ssize_t end = PyBytes_GET_SIZE(args[0]);
    Ctx c = {(const unsigned char *)PyBytes_AS_STRING(args[0]), self->le, NULL};
    PyObject *out = PyList_New(0);
    int stopped = 0;
    for (Py_ssize_t i = 0; out != NULL && i < count && p >= 0 && p < end; i++) {
        Py_ssize_t q = p;
        PyObject *v = decode_node(&c, self->node, &q, end);
        if (v == NULL) {
            Py_CLEAR(out);
            break;
        }
        if (v == ANOMALY) {
            stopped = 1;
            break;
        }
        int err = PyList_Append(out, v);
        Py_DECREF(v);
        if (err < 0)
            Py_CLEAR(out);
        p = q;
    }
    return out ? Py_BuildValue("Nnb", out, p, stopped) : NULL;
}

static PyMethodDef program_methods[] = {
    {"decode", (PyCFunction)(void (*)(void))program_decode, METH_FASTCALL,
     "decode(buf, p, end) -> (value, p_after) | None"},
    {"run", (PyCFunction)(void (*)(void))program_run, METH_FASTCALL,
     "run(buf, p, count) -> (values, p_after, stopped)"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ProgramType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kcap.format.kernel._native.Program",
    .tp_basicsize = sizeof(Program),
    .tp_dealloc = (destructor)program_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A declared structure compiled for one byte order.",
    .tp_methods = program_methods,
};

/* program(node, little) -> Program */
static PyObject *program(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2)
        return PyErr_Format(PyExc_TypeError, "program(node, little) expected");
    int le = PyObject_IsTrue(args[1]);
    if (le < 0)
        return NULL;
    Node *node = compile_node(args[0]);
    if (node == NULL)
        return NULL;
    Program *prog = PyObject_New(Program, &ProgramType);
    if (prog == NULL) {
        free_node(node);
        return NULL;
    }
    prog->node = node;
    prog->le = le;
    return (PyObject *)prog;
}
