/* .Call glue for raw records (the protocol's RECORDS, docs/PROTOCOL.md "Raw records", and
 * HISTORY, "History"): the
 * columns prepared by R/records.R go into a readmit_records batch as they are
 * (src/rreadmit_fill.c), the daemon
 * encodes them with its model's own dataset spec, and the readmit_result comes back as plain R
 * vectors. Also the raw fields of INFO (readmit_raw_field_*).
 *
 * Ownership: the batch and the result are C objects, each held by an external pointer with a
 * finalizer from the moment it exists, so an R error (out of memory, a string that cannot be
 * translated) or an interrupt between two R allocations never leaks them; on every normal path
 * they are freed explicitly (the finalizer then finds a cleared pointer). Library failures are
 * returned as "readmit_failure" lists, as in src/rreadmit.c. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <R.h>
#include <Rinternals.h>
#include "readmit.h"
#include "rreadmit.h"

static SEXP records_tag(void) { return Rf_install("readmit_records"); }
static SEXP result_tag(void) { return Rf_install("readmit_result"); }

static void records_finalizer(SEXP xp) {
    readmit_records *r = (readmit_records *)R_ExternalPtrAddr(xp);
    if (r != NULL) {
        R_ClearExternalPtr(xp);
        readmit_records_free(r);
    }
}

static void result_finalizer(SEXP xp) {
    readmit_result *r = (readmit_result *)R_ExternalPtrAddr(xp);
    if (r != NULL) {
        R_ClearExternalPtr(xp);
        readmit_result_free(r);
    }
}

/* An R string from a library string (NULL gives NA). */
static SEXP mk_utf8(const char *s) {
    if (s == NULL) return NA_STRING;
    size_t len = strlen(s);
    if (len > INT_MAX) Rf_error("string from the daemon too long");
    return Rf_mkCharLenCE(s, (int)len, CE_UTF8);
}

/* Checks the prepared columns before any C object exists: `names` a character vector without
 * NA, `cols` a list of double vectors (numbers; NaN = missing) or character vectors (texts;
 * NA = missing), each of n_rows values. */
static size_t check_columns(SEXP names, SEXP cols, SEXP n_rows_) {
    if (TYPEOF(names) != STRSXP || TYPEOF(cols) != VECSXP || XLENGTH(names) != XLENGTH(cols))
        Rf_error("internal: records need a character vector of names and a list of columns");
    double nr = Rf_asReal(n_rows_);
    if (ISNAN(nr) || nr < 0 || nr > 4294967295.0 || nr != floor(nr))
        Rf_error("the number of rows must be a whole number from 0 to 2^32 - 1");
    size_t n = (size_t)nr;
    for (R_xlen_t j = 0; j < XLENGTH(cols); j++) {
        SEXP col = VECTOR_ELT(cols, j);
        if (STRING_ELT(names, j) == NA_STRING) Rf_error("a column name is NA");
        if (TYPEOF(col) != REALSXP && TYPEOF(col) != INTSXP && TYPEOF(col) != STRSXP && !Rf_isFactor(col))
            Rf_error("internal: column %d is neither numbers nor texts", (int)j + 1);
        if ((size_t)XLENGTH(col) != n)
            Rf_error("column '%s' has %.0f values, not %.0f", Rf_translateChar(STRING_ELT(names, j)),
                     (double)XLENGTH(col), nr);
    }
    return n;
}

/* A failure of a records setter: the fill's message (a text that cannot be sent, or the
 * second part's failure) or else the batch's own, copied before the batch is freed. */
static SEXP records_failure(SEXP rxp, readmit_records *recs, int rc) {
    int row;
    const char *message = rreadmit_fill_failure(&row);
    SEXP f = PROTECT(rreadmit_failure(NULL, rc, message ? message : readmit_records_errmsg(recs)));
    if (message) SET_VECTOR_ELT(f, 3, Rf_ScalarInteger(row)); /* "row": 0-based, as the library's */
    rreadmit_fill_failure_clear();
    records_finalizer(rxp);
    UNPROTECT(1);
    return f;
}

/* The messages of a result: list(row (0-based; -1 = the request), field, severity, code,
 * message), unprotected. *rc is READMIT_OK unless a message could not be read. */
