/* Builds the feature matrix from per-feature columns prepared in R (R/encode.R), counting
 * missing and unseen values on the way: faster than a dozen vectorised R operations per column
 * on 100,000 rows. The matrix is written column-major (an R matrix, for readmit_encode) or
 * row-major (straight into a client's send buffer, for scoring a data frame without an
 * intermediate R matrix).
 *
 * Column kinds (spec[j]):
 *   0  number, counted: a double, integer or logical vector; NA is missing.
 *   1  level codes: 1..L is level index + 1, > L is missing, 0 a value not among the levels
 *      (NA, counted as unseen). The codes are those of match(text, c(levels, "?", "", NA)),
 *      given either
 *        - as an integer vector of codes, one per row, or
 *        - keyed: list(ids, codes), where codes holds the code of each distinct value of the
 *          raw column (character, integer, logical or double), computed in R from those few
 *          values, and ids (raw or integer, 0-based) says which distinct value each row holds.
 *          rreadmit_distinct finds the distinct values and the ids in one pass, by the identity
 *          of the values (the CHARSXP pointer of a string, the bits of a number) in a small hash
 *          table, so R's match() and unique() (a hash of every row each, plus the encoding
 *          checks of every string) and a per-row integer vector of codes are spared. Equal
 *          pointers are equal strings; two distinct pointers with equal text (say latin1 and
 *          UTF-8) are two distinct values that R gives the same code, so the result is that of
 *          match().
 *   2  as 1, but a value not among the levels is the last level (Other).
 *   3  number, not counted (derived history features, where NA is structural).
 *
 * The matrix is filled by blocks of rows, every column within a block: the row-major send
 * buffer (52 doubles a row) is then written once, cache line after cache line, instead of once
 * per feature with a stride of a whole row. */
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <R.h>
#include <Rinternals.h>
#include "rreadmit.h"

/* ---- Hash of value identities (open addressing, power-of-two size, grows at half full). ---- */

typedef struct {
    uint64_t *key;
    int *val;          /* -1: empty slot */
    size_t mask;
    size_t used;
} khash;

static inline uint64_t mix(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
}

/* The identity of element i of a vector of type `type` stored at `data` (data_of): a string's
 * CHARSXP pointer (R caches strings, so equal text in one encoding is one pointer), an
 * integer's value, a double's bits. */
static inline uint64_t key_at(int type, const void *data, R_xlen_t i) {
    switch (type) {
    case STRSXP: return (uint64_t)(uintptr_t)((const SEXP *)data)[i];
    case REALSXP: {
        uint64_t b;
        memcpy(&b, (const double *)data + i, sizeof b);
        return b;
    }
    default: return (uint64_t)(uint32_t)((const int *)data)[i];
    }
}

static void kh_init(khash *h, size_t expected) {
    size_t size = 16;
    while (size < 2 * expected) size <<= 1;
    h->key = (uint64_t *)R_alloc(size, sizeof(uint64_t));
    h->val = (int *)R_alloc(size, sizeof(int));
    for (size_t i = 0; i < size; i++) h->val[i] = -1;
    h->mask = size - 1;
    h->used = 0;
}

/* The slot of `k`: its own, or the empty one where it would go. */
static inline size_t kh_slot(const khash *h, uint64_t k) {
    size_t i = (size_t)mix(k) & h->mask;
    while (h->val[i] >= 0 && h->key[i] != k) i = (i + 1) & h->mask;
    return i;
}

static void kh_put(khash *h, uint64_t k, int v) {
    if (2 * (h->used + 1) > h->mask + 1) {
        khash bigger;
        kh_init(&bigger, h->mask + 1);
        for (size_t i = 0; i <= h->mask; i++)
            if (h->val[i] >= 0) {
                size_t s = kh_slot(&bigger, h->key[i]);
                bigger.key[s] = h->key[i];
                bigger.val[s] = h->val[i];
            }
        bigger.used = h->used;
        *h = bigger;
    }
    size_t s = kh_slot(h, k);
    if (h->val[s] < 0) h->used++;
    h->key[s] = k;
    h->val[s] = v;
}

