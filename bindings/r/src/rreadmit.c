/* .Call glue between R and libreadmit (the C shim compiled into this package).
 *
 * A client is an external pointer to an rclient (the readmit_client, a scratch buffer and the
 * last raw-records batch, kept for reuse) with
 * a C finalizer, so a client the user forgets to close is closed when it is garbage collected
 * or when R exits.
 *
 * Failures of the library are not raised here: the entry points return a small list of class
 * "readmit_failure" (code, name, message, row, feature) and the R side turns it into a classed
 * condition (R/errors.R). Rf_error() cannot carry a condition class. Outputs are allocated as R
 * vectors (or with R_alloc) before the library call, and the row-major copy of a matrix lives in
 * the client's scratch buffer, so an early return or an R error leaks nothing. */
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <R.h>
#include <Rinternals.h>
#include "readmit.h"
#include "rm_internal.h"   /* the shim's JSON reader (rm_json_parse), compiled in */
#include "rreadmit.h"

/* A client as R holds it. The scratch buffer holds the row-major copy of the last feature
 * matrix: reusing it spares a fresh allocation (and its page faults) on every scoring call of
 * a large batch. The batches are the last raw-records call's (the second is the one a large
 * frame's second part is filled into, src/rreadmit_fill.c), cleared, for the next call of as
 * many rows (rreadmit_take_batch), for the same reason. All are freed with the client. */
typedef struct {
    readmit_client *client;
    double *scratch;
    size_t scratch_len;   /* in doubles */
    readmit_records *batch[2];
    size_t batch_rows[2];
} rclient;

static SEXP client_tag(void) { return Rf_install("readmit_client"); }

static void client_finalizer(SEXP xp) {
    rclient *rc = (rclient *)R_ExternalPtrAddr(xp);
    if (rc != NULL) {
        R_ClearExternalPtr(xp);
        readmit_close(rc->client);
        free(rc->scratch);
        readmit_records_free(rc->batch[0]);
        readmit_records_free(rc->batch[1]);
        free(rc);
    }
}

/* The open client behind `xp`, or an R error for anything else or a closed client. */
static rclient *get_rclient(SEXP xp) {
    if (TYPEOF(xp) != EXTPTRSXP || R_ExternalPtrTag(xp) != client_tag())
        Rf_error("not a readmit client handle");
    rclient *rc = (rclient *)R_ExternalPtrAddr(xp);
    if (rc == NULL) Rf_error("the readmit client is closed");
    return rc;
}

static readmit_client *get_client(SEXP xp) { return get_rclient(xp)->client; }

readmit_client *rreadmit_get_client(SEXP xp) { return get_client(xp); }

readmit_records *rreadmit_take_batch(SEXP xp, size_t n_rows, int slot) {
    rclient *rc = get_rclient(xp);
    readmit_records *batch = rc->batch[slot];
    rc->batch[slot] = NULL;
    if (batch != NULL && rc->batch_rows[slot] != n_rows) {
        readmit_records_free(batch);
        batch = NULL;
    }
    return batch;
}

/* The most memory a kept batch may hold, counted as 8 bytes a cell: 100,000 rows of 167
 * columns. A larger call's batch is freed at its end, as before, rather than held until the
 * client closes (10 million rows of the flat Diabetes 130 records would keep about 3 GB). */
#define RREADMIT_KEPT_BATCH_MAX ((size_t)128 << 20)

void rreadmit_keep_batch(SEXP xp, readmit_records *records, size_t n_rows, size_t n_columns, int slot) {
    rclient *rc = TYPEOF(xp) == EXTPTRSXP ? (rclient *)R_ExternalPtrAddr(xp) : NULL;
    int too_large = n_columns > 0 && n_rows > RREADMIT_KEPT_BATCH_MAX / 8 / n_columns;
    if (rc == NULL || rc->batch[slot] != NULL || too_large || readmit_records_clear(records) != READMIT_OK) {
        readmit_records_free(records);
        return;
    }
    rc->batch[slot] = records;
    rc->batch_rows[slot] = n_rows;
}

static SEXP hex_version(uint64_t v);

