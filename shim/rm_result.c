/*
 * rm_result.c: the RECORDS reply (docs/PROTOCOL.md, "Raw records"), and the messages of a
 * HISTORY reply ("History"): validated in full before a result exists, then read through the
 * readmit_result_* accessors.
 *
 * Checked: 5 frames; the count frame (8 bytes, n_rows equal to the request's, k at most the
 * request's); the risk and atypicality frames (8 * n_rows bytes) and the tier frame (n_rows
 * bytes); each row either scored (risk in [0, 1], finite atypicality, tier not 255) or failed
 * (NaN, NaN, 255) and failed exactly when an error message names it; the JSON frame (UTF-8
 * without NUL, an object with a "messages" array of well-formed messages whose rows are -1 or
 * in range, and "explanations" with one list per row of at most k well-formed entries, empty
 * for a failed row); with the interval option, 7 frames, the low and high frames (8 * n_rows
 * bytes each) and each row's interval either 0 <= low <= high <= 1 (scored) or NaN, NaN
 * (failed). Anything else is READMIT_EPROTO with a message saying what was wrong.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rm_internal.h"

typedef struct {
    int row;
    int severity;
    const char *field; /* NULL when the message names no field; the strings are the pool's */
    const char *code;
    const char *message;
} rm_message;

/* The distinct strings of a result's messages, each held once. A 100,000-row reply can carry
 * thousands of messages (a cohort's excluded rows) in a few fields, codes and wordings: a copy
 * per message cost three allocations each, and a reader that converts strings (the Python
 * binding) converts each distinct pointer once (readmit_result_messages). The slots, an
 * open-addressing table of index + 1 by hash, are only needed while the result is built. */
typedef struct {
    char **strings;
    size_t count, cap;
    size_t *slots;
    size_t n_slots; /* a power of two, at least twice count; 0 before the first string */
} rm_pool;

typedef struct {
    char *feature;
    double contribution;
    char *value; /* NULL when missing */
} rm_explanation;

struct readmit_result {
    size_t n_rows;
    size_t k;
    uint64_t model_version;
    double *risk;
    double *atypicality;
    uint8_t *tier;
    double *low;  /* NULL unless the result was asked with READMIT_RECORDS_INTERVAL */
    double *high;
    rm_message *messages;
    size_t n_messages;
    rm_pool pool; /* the messages' strings */
    size_t *first; /* n_rows + 1 offsets: row r's explanations are first[r] .. first[r + 1] */
    rm_explanation *explanations;
    size_t n_explanations;
    unsigned char *row_error; /* n_rows flags: an error message names the row */
    char **fields;            /* HISTORY: the history fields set in the records */
    size_t n_fields;
};

#define RM_TIER_FAILED 255

static void rm_pool_free(rm_pool *p) {
    for (size_t i = 0; i < p->count; i++) free(p->strings[i]);
    free(p->strings);
    free(p->slots);
    memset(p, 0, sizeof *p);
}

/* FNV-1a: a pool holds a few distinct strings of a few dozen bytes; the hash only places them
 * in this table. */