static SEXP result_messages(const readmit_result *res, int *rc) {
    *rc = READMIT_OK;
    size_t n_msg = readmit_result_n_messages(res);
    if (n_msg > (size_t)R_XLEN_T_MAX) n_msg = 0;
    const char *mnames[] = {"row", "field", "severity", "code", "message", ""};
    SEXP msgs = PROTECT(Rf_mkNamed(VECSXP, mnames));
    SEXP m_row = Rf_allocVector(INTSXP, (R_xlen_t)n_msg);
    SET_VECTOR_ELT(msgs, 0, m_row);
    SEXP m_field = Rf_allocVector(STRSXP, (R_xlen_t)n_msg);
    SET_VECTOR_ELT(msgs, 1, m_field);
    SEXP m_sev = Rf_allocVector(STRSXP, (R_xlen_t)n_msg);
    SET_VECTOR_ELT(msgs, 2, m_sev);
    SEXP m_code = Rf_allocVector(STRSXP, (R_xlen_t)n_msg);
    SET_VECTOR_ELT(msgs, 3, m_code);
    SEXP m_text = Rf_allocVector(STRSXP, (R_xlen_t)n_msg);
    SET_VECTOR_ELT(msgs, 4, m_text);
    for (size_t m = 0; m < n_msg; m++) {
        int row = -1, severity = 0;
        const char *field = NULL, *code = NULL, *text = NULL;
        *rc = readmit_result_message(res, m, &row, &field, &severity, &code, &text);
        if (*rc != READMIT_OK) break;
        INTEGER(m_row)[m] = row;
        SET_STRING_ELT(m_field, (R_xlen_t)m, mk_utf8(field));
        SET_STRING_ELT(m_sev, (R_xlen_t)m,
                       Rf_mkChar(severity == READMIT_SEVERITY_ERROR ? "error" : "warning"));
        SET_STRING_ELT(m_code, (R_xlen_t)m, mk_utf8(code));
        SET_STRING_ELT(m_text, (R_xlen_t)m, mk_utf8(text));
    }
    UNPROTECT(1);
    return msgs;
}

/* Scores raw records. Returns list(risk, atypicality, tier (0-based; NA for a row with an
 * error), risk_low, risk_high (with the interval option, NaN for a row with an error; else
 * NULL), messages = list(row (0-based; -1 = the request), field, severity, code, message),
 * explanations = list(row (0-based), rank (1-based), feature, contribution, value),
 * model_version), or a "readmit_failure". */
