/* Filling a readmit_records batch from the columns of a data.frame (rreadmit_set_columns):
 * numbers, integers, factors and character vectors, each set whole with the library's column
 * setters. A character column is dictionary-encoded by CHARSXP address (R keeps one CHARSXP
 * per distinct string), and each distinct text goes to the library as UTF-8.
 *
 * A frame of 16,384 rows or more is filled on two threads, as the Python package does: the
 * first part of its columns on R's thread into the caller's batch, the rest on a helper thread
 * into a second batch, then joined (readmit_records_move). Grouping the texts of the 58
 * character columns of 100,000 flat records took about 17 ms of R's one thread, most of a
 * raw-records call's client time (benchmarks/bindings/README_r.md). The batch sent is the same
 * either way.
 *
 * What the helper thread may touch: while it runs, R's thread waits in this .Call, so R runs
 * no code, allocates nothing and collects nothing; the helper only reads: the columns' data
 * pointers (taken on R's thread before it starts: REAL, INTEGER, STRING_PTR_RO of a vector
 * that is not ALTREP), and of each distinct CHARSXP its encoding flag, bytes and length
 * (Rf_getCharCE, CHAR, LENGTH: reads of the object, no allocation, no error for a CHARSXP).
 * It calls no R function that can allocate or signal an error (data.table reads strings from
 * its OpenMP threads under the same rule). A column that needs R itself (an ALTREP character
 * vector, whose elements R may have to make; a text in an encoding R must translate, such as
 * latin1) stops a part's fill at that column, and R's thread sets it and the rest of that part
 * after the join, in column order, so an error is still the first that the columns in order
 * meet. */
#include <langinfo.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <R.h>
#include <Rinternals.h>
#include "readmit.h"
#include "rreadmit.h"

/* A frame of at least this many rows, with at least FILL_PARALLEL_MIN_COLUMNS columns, is
 * filled on two threads (the Python package's threshold: below it a thread's start costs more
 * than half the fill). */
#define FILL_PARALLEL_ROWS 16384
#define FILL_PARALLEL_MIN_COLUMNS 4

/* A part's fill stopped at a column that needs R's thread (not a library code: those are 0
 * and 100 up). */
#define FILL_NEEDS_R (-1)

/* A text that cannot be sent, or the other part's failure: the message rreadmit_fill_failure
 * reports instead of the caller's batch's own, with its 0-based row (-1: none). R calls .Call
 * on one thread, so one slot serves; the helper thread writes its own job's copy. */
static char failure_message[400];
static int failure_row = -1;

const char *rreadmit_fill_failure(int *row) {
    *row = failure_row;
    return failure_message[0] ? failure_message : NULL;
}

void rreadmit_fill_failure_clear(void) {
    failure_message[0] = '\0';
    failure_row = -1;
}

/* Whether s[0..len) is well-formed UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF). Written here because R's API has no such check and the library's is internal;
 * the library applies the same rule to the texts it is given. */
static int utf8_valid(const unsigned char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t n = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC2 ? 1 : 0;
        if (n == 0 || c > 0xF4 || len - i <= n) return 0;
        for (size_t k = 1; k <= n; k++)
            if ((s[i + k] & 0xC0) != 0x80) return 0;
        if ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] > 0x9F) || (c == 0xF0 && s[i + 1] < 0x90) ||
            (c == 0xF4 && s[i + 1] > 0x8F))
            return 0;
        i += n + 1;
    }
    return 1;
}

static int ascii_only(const unsigned char *s, size_t len) {
    unsigned char any = 0;
    for (size_t i = 0; i < len; i++) any |= s[i];
    return any < 0x80;
}

/* Whether this session's native encoding is UTF-8 (as l10n_info()$`UTF-8` says); read once on
 * R's thread (rreadmit_set_columns) before any helper starts. */
static int native_utf8 = -1;

static int native_is_utf8(void) {
    if (native_utf8 < 0) {
#ifdef _WIN32
        native_utf8 = 0; /* translated by R, as before */
#else
        const char *set = nl_langinfo(CODESET);
        native_utf8 = set != NULL && (strcmp(set, "UTF-8") == 0 || strcmp(set, "utf8") == 0);
#endif
    }
    return native_utf8;
}

