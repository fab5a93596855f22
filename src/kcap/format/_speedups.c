/*
 * Optional accelerator for the hottest loop of kcap: turning event sections into Event objects.
 *
 * It decodes only what is well formed. At the first anomaly of any kind (unknown section type
 * or version, a length running past its record, an unknown parameter type, a process body that
 * does not decode, bytes left over) it stops and tells the caller where; the pure-Python decoder
 * in events.py then decodes that one section and raises the precise error. So the messages,
 * the error policy and the semantics live in one place, and this file is only a faster way to
 * produce the same objects. tests/format/test_speedups.py checks both paths give equal results.
 *
 * Objects are built the way their classes would build them: Event, Timestamp and Params are
 * __slots__ classes whose slots are filled by offset (taken from the classes' member
 * descriptors at configure time), Param is a tuple subclass.
 *
 * The code is in parts by concern (the .h files in speedups/), included here once each, in order:
 * one translation unit, so everything stays static and a part sees what the parts before it
 * define.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#include <structmember.h> /* PyMemberDef, for slot offsets */

enum {
    C_STR16 = 1, C_I8, C_U8, C_I16, C_U16, C_I32, C_U32, C_I64, C_U64, C_F64, C_F32, C_BOOL,
    C_BIN32, C_BIN16, C_IPV4, C_IPV6, C_TIME, C_SLICE, C_NONE
};


#include "speedups/classes.h"
#include "speedups/primitives.h"
#include "speedups/events.h"
#include "speedups/handles.h"
#include "speedups/process.h"
#include "speedups/state.h"
#include "speedups/replay.h"
#include "speedups/timestamps.h"
#include "speedups/encode.h"

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS, "Bind the model classes (Event, Param, ...)."},
    {"decode_batch", decode_batch, METH_VARARGS, "Decode well-formed event sections."},
    {"decode_event", decode_event, METH_VARARGS, "Decode one well-formed event body."},
    {"stored_timestamp", stored_timestamp, METH_O, "The undecoded timestamp of a lazy event."},
    {"decode_tail", decode_tail, METH_VARARGS, "Decode parameters and metadata."},
    {"encode_tail", encode_tail, METH_VARARGS, "Encode parameters and metadata."},
    {"configure_handles", configure_handles, METH_VARARGS, "Bind the handle classes."},
    {"decode_handles", decode_handles, METH_VARARGS, "Decode length-prefixed handle records."},
    {"decode_handle_run", decode_handle_run, METH_VARARGS, "Decode the handle records in a buffer."},
    {"handle_updaters", handle_updaters, METH_VARARGS, "CreateHandle/CloseHandle state updaters."},
    {"value_reader", value_reader, METH_VARARGS, "Reads named parameter values of events."},
    {"replay_loop", replay_loop, METH_VARARGS, "Reader.read's per-event loop."},
    {"deferred", deferred, METH_O, "An iterator started on its first next()."},
    {"parse_time", parse_time, METH_O, "Parse canonical RFC 3339 text to (ns, offset)."},
    {"load_ns", load_ns, METH_O, "Parse a Timestamp's canonical text into its slots."},
    {"check_run", check_run, METH_VARARGS, "How many raw events in a row certainly decode."},
    {"scan_sections", scan_sections, METH_VARARGS, "The complete event sections in a buffer."},
    {"configure_process", configure_process, METH_O, "Bind the Process class."},
    {"decode_process", decode_process, METH_VARARGS, "Decode a common process body."},
    {"module_loaders", module_loaders, METH_VARARGS, "LoadImage/ImageRundown state updaters."},
    {"thread_updater", thread_updater, METH_VARARGS, "CreateThread/ThreadRundown state updater."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "kcap.format._speedups",
    "Optional C accelerator for decoding event sections (see events.py).", -1, methods,
};

PyMODINIT_FUNC PyInit__speedups(void)
{
    if (PyType_Ready(&RawTailType) < 0)
        return NULL;
    return PyModule_Create(&module);
}