static uint64_t rm_pool_hash(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

/* The pool's copy of `s` (added when new), or NULL when out of memory. */
static const char *rm_pool_intern(rm_pool *p, const char *s) {
    uint64_t h = rm_pool_hash(s);
    if (p->n_slots > 0)
        for (size_t i = (size_t)h & (p->n_slots - 1); p->slots[i] != 0; i = (i + 1) & (p->n_slots - 1))
            if (strcmp(p->strings[p->slots[i] - 1], s) == 0) return p->strings[p->slots[i] - 1];
    if ((p->count + 1) * 2 > p->n_slots) {
        size_t n = p->n_slots ? p->n_slots * 2 : 16;
        size_t *slots = n <= SIZE_MAX / sizeof *slots ? calloc(n, sizeof *slots) : NULL;
        if (!slots) return NULL;
        for (size_t k = 0; k < p->count; k++) {
            size_t i = (size_t)rm_pool_hash(p->strings[k]) & (n - 1);
            while (slots[i] != 0) i = (i + 1) & (n - 1);
            slots[i] = k + 1;
        }
        free(p->slots);
        p->slots = slots;
        p->n_slots = n;
    }
    if (p->count == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        char **strings = cap <= SIZE_MAX / sizeof *strings ? realloc(p->strings, cap * sizeof *strings) : NULL;
        if (!strings) return NULL;
        p->strings = strings;
        p->cap = cap;
    }
    size_t len = strlen(s) + 1;
    char *copy = malloc(len);
    if (!copy) return NULL;
    memcpy(copy, s, len);
    size_t i = (size_t)h & (p->n_slots - 1);
    while (p->slots[i] != 0) i = (i + 1) & (p->n_slots - 1);
    p->slots[i] = p->count + 1;
    p->strings[p->count++] = copy;
    return copy;
}

void readmit_result_free(readmit_result *result) {
    if (!result) return;
    rm_pool_free(&result->pool);
    for (size_t i = 0; i < result->n_explanations; i++) {
        free(result->explanations[i].feature);
        free(result->explanations[i].value);
    }
    for (size_t i = 0; i < result->n_fields; i++) free(result->fields[i]);
    free(result->fields);
    free(result->row_error);
    free(result->messages);
    free(result->explanations);
    free(result->first);
    free(result->risk);
    free(result->atypicality);
    free(result->tier);
    free(result->low);
    free(result->high);
    free(result);
}

static char *rm_dup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* The text of a raw number as the CLI writes it: a whole number below 1e15 in plain digits
 * ("10", not the equally short "1e+01"), anything else the shortest text that reads back as `x`
 * ("0.1", "1e+300"). */
static char *rm_number_text(double x) {
    char buf[40];
    if (x > -1e15 && x < 1e15 && (double)(long long)x == x) { /* no libm: the shim links libc and libzmq only */
        snprintf(buf, sizeof buf, "%lld", (long long)x);         /* -0 is written 0 */
        return rm_dup(buf);
    }
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(buf, sizeof buf, "%.*g", precision, x);
        if (strtod(buf, NULL) == x) break;
    }
    return rm_dup(buf);
}

/* A string member, or NULL when absent or not a string. */
static const char *rm_string_member(const rm_json *object, const char *key) {
    const rm_json *v = rm_json_get(object, key);
    return v && v->type == RM_JSON_STRING ? v->string : NULL;
}

#define RM_BAD(...)                                                                                    \
    do {                                                                                               \
        rc = rm_fail(client, READMIT_EPROTO, "malformed reply: " __VA_ARGS__);                         \
        goto done;                                                                                     \
    } while (0)
#define RM_OOM()                                                                                       \
    do {                                                                                               \
        rc = rm_fail(client, READMIT_ENOMEM, "out of memory reading the reply");                       \
        goto done;                                                                                     \
    } while (0)

static int rm_read_messages(readmit_client *client, const rm_json *root, readmit_result *res,
                            unsigned char *row_error) {
    int rc = READMIT_OK;
    const rm_json *messages = rm_json_get(root, "messages");
    if (!messages || messages->type != RM_JSON_ARRAY) RM_BAD("the JSON has no \"messages\" array");
    if (messages->length > 0) {
        res->messages = calloc(messages->length, sizeof *res->messages);
        if (!res->messages) RM_OOM();
    }
    for (size_t i = 0; i < messages->length; i++) {
        const rm_json *m = messages->items[i];
        if (m->type != RM_JSON_OBJECT) RM_BAD("message %zu is not an object", i);
        const rm_json *row = rm_json_get(m, "row");
        const rm_json *field = rm_json_get(m, "field");
        const char *severity = rm_string_member(m, "severity");
        const char *code = rm_string_member(m, "code");
        const char *text = rm_string_member(m, "message");
        if (!row || row->type != RM_JSON_NUMBER || !(row->number >= -1 && row->number < (double)res->n_rows) ||
            row->number != (double)(long long)row->number)
            RM_BAD("message %zu has no \"row\" between -1 and %zu", i, res->n_rows);
        if (field && field->type != RM_JSON_STRING && field->type != RM_JSON_NULL)
            RM_BAD("message %zu has a \"field\" that is neither a string nor null", i);
        if (!severity || (strcmp(severity, "error") != 0 && strcmp(severity, "warning") != 0))
            RM_BAD("message %zu has no \"severity\" \"error\" or \"warning\"", i);
        if (!code || !text) RM_BAD("message %zu has no string \"code\" and \"message\"", i);
        rm_message *dst = &res->messages[res->n_messages++];
        dst->row = (int)row->number;
        dst->severity = severity[0] == 'e' ? READMIT_SEVERITY_ERROR : READMIT_SEVERITY_WARNING;
        dst->code = rm_pool_intern(&res->pool, code);
        dst->message = rm_pool_intern(&res->pool, text);
        dst->field = field && field->type == RM_JSON_STRING ? rm_pool_intern(&res->pool, field->string) : NULL;
        if (!dst->code || !dst->message || (field && field->type == RM_JSON_STRING && !dst->field)) RM_OOM();
        if (dst->severity == READMIT_SEVERITY_ERROR && dst->row >= 0) row_error[dst->row] = 1;
    }
done:
    return rc;
}

