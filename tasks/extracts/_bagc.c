/*
 * samsa-decom: routing a PostgreSQL COPY stream into every organisation's bag files, in C.
 *
 * The C twin of the per-row loop in tasks/extracts/orgs.py (which stays in place and is used
 * whenever this module is missing, the source is not PostgreSQL, or a value falls outside what
 * is handled here). One Router per table:
 *
 *   Router(kinds, ncols, keys, orgs, org_col, recv_cols, count_unknown, flush_at)
 *   router.feed(data)  -> [(org index, received?, csv bytes, json bytes), ...]
 *   router.flush()     -> the same, for everything still buffered
 *   router.counts(received) -> rows written per organisation
 *   router.unknown()   -> {(column index, value or None): rows} of ids naming no organisation
 *
 * and one Pairs per run, the (person, organisation) pairs the record tables' routers saw:
 *
 *   pairs = Pairs()
 *   Router(..., collect=pairs, person_col=k)  # a record table: each row's person is noted
 *                                              # for every organisation it was written to
 *   Router(..., persons=pairs, person_col=k)  # the person table: each row goes to the
 *                                              # organisations noted for its id (org_col unused)
 *
 * so the persons follow the records without the server joining and sorting every record's
 * (person, organisation) again. A person id is compared as its COPY text, as the organisation
 * ids are. Only one router uses a Pairs at a time (the tables are routed one after another).
 *
 * `data` holds whole lines of `COPY ... TO STDOUT` text (TimeZone UTC, DateStyle ISO, bytea
 * hex). Each row is formatted once as a CSV line (Python's csv module: QUOTE_MINIMAL, CRLF) and
 * a JSON object (json.JSONEncoder(ensure_ascii=False) of tasks.extracts.source.json_value),
 * and appended to the buffers of the organisation named by `org_col` and, for received
 * records, of each receiver named in `recv_cols` (not the writer itself). A value the C code
 * does not format exactly as Python would raises ValueError: the caller writes the table again
 * the Python way.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

enum { K_TEXT = 0, K_INT = 1, K_FLOAT = 2, K_BOOL = 3, K_TSTZ = 4, K_TS = 5, K_DATE = 6,
       K_DECIMAL = 7, K_BYTES = 8 };

#define MAX_COLS 1024

typedef struct {
    char *p;
    size_t n, cap;
} buf_t;

static int buf_reserve(buf_t *b, size_t extra) {
    if (b->n + extra <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + extra) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return -1; /* the caller reports MemoryError once it holds the GIL again */
    b->p = p;
    b->cap = cap;
    return 0;
}

static inline int buf_put(buf_t *b, const char *s, size_t n) {
    if (buf_reserve(b, n) < 0) return -1;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return 0;
}

static inline int buf_putc(buf_t *b, char c) {
    if (b->n + 1 > b->cap && buf_reserve(b, 1) < 0) return -1;
    b->p[b->n++] = c;
    return 0;
}

typedef struct {
    PyObject_HEAD
    int ncols, nout;
    unsigned char kinds[MAX_COLS];
    PyObject *keys;          /* tuple of bytes: '{"col": ' / ', "col": ' */
    int norgs;
    char **org_key;
    size_t *org_len;
    int *table;              /* open addressing: org index + 1, 0 empty */
    size_t tsize;
    int org_col;
    int nrecv;
    int recv_cols[8];
    int count_unknown;
    size_t flush_at;
    buf_t *csv, *json;       /* [2 * norgs]: main then received */
    Py_ssize_t *count;       /* [2 * norgs] */
    PyObject *unknown;       /* dict */
    buf_t field[MAX_COLS];   /* room for fields that had escapes to decode */
    const char *fp[MAX_COLS]; /* the current row's fields: in the input, or in field[] */
    size_t fn[MAX_COLS];
    int isnull[MAX_COLS];
    buf_t line_csv, line_json, tmp;
    int last_org;            /* cache: index of the last looked-up org, -1 none */
    PyObject *collect;       /* Pairs noting each row's person per organisation, or NULL */
    PyObject *persons;       /* Pairs routing each row by its person, or NULL */
    int person_col;
    PyThreadState *ts;       /* while feed() runs without the GIL */
    char err[160];           /* a value not handled here (ValueError), set without the GIL */
    int pyerr;               /* a Python exception is set */
} Router;

/* The GIL around the few calls into Python while feed() runs without it. */
static inline void gil_take(Router *r) { PyEval_RestoreThread(r->ts); }
static inline void gil_give(Router *r) { r->ts = PyEval_SaveThread(); }

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static int org_find(Router *r, const char *s, size_t n) {
    if (r->last_org >= 0 && r->org_len[r->last_org] == n &&
        memcmp(r->org_key[r->last_org], s, n) == 0)
        return r->last_org;
    size_t i = hash_bytes(s, n) & (r->tsize - 1);
    while (r->table[i]) {
        int k = r->table[i] - 1;
        if (r->org_len[k] == n && memcmp(r->org_key[k], s, n) == 0) {
            r->last_org = k;
            return k;
        }
        i = (i + 1) & (r->tsize - 1);
    }
    return -1;
}