SEXP rreadmit_score_records(SEXP xp, SEXP names, SEXP cols, SEXP n_rows_, SEXP k_,
                            SEXP options_) {
    readmit_client *c = rreadmit_get_client(xp);
    size_t n = check_columns(names, cols, n_rows_);
    int k = Rf_asInteger(k_);
    if (k == NA_INTEGER || k < 0) Rf_error("'k' must be a whole number >= 0");
    int options = Rf_asInteger(options_);
    if (options == NA_INTEGER || options < 0) Rf_error("internal: bad records options");

    /* The batch: owned by rxp from its first moment. */
    SEXP rxp = PROTECT(R_MakeExternalPtr(NULL, records_tag(), R_NilValue));
    R_RegisterCFinalizerEx(rxp, records_finalizer, TRUE);
    readmit_records *recs = rreadmit_take_batch(xp, n, 0);
    int rc = recs != NULL ? READMIT_OK : readmit_records_new(n, &recs);
    if (rc != READMIT_OK) {
        UNPROTECT(1);
        return rreadmit_failure(NULL, rc, "cannot allocate the records batch");
    }
    R_SetExternalPtrAddr(rxp, recs);
    rc = rreadmit_set_columns(xp, recs, names, cols, n);
    if (rc != READMIT_OK) {
        SEXP f = records_failure(rxp, recs, rc);
        UNPROTECT(1);
        return f;
    }

    /* The result: owned by resxp as soon as the library hands it over. */
    SEXP resxp = PROTECT(R_MakeExternalPtr(NULL, result_tag(), R_NilValue));
    R_RegisterCFinalizerEx(resxp, result_finalizer, TRUE);
    readmit_result *res = NULL;
    rc = readmit_score_records(c, recs, (size_t)k, (unsigned)options, &res);
    if (res != NULL) R_SetExternalPtrAddr(resxp, res);
    /* The batch is not needed any more: the client keeps it (cleared) for its next call. */
    R_ClearExternalPtr(rxp);
    rreadmit_keep_batch(xp, recs, n, (size_t)XLENGTH(cols), 0);
    if (rc != READMIT_OK) {
        SEXP f = PROTECT(rreadmit_failure(c, rc, NULL));
        result_finalizer(resxp);
        UNPROTECT(3);
        return f;
    }
    if (readmit_result_n_rows(res) != n) {
        result_finalizer(resxp);
        UNPROTECT(2);
        return rreadmit_failure(NULL, READMIT_EPROTO, "the reply's row count differs from the request's");
    }

    SEXP risk = PROTECT(Rf_allocVector(REALSXP, (R_xlen_t)n));
    SEXP atyp = PROTECT(Rf_allocVector(REALSXP, (R_xlen_t)n));
    SEXP tier = PROTECT(Rf_allocVector(INTSXP, (R_xlen_t)n));
    uint8_t *tier8 = (uint8_t *)R_alloc(n > 0 ? n : 1, 1);
    if (n > 0) {
        rc = readmit_result_scores(res, REAL(risk), REAL(atyp), tier8);
        if (rc != READMIT_OK) {
            result_finalizer(resxp);
            UNPROTECT(5);
            return rreadmit_failure(NULL, rc, "cannot read the scores of the result");
        }
    }
    for (size_t i = 0; i < n; i++) INTEGER(tier)[i] = (tier8[i] == 255) ? NA_INTEGER : tier8[i];

    SEXP msgs = PROTECT(result_messages(res, &rc));
    if (rc != READMIT_OK) {
        result_finalizer(resxp);
        UNPROTECT(6);
        return rreadmit_failure(NULL, rc, "cannot read a message of the result");
    }

    /* Explanations in long form, rows in order, the largest contribution first. */
    size_t n_exp = 0;
    for (size_t i = 0; i < n && readmit_result_k(res) > 0; i++) {
        size_t ne = 0;
        if (readmit_result_n_explanations(res, i, &ne) == READMIT_OK) n_exp += ne;
    }
    const char *enames[] = {"row", "rank", "feature", "contribution", "value", ""};
    SEXP expl = PROTECT(Rf_mkNamed(VECSXP, enames));
    SEXP e_row = Rf_allocVector(INTSXP, (R_xlen_t)n_exp);
    SET_VECTOR_ELT(expl, 0, e_row);
    SEXP e_rank = Rf_allocVector(INTSXP, (R_xlen_t)n_exp);
    SET_VECTOR_ELT(expl, 1, e_rank);
    SEXP e_feat = Rf_allocVector(STRSXP, (R_xlen_t)n_exp);
    SET_VECTOR_ELT(expl, 2, e_feat);
    SEXP e_con = Rf_allocVector(REALSXP, (R_xlen_t)n_exp);
    SET_VECTOR_ELT(expl, 3, e_con);
    SEXP e_val = Rf_allocVector(STRSXP, (R_xlen_t)n_exp);
    SET_VECTOR_ELT(expl, 4, e_val);
    size_t at = 0;
    for (size_t i = 0; i < n && at < n_exp; i++) {
        size_t ne = 0;
        if (readmit_result_n_explanations(res, i, &ne) != READMIT_OK) continue;
        for (size_t j = 0; j < ne && at < n_exp; j++) {
            const char *feature = NULL, *value = NULL;
            double contribution = NA_REAL;
            rc = readmit_result_explanation(res, i, j, &feature, &contribution, &value);
            if (rc != READMIT_OK) {
                result_finalizer(resxp);
                UNPROTECT(7);
                return rreadmit_failure(NULL, rc, "cannot read an explanation of the result");
            }
            INTEGER(e_row)[at] = (int)i;
            INTEGER(e_rank)[at] = (int)j + 1;
            SET_STRING_ELT(e_feat, (R_xlen_t)at, mk_utf8(feature));
            REAL(e_con)[at] = contribution;
            SET_STRING_ELT(e_val, (R_xlen_t)at, mk_utf8(value));
            at++;
        }
    }

    SEXP version = PROTECT(rreadmit_hex_version(readmit_result_model_version(res)));
    const char *names_out[] = {"risk", "atypicality", "tier", "messages", "explanations",
                               "model_version", "risk_low", "risk_high", ""};
    SEXP out = PROTECT(Rf_mkNamed(VECSXP, names_out));
    SET_VECTOR_ELT(out, 0, risk);
    SET_VECTOR_ELT(out, 1, atyp);
    SET_VECTOR_ELT(out, 2, tier);
    SET_VECTOR_ELT(out, 3, msgs);
    SET_VECTOR_ELT(out, 4, expl);
    SET_VECTOR_ELT(out, 5, version);
    if (readmit_result_has_interval(res)) {
        SEXP low = Rf_allocVector(REALSXP, (R_xlen_t)n);
        SET_VECTOR_ELT(out, 6, low);
        SEXP high = Rf_allocVector(REALSXP, (R_xlen_t)n);
        SET_VECTOR_ELT(out, 7, high);
        rc = n > 0 ? readmit_result_intervals(res, REAL(low), REAL(high)) : READMIT_OK;
        if (rc != READMIT_OK) {
            result_finalizer(resxp);
            UNPROTECT(9);
            return rreadmit_failure(NULL, rc, "cannot read the intervals of the result");
        }
    }
    result_finalizer(resxp);
    UNPROTECT(9);
    return out;
}