static int rm_read_explanations(readmit_client *client, const rm_json *root, readmit_result *res) {
    int rc = READMIT_OK;
    size_t n = res->n_rows;
    res->first = calloc(n + 1, sizeof *res->first);
    if (!res->first) RM_OOM();
    const rm_json *lists = rm_json_get(root, "explanations");
    if (res->k == 0 && !lists) goto done; /* none asked: the member may be left out */
    if (!lists || lists->type != RM_JSON_ARRAY) RM_BAD("the JSON has no \"explanations\" array");
    if (lists->length != n && !(res->k == 0 && lists->length == 0))
        RM_BAD("\"explanations\" has %zu lists for %zu rows", lists->length, n);
    size_t total = 0;
    for (size_t r = 0; r < lists->length; r++) {
        const rm_json *list = lists->items[r];
        if (list->type != RM_JSON_ARRAY) RM_BAD("the explanations of row %zu are not an array", r);
        if (list->length > res->k) RM_BAD("row %zu has %zu explanations, k is %zu", r, list->length, res->k);
        if (list->length > 0 && res->tier[r] == RM_TIER_FAILED)
            RM_BAD("row %zu has an error but %zu explanations", r, list->length);
        total += list->length;
    }
    if (total > 0) {
        res->explanations = calloc(total, sizeof *res->explanations);
        if (!res->explanations) RM_OOM();
    }
    for (size_t r = 0; r < lists->length; r++) {
        const rm_json *list = lists->items[r];
        res->first[r] = res->n_explanations;
        for (size_t j = 0; j < list->length; j++) {
            const rm_json *e = list->items[j];
            if (e->type != RM_JSON_OBJECT) RM_BAD("explanation %zu of row %zu is not an object", j, r);
            const char *feature = rm_string_member(e, "feature");
            const rm_json *contribution = rm_json_get(e, "contribution");
            const rm_json *value = rm_json_get(e, "value");
            if (!feature) RM_BAD("explanation %zu of row %zu has no string \"feature\"", j, r);
            if (!contribution || contribution->type != RM_JSON_NUMBER || !isfinite(contribution->number))
                RM_BAD("explanation %zu of row %zu has no finite \"contribution\"", j, r);
            if (!value || (value->type != RM_JSON_STRING && value->type != RM_JSON_NUMBER &&
                           value->type != RM_JSON_NULL))
                RM_BAD("explanation %zu of row %zu has no \"value\" (a string, a number or null)", j, r);
            rm_explanation *dst = &res->explanations[res->n_explanations++];
            dst->contribution = contribution->number;
            dst->feature = rm_dup(feature);
            if (value->type == RM_JSON_STRING) dst->value = rm_dup(value->string);
            else if (value->type == RM_JSON_NUMBER) dst->value = rm_number_text(value->number);
            if (!dst->feature || (value->type != RM_JSON_NULL && !dst->value)) RM_OOM();
        }
    }
    for (size_t r = lists->length; r <= n; r++) res->first[r] = res->n_explanations;
done:
    return rc;
}