static int keyable(SEXP x) {
    int t = TYPEOF(x);
    return t == STRSXP || t == INTSXP || t == LGLSXP || t == REALSXP;
}

/* The elements of x (for strings, the CHARSXP pointers: STRING_PTR_RO, read-only). */
static const void *data_of(SEXP x) {
    switch (TYPEOF(x)) {
    case STRSXP: return STRING_PTR_RO(x);
    case REALSXP: return REAL(x);
    case LGLSXP: return LOGICAL(x);
    default: return INTEGER(x);
    }
}

/* For each vector of `cols` (a list): list(keys, ids), its distinct values by identity (see
 * key_at) in order of first appearance, and for each element the 0-based index of its value in
 * keys, as a raw vector when there are at most 256 keys (a quarter of the memory), else integer. */
SEXP rreadmit_distinct(SEXP cols) {
    if (TYPEOF(cols) != VECSXP) Rf_error("distinct: 'cols' must be a list");
    R_xlen_t m = XLENGTH(cols);
    R_xlen_t max_n = 0;
    for (R_xlen_t j = 0; j < m; j++) {
        SEXP x = VECTOR_ELT(cols, j);
        if (!keyable(x)) Rf_error("distinct: column %ld is not a character, integer, logical or double vector",
                                  (long)(j + 1));
        if (XLENGTH(x) > INT_MAX) Rf_error("too many rows");
        if (XLENGTH(x) > max_n) max_n = XLENGTH(x);
    }
    size_t len = max_n > 0 ? (size_t)max_n : 1;
    int *first = (int *)R_alloc(len, sizeof(int));   /* row of each key */
    int *ids = (int *)R_alloc(len, sizeof(int));
    const char *names[] = {"keys", "ids", ""};
    SEXP out = PROTECT(Rf_allocVector(VECSXP, m));
    for (R_xlen_t j = 0; j < m; j++) {
        SEXP x = VECTOR_ELT(cols, j);
        int type = TYPEOF(x);
        const void *data = data_of(x);
        R_xlen_t n = XLENGTH(x);
        khash h;
        kh_init(&h, 16);
        int nk = 0;
        for (R_xlen_t i = 0; i < n; i++) {
            uint64_t k = key_at(type, data, i);
            size_t s = kh_slot(&h, k);
            if (h.val[s] < 0) {
                kh_put(&h, k, nk);
                first[nk++] = (int)i;
                s = kh_slot(&h, k);
            }
            ids[i] = h.val[s];
        }
        SEXP res = PROTECT(Rf_mkNamed(VECSXP, names));
        SEXP keys = Rf_allocVector(type, nk);
        SET_VECTOR_ELT(res, 0, keys);
        for (int k = 0; k < nk; k++) {
            switch (type) {
            case STRSXP: SET_STRING_ELT(keys, k, STRING_ELT(x, first[k])); break;
            case REALSXP: REAL(keys)[k] = REAL(x)[first[k]]; break;
            case LGLSXP: LOGICAL(keys)[k] = LOGICAL(x)[first[k]]; break;
            default: INTEGER(keys)[k] = INTEGER(x)[first[k]]; break;
            }
        }
        if (nk <= 256) {
            SEXP r = Rf_allocVector(RAWSXP, n);
            SET_VECTOR_ELT(res, 1, r);
            Rbyte *rb = RAW(r);
            for (R_xlen_t i = 0; i < n; i++) rb[i] = (Rbyte)ids[i];
        } else {
            SEXP r = Rf_allocVector(INTSXP, n);
            SET_VECTOR_ELT(res, 1, r);
            memcpy(INTEGER(r), ids, (size_t)n * sizeof(int));
        }
        SET_VECTOR_ELT(out, j, res);
        UNPROTECT(1);
    }
    UNPROTECT(1);
    return out;
}

/* ---- Assembly ---- */

static int is_keyed(SEXP c) { return TYPEOF(c) == VECSXP; }