/* Describes a failed library call for the R side (R/errors.R signals it). */
static SEXP failure(const readmit_client *c, int rc, const char *fallback) {
    const char *names[] = {"code", "name", "message", "row", "feature", "model_version", ""};
    SEXP out = PROTECT(Rf_mkNamed(VECSXP, names));
    const char *strerr = readmit_strerror(rc);
    const char *msg = (c != NULL) ? readmit_errmsg(c) : NULL;
    if (msg == NULL || msg[0] == '\0') msg = (fallback != NULL && fallback[0]) ? fallback : strerr;
    /* strerror reads "READMIT_EXXX: description"; the name is the part before the colon. */
    size_t name_len = strcspn(strerr, ":");
    SET_VECTOR_ELT(out, 0, Rf_ScalarInteger(rc));
    SET_VECTOR_ELT(out, 1, Rf_ScalarString(Rf_mkCharLenCE(strerr, (int)name_len, CE_UTF8)));
    SET_VECTOR_ELT(out, 2, Rf_ScalarString(Rf_mkCharCE(msg, CE_UTF8)));
    SET_VECTOR_ELT(out, 3, Rf_ScalarInteger(c != NULL ? readmit_error_row(c) : -1));
    SET_VECTOR_ELT(out, 4, Rf_ScalarInteger(c != NULL ? readmit_error_feature(c) : -1));
    /* The model of the daemon's error reply (a status below READMIT_EINVAL), else NA: a call
     * that sent columns the cached INFO said the model does not read checks it was that model. */
    SET_VECTOR_ELT(out, 5, (c != NULL && rc > 0 && rc < READMIT_EINVAL) ? hex_version(readmit_last_model_version(c))
                                                                        : Rf_ScalarString(NA_STRING));
    Rf_setAttrib(out, R_ClassSymbol, Rf_mkString("readmit_failure"));
    UNPROTECT(1);
    return out;
}

SEXP rreadmit_failure(const readmit_client *c, int rc, const char *fallback) {
    return failure(c, rc, fallback);
}

static SEXP hex_version(uint64_t v) {
    char buf[17];
    snprintf(buf, sizeof buf, "%016" PRIx64, v);
    return Rf_mkString(buf);
}

SEXP rreadmit_hex_version(uint64_t v) { return hex_version(v); }

SEXP rreadmit_lib_version(void) { return Rf_mkString(readmit_version()); }

/* libreadmit's interrupt check (readmit_options_set_interrupt): R_CheckUserInterrupt would
 * longjmp out of the shim when Ctrl-C is pending, leaking the call's state; R_ToplevelExec
 * contains that jump (the pattern of pbdZMQ and cpp11), so the check only reports it. The
 * interrupt is consumed here; R/errors.R signals it again once the call has returned. */
static void check_user_interrupt(void *unused) {
    (void)unused;
    R_CheckUserInterrupt();
}

static int interrupt_pending(void *unused) {
    (void)unused;
    return R_ToplevelExec(check_user_interrupt, NULL) ? 0 : 1;
}