/* The UTF-8 text to send for the string `s` when no translation is needed: a string marked
 * UTF-8 or "bytes", native in a UTF-8 session, or ASCII (the same bytes in every encoding R
 * supports). *ok is 0 when those bytes are not UTF-8 (Rf_translateCharUTF8 would have sent
 * "Cauc<ff>sian", an unknown level where the CLI, C and Python report an error; R refuses to
 * translate a "bytes" string, with an unclassed error); NULL with *ok 1 when R must translate
 * it (latin1, or another native encoding). Safe on the helper thread (see the file's comment). */
static const char *plain_utf8(SEXP s, int *ok) {
    cetype_t ce = Rf_getCharCE(s);
    const unsigned char *raw = (const unsigned char *)CHAR(s);
    size_t len = (size_t)LENGTH(s);
    *ok = 1;
    if (ce == CE_UTF8 || ce == CE_BYTES || (ce == CE_NATIVE && native_utf8 == 1)) {
        *ok = utf8_valid(raw, len);
        return *ok ? (const char *)raw : NULL;
    }
    return ascii_only(raw, len) ? (const char *)raw : NULL;
}

/* The UTF-8 text to send for `s`, translated by R where it must be (R's thread only), or NULL
 * when it has none (see plain_utf8). */
static const char *utf8_text(SEXP s) {
    int ok;
    const char *text = plain_utf8(s, &ok);
    if (text != NULL || !ok) return text;
    return Rf_translateCharUTF8(s);
}

/* How a column goes into the batch. */
typedef enum {
    COLUMN_NUMBERS,  /* double: readmit_records_set_numbers */
    COLUMN_INTEGERS, /* integer, not a factor: as doubles, NA_integer_ missing */
    COLUMN_FACTOR,   /* codes and levels (translated on R's thread beforehand) */
    COLUMN_TEXTS,    /* a character vector with a data pointer */
    COLUMN_TEXTS_R   /* an ALTREP character vector: its elements through STRING_ELT, R's thread */
} column_kind;

typedef struct {
    const char *name; /* UTF-8 */
    column_kind kind;
    SEXP col;
    const void *data;    /* REAL, INTEGER, STRING_PTR_RO; NULL for COLUMN_TEXTS_R or no rows */
    const char **levels; /* COLUMN_FACTOR: UTF-8 labels ("" for an NA level) */
    int32_t *level_code; /* COLUMN_FACTOR: the code sent for R's code - 1 (-1 = missing) */
    R_xlen_t n_levels;
    R_xlen_t bad_level; /* COLUMN_FACTOR: the first level that is not UTF-8, or -1 */
} column_plan;

/* One part of the columns, filled into one batch, on R's thread or the helper's. */
typedef struct {
    readmit_records *recs;
    const column_plan *plan;
    size_t from, to, n;
    int without_r;     /* 1: calls no R (a helper is running): a column that needs R stops the fill */
    int32_t *codes;    /* n rows of codes */
    void **distinct;   /* n: a text column's CHARSXPs, then in place their UTF-8 texts */
    double *numbers;   /* n: an integer column as doubles (allocated at the first one) */
    size_t next;       /* the first column not set */
    int rc;            /* READMIT_OK, a library code, or FILL_NEEDS_R */
    char message[400]; /* this part's own failure message, "" for the batch's */
    int row;           /* its 0-based row, -1 for none */
} fill_job;

/* Records the first row of level `level` of `field` as the bad text of the job. */
static int bad_text(fill_job *job, const char *field, int32_t level) {
    size_t row = 0;
    while (row < job->n && job->codes[row] != level) row++;
    job->row = row < job->n ? (int)row : -1;
    snprintf(job->message, sizeof job->message, "field '%.200s', row %zu: text is not valid UTF-8", field, row + 1);
    return READMIT_EINVAL;
}