int rm_result_from_reply(readmit_client *client, const rm_reply *reply, size_t n_rows, size_t k, int interval,
                         readmit_result **out) {
    *out = NULL;
    int rc = rm_reply_expect_frames(client, reply, interval ? 7 : 5);
    if (rc != READMIT_OK) return rc;
    readmit_result *res = NULL;
    unsigned char *row_error = NULL;
    rm_json *root = NULL;
    const unsigned char *cnt = zmq_msg_data((zmq_msg_t *)&reply->frames[1]);
    if (zmq_msg_size((zmq_msg_t *)&reply->frames[1]) != 8) RM_BAD("count frame of %zu bytes, expected 8",
                                                                   zmq_msg_size((zmq_msg_t *)&reply->frames[1]));
    size_t got_rows = rm_get_u32(cnt), got_k = rm_get_u32(cnt + 4);
    if (got_rows != n_rows) RM_BAD("%zu rows for a request of %zu rows", got_rows, n_rows);
    if (got_k > k) RM_BAD("k %zu for a request of k %zu", got_k, k);
    size_t sizes[4] = {0, 8 * n_rows, 8 * n_rows, n_rows};
    static const char *names[4] = {"", "risk", "atypicality", "tier"};
    for (int f = 1; f <= 3; f++)
        if (zmq_msg_size((zmq_msg_t *)&reply->frames[f + 1]) != sizes[f])
            RM_BAD("%s frame of %zu bytes for %zu rows", names[f], zmq_msg_size((zmq_msg_t *)&reply->frames[f + 1]),
                   n_rows);
    if (interval)
        for (int f = 6; f <= 7; f++)
            if (zmq_msg_size((zmq_msg_t *)&reply->frames[f]) != 8 * n_rows)
                RM_BAD("interval %s frame of %zu bytes for %zu rows", f == 6 ? "low" : "high",
                       zmq_msg_size((zmq_msg_t *)&reply->frames[f]), n_rows);
    const char *json = zmq_msg_data((zmq_msg_t *)&reply->frames[5]);
    size_t json_len = zmq_msg_size((zmq_msg_t *)&reply->frames[5]);
    if (memchr(json, '\0', json_len)) RM_BAD("NUL byte in the JSON frame");
    const char *jerr = NULL;
    root = rm_json_parse(json, json_len, &jerr);
    if (!root) RM_BAD("the JSON frame is not JSON (%s)", jerr ? jerr : "malformed");
    if (root->type != RM_JSON_OBJECT) RM_BAD("the JSON frame is not an object");

    res = calloc(1, sizeof *res);
    size_t cells = n_rows ? n_rows : 1;
    row_error = calloc(cells, 1);
    if (!res || !row_error) RM_OOM();
    res->n_rows = n_rows;
    res->k = got_k;
    res->model_version = reply->model_version;
    res->risk = malloc(cells * sizeof *res->risk);
    res->atypicality = malloc(cells * sizeof *res->atypicality);
    res->tier = malloc(cells);
    if (!res->risk || !res->atypicality || !res->tier) RM_OOM();
    if (n_rows > 0) {
        rm_copy_f64_le(res->risk, zmq_msg_data((zmq_msg_t *)&reply->frames[2]), n_rows);
        rm_copy_f64_le(res->atypicality, zmq_msg_data((zmq_msg_t *)&reply->frames[3]), n_rows);
        memcpy(res->tier, zmq_msg_data((zmq_msg_t *)&reply->frames[4]), n_rows);
    }
    if (interval) {
        res->low = malloc(cells * sizeof *res->low);
        res->high = malloc(cells * sizeof *res->high);
        if (!res->low || !res->high) RM_OOM();
        if (n_rows > 0) {
            rm_copy_f64_le(res->low, zmq_msg_data((zmq_msg_t *)&reply->frames[6]), n_rows);
            rm_copy_f64_le(res->high, zmq_msg_data((zmq_msg_t *)&reply->frames[7]), n_rows);
        }
        for (size_t r = 0; r < n_rows; r++) {
            double lo = res->low[r], hi = res->high[r];
            if (res->tier[r] == RM_TIER_FAILED) {
                if (!isnan(lo) || !isnan(hi))
                    RM_BAD("row %zu has tier 255 (an error) but the interval [%g, %g], not NaN", r, lo, hi);
            } else if (!(lo >= 0 && lo <= hi && hi <= 1)) {
                RM_BAD("row %zu has the interval [%g, %g], not 0 <= low <= high <= 1", r, lo, hi);
            }
        }
    }
    for (size_t r = 0; r < n_rows; r++) {
        double risk = res->risk[r], aty = res->atypicality[r];
        if (res->tier[r] == RM_TIER_FAILED) {
            if (!isnan(risk) || !isnan(aty))
                RM_BAD("row %zu has tier 255 (an error) but risk %g and atypicality %g, not NaN", r, risk, aty);
        } else if (!(risk >= 0 && risk <= 1) || !isfinite(aty)) {
            RM_BAD("row %zu has tier %u but risk %g and atypicality %g", r, res->tier[r], risk, aty);
        }
    }
    rc = rm_read_messages(client, root, res, row_error);
    if (rc != READMIT_OK) goto done;
    for (size_t r = 0; r < n_rows; r++) {
        int failed = res->tier[r] == RM_TIER_FAILED;
        if (failed && !row_error[r]) RM_BAD("row %zu has tier 255 (an error) but no error message", r);
        if (!failed && row_error[r]) RM_BAD("row %zu has an error message but was scored", r);
    }
    rc = rm_read_explanations(client, root, res);
    if (rc != READMIT_OK) goto done;
    res->row_error = row_error;
    row_error = NULL;
    *out = res;
    res = NULL;
done:
    readmit_result_free(res);
    free(row_error);
    rm_json_free(root);
    return rc;
}