SEXP rreadmit_connect(SEXP endpoints, SEXP timeout_ms, SEXP retries, SEXP curve,
                      SEXP max_reply_bytes, SEXP split_rows) {
    if (TYPEOF(endpoints) != STRSXP || XLENGTH(endpoints) < 1)
        Rf_error("'endpoint' must be a non-empty character vector");
    readmit_options *opt = NULL;
    int rc = readmit_options_new(&opt);
    if (rc != READMIT_OK) return failure(NULL, rc, "cannot allocate client options");
    /* From here every path frees `opt`: no R allocation can fail before it is freed, except
     * the final wrapping, which happens after readmit_options_free. */
    for (R_xlen_t i = 0; i < XLENGTH(endpoints) && rc == READMIT_OK; i++) {
        SEXP e = STRING_ELT(endpoints, i);
        if (e == NA_STRING) {
            readmit_options_free(opt);
            return failure(NULL, READMIT_EINVAL, "invalid endpoint NA: expected tcp://HOST:PORT or ipc://PATH");
        }
        rc = readmit_options_add_endpoint(opt, Rf_translateCharUTF8(e));
    }
    if (rc == READMIT_OK) rc = readmit_options_set_timeout_ms(opt, Rf_asInteger(timeout_ms));
    if (rc == READMIT_OK && Rf_asInteger(retries) != NA_INTEGER)
        rc = readmit_options_set_retries(opt, Rf_asInteger(retries));
    if (rc == READMIT_OK && TYPEOF(curve) == STRSXP && XLENGTH(curve) == 3)
        rc = readmit_options_set_curve(opt, Rf_translateCharUTF8(STRING_ELT(curve, 0)),
                                       Rf_translateCharUTF8(STRING_ELT(curve, 1)),
                                       Rf_translateCharUTF8(STRING_ELT(curve, 2)));
    if (rc == READMIT_OK && !ISNAN(Rf_asReal(max_reply_bytes)))
        rc = readmit_options_set_max_reply_bytes(opt, (size_t)Rf_asReal(max_reply_bytes));
    if (rc == READMIT_OK && !ISNAN(Rf_asReal(split_rows)))
        rc = readmit_options_set_split_rows(opt, (size_t)Rf_asReal(split_rows));
    if (rc == READMIT_OK) rc = readmit_options_set_interrupt(opt, interrupt_pending, NULL);
    if (rc != READMIT_OK) {
        readmit_options_free(opt);
        /* The options calls keep their message per thread (e.g. "invalid endpoint ..."). */
        return failure(NULL, rc, readmit_open_errmsg());
    }
    /* The handle exists before the client, so no R allocation can fail while an unowned
     * client is held. */
    SEXP xp = PROTECT(R_MakeExternalPtr(NULL, client_tag(), R_NilValue));
    R_RegisterCFinalizerEx(xp, client_finalizer, TRUE);
    rclient *holder = (rclient *)calloc(1, sizeof *holder);
    if (holder == NULL) {
        readmit_options_free(opt);
        UNPROTECT(1);
        return failure(NULL, READMIT_ENOMEM, "out of memory");
    }
    rc = readmit_open_ex(NULL, opt, &holder->client);
    readmit_options_free(opt);
    if (rc != READMIT_OK) {
        free(holder);
        UNPROTECT(1);
        return failure(NULL, rc, readmit_open_errmsg());
    }
    R_SetExternalPtrAddr(xp, holder);
    UNPROTECT(1);
    return xp;
}

/* Per endpoint: in rotation (logical), requests answered and failed attempts (doubles). */
SEXP rreadmit_endpoint_status(SEXP xp) {
    readmit_client *c = get_client(xp);
    size_t n = 0;
    int rc = readmit_n_endpoints(c, &n);
    if (rc != READMIT_OK) return failure(c, rc, "cannot read the endpoints");
    SEXP out = PROTECT(Rf_allocVector(VECSXP, 3));
    SEXP up = SET_VECTOR_ELT(out, 0, Rf_allocVector(LGLSXP, (R_xlen_t)n));
    SEXP req = SET_VECTOR_ELT(out, 1, Rf_allocVector(REALSXP, (R_xlen_t)n));
    SEXP fail = SET_VECTOR_ELT(out, 2, Rf_allocVector(REALSXP, (R_xlen_t)n));
    for (size_t i = 0; i < n; i++) {
        int in_rotation = 0;
        uint64_t r = 0, f = 0;
        readmit_endpoint_status(c, i, &in_rotation, &r, &f);
        LOGICAL(up)[i] = in_rotation;
        REAL(req)[i] = (double)r;
        REAL(fail)[i] = (double)f;
    }
    UNPROTECT(1);
    return out;
}

/* Marks a handle closed by readmit_close. The mark is the pointer's protected value, which
 * serialize() keeps while it drops the address: a handle read back without its address and
 * without the mark was open when it was saved, or sent to another R process. */
static SEXP closed_mark(void) { return Rf_install("readmit_closed"); }

SEXP rreadmit_close(SEXP xp) {
    if (TYPEOF(xp) != EXTPTRSXP || R_ExternalPtrTag(xp) != client_tag())
        Rf_error("not a readmit client handle");
    client_finalizer(xp);
    R_SetExternalPtrProtected(xp, closed_mark());
    return R_NilValue;
}

/* TRUE for an open client, FALSE for one closed by readmit_close, NA for one that lost its
 * address without being closed (serialized: saveRDS, a multisession worker). */