/* The CHARSXP table of a text column: open addressing by address, kept at most half full. It
 * starts small and doubles as levels come: sized for n rows up front, it would cost megabytes
 * of fresh (faulted, zeroed) memory per 100,000-row column even for three levels. It is
 * malloc'ed, not R_alloc'ed: an id column's table grows to megabytes, and R's heap growing by
 * that much set off a collection that marks every string of the caller's data.frame. */
static size_t charsxp_slot(SEXP s, size_t cap) { /* cap: a power of two */
    return (size_t)((((uintptr_t)s >> 4) * (uintptr_t)0x9E3779B97F4A7C15ull) >> 16) & (cap - 1);
}

/* Doubles a CHARSXP table; 0 when out of memory (the table unchanged). */
static int charsxp_table_grow(SEXP **slot, int32_t **slot_code, size_t *cap) {
    size_t grown = *cap * 2;
    SEXP *gslot = calloc(grown, sizeof *gslot);
    int32_t *gcode = malloc(grown * sizeof *gcode);
    if (!gslot || !gcode) {
        free(gslot);
        free(gcode);
        return 0;
    }
    for (size_t k = 0; k < *cap; k++) {
        if ((*slot)[k] == NULL) continue;
        size_t g = charsxp_slot((*slot)[k], grown);
        while (gslot[g] != NULL) g = (g + 1) & (grown - 1);
        gslot[g] = (*slot)[k];
        gcode[g] = (*slot_code)[k];
    }
    free(*slot);
    free(*slot_code);
    *slot = gslot, *slot_code = gcode, *cap = grown;
    return 1;
}

/* Groups the rows of a character column by CHARSXP: job->codes gets each row's code (-1 for
 * NA), job->distinct the distinct CHARSXPs in order of first appearance. `cells` is the
 * column's data pointer, or NULL to read through STRING_ELT (R's thread only). Returns the
 * number of distinct texts, or -1 when out of memory. */
static ptrdiff_t group_texts(fill_job *job, SEXP col, const SEXP *cells) {
    size_t cap = 64, n_levels = 0;
    SEXP *slot = calloc(cap, sizeof *slot);
    int32_t *slot_code = malloc(cap * sizeof *slot_code);
    int ok = slot && slot_code;
    int32_t *codes = job->codes;
    SEXP last = NULL; /* the previous row's text: runs of one text skip the table */
    int32_t last_code = -1;
    for (size_t row = 0; ok && row < job->n; row++) {
        SEXP s = cells ? cells[row] : STRING_ELT(col, (R_xlen_t)row);
        if (s == NA_STRING) { codes[row] = -1; continue; }
        if (s == last) { codes[row] = last_code; continue; }
        size_t i = charsxp_slot(s, cap);
        while (slot[i] != NULL && slot[i] != s) i = (i + 1) & (cap - 1);
        if (slot[i] == NULL) {
            if ((n_levels + 1) * 2 > cap) {
                if (!(ok = charsxp_table_grow(&slot, &slot_code, &cap))) break;
                i = charsxp_slot(s, cap);
                while (slot[i] != NULL) i = (i + 1) & (cap - 1);
            }
            slot[i] = s;
            slot_code[i] = (int32_t)n_levels;
            job->distinct[n_levels++] = s; /* at most n */
        }
        codes[row] = last_code = slot_code[i];
        last = s;
    }
    free(slot);
    free(slot_code);
    return ok ? (ptrdiff_t)n_levels : -1;
}

/* Sets a character column dictionary-encoded (readmit_records_set_codes). Two CHARSXPs of the
 * same text in different encodings become two equal levels, which the library accepts. On the
 * helper thread a text that R must translate returns FILL_NEEDS_R (nothing set). */