R_xlen_t rreadmit_columns_check(SEXP cols, SEXP spec, SEXP n_levels) {
    if (TYPEOF(cols) != VECSXP || TYPEOF(spec) != INTSXP || TYPEOF(n_levels) != INTSXP ||
        XLENGTH(spec) != XLENGTH(cols) || XLENGTH(n_levels) != XLENGTH(cols))
        Rf_error("feature columns: bad arguments");
    R_xlen_t m = XLENGTH(cols);
    R_xlen_t n = 0;
    for (R_xlen_t j = 0; j < m; j++) {
        SEXP c = VECTOR_ELT(cols, j);
        int k = INTEGER(spec)[j];
        if (k < 0 || k > 3) Rf_error("feature column %ld has an unknown kind", (long)(j + 1));
        R_xlen_t len;
        if (is_keyed(c)) {
            if ((k != 1 && k != 2) || XLENGTH(c) != 2 ||
                (TYPEOF(VECTOR_ELT(c, 0)) != RAWSXP && TYPEOF(VECTOR_ELT(c, 0)) != INTSXP) ||
                TYPEOF(VECTOR_ELT(c, 1)) != INTSXP || XLENGTH(VECTOR_ELT(c, 1)) > INT_MAX)
                Rf_error("feature column %ld is not a valid keyed column", (long)(j + 1));
            len = XLENGTH(VECTOR_ELT(c, 0));
        } else {
            if ((k == 1 || k == 2) ? TYPEOF(c) != INTSXP
                                   : (TYPEOF(c) != REALSXP && TYPEOF(c) != INTSXP && TYPEOF(c) != LGLSXP))
                Rf_error("feature column %ld has the wrong type", (long)(j + 1));
            len = XLENGTH(c);
        }
        if (j == 0) n = len;
        if (len != n) Rf_error("feature column %ld has %ld values, expected %ld",
                               (long)(j + 1), (long)len, (long)n);
    }
    if (n > INT_MAX || m > INT_MAX) Rf_error("too many rows or features");
    return n;
}

/* What the writer keeps per column across blocks of rows. */
typedef struct {
    int kind, nl, type;
    const void *data;        /* the values (data_of; keyed: the ids) */
    const int *codes;        /* keyed: the code of each id */
    int n_codes;             /* keyed: how many */
    R_xlen_t missing, unseen;
} colstate;

static void column_init(colstate *s, SEXP c, int kind, int nl) {
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->nl = nl;
    SEXP x = is_keyed(c) ? VECTOR_ELT(c, 0) : c;
    s->type = TYPEOF(x);
    s->data = x == c ? data_of(x) : (s->type == RAWSXP ? (const void *)RAW(x) : INTEGER(x));
    if (x != c) {
        s->codes = INTEGER(VECTOR_ELT(c, 1));
        s->n_codes = (int)XLENGTH(VECTOR_ELT(c, 1));
    }
}

/* The level code of row r of a level column (kind 1 or 2). */
static inline int level_code(const colstate *s, R_xlen_t r, R_xlen_t j) {
    if (s->codes == NULL) return ((const int *)s->data)[r];
    int id = s->type == RAWSXP ? ((const Rbyte *)s->data)[r] : ((const int *)s->data)[r];
    if (id < 0 || id >= s->n_codes)
        Rf_error("feature column %ld: row %ld has an id without a code", (long)(j + 1), (long)(r + 1));
    return s->codes[id];
}