SEXP rreadmit_is_open(SEXP xp) {
    if (TYPEOF(xp) != EXTPTRSXP) return Rf_ScalarLogical(FALSE);
    if (R_ExternalPtrAddr(xp) != NULL) return Rf_ScalarLogical(TRUE);
    return Rf_ScalarLogical(R_ExternalPtrProtected(xp) == closed_mark() ? FALSE : NA_LOGICAL);
}

SEXP rreadmit_info_json(SEXP xp) {
    readmit_client *c = get_client(xp);
    char *json = NULL;
    int rc = readmit_info_json_alloc(c, &json);
    if (rc != READMIT_OK) return failure(c, rc, NULL);
    /* mkCharCE can only fail by an R error (out of memory); copy then free right away. */
    SEXP out = PROTECT(Rf_allocVector(STRSXP, 1));
    size_t len = strlen(json);
    if (len > INT_MAX) { readmit_free(json); Rf_error("INFO reply too large"); }
    SET_STRING_ELT(out, 0, Rf_mkCharLenCE(json, (int)len, CE_UTF8));
    readmit_free(json);
    UNPROTECT(1);
    return out;
}

SEXP rreadmit_health(SEXP xp) {
    readmit_client *c = get_client(xp);
    int ready = 0;
    uint64_t version = 0;
    int rc = readmit_health(c, &ready, &version);
    if (rc != READMIT_OK) return failure(c, rc, NULL);
    const char *names[] = {"live", "ready", "model_version", ""};
    SEXP out = PROTECT(Rf_mkNamed(VECSXP, names));
    SET_VECTOR_ELT(out, 0, Rf_ScalarLogical(1));
    SET_VECTOR_ELT(out, 1, Rf_ScalarLogical(ready != 0));
    SET_VECTOR_ELT(out, 2, hex_version(version));
    UNPROTECT(1);
    return out;
}

/* Copies a library-allocated string into an R string and frees it. */
static SEXP take_string(char *s) {
    size_t len = (s != NULL) ? strlen(s) : 0;
    if (len > INT_MAX) { readmit_free(s); Rf_error("reply too large"); }
    SEXP out = PROTECT(Rf_allocVector(STRSXP, 1));
    SET_STRING_ELT(out, 0, Rf_mkCharLenCE(s != NULL ? s : "", (int)len, CE_UTF8));
    readmit_free(s);
    UNPROTECT(1);
    return out;
}

SEXP rreadmit_stats(SEXP xp, SEXP prometheus) {
    readmit_client *c = get_client(xp);
    char *s = NULL;
    int rc = readmit_stats_alloc(c, Rf_asLogical(prometheus) == TRUE, &s);
    if (rc != READMIT_OK) return failure(c, rc, NULL);
    return take_string(s);
}

SEXP rreadmit_reload(SEXP xp, SEXP path) {
    readmit_client *c = get_client(xp);
    const char *p = NULL;
    if (TYPEOF(path) == STRSXP && XLENGTH(path) == 1 && STRING_ELT(path, 0) != NA_STRING)
        p = Rf_translateCharUTF8(STRING_ELT(path, 0));
    char *s = NULL;
    int rc = readmit_reload(c, p, &s);
    if (rc != READMIT_OK) return failure(c, rc, NULL);
    return take_string(s);
}

/* The client's scratch buffer with room for `len` doubles (grown as needed). */
static double *scratch(rclient *rc, size_t n, size_t m) {
    if (n != 0 && m > SIZE_MAX / sizeof(double) / n) Rf_error("matrix too large");
    size_t len = n * m;
    if (rc->scratch_len < len) {
        free(rc->scratch);
        rc->scratch_len = 0;
        rc->scratch = (double *)malloc(len * sizeof(double));
        if (rc->scratch == NULL) Rf_error("out of memory for a %lu x %lu feature matrix",
                                          (unsigned long)n, (unsigned long)m);
        rc->scratch_len = len;
    }
    return rc->scratch;
}

/* The row-major copy of a column-major double matrix, as the wire protocol wants it, in the
 * client's scratch buffer. The copy goes block by block so both sides stay in cache. */
static const double *row_major(rclient *rc, SEXP x, size_t n, size_t m) {
    if (n == 0 || m == 0) return NULL;
    double *buf = scratch(rc, n, m);
    const double *src = REAL(x);
    const size_t block = 64;
    for (size_t r0 = 0; r0 < n; r0 += block) {
        size_t r1 = (r0 + block < n) ? r0 + block : n;
        for (size_t j = 0; j < m; j++) {
            const double *col = src + j * n;
            for (size_t r = r0; r < r1; r++) buf[r * m + j] = col[r];
        }
    }
    return buf;
}