static int set_text_column(fill_job *job, const column_plan *p) {
    ptrdiff_t n_levels = group_texts(job, p->col, p->kind == COLUMN_TEXTS ? (const SEXP *)p->data : NULL);
    if (n_levels < 0) {
        snprintf(job->message, sizeof job->message, "out of memory grouping the texts of field '%.200s'", p->name);
        job->row = -1;
        return READMIT_ENOMEM;
    }
    /* Each distinct CHARSXP is replaced in place by its UTF-8 text (both are pointers). */
    for (ptrdiff_t j = 0; j < n_levels; j++) {
        int ok;
        const char *text = plain_utf8((SEXP)job->distinct[j], &ok);
        if (!ok) return bad_text(job, p->name, (int32_t)j);
        if (text == NULL) {
            if (job->without_r) return FILL_NEEDS_R;
            /* R's thread: R translates it (an R error here, such as out of memory, leaves
             * nothing to free: the scratch is R_alloc'ed and the batches are held by external
             * pointers). */
            text = Rf_translateCharUTF8((SEXP)job->distinct[j]);
        }
        job->distinct[j] = (void *)text;
    }
    return readmit_records_set_codes(job->recs, p->name, (size_t)n_levels, (const char **)job->distinct, job->codes);
}

/* Sets a factor column from its codes and levels as they are (readmit_records_set_codes): the
 * cells are the factor's labels, as as.character(x) gives them (an NA code, an NA level or a
 * code outside the levels is missing), without a character vector of n rows first. */
static int set_factor_column(fill_job *job, const column_plan *p) {
    const int *x = (const int *)p->data;
    R_xlen_t n_levels = p->n_levels;
    for (size_t row = 0; row < job->n; row++) {
        int v = x[row];
        job->codes[row] = (v == NA_INTEGER || v < 1 || v > n_levels) ? -1 : p->level_code[v - 1];
    }
    if (p->bad_level >= 0) return bad_text(job, p->name, (int32_t)p->bad_level);
    return readmit_records_set_codes(job->recs, p->name, (size_t)n_levels, p->levels, job->codes);
}

static int set_column(fill_job *job, const column_plan *p) {
    switch (p->kind) {
    case COLUMN_NUMBERS:
        return readmit_records_set_numbers(job->recs, p->name, (const double *)p->data);
    case COLUMN_INTEGERS: {
        /* Plain integers (read.csv's whole-number columns): NA_integer_ is missing. */
        const int *x = (const int *)p->data;
        for (size_t row = 0; row < job->n; row++) job->numbers[row] = x[row] == NA_INTEGER ? NAN : (double)x[row];
        return readmit_records_set_numbers(job->recs, p->name, job->n > 0 ? job->numbers : NULL);
    }
    case COLUMN_FACTOR:
        return set_factor_column(job, p);
    case COLUMN_TEXTS:
        return set_text_column(job, p);
    case COLUMN_TEXTS_R:
        return job->without_r ? FILL_NEEDS_R : set_text_column(job, p);
    }
    return READMIT_EINVAL;
}

/* Sets columns job->next .. job->to - 1, stopping at the first failure (or column that needs
 * R's thread); job->next is then that column. */
static void fill_part(fill_job *job) {
    job->rc = READMIT_OK;
    for (; job->next < job->to; job->next++) {
        job->rc = set_column(job, &job->plan[job->next]);
        if (job->rc != READMIT_OK) return;
    }
}

static void *fill_helper(void *arg) {
    fill_part((fill_job *)arg);
    return NULL;
}

/* The plan of every column (R's thread: translates names and factor levels, takes data
 * pointers). Everything is R_alloc'ed. */
