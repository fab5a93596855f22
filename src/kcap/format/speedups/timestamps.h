/* Part of _speedups.c, which includes every part once, in order (one translation unit).
 * Timestamps: canonical RFC 3339 parsing, lazy stored timestamps, trial checks. */

/* ------------------------------------------------------------------ timestamps */

/*
 * parse_time(text) -> (utc_ns, offset_seconds) | None for the canonical RFC 3339 forms
 * writers store (ASCII digits, 'T', 'Z' or +hh:mm, 1-9 fraction digits, years 1678-2261 so the
 * nanoseconds fit 64 bits). None means "not decided here": model/timestamp.py's parser, which
 * holds the rules, then parses the text or rejects it.
 */
static int two_or_four(const unsigned char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

static long long days_from_civil(long long y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* 1 with *ns and *offset set when s[0:n] is canonical RFC 3339 text (see parse_time), else 0. */
static int canonical_time(const unsigned char *s, Py_ssize_t n, long long *ns, long long *offset)
{
    int y, mo, d, h, mi, sec, hh = 0, mm = 0;
    if (n < 20 || n > 64 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
        s[13] != ':' || s[16] != ':')
        return 0;
    if (!two_or_four(s, 4, &y) || !two_or_four(s + 5, 2, &mo) || !two_or_four(s + 8, 2, &d) ||
        !two_or_four(s + 11, 2, &h) || !two_or_four(s + 14, 2, &mi) ||
        !two_or_four(s + 17, 2, &sec))
        return 0;
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1678 || y > 2261 || mo < 1 || mo > 12 || d < 1 ||
        d > dim[mo - 1] + (mo == 2 && leap) || h > 23 || mi > 59)
        return 0;
    Py_ssize_t end;
    int sign = 0;
    if (s[n - 1] == 'Z' || s[n - 1] == 'z') {
        end = n - 1;
    } else if (n >= 25 && s[n - 3] == ':' && (s[n - 6] == '+' || s[n - 6] == '-')) {
        if (!two_or_four(s + n - 5, 2, &hh) || !two_or_four(s + n - 2, 2, &mm) || hh > 23 ||
            mm > 59)
            return 0;
        sign = s[n - 6] == '+' ? 1 : -1;
        end = n - 6;
    } else {
        return 0;
    }
    long long frac = 0;
    if (end > 19) {
        Py_ssize_t digits = end - 20;
        if ((s[19] != '.' && s[19] != ',') || digits < 1 || digits > 9)
            return 0;
        for (Py_ssize_t i = 20; i < end; i++) {
            if (s[i] < '0' || s[i] > '9') return 0;
            frac = frac * 10 + (s[i] - '0');
        }
        for (Py_ssize_t i = digits; i < 9; i++)
            frac *= 10;
    }
    *offset = sign * (hh * 3600LL + mm * 60LL);
    long long secs = days_from_civil(y, mo, d) * 86400LL + h * 3600LL + mi * 60LL + sec - *offset;
    *ns = secs * 1000000000LL + frac;
    return 1;
}

static PyObject *parse_time(PyObject *self, PyObject *arg)
{
    if (!PyUnicode_Check(arg) || !PyUnicode_IS_ASCII(arg))
        Py_RETURN_NONE;
    long long ns, offset;
    if (!canonical_time((const unsigned char *)PyUnicode_DATA(arg), PyUnicode_GET_LENGTH(arg),
                        &ns, &offset))
        Py_RETURN_NONE;
    return Py_BuildValue("(LL)", ns, offset);
}

/* load_ns(ts) -> int | None: parse a Timestamp's canonical text into its _ns and _offset slots
 * and return the nanoseconds; None leaves it to Timestamp.ns (any other text, its verdicts). */
static PyObject *load_ns(PyObject *self, PyObject *ts)
{
    if (TimestampT == NULL || Py_TYPE(ts) != TimestampT)
        Py_RETURN_NONE;
    PyObject *txt = SLOT(ts, o_ts_text);
    if (txt == NULL || !PyUnicode_Check(txt) || !PyUnicode_IS_ASCII(txt))
        Py_RETURN_NONE;
    long long ns, offset;
    if (!canonical_time((const unsigned char *)PyUnicode_DATA(txt), PyUnicode_GET_LENGTH(txt),
                        &ns, &offset))
        Py_RETURN_NONE;
    PyObject *ns_obj = PyLong_FromLongLong(ns), *off_obj = PyLong_FromLongLong(offset);
    if (ns_obj == NULL || off_obj == NULL) {
        Py_XDECREF(ns_obj);
        Py_XDECREF(off_obj);
        return NULL;
    }
    set_slot(ts, o_ts_ns, Py_NewRef(ns_obj));
    set_slot(ts, o_ts_offset, off_obj);
    return ns_obj;
}

/*
 * 1 when the body buf[off:end] would decode under this layout, without an embedded process
 * body, and carries a canonical, valid timestamp -- decided without building anything; 0 when
 * it cannot tell (the decoders then decide: generation detection uses this for its trial);
 * -1 on error.
 */
static int body_checks(PyObject *buf, Py_ssize_t off, Py_ssize_t end, int version,
                       int ev1_width, int le, PyObject *table)
{
    int width = version == 2 ? 18 : version == 1 ? ev1_width : 0;
    if (width == 0 || off < 0 || end > PyBytes_GET_SIZE(buf) || off > end)
        return 0;
    Ctx c = {(const unsigned char *)PyBytes_AS_STRING(buf), le, table, NULL};
    Py_ssize_t p = off + 16 + width + 1;
    if (p > end)
        return 0;
    for (int i = 0; i < 4; i++) {
        if (p + 2 > end)
            return 0;
        p += 2 + rd16(&c, p);
    }
    if (p + 2 > end)
        return 0;
    Py_ssize_t n = rd16(&c, p);
    if (p + 2 + n > end)
        return 0;
    long long ns, offset;
    if (!canonical_time(c.b + p + 2, n, &ns, &offset))
        return 0;
    p += 2 + n;
    Fields none = {0};
    PyObject *out[1] = {NULL};
    int rc = raw_fields(&c, p, end, &none, out);
    return rc < 0 ? -1 : rc == 0;
}

/*
 * check_run(raws, start, ev1_width, little, table) -> int
 * How many raw events (buf, off, end, version, base) from raws[start] on pass body_checks'
 * test in a row: the generation trial vouches for them without a call per event.
 */
static PyObject *check_run(PyObject *self, PyObject *args)
{
    PyObject *raws, *table;
    Py_ssize_t start;
    int ev1_width, le;
    if (!PyArg_ParseTuple(args, "O!nipO!", &PyList_Type, &raws, &start, &ev1_width, &le,
                          &PyTuple_Type, &table))
        return NULL;
    Py_ssize_t i = start < 0 ? 0 : start;
    for (; i < PyList_GET_SIZE(raws); i++) {
        PyObject *raw = PyList_GET_ITEM(raws, i);
        if (!PyTuple_CheckExact(raw) || PyTuple_GET_SIZE(raw) != 5 ||
            !PyBytes_CheckExact(PyTuple_GET_ITEM(raw, 0)))
            break;
        Py_ssize_t off = PyLong_AsSsize_t(PyTuple_GET_ITEM(raw, 1));
        Py_ssize_t end = PyLong_AsSsize_t(PyTuple_GET_ITEM(raw, 2));
        long version = PyLong_AsLong(PyTuple_GET_ITEM(raw, 3));
        if (PyErr_Occurred())
            return NULL;
        int rc = body_checks(PyTuple_GET_ITEM(raw, 0), off, end, (int)version, ev1_width, le,
                             table);
        if (rc < 0)
            return NULL;
        if (rc == 0)
            break;
    }
    return PyLong_FromSsize_t(i - (start < 0 ? 0 : start));
}

/*
 * scan_sections(buf, pos, base, max_record, limit, max_bytes, little)
 *   -> (raws, pos, body bytes)
 * The raw events (buf, body start, body end, section version, base) of the complete event
 * sections at buf[pos:], at most `limit` of them and stopping once their bodies reach
 * `max_bytes`; it stops early at anything else (not an event section, too large, cut by the
 * end of buf), which the Python reader then reads and, if need be, reports.
 */
static PyObject *scan_sections(PyObject *self, PyObject *args)
{
    PyObject *buf, *base;
    Py_ssize_t pos, max_record, limit, max_bytes, total = 0;
    int le;
    if (!PyArg_ParseTuple(args, "O!nOnnnp", &PyBytes_Type, &buf, &pos, &base, &max_record,
                          &limit, &max_bytes, &le))
        return NULL;
    Ctx c = {(const unsigned char *)PyBytes_AS_STRING(buf), le, NULL, NULL};
    Py_ssize_t len = PyBytes_GET_SIZE(buf);
    PyObject *raws = PyList_New(0);
    if (raws == NULL)
        return NULL;
    while (pos >= 0 && PyList_GET_SIZE(raws) < limit && total < max_bytes && pos + 10 <= len) {
        const unsigned char *h = c.b + pos;
        Py_ssize_t size = rd32(&c, pos + 6);
        if (h[0] != 3 || size > max_record || pos + 10 + size > len)
            break;
        PyObject *raw = Py_BuildValue("(OnniO)", buf, pos + 10, pos + 10 + size, (int)h[1], base);
        if (raw == NULL || PyList_Append(raws, raw) < 0) {
            Py_XDECREF(raw);
            Py_DECREF(raws);
            return NULL;
        }
        Py_DECREF(raw);
        total += size;
        pos += 10 + size;
    }
    return Py_BuildValue("(Nnn)", raws, pos, total);
}