/* ------------------------------------------------------------ (person, organisation) pairs */

typedef struct {
    uint64_t h;
    size_t key_off;
    uint32_t key_len;
    uint32_t head;           /* first node of its organisations, 0 none */
} pentry_t;

typedef struct {
    uint32_t org;
    uint32_t next;
} pnode_t;

typedef struct {
    PyObject_HEAD
    buf_t keys;              /* every person id's bytes, one after another */
    pentry_t *ent;
    size_t nent, ent_cap;
    uint32_t *index;         /* open addressing: entry + 1, 0 empty */
    size_t isize;
    pnode_t *node;           /* node 0 unused */
    size_t nnode, node_cap;
} Pairs;

static PyTypeObject PairsType;

static int pairs_grow_index(Pairs *p) {
    size_t size = p->isize ? 2 * p->isize : 1 << 12;
    uint32_t *idx = calloc(size, sizeof(uint32_t));
    if (!idx) return -1;
    for (size_t e = 0; e < p->nent; e++) {
        size_t i = p->ent[e].h & (size - 1);
        while (idx[i]) i = (i + 1) & (size - 1);
        idx[i] = (uint32_t)(e + 1);
    }
    free(p->index);
    p->index = idx;
    p->isize = size;
    return 0;
}

/* The entry of person `s`, or -1; *slot is where it would go. */
static long pairs_lookup(const Pairs *p, const char *s, size_t n, uint64_t h, size_t *slot) {
    size_t i = h & (p->isize - 1);
    while (p->index[i]) {
        const pentry_t *e = &p->ent[p->index[i] - 1];
        if (e->h == h && e->key_len == n && memcmp(p->keys.p + e->key_off, s, n) == 0)
            return (long)(p->index[i] - 1);
        i = (i + 1) & (p->isize - 1);
    }
    *slot = i;
    return -1;
}

/* The first node of person `s`'s organisations, 0 when none was noted. */
static uint32_t pairs_head(const Pairs *p, const char *s, size_t n) {
    if (!p->nent) return 0;
    size_t slot;
    long e = pairs_lookup(p, s, n, hash_bytes(s, n), &slot);
    return e < 0 ? 0 : p->ent[e].head;
}

/* Notes that person `s` has a record in organisation `org`; -1 when out of memory. */
static int pairs_add(Pairs *p, const char *s, size_t n, int org) {
    if (n > UINT32_MAX || p->nent >= UINT32_MAX - 1 || p->nnode >= UINT32_MAX - 1) return -1;
    if (2 * (p->nent + 1) > p->isize && pairs_grow_index(p) < 0) return -1;
    uint64_t h = hash_bytes(s, n);
    size_t slot;
    long e = pairs_lookup(p, s, n, h, &slot);
    if (e < 0) {
        if (p->nent == p->ent_cap) {
            size_t cap = p->ent_cap ? 2 * p->ent_cap : 1 << 11;
            pentry_t *ent = realloc(p->ent, cap * sizeof *ent);
            if (!ent) return -1;
            p->ent = ent;
            p->ent_cap = cap;
        }
        size_t off = p->keys.n;
        if (buf_put(&p->keys, s, n) < 0) return -1;
        e = (long)p->nent++;
        p->ent[e] = (pentry_t){h, off, (uint32_t)n, 0};
        p->index[slot] = (uint32_t)(e + 1);
    }
    for (uint32_t k = p->ent[e].head; k; k = p->node[k].next)
        if (p->node[k].org == (uint32_t)org) return 0;
    if (p->nnode + 1 >= p->node_cap) {
        size_t cap = p->node_cap ? 2 * p->node_cap : 1 << 12;
        pnode_t *node = realloc(p->node, cap * sizeof *node);
        if (!node) return -1;
        p->node = node;
        p->node_cap = cap;
        if (!p->nnode) p->nnode = 1; /* node 0 stands for "none" */
    }
    p->node[p->nnode] = (pnode_t){(uint32_t)org, p->ent[e].head};
    p->ent[e].head = (uint32_t)p->nnode++;
    return 0;
}