static void check_matrix(SEXP x, size_t *n, size_t *m) {
    if (TYPEOF(x) != REALSXP) Rf_error("the feature matrix must be of type double");
    SEXP dim = Rf_getAttrib(x, R_DimSymbol);
    if (TYPEOF(dim) != INTSXP || XLENGTH(dim) != 2) Rf_error("the features must be a matrix");
    *n = (size_t)INTEGER(dim)[0];
    *m = (size_t)INTEGER(dim)[1];
}

/* Scores n row-major rows: a list of risk, atypicality and tier (0-based; both NULL unless
 * `want_full`) and model_version (of the model that scored them); a "readmit_failure" on
 * error. */
static SEXP score_rows(rclient *holder, const double *rows, size_t n, size_t m, int want_full) {
    readmit_client *c = holder->client;
    SEXP risk = PROTECT(Rf_allocVector(REALSXP, (R_xlen_t)n));
    SEXP atyp = PROTECT(want_full ? Rf_allocVector(REALSXP, (R_xlen_t)n) : R_NilValue);
    SEXP tier = PROTECT(want_full ? Rf_allocVector(INTSXP, (R_xlen_t)n) : R_NilValue);
    uint8_t *tier8 = want_full ? (uint8_t *)R_alloc(n > 0 ? n : 1, 1) : NULL;
    double dummy = 0.0;
    int rc;
    if (want_full)
        rc = readmit_score_full(c, rows != NULL ? rows : &dummy, n, m, REAL(risk), REAL(atyp), tier8);
    else
        rc = readmit_score(c, rows != NULL ? rows : &dummy, n, m, REAL(risk));
    if (rc != READMIT_OK) {
        UNPROTECT(3);
        return failure(c, rc, NULL);
    }
    if (want_full)
        for (size_t i = 0; i < n; i++) INTEGER(tier)[i] = tier8[i];
    const char *names[] = {"risk", "atypicality", "tier", "model_version", ""};
    SEXP out = PROTECT(Rf_mkNamed(VECSXP, names));
    SET_VECTOR_ELT(out, 0, risk);
    SET_VECTOR_ELT(out, 1, atyp);
    SET_VECTOR_ELT(out, 2, tier);
    SET_VECTOR_ELT(out, 3, hex_version(readmit_last_model_version(c)));
    UNPROTECT(4);
    return out;
}

SEXP rreadmit_score(SEXP xp, SEXP x, SEXP full) {
    rclient *holder = get_rclient(xp);
    size_t n, m;
    check_matrix(x, &n, &m);
    const double *rows = row_major(holder, x, n, m);
    return score_rows(holder, rows, n, m, Rf_asLogical(full) == TRUE);
}

/* Scores a feature matrix with each risk's interval (SCORE flag bit 1). Returns list(risk,
 * atypicality, tier (0-based), risk_low, risk_high, model_version), or a "readmit_failure"
 * (a model without an interval: READMIT_EBADARGUMENT). */
SEXP rreadmit_score_interval(SEXP xp, SEXP x) {
    rclient *holder = get_rclient(xp);
    readmit_client *c = holder->client;
    size_t n, m;
    check_matrix(x, &n, &m);
    const double *rows = row_major(holder, x, n, m);
    const char *names[] = {"risk", "atypicality", "tier", "risk_low", "risk_high", "model_version", ""};
    SEXP out = PROTECT(Rf_mkNamed(VECSXP, names));
    SEXP risk = Rf_allocVector(REALSXP, (R_xlen_t)n);
    SET_VECTOR_ELT(out, 0, risk);
    SEXP atyp = Rf_allocVector(REALSXP, (R_xlen_t)n);
    SET_VECTOR_ELT(out, 1, atyp);
    SEXP tier = Rf_allocVector(INTSXP, (R_xlen_t)n);
    SET_VECTOR_ELT(out, 2, tier);
    SEXP low = Rf_allocVector(REALSXP, (R_xlen_t)n);
    SET_VECTOR_ELT(out, 3, low);
    SEXP high = Rf_allocVector(REALSXP, (R_xlen_t)n);
    SET_VECTOR_ELT(out, 4, high);
    uint8_t *tier8 = (uint8_t *)R_alloc(n > 0 ? n : 1, 1);
    double dummy = 0.0;
    int rc = readmit_score_interval(c, rows != NULL ? rows : &dummy, n, m, REAL(risk), REAL(atyp), tier8, REAL(low),
                                    REAL(high));
    if (rc != READMIT_OK) {
        UNPROTECT(1);
        return failure(c, rc, NULL);
    }
    for (size_t i = 0; i < n; i++) INTEGER(tier)[i] = tier8[i];
    SET_VECTOR_ELT(out, 5, hex_version(readmit_last_model_version(c)));
    UNPROTECT(1);
    return out;
}