/* Derives the history fields of raw records holding a patient file (HISTORY). Returns
 * list(fields = named list of the derived numeric columns, messages (as above),
 * model_version), or a "readmit_failure". */
SEXP rreadmit_derive_history(SEXP xp, SEXP names, SEXP cols, SEXP n_rows_, SEXP options_) {
    readmit_client *c = rreadmit_get_client(xp);
    size_t n = check_columns(names, cols, n_rows_);
    int options = Rf_asInteger(options_);
    if (options == NA_INTEGER || options < 0) Rf_error("internal: bad records options");
    SEXP rxp = PROTECT(R_MakeExternalPtr(NULL, records_tag(), R_NilValue));
    R_RegisterCFinalizerEx(rxp, records_finalizer, TRUE);
    readmit_records *recs = NULL;
    int rc = readmit_records_new(n, &recs);
    if (rc != READMIT_OK) {
        UNPROTECT(1);
        return rreadmit_failure(NULL, rc, "cannot allocate the records batch");
    }
    R_SetExternalPtrAddr(rxp, recs);
    rc = rreadmit_set_columns(R_NilValue, recs, names, cols, n);
    if (rc != READMIT_OK) {
        SEXP f = records_failure(rxp, recs, rc);
        UNPROTECT(1);
        return f;
    }
    SEXP resxp = PROTECT(R_MakeExternalPtr(NULL, result_tag(), R_NilValue));
    R_RegisterCFinalizerEx(resxp, result_finalizer, TRUE);
    readmit_result *res = NULL;
    rc = readmit_derive_history(c, recs, (unsigned)options, &res);
    if (res != NULL) R_SetExternalPtrAddr(resxp, res);
    if (rc != READMIT_OK) {
        SEXP f = PROTECT(rreadmit_failure(c, rc, NULL));
        result_finalizer(resxp);
        records_finalizer(rxp);
        UNPROTECT(3);
        return f;
    }
    size_t n_fields = readmit_result_n_history_fields(res);
    SEXP fields = PROTECT(Rf_allocVector(VECSXP, (R_xlen_t)n_fields));
    SEXP field_names = PROTECT(Rf_allocVector(STRSXP, (R_xlen_t)n_fields));
    for (size_t f = 0; f < n_fields; f++) {
        const char *name = readmit_result_history_field(res, f);
        SEXP values = Rf_allocVector(REALSXP, (R_xlen_t)n);
        SET_VECTOR_ELT(fields, (R_xlen_t)f, values);
        SET_STRING_ELT(field_names, (R_xlen_t)f, mk_utf8(name));
        rc = name ? readmit_records_get_numbers(recs, name, n > 0 ? REAL(values) : NULL) : READMIT_EPROTO;
        if (rc != READMIT_OK) {
            result_finalizer(resxp);
            records_finalizer(rxp);
            UNPROTECT(4);
            return rreadmit_failure(NULL, rc, "cannot read a history field back from the records");
        }
    }
    Rf_setAttrib(fields, R_NamesSymbol, field_names);
    records_finalizer(rxp);
    SEXP msgs = PROTECT(result_messages(res, &rc));
    if (rc != READMIT_OK) {
        result_finalizer(resxp);
        UNPROTECT(5);
        return rreadmit_failure(NULL, rc, "cannot read a message of the result");
    }
    SEXP version = PROTECT(rreadmit_hex_version(readmit_result_model_version(res)));
    result_finalizer(resxp);
    const char *names_out[] = {"fields", "messages", "model_version", ""};
    SEXP out = PROTECT(Rf_mkNamed(VECSXP, names_out));
    SET_VECTOR_ELT(out, 0, fields);
    SET_VECTOR_ELT(out, 1, msgs);
    SET_VECTOR_ELT(out, 2, version);
    UNPROTECT(7);
    return out;
}