static PyObject *Pairs_orgs_of(Pairs *p, PyObject *arg) {
    char *s;
    Py_ssize_t n;
    if (PyBytes_AsStringAndSize(arg, &s, &n) < 0) return NULL;
    PyObject *out = PyList_New(0);
    if (!out) return NULL;
    for (uint32_t k = pairs_head(p, s, (size_t)n); k; k = p->node[k].next) {
        PyObject *v = PyLong_FromUnsignedLong(p->node[k].org);
        if (!v || PyList_Append(out, v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(v);
    }
    if (PyList_Sort(out) < 0) {
        Py_DECREF(out);
        return NULL;
    }
    return out;
}

static PyObject *Pairs_sizes(Pairs *p, PyObject *Py_UNUSED(ignored)) {
    return Py_BuildValue("(nn)", (Py_ssize_t)p->nent, (Py_ssize_t)(p->nnode ? p->nnode - 1 : 0));
}

static void Pairs_dealloc(Pairs *p) {
    free(p->keys.p);
    free(p->ent);
    free(p->index);
    free(p->node);
    Py_TYPE(p)->tp_free((PyObject *)p);
}

static PyMethodDef Pairs_methods[] = {
    {"orgs_of", (PyCFunction)Pairs_orgs_of, METH_O,
     "The organisation indexes noted for a person id (its COPY text), sorted."},
    {"sizes", (PyCFunction)Pairs_sizes, METH_NOARGS, "(persons, pairs) noted so far."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject PairsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tasks.extracts._bagc.Pairs",
    .tp_basicsize = sizeof(Pairs),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The (person, organisation) pairs of the records routed so far.",
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)Pairs_dealloc,
    .tp_methods = Pairs_methods,
};

/* ------------------------------------------------------------ COPY text decoding -------- */

static inline int hexval(unsigned c) {
    if (c >= '0' && c <= '9') return c - '0';
    c |= 32;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Splits one line (without its \n) into r->field / r->isnull. Returns -1 on a wrong count. */
static int split_row(Router *r, const char *s, const char *end) {
    int col = 0;
    const char *p = s;
    for (;;) {
        if (col >= r->ncols) return -1;
        const char *q = memchr(p, '\t', (size_t)(end - p));
        if (!q) q = end;
        if (q - p == 2 && p[0] == '\\' && p[1] == 'N') {
            r->isnull[col] = 1;
            r->fp[col] = p;
            r->fn[col] = 0;
        } else if (col < r->nout && r->kinds[col] == K_BYTES && q - p >= 3 && p[0] == '\\' &&
                   p[1] == '\\' && p[2] == 'x') {
            r->isnull[col] = 0; /* bytea "\\x<hex>": only the doubled backslash to undo */
            r->fp[col] = p + 1;
            r->fn[col] = (size_t)(q - p - 1);
        } else if (!memchr(p, '\\', (size_t)(q - p))) {
            r->isnull[col] = 0; /* nothing to decode: the field is read where it is */
            r->fp[col] = p;
            r->fn[col] = (size_t)(q - p);
        } else {
            buf_t *f = &r->field[col];
            f->n = 0;
            r->isnull[col] = 0;
            if (buf_reserve(f, (size_t)(q - p)) < 0) return -2;
            char *o = f->p;
            const char *a = p;
            while (a < q) {
                char c = *a++;
                if (c != '\\' || a >= q) { *o++ = c; continue; }
                c = *a++;
                switch (c) {
                case 'b': *o++ = '\b'; break;
                case 'f': *o++ = '\f'; break;
                case 'n': *o++ = '\n'; break;
                case 'r': *o++ = '\r'; break;
                case 't': *o++ = '\t'; break;
                case 'v': *o++ = '\v'; break;
                case 'x': {
                    int v = 0, d = 0, h;
                    while (d < 2 && a < q && (h = hexval((unsigned char)*a)) >= 0) {
                        v = v * 16 + h; a++; d++;
                    }
                    if (d == 0) *o++ = 'x'; else *o++ = (char)v;
                    break;
                }
                default:
                    if (c >= '0' && c <= '7') {
                        int v = c - '0', d = 1;
                        while (d < 3 && a < q && *a >= '0' && *a <= '7') {
                            v = v * 8 + (*a - '0'); a++; d++;
                        }
                        *o++ = (char)v;
                    } else {
                        *o++ = c;
                    }
                }
            }
            f->n = (size_t)(o - f->p);
            r->fp[col] = f->p;
            r->fn[col] = f->n;
        }
        col++;
        if (q >= end) break;
        p = q + 1;
    }
    return col == r->ncols ? 0 : -1;
}

/* ------------------------------------------------------------ formatting --------------- */

static int unhandled_r(Router *r, int col, const char *why) {
    snprintf(r->err, sizeof r->err, "column %d: %s", col, why);
    return -1;
}

static int csv_text(buf_t *o, const char *s, size_t n) {
    int quote = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ',' || c == '"' || c == '\r' || c == '\n') { quote = 1; break; }
    }
    if (!quote) return buf_put(o, s, n);
    if (buf_reserve(o, 2 * n + 2) < 0) return -1;
    char *w = o->p + o->n;
    *w++ = '"';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') *w++ = '"';
        *w++ = s[i];
    }
    *w++ = '"';
    o->n = (size_t)(w - o->p);
    return 0;
}