int rm_result_from_messages(readmit_client *client, const char *json, size_t json_len, size_t n_rows,
                            uint64_t model_version, const char *const *fields, const size_t *field_lens,
                            size_t n_fields, readmit_result **out) {
    *out = NULL;
    int rc = READMIT_OK;
    rm_json *root = NULL;
    readmit_result *res = calloc(1, sizeof *res);
    size_t cells = n_rows ? n_rows : 1;
    if (!res) RM_OOM();
    res->n_rows = n_rows;
    res->model_version = model_version;
    res->row_error = calloc(cells, 1);
    res->risk = malloc(cells * sizeof *res->risk);
    res->atypicality = malloc(cells * sizeof *res->atypicality);
    res->tier = malloc(cells);
    res->first = calloc(n_rows + 1, sizeof *res->first);
    res->fields = calloc(n_fields ? n_fields : 1, sizeof *res->fields);
    if (!res->row_error || !res->risk || !res->atypicality || !res->tier || !res->first || !res->fields) RM_OOM();
    for (size_t r = 0; r < n_rows; r++) {
        res->risk[r] = res->atypicality[r] = (double)NAN; /* nothing is scored */
        res->tier[r] = RM_TIER_FAILED;
    }
    for (; res->n_fields < n_fields; res->n_fields++) {
        char *name = malloc(field_lens[res->n_fields] + 1);
        if (!name) RM_OOM();
        memcpy(name, fields[res->n_fields], field_lens[res->n_fields]);
        name[field_lens[res->n_fields]] = '\0';
        res->fields[res->n_fields] = name;
    }
    if (memchr(json, '\0', json_len)) RM_BAD("NUL byte in the JSON frame");
    const char *jerr = NULL;
    root = rm_json_parse(json, json_len, &jerr);
    if (!root) RM_BAD("the JSON frame is not JSON (%s)", jerr ? jerr : "malformed");
    if (root->type != RM_JSON_OBJECT) RM_BAD("the JSON frame is not an object");
    rc = rm_read_messages(client, root, res, res->row_error);
    if (rc != READMIT_OK) goto done;
    *out = res;
    res = NULL;
done:
    readmit_result_free(res);
    rm_json_free(root);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Accessors                                                                                 */
/* ---------------------------------------------------------------------------------------- */

size_t readmit_result_n_rows(const readmit_result *result) { return result ? result->n_rows : 0; }

size_t readmit_result_k(const readmit_result *result) { return result ? result->k : 0; }

uint64_t readmit_result_model_version(const readmit_result *result) {
    return result ? result->model_version : 0;
}

int readmit_result_row(const readmit_result *result, size_t row, double *risk, double *atypicality,
                       uint8_t *tier, int *has_error) {
    if (!result) return READMIT_EINVAL;
    if (row >= result->n_rows) return READMIT_ENOTFOUND;
    if (risk) *risk = result->risk[row];
    if (atypicality) *atypicality = result->atypicality[row];
    if (tier) *tier = result->tier[row];
    if (has_error) *has_error = result->row_error[row];
    return READMIT_OK;
}

int readmit_result_scores(const readmit_result *result, double *risk, double *atypicality, uint8_t *tier) {
    if (!result) return READMIT_EINVAL;
    size_t n = result->n_rows;
    if (n == 0) return READMIT_OK;
    if (risk) memcpy(risk, result->risk, n * sizeof *risk);
    if (atypicality) memcpy(atypicality, result->atypicality, n * sizeof *atypicality);
    if (tier) memcpy(tier, result->tier, n);
    return READMIT_OK;
}

int readmit_result_has_interval(const readmit_result *result) { return result && result->low ? 1 : 0; }

int readmit_result_interval(const readmit_result *result, size_t row, double *low, double *high) {
    if (!result || !result->low) return READMIT_EINVAL;
    if (row >= result->n_rows) return READMIT_ENOTFOUND;
    if (low) *low = result->low[row];
    if (high) *high = result->high[row];
    return READMIT_OK;
}

int readmit_result_intervals(const readmit_result *result, double *low, double *high) {
    if (!result || !result->low) return READMIT_EINVAL;
    size_t n = result->n_rows;
    if (n == 0) return READMIT_OK;
    if (low) memcpy(low, result->low, n * sizeof *low);
    if (high) memcpy(high, result->high, n * sizeof *high);
    return READMIT_OK;
}

size_t readmit_result_n_messages(const readmit_result *result) { return result ? result->n_messages : 0; }

int readmit_result_message(const readmit_result *result, size_t index, int *row, const char **field,
                           int *severity, const char **code, const char **message) {
    if (!result) return READMIT_EINVAL;
    if (index >= result->n_messages) return READMIT_ENOTFOUND;
    const rm_message *m = &result->messages[index];
    if (row) *row = m->row;
    if (field) *field = m->field;
    if (severity) *severity = m->severity;
    if (code) *code = m->code;
    if (message) *message = m->message;
    return READMIT_OK;
}

int readmit_result_messages(const readmit_result *result, int *rows, int *severities, const char **fields,
                            const char **codes, const char **messages) {
    if (!result) return READMIT_EINVAL;
    for (size_t i = 0; i < result->n_messages; i++) {
        const rm_message *m = &result->messages[i];
        if (rows) rows[i] = m->row;
        if (severities) severities[i] = m->severity;
        if (fields) fields[i] = m->field;
        if (codes) codes[i] = m->code;
        if (messages) messages[i] = m->message;
    }
    return READMIT_OK;
}

int readmit_result_n_explanations(const readmit_result *result, size_t row, size_t *n) {
    if (!result || !n) return READMIT_EINVAL;
    if (row >= result->n_rows) return READMIT_ENOTFOUND;
    *n = result->first[row + 1] - result->first[row];
    return READMIT_OK;
}

int readmit_result_explanation(const readmit_result *result, size_t row, size_t index, const char **feature,
                               double *contribution, const char **value) {
    if (!result) return READMIT_EINVAL;
    if (row >= result->n_rows || index >= result->first[row + 1] - result->first[row]) return READMIT_ENOTFOUND;
    const rm_explanation *e = &result->explanations[result->first[row] + index];
    if (feature) *feature = e->feature;
    if (contribution) *contribution = e->contribution;
    if (value) *value = e->value;
    return READMIT_OK;
}

size_t readmit_result_n_history_fields(const readmit_result *result) { return result ? result->n_fields : 0; }

const char *readmit_result_history_field(const readmit_result *result, size_t index) {
    return result && index < result->n_fields ? result->fields[index] : NULL;
}

/* Copies one message into `res` (its strings into res's pool), moving its row by `offset` (a
 * row of -1 stays -1). */
static int rm_message_copy(readmit_result *res, const rm_message *src, size_t offset) {
    rm_message *dst = &res->messages[res->n_messages++];
    dst->row = src->row < 0 ? src->row : src->row + (int)offset;
    dst->severity = src->severity;
    dst->field = src->field ? rm_pool_intern(&res->pool, src->field) : NULL;
    dst->code = rm_pool_intern(&res->pool, src->code);
    dst->message = rm_pool_intern(&res->pool, src->message);
    return (!src->field || dst->field) && dst->code && dst->message;
}

int rm_result_concat(readmit_client *client, readmit_result *const *parts, size_t n, readmit_result **out) {
    *out = NULL;
    size_t rows = 0, n_messages = 0, n_explanations = 0;
    int interval = n > 0 && parts[0]->low != NULL;
    for (size_t i = 0; i < n; i++) {
        if (parts[i]->n_rows > (size_t)INT32_MAX - rows)
            return rm_fail(client, READMIT_EINVAL, "too many rows to join");
        rows += parts[i]->n_rows;
        n_explanations += parts[i]->n_explanations;
        for (size_t m = 0; m < parts[i]->n_messages; m++)
            if (i == 0 || parts[i]->messages[m].row >= 0) n_messages++;
    }
    size_t cells = rows ? rows : 1;
    readmit_result *res = calloc(1, sizeof *res);
    if (!res) return rm_fail(client, READMIT_ENOMEM, "out of memory joining %zu chunks", n);
    res->n_rows = rows;
    res->k = n > 0 ? parts[0]->k : 0;
    res->model_version = n > 0 ? parts[0]->model_version : 0;
    res->risk = malloc(cells * sizeof *res->risk);
    res->atypicality = malloc(cells * sizeof *res->atypicality);
    res->tier = malloc(cells);
    res->row_error = calloc(cells, 1);
    res->first = calloc(rows + 1, sizeof *res->first);
    if (interval) {
        res->low = malloc(cells * sizeof *res->low);
        res->high = malloc(cells * sizeof *res->high);
    }
    if (n_messages) res->messages = calloc(n_messages, sizeof *res->messages);
    if (n_explanations) res->explanations = calloc(n_explanations, sizeof *res->explanations);
    int ok = res->risk && res->atypicality && res->tier && res->row_error && res->first &&
             (!interval || (res->low && res->high)) && (!n_messages || res->messages) &&
             (!n_explanations || res->explanations);
    /* The messages about the whole request (row -1) come first, once; then each chunk's rows. */
    for (size_t m = 0; ok && n > 0 && m < parts[0]->n_messages; m++)
        if (parts[0]->messages[m].row < 0) ok = rm_message_copy(res, &parts[0]->messages[m], 0);
    size_t at = 0;
    for (size_t i = 0; ok && i < n; i++) {
        const readmit_result *p = parts[i];
        memcpy(res->risk + at, p->risk, p->n_rows * sizeof *res->risk);
        memcpy(res->atypicality + at, p->atypicality, p->n_rows * sizeof *res->atypicality);
        memcpy(res->tier + at, p->tier, p->n_rows);
        memcpy(res->row_error + at, p->row_error, p->n_rows);
        if (interval) {
            memcpy(res->low + at, p->low, p->n_rows * sizeof *res->low);
            memcpy(res->high + at, p->high, p->n_rows * sizeof *res->high);
        }
        for (size_t m = 0; ok && m < p->n_messages; m++)
            if (p->messages[m].row >= 0) ok = rm_message_copy(res, &p->messages[m], at);
        for (size_t r = 0; ok && r < p->n_rows; r++) {
            res->first[at + r] = res->n_explanations;
            size_t end = p->first ? p->first[r + 1] : 0;
            for (size_t e = p->first ? p->first[r] : 0; ok && e < end; e++) {
                rm_explanation *dst = &res->explanations[res->n_explanations++];
                const rm_explanation *src = &p->explanations[e];
                dst->contribution = src->contribution;
                dst->feature = rm_dup(src->feature);
                dst->value = src->value ? rm_dup(src->value) : NULL;
                ok = dst->feature && (!src->value || dst->value);
            }
        }
        at += p->n_rows;
    }
    if (!ok) {
        readmit_result_free(res);
        return rm_fail(client, READMIT_ENOMEM, "out of memory joining %zu chunks", n);
    }
    res->first[rows] = res->n_explanations;
    *out = res;
    return READMIT_OK;
}