/* A raw field's name (or level) through the buffer convention of readmit.h. */
static const char *field_string(readmit_client *c, size_t index, long level, int *rc) {
    static char small[512];
    size_t needed = 0;
    *rc = (level < 0) ? readmit_raw_field_name(c, index, small, sizeof small, &needed)
                      : readmit_raw_field_level(c, index, (size_t)level, small, sizeof small, &needed);
    if (*rc == READMIT_OK) return small;
    if (*rc != READMIT_ERANGE || needed == 0) return NULL;
    char *buf = R_alloc(needed, 1);
    *rc = (level < 0) ? readmit_raw_field_name(c, index, buf, needed, &needed)
                      : readmit_raw_field_level(c, index, (size_t)level, buf, needed, &needed);
    return (*rc == READMIT_OK) ? buf : NULL;
}

/* The raw fields of INFO: list(name, type, required, history, levels), or a failure. */
SEXP rreadmit_raw_fields(SEXP xp) {
    readmit_client *c = rreadmit_get_client(xp);
    size_t nf = 0;
    int rc = readmit_n_raw_fields(c, &nf);
    if (rc != READMIT_OK) return rreadmit_failure(c, rc, NULL);
    if (nf > INT_MAX) return rreadmit_failure(NULL, READMIT_EPROTO, "too many raw fields");
    const char *names[] = {"name", "type", "required", "history", "levels", ""};
    SEXP out = PROTECT(Rf_mkNamed(VECSXP, names));
    SEXP name = Rf_allocVector(STRSXP, (R_xlen_t)nf);
    SET_VECTOR_ELT(out, 0, name);
    SEXP type = Rf_allocVector(STRSXP, (R_xlen_t)nf);
    SET_VECTOR_ELT(out, 1, type);
    SEXP req = Rf_allocVector(LGLSXP, (R_xlen_t)nf);
    SET_VECTOR_ELT(out, 2, req);
    SEXP hist = Rf_allocVector(LGLSXP, (R_xlen_t)nf);
    SET_VECTOR_ELT(out, 3, hist);
    SEXP levels = Rf_allocVector(VECSXP, (R_xlen_t)nf);
    SET_VECTOR_ELT(out, 4, levels);
    static const char *type_names[] = {"number", "text", "timestamp", "diagnosis_code", "other"};
    for (size_t i = 0; i < nf; i++) {
        const char *s = field_string(c, i, -1, &rc);
        int t = READMIT_FIELD_OTHER, r = 0, h = 0;
        size_t nl = 0;
        if (rc == READMIT_OK) SET_STRING_ELT(name, (R_xlen_t)i, mk_utf8(s));
        if (rc == READMIT_OK) rc = readmit_raw_field_type(c, i, &t);
        if (rc == READMIT_OK) rc = readmit_raw_field_required(c, i, &r);
        if (rc == READMIT_OK) rc = readmit_raw_field_history(c, i, &h);
        if (rc == READMIT_OK) rc = readmit_raw_field_n_levels(c, i, &nl);
        if (rc != READMIT_OK) {
            UNPROTECT(1);
            return rreadmit_failure(c, rc, NULL);
        }
        if (t < 0 || t > READMIT_FIELD_OTHER) t = READMIT_FIELD_OTHER;
        SET_STRING_ELT(type, (R_xlen_t)i, Rf_mkChar(type_names[t]));
        LOGICAL(req)[i] = r != 0;
        LOGICAL(hist)[i] = h != 0;
        if (nl > INT_MAX) nl = 0;
        SEXP lv = Rf_allocVector(STRSXP, (R_xlen_t)nl);
        SET_VECTOR_ELT(levels, (R_xlen_t)i, lv);
        for (size_t l = 0; l < nl; l++) {
            s = field_string(c, i, (long)l, &rc);
            if (rc != READMIT_OK) {
                UNPROTECT(1);
                return rreadmit_failure(c, rc, NULL);
            }
            SET_STRING_ELT(lv, (R_xlen_t)l, mk_utf8(s));
        }
    }
    UNPROTECT(1);
    return out;
}