static const char HEX[] = "0123456789abcdef";

static int json_text(buf_t *o, const char *s, size_t n) {
    if (buf_reserve(o, 6 * n + 2) < 0) return -1;
    char *w = o->p + o->n;
    *w++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') { *w++ = (char)c; continue; }
        *w++ = '\\';
        switch (c) {
        case '"': *w++ = '"'; break;
        case '\\': *w++ = '\\'; break;
        case '\n': *w++ = 'n'; break;
        case '\r': *w++ = 'r'; break;
        case '\t': *w++ = 't'; break;
        case '\b': *w++ = 'b'; break;
        case '\f': *w++ = 'f'; break;
        default:
            *w++ = 'u'; *w++ = '0'; *w++ = '0';
            *w++ = HEX[c >> 4]; *w++ = HEX[c & 15];
        }
    }
    *w++ = '"';
    o->n = (size_t)(w - o->p);
    return 0;
}

static inline int isdig(char c) { return c >= '0' && c <= '9'; }

/* "YYYY-MM-DD HH:MM:SS[.f…][+00]" -> "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" into tmp */
static int timestamp_iso(Router *r, buf_t *t, const char *s, size_t n, int tz, int col) {
    if (n < 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':')
        return unhandled_r(r, col, "timestamp form");
    for (int i = 0; i < 19; i++)
        if (i != 4 && i != 7 && i != 10 && i != 13 && i != 16 && !isdig(s[i]))
            return unhandled_r(r, col, "timestamp form");
    size_t i = 19;
    char frac[6] = {'0', '0', '0', '0', '0', '0'};
    int any = 0;
    if (i < n && s[i] == '.') {
        i++;
        int d = 0;
        while (i < n && isdig(s[i])) {
            if (d >= 6) return unhandled_r(r, col, "timestamp precision");
            frac[d++] = s[i++];
        }
        for (int k = 0; k < 6; k++) any |= frac[k] != '0';
    }
    if (tz) {
        if (!(n - i == 3 && s[i] == '+' && s[i + 1] == '0' && s[i + 2] == '0'))
            return unhandled_r(r, col, "timestamp offset");
    } else if (i != n) {
        return unhandled_r(r, col, "timestamp form");
    }
    t->n = 0;
    if (buf_reserve(t, 32) < 0) return -1;
    memcpy(t->p, s, 19);
    t->p[10] = 'T';
    t->n = 19;
    if (any) {
        t->p[t->n++] = '.';
        memcpy(t->p + t->n, frac, 6);
        t->n += 6;
    }
    t->p[t->n++] = 'Z';
    return 0;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int bytea_base64(Router *r, buf_t *t, const char *s, size_t n, int col) {
    if (n < 2 || s[0] != '\\' || s[1] != 'x' || (n - 2) % 2)
        return unhandled_r(r, col, "bytea form");
    size_t len = (n - 2) / 2;
    t->n = 0;
    if (buf_reserve(t, 4 * ((len + 2) / 3) + 4) < 0) return -1;
    const char *h = s + 2;
    char *w = t->p;
    unsigned char b[3];
    size_t i = 0;
    while (i < len) {
        int k = 0;
        for (; k < 3 && i < len; k++, i++) {
            int hi = hexval((unsigned char)h[2 * i]), lo = hexval((unsigned char)h[2 * i + 1]);
            if (hi < 0 || lo < 0) return unhandled_r(r, col, "bytea form");
            b[k] = (unsigned char)(hi * 16 + lo);
        }
        uint32_t v = (uint32_t)b[0] << 16 | (k > 1 ? (uint32_t)b[1] << 8 : 0) |
                     (k > 2 ? b[2] : 0);
        *w++ = B64[v >> 18 & 63];
        *w++ = B64[v >> 12 & 63];
        *w++ = k > 1 ? B64[v >> 6 & 63] : '=';
        *w++ = k > 2 ? B64[v & 63] : '=';
    }
    t->n = (size_t)(w - t->p);
    return 0;
}

/* str(Decimal(s)) == s for PostgreSQL's numeric output, except tiny values (scientific) */
static int decimal_ok(const char *s, size_t n) {
    size_t i = 0;
    if (i < n && s[i] == '-') i++;
    if (n - i == 3 && memcmp(s + i, "NaN", 3) == 0) return 1;
    if (n - i == 8 && memcmp(s + i, "Infinity", 8) == 0) return 1;
    if (i >= n) return 0;
    size_t digits = 0;
    while (i < n && isdig(s[i])) { i++; digits++; }
    if (!digits) return 0;
    if (i == n) return 1;
    if (s[i] != '.') return 0;
    const char *frac = s + i + 1;
    size_t nf = n - i - 1;
    for (size_t k = 0; k < nf; k++) if (!isdig(frac[k])) return 0;
    /* leading "0." with six zeros and more digits: Decimal writes it as 1E-7 etc. */
    if (digits == 1 && s[i - 1] == '0' && nf >= 7 && memcmp(frac, "000000", 6) == 0) return 0;
    return 1;
}

/* Formats the current row into line_csv and line_json. */
static int format_row(Router *r) {
    buf_t *c = &r->line_csv, *j = &r->line_json;
    c->n = 0;
    j->n = 0;
    for (int col = 0; col < r->nout; col++) {
        PyObject *key = PyTuple_GET_ITEM(r->keys, col);
        if (buf_put(j, PyBytes_AS_STRING(key), (size_t)PyBytes_GET_SIZE(key)) < 0) return -1;
        if (col && buf_putc(c, ',') < 0) return -1;
        if (r->isnull[col]) {
            if (buf_put(j, "null", 4) < 0) return -1;
            continue;
        }
        const char *s = r->fp[col];
        size_t n = r->fn[col];
        switch (r->kinds[col]) {
        case K_TEXT:
            if (csv_text(c, s, n) < 0 || json_text(j, s, n) < 0) return -1;
            if (r->nout == 1 && n == 0 && buf_put(c, "\"\"", 2) < 0) return -1;
            break;
        case K_INT:
            for (size_t k = 0; k < n; k++)
                if (!(isdig(s[k]) || (k == 0 && s[k] == '-' && n > 1)))
                    return unhandled_r(r, col, "integer form");
            if (buf_put(c, s, n) < 0 || buf_put(j, s, n) < 0) return -1;
            break;
        case K_FLOAT: {
            char tmp[64];
            if (n == 0 || n >= sizeof tmp) return unhandled_r(r, col, "float form");
            memcpy(tmp, s, n);
            tmp[n] = 0;
            char *endp;
            gil_take(r);
            double v = PyOS_string_to_double(tmp, &endp, NULL);
            if (v == -1.0 && PyErr_Occurred()) {
                PyErr_Clear();
                gil_give(r);
                return unhandled_r(r, col, "float");
            }
            char *txt = *endp ? NULL : PyOS_double_to_string(v, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
            if (!txt && !*endp) r->pyerr = 1;
            gil_give(r);
            if (*endp) return unhandled_r(r, col, "float form");
            if (!txt) return -1;
            size_t tl = strlen(txt);
            int rc = buf_put(c, txt, tl);
            if (rc == 0) {
                if (v != v) rc = buf_put(j, "NaN", 3);
                else if (v == Py_HUGE_VAL) rc = buf_put(j, "Infinity", 8);
                else if (v == -Py_HUGE_VAL) rc = buf_put(j, "-Infinity", 9);
                else rc = buf_put(j, txt, tl);
            }
            gil_take(r);
            PyMem_Free(txt);
            gil_give(r);
            if (rc < 0) return -1;
            break;
        }
        case K_BOOL:
            if (n == 1 && s[0] == 't') {
                if (buf_put(c, "true", 4) < 0 || buf_put(j, "true", 4) < 0) return -1;
            } else if (n == 1 && s[0] == 'f') {
                if (buf_put(c, "false", 5) < 0 || buf_put(j, "false", 5) < 0) return -1;
            } else {
                return unhandled_r(r, col, "boolean form");
            }
            break;
        case K_TSTZ:
        case K_TS:
            if (timestamp_iso(r, &r->tmp, s, n, r->kinds[col] == K_TSTZ, col) < 0) return -1;
            if (buf_put(c, r->tmp.p, r->tmp.n) < 0 || buf_putc(j, '"') < 0 ||
                buf_put(j, r->tmp.p, r->tmp.n) < 0 || buf_putc(j, '"') < 0)
                return -1;
            break;
        case K_DATE:
            if (n != 10 || s[4] != '-' || s[7] != '-' || !isdig(s[0]) || !isdig(s[1]) ||
                !isdig(s[2]) || !isdig(s[3]) || !isdig(s[5]) || !isdig(s[6]) ||
                !isdig(s[8]) || !isdig(s[9]))
                return unhandled_r(r, col, "date form");
            if (buf_put(c, s, n) < 0 || buf_putc(j, '"') < 0 || buf_put(j, s, n) < 0 ||
                buf_putc(j, '"') < 0)
                return -1;
            break;
        case K_DECIMAL:
            if (!decimal_ok(s, n)) return unhandled_r(r, col, "numeric form");
            if (buf_put(c, s, n) < 0 || buf_putc(j, '"') < 0 || buf_put(j, s, n) < 0 ||
                buf_putc(j, '"') < 0)
                return -1;
            break;
        case K_BYTES:
            if (bytea_base64(r, &r->tmp, s, n, col) < 0) return -1;
            if (buf_put(c, r->tmp.p, r->tmp.n) < 0 || buf_putc(j, '"') < 0 ||
                buf_put(j, r->tmp.p, r->tmp.n) < 0 || buf_putc(j, '"') < 0)
                return -1;
            break;
        default:
            return unhandled_r(r, col, "kind");
        }
    }
    if (buf_put(c, "\r\n", 2) < 0 || buf_putc(j, '}') < 0) return -1;
    return 0;
}

static int emit(Router *r, int slot) {
    buf_t *c = &r->csv[slot], *j = &r->json[slot];
    if (buf_put(c, r->line_csv.p, r->line_csv.n) < 0) return -1;
    if (buf_put(j, r->count[slot] ? ",\n" : "\n", r->count[slot] ? 2 : 1) < 0) return -1;
    if (buf_put(j, r->line_json.p, r->line_json.n) < 0) return -1;
    r->count[slot]++;
    return 0;
}

static int note_unknown_gil(Router *r, int col);

static int note_unknown(Router *r, int col) {
    gil_take(r);
    int rc = note_unknown_gil(r, col);
    if (rc < 0) r->pyerr = 1;
    gil_give(r);
    return rc;
}

static int note_unknown_gil(Router *r, int col) {
    PyObject *val = r->isnull[col] ? Py_NewRef(Py_None)
                                   : PyBytes_FromStringAndSize(r->fp[col],
                                                               (Py_ssize_t)r->fn[col]);
    if (!val) return -1;
    PyObject *key = Py_BuildValue("(iN)", col, val);
    if (!key) return -1;
    PyObject *old = PyDict_GetItemWithError(r->unknown, key);
    long n = old ? PyLong_AsLong(old) : 0;
    PyObject *nv = PyLong_FromLong(n + 1);
    int rc = nv ? PyDict_SetItem(r->unknown, key, nv) : -1;
    Py_XDECREF(nv);
    Py_DECREF(key);
    return rc;
}

/* A person row: into the file of every organisation noted for its id. */
static int route_person(Router *r) {
    int pc = r->person_col;
    if (r->isnull[pc]) return 0;
    Pairs *p = (Pairs *)r->persons;
    uint32_t k = pairs_head(p, r->fp[pc], r->fn[pc]);
    if (!k) return 0;
    if (format_row(r) < 0) return -1;
    for (; k; k = p->node[k].next)
        if (emit(r, (int)p->node[k].org) < 0) return -1;
    return 0;
}

/* Notes the current row's person for organisation `org` (when pairs are collected). */
static inline int note_person(Router *r, int org) {
    int pc = r->person_col;
    if (!r->collect || r->isnull[pc]) return 0;
    return pairs_add((Pairs *)r->collect, r->fp[pc], r->fn[pc], org);
}

static int route_row(Router *r) {
    if (r->persons) return route_person(r);
    int formatted = 0;
    int oc = r->org_col;
    int org = -1;
    if (!r->isnull[oc]) org = org_find(r, r->fp[oc], r->fn[oc]);
    if (org >= 0) {
        if (format_row(r) < 0) return -1;
        formatted = 1;
        if (emit(r, org) < 0 || note_person(r, org) < 0) return -1;
    } else if (r->count_unknown) {
        if (note_unknown(r, oc) < 0) return -1;
    }
    for (int k = 0; k < r->nrecv; k++) {
        int rc = r->recv_cols[k];
        if (r->isnull[rc]) continue;
        if (!r->isnull[oc] && r->fn[rc] == r->fn[oc] &&
            memcmp(r->fp[rc], r->fp[oc], r->fn[rc]) == 0)
            continue;
        int dest = org_find(r, r->fp[rc], r->fn[rc]);
        if (dest < 0) {
            if (r->count_unknown && note_unknown(r, rc) < 0) return -1;
            continue;
        }
        if (!formatted) {
            if (format_row(r) < 0) return -1;
            formatted = 1;
        }
        if (emit(r, r->norgs + dest) < 0 || note_person(r, dest) < 0) return -1;
    }
    return 0;
}

static PyObject *take(Router *r, size_t at_least) {
    PyObject *out = PyList_New(0);
    if (!out) return NULL;
    for (int slot = 0; slot < 2 * r->norgs; slot++) {
        buf_t *c = &r->csv[slot], *j = &r->json[slot];
        if (c->n + j->n == 0 || c->n + j->n < at_least) continue;
        PyObject *t = Py_BuildValue("(iiy#y#)", slot % r->norgs, slot >= r->norgs, c->p,
                                    (Py_ssize_t)c->n, j->p, (Py_ssize_t)j->n);
        if (!t || PyList_Append(out, t) < 0) {
            Py_XDECREF(t);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(t);
        c->n = 0;
        j->n = 0;
        /* a buffer that grew for a large batch or row gives its memory back */
        if (c->cap > 2 * r->flush_at) { free(c->p); c->p = NULL; c->cap = 0; }
        if (j->cap > 2 * r->flush_at) { free(j->p); j->p = NULL; j->cap = 0; }
    }
    return out;
}

static PyObject *Router_feed(Router *r, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    const char *p = view.buf, *end = p + view.len;
    int failed = 0;
    r->err[0] = 0;
    r->pyerr = 0;
    gil_give(r); /* the per-row work runs while other threads read and write files */
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            snprintf(r->err, sizeof r->err, "COPY data does not end with a whole line");
            failed = 1;
            break;
        }
        int rc = split_row(r, p, nl);
        if (rc == -1) snprintf(r->err, sizeof r->err, "COPY row with a wrong column count");
        if (rc < 0 || route_row(r) < 0) {
            failed = 1;
            break;
        }
        p = nl + 1;
    }
    gil_take(r);
    PyBuffer_Release(&view);
    if (failed) {
        if (r->pyerr) return NULL;
        if (r->err[0]) PyErr_SetString(PyExc_ValueError, r->err);
        else PyErr_NoMemory();
        return NULL;
    }
    return take(r, r->flush_at);
}

static PyObject *Router_flush(Router *r, PyObject *Py_UNUSED(ignored)) { return take(r, 0); }

static PyObject *Router_counts(Router *r, PyObject *arg) {
    int recv = PyObject_IsTrue(arg);
    if (recv < 0) return NULL;
    PyObject *out = PyList_New(r->norgs);
    if (!out) return NULL;
    for (int i = 0; i < r->norgs; i++) {
        PyObject *v = PyLong_FromSsize_t(r->count[(recv ? r->norgs : 0) + i]);
        if (!v) { Py_DECREF(out); return NULL; }
        PyList_SET_ITEM(out, i, v);
    }
    return out;
}

static PyObject *Router_unknown(Router *r, PyObject *Py_UNUSED(ignored)) {
    return PyDict_Copy(r->unknown);
}

static void Router_dealloc(Router *r) {
    if (r->org_key) {
        for (int i = 0; i < r->norgs; i++) free(r->org_key[i]);
        free(r->org_key);
    }
    free(r->org_len);
    free(r->table);
    if (r->csv) for (int i = 0; i < 2 * r->norgs; i++) free(r->csv[i].p);
    if (r->json) for (int i = 0; i < 2 * r->norgs; i++) free(r->json[i].p);
    free(r->csv);
    free(r->json);
    free(r->count);
    for (int i = 0; i < MAX_COLS; i++) free(r->field[i].p);
    free(r->line_csv.p);
    free(r->line_json.p);
    free(r->tmp.p);
    Py_XDECREF(r->keys);
    Py_XDECREF(r->unknown);
    Py_XDECREF(r->collect);
    Py_XDECREF(r->persons);
    Py_TYPE(r)->tp_free((PyObject *)r);
}

static int Router_init(Router *r, PyObject *args, PyObject *kw) {
    static char *names[] = {"kinds", "ncols", "keys", "orgs", "org_col", "recv_cols",
                            "count_unknown", "flush_at", "collect", "persons", "person_col",
                            NULL};
    Py_buffer kinds;
    PyObject *keys, *orgs, *recv, *collect = Py_None, *persons = Py_None;
    int ncols, org_col, count_unknown, person_col = -1;
    Py_ssize_t flush_at;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "y*iO!O!iO!pn|$OOi", names, &kinds, &ncols,
                                     &PyTuple_Type, &keys, &PyList_Type, &orgs, &org_col,
                                     &PyTuple_Type, &recv, &count_unknown, &flush_at,
                                     &collect, &persons, &person_col))
        return -1;
    if ((collect != Py_None && !PyObject_TypeCheck(collect, &PairsType)) ||
        (persons != Py_None && !PyObject_TypeCheck(persons, &PairsType)) ||
        (collect != Py_None && persons != Py_None) ||
        ((collect != Py_None || persons != Py_None) && (person_col < 0 || person_col >= ncols))) {
        PyBuffer_Release(&kinds);
        PyErr_SetString(PyExc_ValueError,
                        "Router: collect or persons is a Pairs, with a person_col in range");
        return -1;
    }
    if (collect != Py_None) r->collect = Py_NewRef(collect);
    if (persons != Py_None) r->persons = Py_NewRef(persons);
    r->person_col = person_col;
    int nout = (int)kinds.len;
    memcpy(r->kinds, kinds.buf, nout <= MAX_COLS ? (size_t)nout : 0);
    PyBuffer_Release(&kinds);
    if (ncols < 1 || ncols > MAX_COLS || nout > ncols || nout < 1 ||
        PyTuple_GET_SIZE(keys) != nout || org_col < 0 || org_col >= ncols ||
        PyTuple_GET_SIZE(recv) > 8) {
        PyErr_SetString(PyExc_ValueError, "Router: inconsistent columns");
        return -1;
    }
    for (int i = 0; i < nout; i++) {
        if (!PyBytes_Check(PyTuple_GET_ITEM(keys, i)) || r->kinds[i] > K_BYTES) {
            PyErr_SetString(PyExc_ValueError, "Router: keys must be bytes, kinds known");
            return -1;
        }
    }
    r->ncols = ncols;
    r->nout = nout;
    r->org_col = org_col;
    r->nrecv = (int)PyTuple_GET_SIZE(recv);
    for (int k = 0; k < r->nrecv; k++) {
        int c = (int)PyLong_AsLong(PyTuple_GET_ITEM(recv, k));
        if (c < 0 || c >= ncols) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "Router: receiver column");
            return -1;
        }
        r->recv_cols[k] = c;
    }
    r->count_unknown = count_unknown;
    r->flush_at = (size_t)flush_at;
    Py_INCREF(keys);
    r->keys = keys;
    r->unknown = PyDict_New();
    if (!r->unknown) return -1;
    int n = (int)PyList_GET_SIZE(orgs);
    r->norgs = n;
    r->org_key = calloc((size_t)n + 1, sizeof(char *));
    r->org_len = calloc((size_t)n + 1, sizeof(size_t));
    r->tsize = 16;
    while (r->tsize < 2 * (size_t)n) r->tsize *= 2;
    r->table = calloc(r->tsize, sizeof(int));
    r->csv = calloc(2 * (size_t)n + 1, sizeof(buf_t));
    r->json = calloc(2 * (size_t)n + 1, sizeof(buf_t));
    r->count = calloc(2 * (size_t)n + 1, sizeof(Py_ssize_t));
    if (!r->org_key || !r->org_len || !r->table || !r->csv || !r->json || !r->count) {
        PyErr_NoMemory();
        return -1;
    }
    r->last_org = -1;
    for (int i = 0; i < n; i++) {
        PyObject *k = PyList_GET_ITEM(orgs, i);
        if (!PyBytes_Check(k)) {
            PyErr_SetString(PyExc_TypeError, "Router: organisation ids must be bytes");
            return -1;
        }
        size_t len = (size_t)PyBytes_GET_SIZE(k);
        r->org_key[i] = malloc(len + 1);
        if (!r->org_key[i]) { PyErr_NoMemory(); return -1; }
        memcpy(r->org_key[i], PyBytes_AS_STRING(k), len);
        r->org_len[i] = len;
        if (org_find(r, r->org_key[i], len) >= 0) continue; /* duplicate id: first wins */
        size_t h = hash_bytes(r->org_key[i], len) & (r->tsize - 1);
        while (r->table[h]) h = (h + 1) & (r->tsize - 1);
        r->table[h] = i + 1;
    }
    r->last_org = -1;
    return 0;
}