static column_plan *plan_columns(SEXP names, SEXP cols, size_t n) {
    R_xlen_t m = XLENGTH(cols);
    column_plan *plan = (column_plan *)R_alloc(m ? (size_t)m : 1, sizeof *plan);
    for (R_xlen_t j = 0; j < m; j++) {
        column_plan *p = &plan[j];
        SEXP col = VECTOR_ELT(cols, j);
        memset(p, 0, sizeof *p);
        p->name = Rf_translateCharUTF8(STRING_ELT(names, j));
        p->col = col;
        p->bad_level = -1;
        if (TYPEOF(col) == REALSXP) {
            p->kind = COLUMN_NUMBERS;
            p->data = n > 0 ? REAL(col) : NULL;
        } else if (TYPEOF(col) == INTSXP && !Rf_isFactor(col)) {
            p->kind = COLUMN_INTEGERS;
            p->data = n > 0 ? INTEGER(col) : NULL;
        } else if (Rf_isFactor(col)) {
            p->kind = COLUMN_FACTOR;
            p->data = n > 0 ? INTEGER(col) : NULL;
            SEXP levels = Rf_getAttrib(col, R_LevelsSymbol);
            p->n_levels = TYPEOF(levels) == STRSXP ? XLENGTH(levels) : 0;
            p->levels = (const char **)R_alloc(p->n_levels ? (size_t)p->n_levels : 1, sizeof(const char *));
            p->level_code = (int32_t *)R_alloc(p->n_levels ? (size_t)p->n_levels : 1, sizeof(int32_t));
            /* Each level is translated once; two levels of the same text in different
             * encodings become two equal levels, which the library accepts. */
            for (R_xlen_t i = 0; i < p->n_levels; i++) {
                SEXP s = STRING_ELT(levels, i);
                p->levels[i] = s == NA_STRING ? "" : utf8_text(s);
                p->level_code[i] = s == NA_STRING ? -1 : (int32_t)i;
                if (p->levels[i] == NULL) {
                    p->levels[i] = "";
                    if (p->bad_level < 0) p->bad_level = i;
                }
            }
        } else if (!ALTREP(col)) {
            p->kind = COLUMN_TEXTS;
            p->data = n > 0 ? (const void *)STRING_PTR_RO(col) : NULL;
        } else {
            p->kind = COLUMN_TEXTS_R;
        }
    }
    return plan;
}

/* The column at which the second part starts: half the work, counting a text column as four
 * (its grouping costs several times a numeric column's copy), at least one column each side. */
static size_t split_point(const column_plan *plan, size_t m) {
    size_t total = 0, at = 0;
    for (size_t j = 0; j < m; j++) total += plan[j].kind >= COLUMN_TEXTS ? 4 : 1;
    for (size_t j = 0; j < m - 1; j++) {
        at += plan[j].kind >= COLUMN_TEXTS ? 4 : 1;
        if (2 * at >= total) return j + 1;
    }
    return m - 1;
}

static int has_kind(const column_plan *plan, size_t from, size_t to, column_kind kind) {
    for (size_t j = from; j < to; j++)
        if (plan[j].kind == kind) return 1;
    return 0;
}

static int fill_cores(void) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 ? (int)cores : 1;
}

/* Finishes a part on R's thread, from where it stopped for R (the job's scratch must be R's). */
static void finish_part(fill_job *job) {
    if (job->rc == FILL_NEEDS_R) {
        job->without_r = 0;
        fill_part(job);
    }
}

/* Reports a part's failure in the shared slot: its own message, or its batch's. */
static int part_failure(const fill_job *job) {
    const char *message = job->message[0] ? job->message : readmit_records_errmsg(job->recs);
    snprintf(failure_message, sizeof failure_message, "%s", message);
    failure_row = job->message[0] ? job->row : -1;
    return job->rc;
}

static void second_finalizer(SEXP xp) {
    readmit_records *r = (readmit_records *)R_ExternalPtrAddr(xp);
    if (r != NULL) {
        R_ClearExternalPtr(xp);
        readmit_records_free(r);
    }
}