SEXP rreadmit_explain(SEXP xp, SEXP x, SEXP k_) {
    rclient *holder = get_rclient(xp);
    readmit_client *c = holder->client;
    size_t n, m;
    check_matrix(x, &n, &m);
    int k = Rf_asInteger(k_);
    if (k == NA_INTEGER || k < 1) Rf_error("'k' must be a positive integer");
    size_t kk = (size_t)k < m ? (size_t)k : (m > 0 ? m : 1);   /* the daemon clamps k too */
    if ((double)n * (double)kk > (double)R_XLEN_T_MAX) Rf_error("too many rows");
    int32_t *idx = (int32_t *)R_alloc(n * kk > 0 ? n * kk : 1, sizeof(int32_t));
    double *con = (double *)R_alloc(n * kk > 0 ? n * kk : 1, sizeof(double));
    const double *rows = row_major(holder, x, n, m);
    double dummy = 0.0;
    size_t k_used = kk;
    int rc = readmit_explain(c, rows != NULL ? rows : &dummy, n, m, kk, idx, con, &k_used);
    if (rc != READMIT_OK) return failure(c, rc, NULL);
    if (k_used > kk) k_used = kk;
    /* Column-major n x k_used matrices; feature indices become 1-based R indices (NA = pad). */
    SEXP fidx = PROTECT(Rf_allocMatrix(INTSXP, (int)n, (int)k_used));
    SEXP fcon = PROTECT(Rf_allocMatrix(REALSXP, (int)n, (int)k_used));
    for (size_t r = 0; r < n; r++) {
        for (size_t j = 0; j < k_used; j++) {
            int32_t f = idx[r * kk + j];
            INTEGER(fidx)[j * n + r] = (f < 0) ? NA_INTEGER : (int)f + 1;
            REAL(fcon)[j * n + r] = (f < 0) ? NA_REAL : con[r * kk + j];
        }
    }
    const char *names[] = {"feature", "contribution", ""};
    SEXP out = PROTECT(Rf_mkNamed(VECSXP, names));
    SET_VECTOR_ELT(out, 0, fidx);
    SET_VECTOR_ELT(out, 1, fcon);
    UNPROTECT(3);
    return out;
}

/* ---- JSON replies (INFO, STATS, RELOAD) through the shim's own reader (rm_json.c) ----
 *
 * Mapping: object -> named list; array of only strings / only numbers / only booleans ->
 * character / double / logical vector; any other array -> list; null -> NULL. The DOM is held
 * by an external pointer with a finalizer while R values are allocated, so an R error during
 * the conversion leaks nothing. */

static void json_finalizer(SEXP xp) {
    rm_json *v = (rm_json *)R_ExternalPtrAddr(xp);
    if (v != NULL) {
        R_ClearExternalPtr(xp);
        rm_json_free(v);
    }
}

/* Turns a list of scalars of one type into an atomic vector; returns x otherwise. */
static SEXP simplify(SEXP x) {
    R_xlen_t n = XLENGTH(x);
    if (n == 0) return x;
    SEXPTYPE t = TYPEOF(VECTOR_ELT(x, 0));
    if (t != STRSXP && t != REALSXP && t != LGLSXP) return x;
    for (R_xlen_t k = 0; k < n; k++) {
        SEXP e = VECTOR_ELT(x, k);
        if (TYPEOF(e) != t || XLENGTH(e) != 1 || ATTRIB(e) != R_NilValue) return x;
    }
    SEXP out = PROTECT(Rf_allocVector(t, n));
    for (R_xlen_t k = 0; k < n; k++) {
        SEXP e = VECTOR_ELT(x, k);
        if (t == STRSXP) SET_STRING_ELT(out, k, STRING_ELT(e, 0));
        else if (t == REALSXP) REAL(out)[k] = REAL(e)[0];
        else LOGICAL(out)[k] = LOGICAL(e)[0];
    }
    UNPROTECT(1);
    return out;
}