static PyMethodDef Router_methods[] = {
    {"feed", (PyCFunction)Router_feed, METH_O,
     "Route whole COPY text lines; returns the buffers that reached flush_at."},
    {"flush", (PyCFunction)Router_flush, METH_NOARGS, "Everything still buffered."},
    {"counts", (PyCFunction)Router_counts, METH_O, "Rows written per organisation."},
    {"unknown", (PyCFunction)Router_unknown, METH_NOARGS,
     "{(column, value or None): rows} of ids naming no organisation."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject RouterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tasks.extracts._bagc.Router",
    .tp_basicsize = sizeof(Router),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Routes one table's COPY rows into every organisation's CSV and JSON bytes.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Router_init,
    .tp_dealloc = (destructor)Router_dealloc,
    .tp_methods = Router_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_bagc",
    "Routes PostgreSQL COPY rows into the organisations' bag files (CSV and JSON), in C.", -1,
    NULL,
};

PyMODINIT_FUNC PyInit__bagc(void) {
    if (PyType_Ready(&RouterType) < 0 || PyType_Ready(&PairsType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    if (PyModule_AddObjectRef(m, "Router", (PyObject *)&RouterType) < 0 ||
        PyModule_AddObjectRef(m, "Pairs", (PyObject *)&PairsType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