/* Rows [r0, r1) of column j into out[r * step] (out already offset to the column). */
static void column_write(colstate *s, R_xlen_t r0, R_xlen_t r1, double *out, size_t step,
                         R_xlen_t j) {
    if (s->kind == 1 || s->kind == 2) {
        int nl = s->nl;
        double other = s->kind == 2 ? (double)(nl - 1) : NA_REAL;
        for (R_xlen_t r = r0; r < r1; r++) {
            int i = level_code(s, r, j);
            double v;
            if (i >= 1 && i <= nl) {
                v = (double)(i - 1);
            } else if (i > nl) {
                v = NA_REAL;
                s->missing++;
            } else {
                v = other;
                if (s->kind == 1) s->unseen++;
            }
            out[r * step] = v;
        }
    } else if (s->type == REALSXP) {
        const double *v = (const double *)s->data;
        for (R_xlen_t r = r0; r < r1; r++) {
            out[r * step] = v[r];
            if (ISNAN(v[r])) s->missing++;
        }
    } else {
        const int *v = (const int *)s->data;
        for (R_xlen_t r = r0; r < r1; r++) {
            if (v[r] == NA_INTEGER) { out[r * step] = NA_REAL; s->missing++; }
            else out[r * step] = (double)v[r];
        }
    }
}

#define ROW_BLOCK 512

void rreadmit_columns_write(SEXP cols, SEXP spec, SEXP n_levels, double *base, int row_major,
                            int *missing, int *unseen) {
    R_xlen_t m = XLENGTH(cols);
    R_xlen_t n = rreadmit_columns_check(cols, spec, n_levels);
    colstate *st = (colstate *)R_alloc(m > 0 ? (size_t)m : 1, sizeof(colstate));
    for (R_xlen_t j = 0; j < m; j++)
        column_init(&st[j], VECTOR_ELT(cols, j), INTEGER(spec)[j], INTEGER(n_levels)[j]);
    size_t step = row_major ? (size_t)m : 1;
    for (R_xlen_t r0 = 0; r0 < n; r0 += ROW_BLOCK) {
        R_xlen_t r1 = n - r0 < ROW_BLOCK ? n : r0 + ROW_BLOCK;
        for (R_xlen_t j = 0; j < m; j++) {
            /* Element r of column j is out[r * step]. */
            double *out = row_major ? base + j : base + j * n;
            column_write(&st[j], r0, r1, out, step, j);
        }
    }
    for (R_xlen_t j = 0; j < m; j++) {
        missing[j] = st[j].kind == 3 ? 0 : (int)st[j].missing;
        unseen[j] = (int)st[j].unseen;
    }
}

/* The feature matrix as an R matrix: n x m (column-major) with the feature `names` as column
 * names, or, with `row_major` TRUE, the same values row-major (an m x n R matrix without names),
 * as they go into the send buffer (for the tests). The names are set here: colnames<- in R
 * would copy the 40 MB matrix of 100,000 rows, which the result list still references. */
SEXP rreadmit_assemble(SEXP cols, SEXP spec, SEXP n_levels, SEXP row_major, SEXP names) {
    R_xlen_t n = rreadmit_columns_check(cols, spec, n_levels);
    R_xlen_t m = XLENGTH(cols);
    int rm = Rf_asLogical(row_major) == TRUE;
    SEXP x = PROTECT(rm ? Rf_allocMatrix(REALSXP, (int)m, (int)n)
                        : Rf_allocMatrix(REALSXP, (int)n, (int)m));
    SEXP missing = PROTECT(Rf_allocVector(INTSXP, m));
    SEXP unseen = PROTECT(Rf_allocVector(INTSXP, m));
    rreadmit_columns_write(cols, spec, n_levels, REAL(x), rm, INTEGER(missing), INTEGER(unseen));
    if (!rm && !Rf_isNull(names)) {
        if (TYPEOF(names) != STRSXP || XLENGTH(names) != m) Rf_error("feature columns: bad names");
        SEXP dn = PROTECT(Rf_allocVector(VECSXP, 2));
        SET_VECTOR_ELT(dn, 1, names);
        Rf_setAttrib(x, R_DimNamesSymbol, dn);
        UNPROTECT(1);
    }
    const char *fields[] = {"x", "missing", "unseen", ""};
    SEXP out = PROTECT(Rf_mkNamed(VECSXP, fields));
    SET_VECTOR_ELT(out, 0, x);
    SET_VECTOR_ELT(out, 1, missing);
    SET_VECTOR_ELT(out, 2, unseen);
    UNPROTECT(4);
    return out;
}