static SEXP json_to_r(const rm_json *v) {
    switch (v->type) {
    case RM_JSON_NULL: return R_NilValue;
    case RM_JSON_BOOL: return Rf_ScalarLogical(v->boolean != 0);
    case RM_JSON_NUMBER: return Rf_ScalarReal(v->number);
    case RM_JSON_STRING: {
        size_t len = strlen(v->string);
        if (len > INT_MAX) Rf_error("JSON string too long");
        return Rf_ScalarString(Rf_mkCharLenCE(v->string, (int)len, CE_UTF8));
    }
    case RM_JSON_ARRAY:
    case RM_JSON_OBJECT: {
        int object = v->type == RM_JSON_OBJECT;
        SEXP out = PROTECT(Rf_allocVector(VECSXP, (R_xlen_t)v->length));
        SEXP names = PROTECT(object ? Rf_allocVector(STRSXP, (R_xlen_t)v->length) : R_NilValue);
        for (size_t i = 0; i < v->length; i++) {
            SET_VECTOR_ELT(out, (R_xlen_t)i, json_to_r(v->items[i]));
            if (object) SET_STRING_ELT(names, (R_xlen_t)i, Rf_mkCharCE(v->keys[i], CE_UTF8));
        }
        if (object) Rf_setAttrib(out, R_NamesSymbol, names);
        else out = simplify(out);
        UNPROTECT(2);
        return out;
    }
    }
    return R_NilValue;
}

SEXP rreadmit_json_parse(SEXP text) {
    if (TYPEOF(text) != STRSXP || XLENGTH(text) != 1 || STRING_ELT(text, 0) == NA_STRING)
        Rf_error("'text' must be a single string");
    SEXP ch = STRING_ELT(text, 0);
    const char *err = NULL;
    SEXP xp = PROTECT(R_MakeExternalPtr(NULL, R_NilValue, R_NilValue));
    R_RegisterCFinalizerEx(xp, json_finalizer, TRUE);
    rm_json *dom = rm_json_parse(CHAR(ch), (size_t)XLENGTH(ch), &err);
    if (dom == NULL) Rf_error("invalid JSON: %s", err != NULL ? err : "malformed");
    R_SetExternalPtrAddr(xp, dom);
    SEXP out = PROTECT(json_to_r(dom));
    json_finalizer(xp);
    UNPROTECT(2);
    return out;
}

/* ---- the feature schema and raw field names cached by the client (readmit_feature_*,
 * readmit_raw_field_name): fetched with INFO on first use, refreshed by readmit_info_json, so
 * reading them here costs no round trip. ---- */

typedef int (*string_getter)(readmit_client *, size_t, size_t, char *, size_t, size_t *);

static int get_feature_name(readmit_client *c, size_t i, size_t l, char *b, size_t n, size_t *need) {
    (void)l;
    return readmit_feature_name(c, i, b, n, need);
}
static int get_feature_source(readmit_client *c, size_t i, size_t l, char *b, size_t n, size_t *need) {
    (void)l;
    return readmit_feature_source(c, i, b, n, need);
}
static int get_raw_field_name(readmit_client *c, size_t i, size_t l, char *b, size_t n, size_t *need) {
    (void)l;
    return readmit_raw_field_name(c, i, b, n, need);
}

/* A string of the cached schema through the buffer convention of readmit.h, as an R CHARSXP
 * (NULL with *rc set on failure). */
static SEXP schema_string(readmit_client *c, string_getter get, size_t index, size_t level,
                          int *rc) {
    char small[256];
    size_t needed = 0;
    *rc = get(c, index, level, small, sizeof small, &needed);
    if (*rc == READMIT_OK) return Rf_mkCharCE(small, CE_UTF8);
    if (*rc != READMIT_ERANGE || needed == 0) return NULL;
    char *buf = R_alloc(needed, 1);
    *rc = get(c, index, level, buf, needed, &needed);
    return (*rc == READMIT_OK) ? Rf_mkCharCE(buf, CE_UTF8) : NULL;
}