int rreadmit_set_columns(SEXP client, readmit_records *recs, SEXP names, SEXP cols, size_t n) {
    rreadmit_fill_failure_clear();
    native_is_utf8();
    const void *vmax = vmaxget();
    size_t m = (size_t)XLENGTH(cols);
    column_plan *plan = plan_columns(names, cols, n);
    /* One scratch of row codes (and distinct strings) for every text and factor column of a
     * part (the library copies them): a 400 kB R_alloc per 100,000-row column made R's heap
     * grow by megabytes per call, and each growth set off a collection that marks every string
     * of the caller's data.frame. */
    fill_job first;
    memset(&first, 0, sizeof first);
    first.recs = recs, first.plan = plan, first.n = n, first.to = m, first.row = -1;
    first.codes = (int32_t *)R_alloc(n ? n : 1, sizeof(int32_t));
    first.distinct = (void **)R_alloc(n ? n : 1, sizeof(void *));
    if (has_kind(plan, 0, m, COLUMN_INTEGERS)) first.numbers = (double *)R_alloc(n ? n : 1, sizeof(double));
    int parallel = n >= FILL_PARALLEL_ROWS && m >= FILL_PARALLEL_MIN_COLUMNS && fill_cores() >= 2;
    if (!parallel) {
        fill_part(&first);
        finish_part(&first);
        int rc = first.rc == READMIT_OK ? READMIT_OK : part_failure(&first);
        vmaxset(vmax);
        return rc;
    }

    /* The second part's batch: the client's second kept one when it has as many rows, held by
     * an external pointer until it is joined (an R error on R's thread frees it). */
    SEXP xp2 = PROTECT(R_MakeExternalPtr(NULL, R_NilValue, R_NilValue));
    R_RegisterCFinalizerEx(xp2, second_finalizer, TRUE);
    readmit_records *second = client != R_NilValue ? rreadmit_take_batch(client, n, 1) : NULL;
    int rc = second != NULL ? READMIT_OK : readmit_records_new(n, &second);
    if (rc != READMIT_OK) {
        UNPROTECT(1);
        vmaxset(vmax);
        snprintf(failure_message, sizeof failure_message, "cannot allocate the records batch");
        return rc;
    }
    R_SetExternalPtrAddr(xp2, second);

    fill_job helper;
    memcpy(&helper, &first, sizeof helper);
    first.to = split_point(plan, m);
    helper.recs = second, helper.from = helper.next = first.to, helper.without_r = 1;
    /* The helper's scratch is malloc'ed (R's heap growing by megabytes per call set off
     * collections, as above) and freed right after the join: a part that stopped for R is
     * finished with the first part's R_alloc'ed scratch. */
    helper.codes = malloc(n * sizeof *helper.codes);
    helper.distinct = malloc(n * sizeof *helper.distinct);
    helper.numbers = has_kind(plan, first.to, m, COLUMN_INTEGERS) ? malloc(n * sizeof *helper.numbers) : NULL;
    int started = 0;
    pthread_t thread;
    if (helper.codes && helper.distinct && (helper.numbers || !has_kind(plan, first.to, m, COLUMN_INTEGERS))) {
        first.without_r = 1; /* R's thread calls no R while the helper runs either */
        /* The helper starts with every signal blocked, so a Ctrl-C (R's handler) or any other
         * signal is taken by R's thread, as without it. */
        sigset_t all, old;
        sigfillset(&all);
        int masked = pthread_sigmask(SIG_SETMASK, &all, &old) == 0;
        started = pthread_create(&thread, NULL, fill_helper, &helper) == 0;
        if (masked) pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (!started) first.without_r = 0;
    }
    if (!started) helper.rc = FILL_NEEDS_R; /* no thread or no scratch: all on R's thread below */
    fill_part(&first);
    if (started) pthread_join(thread, NULL);
    free(helper.codes);
    free(helper.distinct);
    free(helper.numbers);
    helper.codes = first.codes, helper.distinct = first.distinct, helper.numbers = first.numbers;

    /* Now in column order, on R's thread: the first part's failure comes first; a part that
     * stopped for R is finished here. */
    finish_part(&first);
    if (first.rc != READMIT_OK) {
        rc = part_failure(&first);
    } else {
        finish_part(&helper);
        if (helper.rc != READMIT_OK) {
            rc = part_failure(&helper);
        } else if ((rc = readmit_records_move(recs, second)) != READMIT_OK) {
            snprintf(failure_message, sizeof failure_message, "%s", readmit_records_errmsg(recs));
        }
    }
    R_ClearExternalPtr(xp2);
    if (client != R_NilValue) rreadmit_keep_batch(client, second, n, m - first.to, 1);
    else readmit_records_free(second);
    UNPROTECT(1);
    vmaxset(vmax);
    return rc;
}