/* list(name, kind, source, levels) of the model's features in schema order, and raw_fields
 * (the raw field names, empty when INFO's raw_fields cannot be read); a failure when the
 * schema cannot be fetched. */
SEXP rreadmit_schema(SEXP xp) {
    readmit_client *c = get_client(xp);
    int rc = READMIT_OK;
    size_t m = 0, nr = 0, needed = 0;
    int kind = 0;
    if ((rc = readmit_n_features(c, &m)) != READMIT_OK) return failure(c, rc, NULL);
    /* A model without raw_fields in INFO (an older daemon) has none: only those calls fail. */
    if (readmit_n_raw_fields(c, &nr) != READMIT_OK) nr = 0;
    const char *names[] = {"name", "kind", "source", "levels", "raw_fields", ""};
    SEXP out = PROTECT(Rf_mkNamed(VECSXP, names));
    SEXP name = Rf_allocVector(STRSXP, (R_xlen_t)m);
    SET_VECTOR_ELT(out, 0, name);
    SEXP kinds = Rf_allocVector(STRSXP, (R_xlen_t)m);
    SET_VECTOR_ELT(out, 1, kinds);
    SEXP source = Rf_allocVector(STRSXP, (R_xlen_t)m);
    SET_VECTOR_ELT(out, 2, source);
    SEXP levels = Rf_allocVector(VECSXP, (R_xlen_t)m);
    SET_VECTOR_ELT(out, 3, levels);
    SEXP raw = Rf_allocVector(STRSXP, (R_xlen_t)nr);
    SET_VECTOR_ELT(out, 4, raw);
    for (size_t j = 0; j < m; j++) {
        SEXP s = schema_string(c, get_feature_name, j, 0, &rc);
        if (s == NULL) { UNPROTECT(1); return failure(c, rc, NULL); }
        SET_STRING_ELT(name, (R_xlen_t)j, s);
        s = schema_string(c, get_feature_source, j, 0, &rc);
        if (s == NULL) { UNPROTECT(1); return failure(c, rc, NULL); }
        SET_STRING_ELT(source, (R_xlen_t)j, s);
        size_t nl = 0;
        rc = readmit_feature_kind(c, j, &kind);
        if (rc == READMIT_OK) rc = readmit_feature_n_levels(c, j, &nl);
        if (rc != READMIT_OK) { UNPROTECT(1); return failure(c, rc, NULL); }
        SET_STRING_ELT(kinds, (R_xlen_t)j,
                       Rf_mkChar(kind == READMIT_FEATURE_CATEGORICAL ? "categorical" : "numeric"));
        if (nl > INT_MAX) nl = 0;
        SEXP lv = Rf_allocVector(STRSXP, (R_xlen_t)nl);
        SET_VECTOR_ELT(levels, (R_xlen_t)j, lv);
        for (size_t l = 0; l < nl; l++) {
            char small[256];
            needed = 0;
            rc = readmit_feature_level(c, j, l, small, sizeof small, &needed);
            if (rc == READMIT_OK) {
                SET_STRING_ELT(lv, (R_xlen_t)l, Rf_mkCharCE(small, CE_UTF8));
                continue;
            }
            char *buf = (rc == READMIT_ERANGE && needed > 0) ? R_alloc(needed, 1) : NULL;
            if (buf != NULL) rc = readmit_feature_level(c, j, l, buf, needed, &needed);
            if (buf == NULL || rc != READMIT_OK) { UNPROTECT(1); return failure(c, rc, NULL); }
            SET_STRING_ELT(lv, (R_xlen_t)l, Rf_mkCharCE(buf, CE_UTF8));
        }
    }
    for (size_t i = 0; i < nr; i++) {
        SEXP s = schema_string(c, get_raw_field_name, i, 0, &rc);
        if (s == NULL) { UNPROTECT(1); return failure(c, rc, NULL); }
        SET_STRING_ELT(raw, (R_xlen_t)i, s);
    }
    UNPROTECT(1);
    return out;
}
