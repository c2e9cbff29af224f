/*
 * rm_client.c: the public calls of libreadmit: options, open/close, scoring, explanations,
 * model information (features and raw fields), health, stats and reload. Each call checks its
 * arguments, builds the request frames, lets rm_transport.c do the exchange, then checks every
 * payload size against what was asked before copying anything out. Raw records are in
 * rm_records.c and rm_result.c.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rm_internal.h"

/* ---------------------------------------------------------------------------------------- */
/* Options                                                                                   */
/* ---------------------------------------------------------------------------------------- */

int readmit_options_new(readmit_options **out) {
    if (!out) return READMIT_EINVAL;
    *out = calloc(1, sizeof **out);
    if (!*out) return READMIT_ENOMEM;
    (*out)->timeout_ms = READMIT_DEFAULT_TIMEOUT_MS;
    (*out)->retries = READMIT_DEFAULT_RETRIES;
    (*out)->max_reply_bytes = READMIT_DEFAULT_MAX_REPLY_BYTES;
    return READMIT_OK;
}

void readmit_options_free(readmit_options *options) {
    if (!options) return;
    for (size_t i = 0; i < options->n_endpoints; i++) free(options->endpoints[i]);
    free(options->endpoints);
    free(options);
}

int readmit_options_set_timeout_ms(readmit_options *options, int timeout_ms) {
    if (!options) return rm_fail_open(READMIT_EINVAL, "options is NULL");
    if (timeout_ms <= 0) return rm_fail_open(READMIT_EINVAL, "timeout_ms must be > 0, not %d", timeout_ms);
    options->timeout_ms = timeout_ms;
    return READMIT_OK;
}

int readmit_options_set_retries(readmit_options *options, int retries) {
    if (!options) return rm_fail_open(READMIT_EINVAL, "options is NULL");
    if (retries < 0 || retries > 1000)
        return rm_fail_open(READMIT_EINVAL, "retries must be 0 to 1000, not %d", retries);
    options->retries = retries;
    return READMIT_OK;
}

static char *rm_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* The forms a client can connect to; the daemon's --endpoint takes the same. */
#define RM_ENDPOINT_FORMS "expected tcp://HOST:PORT or ipc://PATH"
/* sockaddr_un.sun_path holds 108 bytes on Linux (104 on BSDs), with the terminating NUL. */
#define RM_IPC_PATH_MAX 107

int rm_endpoint_is_ipv6(const char *endpoint) {
    return strncmp(endpoint, "tcp://[", 7) == 0;
}

int rm_endpoint_valid(const char *endpoint, char *why, size_t why_size) {
    const char *reason = NULL;
    char detail[96];
    for (const char *p = endpoint; *p && !reason; p++)
        if ((unsigned char)*p <= ' ') reason = "it contains a space or control character (" RM_ENDPOINT_FORMS ")";
    if (reason) {
        /* reported below */
    } else if (strncmp(endpoint, "tcp://", 6) == 0) {
        const char *host = endpoint + 6, *colon = strrchr(host, ':');
        const char *port = colon ? colon + 1 : NULL;
        size_t digits = port ? strspn(port, "0123456789") : 0;
        if (!colon || colon == host || !*port) {
            reason = RM_ENDPOINT_FORMS;
        } else if (strcmp(port, "*") == 0 || digits != strlen(port) || digits > 5 || atoi(port) < 1 ||
                   atoi(port) > 65535) {
            snprintf(detail, sizeof detail, "port '%.8s%s' is not 1 to 65535 (%s)", port, strlen(port) > 8 ? "..." : "",
                     RM_ENDPOINT_FORMS);
            reason = detail;
        } else if (host[0] == '[' && colon[-1] != ']') {
            reason = "an IPv6 address needs its closing bracket, as in tcp://[::1]:5555";
        }
    } else if (strncmp(endpoint, "ipc://", 6) == 0) {
        size_t len = strlen(endpoint + 6);
        if (len == 0) {
            reason = RM_ENDPOINT_FORMS;
        } else if (len > RM_IPC_PATH_MAX) {
            snprintf(detail, sizeof detail, "the path is %zu bytes, more than the %d a Unix socket allows", len,
                     RM_IPC_PATH_MAX);
            reason = detail;
        }
    } else {
        reason = RM_ENDPOINT_FORMS;
    }
    if (!reason) return 1;
    snprintf(why, why_size, "invalid endpoint '%.200s%s': %s", endpoint, strlen(endpoint) > 200 ? "..." : "", reason);
    return 0;
}

int readmit_options_add_endpoint(readmit_options *options, const char *endpoint) {
    if (!options) return rm_fail_open(READMIT_EINVAL, "options is NULL");
    if (!endpoint || !*endpoint)
        return rm_fail_open(READMIT_EINVAL, "invalid endpoint '%s': %s", endpoint ? endpoint : "(NULL)",
                            RM_ENDPOINT_FORMS);
    char why[400];
    if (!rm_endpoint_valid(endpoint, why, sizeof why)) return rm_fail_open(READMIT_EINVAL, "%s", why);
    char **e = realloc(options->endpoints, (options->n_endpoints + 1) * sizeof *e);
    if (!e) return READMIT_ENOMEM;
    options->endpoints = e;
    e[options->n_endpoints] = rm_strdup(endpoint);
    if (!e[options->n_endpoints]) return READMIT_ENOMEM;
    options->n_endpoints++;
    return READMIT_OK;
}

static int rm_valid_z85_key(const char *key) {
    if (!key || strlen(key) != 40) return 0;
    uint8_t bin[32];
    return zmq_z85_decode(bin, key) != NULL;
}

int readmit_options_set_curve(readmit_options *options, const char *server_public_key,
                              const char *client_public_key, const char *client_secret_key) {
    if (!options) return rm_fail_open(READMIT_EINVAL, "options is NULL");
    if (!rm_valid_z85_key(server_public_key) || !rm_valid_z85_key(client_public_key) ||
        !rm_valid_z85_key(client_secret_key))
        return rm_fail_open(READMIT_EINVAL, "CURVE keys must be 40 characters of Z85 text");
    memcpy(options->server_public_key, server_public_key, 41);
    memcpy(options->client_public_key, client_public_key, 41);
    memcpy(options->client_secret_key, client_secret_key, 41);
    options->curve = 1;
    return READMIT_OK;
}

int readmit_options_set_max_reply_bytes(readmit_options *options, size_t max_bytes) {
    if (!options) return rm_fail_open(READMIT_EINVAL, "options is NULL");
    if (max_bytes < 1024) return rm_fail_open(READMIT_EINVAL, "max_reply_bytes must be >= 1024, not %zu", max_bytes);
    options->max_reply_bytes = max_bytes;
    return READMIT_OK;
}

int readmit_options_set_split_rows(readmit_options *options, size_t rows) {
    if (!options) return rm_fail_open(READMIT_EINVAL, "options is NULL");
    if (rows > UINT32_MAX) return rm_fail_open(READMIT_EINVAL, "split_rows must be 0 to 2^32-1, not %zu", rows);
    options->split_rows = rows;
    return READMIT_OK;
}

int readmit_options_set_interrupt(readmit_options *options, readmit_interrupt_fn check, void *user) {
    if (!options) return rm_fail_open(READMIT_EINVAL, "options is NULL");
    options->interrupt = check;
    options->interrupt_user = check ? user : NULL;
    return READMIT_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Open / close                                                                              */
/* ---------------------------------------------------------------------------------------- */

int readmit_open(const char *endpoint, readmit_client **out) {
    return readmit_open_ex(endpoint, NULL, out);
}

/* Checks an endpoint's syntax with a throwaway socket, so a typo fails at open, not later. */
static int rm_check_endpoint(void *context, const char *endpoint, int *zerr) {
    void *s = zmq_socket(context, ZMQ_REQ);
    if (!s) { *zerr = zmq_errno(); return 0; }
    int linger = 0, ipv6 = rm_endpoint_is_ipv6(endpoint);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (ipv6) zmq_setsockopt(s, ZMQ_IPV6, &ipv6, sizeof ipv6);
    int ok = zmq_connect(s, endpoint) == 0;
    if (!ok) *zerr = zmq_errno();
    zmq_close(s);
    return ok;
}

int readmit_open_ex(const char *endpoint, const readmit_options *options, readmit_client **out) {
    if (!out) return rm_fail_open(READMIT_EINVAL, "out is NULL");
    *out = NULL;
    size_t extra = options ? options->n_endpoints : 0;
    if (!endpoint && extra == 0) return rm_fail_open(READMIT_EINVAL, "no endpoint: give one or add some to the options");
    char why[400];
    if (endpoint && !*endpoint) return rm_fail_open(READMIT_EINVAL, "invalid endpoint '': " RM_ENDPOINT_FORMS);
    if (endpoint && !rm_endpoint_valid(endpoint, why, sizeof why)) return rm_fail_open(READMIT_EINVAL, "%s", why);
    readmit_client *c = calloc(1, sizeof *c);
    if (!c) return rm_fail_open(READMIT_ENOMEM, "out of memory");
    c->owner_pid = getpid();
    c->error_row = c->error_feature = -1;
    c->timeout_ms = options ? options->timeout_ms : READMIT_DEFAULT_TIMEOUT_MS;
    c->retries = options ? options->retries : READMIT_DEFAULT_RETRIES;
    c->max_reply_bytes = options ? options->max_reply_bytes : READMIT_DEFAULT_MAX_REPLY_BYTES;
    if (options) {
        c->interrupt = options->interrupt;
        c->interrupt_user = options->interrupt_user;
        c->split_rows = options->split_rows;
    }
    if (options && options->curve) {
        if (!zmq_has("curve")) {
            free(c);
            return rm_fail_open(READMIT_EZMQ, "this libzmq was built without CURVE");
        }
        c->curve = 1;
        memcpy(c->server_public_key, options->server_public_key, 41);
        memcpy(c->client_public_key, options->client_public_key, 41);
        memcpy(c->client_secret_key, options->client_secret_key, 41);
    }
    c->endpoints = calloc((endpoint ? 1 : 0) + extra, sizeof *c->endpoints);
    if (!c->endpoints) { free(c); return rm_fail_open(READMIT_ENOMEM, "out of memory"); }
    if (endpoint) c->endpoints[c->n_endpoints++] = rm_strdup(endpoint);
    for (size_t i = 0; i < extra; i++) c->endpoints[c->n_endpoints++] = rm_strdup(options->endpoints[i]);
    for (size_t i = 0; i < c->n_endpoints; i++)
        if (!c->endpoints[i]) { readmit_close(c); return rm_fail_open(READMIT_ENOMEM, "out of memory"); }
    /* Request ids differ between clients and runs, which makes misrouted replies detectable. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    c->next_request_id = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 16) ^
                         (uint64_t)(uintptr_t)c;
    if (c->next_request_id == 0) c->next_request_id = 1;
    /* Clients opened at the same moment start their rotation at different endpoints. */
    c->next_peer = (size_t)((c->next_request_id >> 7) % c->n_endpoints);
    c->context = zmq_ctx_new();
    if (!c->context) {
        readmit_close(c);
        return rm_fail_open(READMIT_EZMQ, "cannot create a ZeroMQ context: %s", zmq_strerror(zmq_errno()));
    }
    for (size_t i = 0; i < c->n_endpoints; i++) {
        int zerr = 0;
        if (!rm_check_endpoint(c->context, c->endpoints[i], &zerr)) {
            /* The form was right (checked above) but libzmq refuses it, e.g. a host name
             * with characters it does not accept. */
            rm_fail_open(READMIT_EINVAL, "invalid endpoint '%.200s': %s (" RM_ENDPOINT_FORMS ")", c->endpoints[i],
                         zmq_strerror(zerr));
            readmit_close(c);
            return READMIT_EINVAL;
        }
    }
    int rc = rm_transport_connect(c);
    if (rc != READMIT_OK) {
        rm_fail_open(rc, "%s", c->errmsg);
        readmit_close(c);
        return rc;
    }
    rm_ok(c);
    *out = c;
    return READMIT_OK;
}

void readmit_close(readmit_client *client) {
    if (!client) return;
    rm_transport_adopt(client); /* in a forked child: leave the parent's sockets alone */
    rm_transport_disconnect(client);
    if (client->context) zmq_ctx_term(client->context);
    for (size_t i = 0; i < client->n_endpoints; i++) free(client->endpoints[i]);
    free(client->endpoints);
    rm_schema_free(client->schema);
    free(client->peers);
    free(client);
}

int readmit_n_endpoints(const readmit_client *client, size_t *n) {
    if (!client || !n) return READMIT_EINVAL;
    *n = client->n_endpoints;
    return READMIT_OK;
}

int readmit_endpoint_status(const readmit_client *client, size_t index, int *in_rotation, uint64_t *requests,
                            uint64_t *failures) {
    if (!client) return READMIT_EINVAL;
    if (index >= client->n_endpoints || !client->peers) return READMIT_ENOTFOUND;
    const rm_peer *p = &client->peers[index];
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (in_rotation) *in_rotation = !p->suspect && now >= p->hold_until;
    if (requests) *requests = p->requests;
    if (failures) *failures = p->failures;
    return READMIT_OK;
}

void readmit_free(void *ptr) { free(ptr); }

/* ---------------------------------------------------------------------------------------- */
/* Scoring                                                                                   */
/* ---------------------------------------------------------------------------------------- */

/* Checks the matrix arguments and prepares the matrix frame (converted to little-endian on
 * big-endian hosts, in *owned). */
static int rm_matrix_frame(readmit_client *client, const double *features, size_t n_rows,
                           size_t n_cols, const void **data, size_t *size, void **owned) {
    *owned = NULL;
    if (n_rows > UINT32_MAX || n_cols > UINT32_MAX)
        return rm_fail(client, READMIT_EINVAL, "n_rows (%zu) and n_cols (%zu) must fit in 32 bits", n_rows, n_cols);
    if (n_cols == 0) return rm_fail(client, READMIT_EINVAL, "n_cols must be > 0");
    if (n_rows > SIZE_MAX / 8 / n_cols)
        return rm_fail(client, READMIT_EINVAL, "n_rows * n_cols (%zu * %zu) is too large", n_rows, n_cols);
    if (n_rows > 0 && !features) return rm_fail(client, READMIT_EINVAL, "features is NULL");
    *size = n_rows * n_cols * 8;
    *data = features;
    if (*size > 0 && !rm_host_is_little_endian()) {
        *owned = malloc(*size);
        if (!*owned) return rm_fail(client, READMIT_ENOMEM, "out of memory converting %zu bytes", *size);
        rm_copy_f64_le(*owned, features, n_rows * n_cols);
        *data = *owned;
    }
    return READMIT_OK;
}

int rm_score_from_reply(readmit_client *client, const rm_reply *reply, size_t n_rows, int interval,
                        double *risk, double *atypicality, uint8_t *tier, double *low, double *high) {
    zmq_msg_t *f = (zmq_msg_t *)reply->frames;
    int rc = rm_reply_expect_frames(client, reply, interval ? 6 : 4);
    if (rc != READMIT_OK) return rc;
    const unsigned char *cnt = zmq_msg_data(&f[1]);
    if (zmq_msg_size(&f[1]) != 8 || rm_get_u32(cnt) != n_rows || rm_get_u32(cnt + 4) != 0)
        return rm_fail(client, READMIT_EPROTO, "malformed SCORE reply: bad row count frame");
    if (zmq_msg_size(&f[2]) != n_rows * 8 || zmq_msg_size(&f[3]) != n_rows * 8 || zmq_msg_size(&f[4]) != n_rows)
        return rm_fail(client, READMIT_EPROTO, "malformed SCORE reply: result frames do not hold %zu rows", n_rows);
    if (interval) {
        if (zmq_msg_size(&f[5]) != n_rows * 8 || zmq_msg_size(&f[6]) != n_rows * 8)
            return rm_fail(client, READMIT_EPROTO,
                           "malformed SCORE reply: interval frames of %zu and %zu bytes for %zu rows",
                           zmq_msg_size(&f[5]), zmq_msg_size(&f[6]), n_rows);
        /* Checked before anything is copied: the outputs hold nothing half-valid. */
        const unsigned char *lo = zmq_msg_data(&f[5]), *hi = zmq_msg_data(&f[6]);
        for (size_t r = 0; r < n_rows; r++) {
            double l, h;
            rm_copy_f64_le(&l, lo + 8 * r, 1);
            rm_copy_f64_le(&h, hi + 8 * r, 1);
            if (!(l >= 0 && l <= h && h <= 1))
                return rm_fail(client, READMIT_EPROTO,
                               "malformed SCORE reply: row %zu has the interval [%g, %g], not 0 <= low <= high <= 1",
                               r, l, h);
        }
    }
    if (n_rows == 0) return READMIT_OK;
    if (risk) rm_copy_f64_le(risk, zmq_msg_data(&f[2]), n_rows);
    if (atypicality) rm_copy_f64_le(atypicality, zmq_msg_data(&f[3]), n_rows);
    if (tier) memcpy(tier, zmq_msg_data(&f[4]), n_rows);
    if (interval && low) rm_copy_f64_le(low, zmq_msg_data(&f[5]), n_rows);
    if (interval && high) rm_copy_f64_le(high, zmq_msg_data(&f[6]), n_rows);
    return READMIT_OK;
}

/* A SCORE matrix cut into chunks of chunk_rows rows (rm_transport_split). */
typedef struct {
    const double *features;
    size_t n_rows, n_cols, chunk_rows;
    int interval;
    double *risk, *atypicality, *low, *high;
    uint8_t *tier;
} rm_score_chunks;

/* What a chunk's request points into until it is sent. */
typedef struct {
    const void *parts[2];
    size_t sizes[2];
    unsigned char counts[8];
    void *converted; /* the chunk in little-endian order (big-endian hosts only) */
} rm_score_chunk_req;

static void rm_score_chunk_release(void *owned) {
    rm_score_chunk_req *r = owned;
    if (r) free(r->converted);
    free(r);
}

static int rm_score_chunk_build(readmit_client *client, void *ctx, size_t chunk, rm_request *req, void **owned) {
    rm_score_chunks *s = ctx;
    size_t first = chunk * s->chunk_rows, rows = s->n_rows - first < s->chunk_rows ? s->n_rows - first : s->chunk_rows;
    rm_score_chunk_req *r = calloc(1, sizeof *r);
    if (!r) return rm_fail(client, READMIT_ENOMEM, "out of memory for a chunk of %zu rows", rows);
    int rc = rm_matrix_frame(client, s->features + first * s->n_cols, rows, s->n_cols, &r->parts[1], &r->sizes[1],
                             &r->converted);
    if (rc != READMIT_OK) {
        free(r);
        return rc;
    }
    rm_put_u32(r->counts, (uint32_t)rows);
    rm_put_u32(r->counts + 4, (uint32_t)s->n_cols);
    r->parts[0] = r->counts;
    r->sizes[0] = sizeof r->counts;
    rm_request q = {RM_OP_SCORE, s->interval ? RM_FLAG_INTERVAL : 0, 2, r->parts, r->sizes, 1};
    *req = q;
    *owned = r;
    return READMIT_OK;
}

static int rm_score_chunk_take(readmit_client *client, void *ctx, size_t chunk, const rm_reply *reply) {
    rm_score_chunks *s = ctx;
    size_t first = chunk * s->chunk_rows, rows = s->n_rows - first < s->chunk_rows ? s->n_rows - first : s->chunk_rows;
    return rm_score_from_reply(client, reply, rows, s->interval, s->risk ? s->risk + first : NULL,
                               s->atypicality ? s->atypicality + first : NULL, s->tier ? s->tier + first : NULL,
                               s->low ? s->low + first : NULL, s->high ? s->high + first : NULL);
}

/* SCORE, with the interval flag when `interval` is set. */
static int rm_score(readmit_client *client, const double *features, size_t n_rows, size_t n_cols, int interval,
                    double *risk, double *atypicality, uint8_t *tier, double *low, double *high) {
    const void *data;
    size_t size;
    void *owned;
    int rc = rm_matrix_frame(client, features, n_rows, n_cols, &data, &size, &owned);
    if (rc != READMIT_OK) return rc;
    if (rm_split_wanted(client, n_rows)) {
        rm_score_chunks s = {features, n_rows, n_cols, client->split_rows, interval, risk, atypicality, low, high, tier};
        rm_split_job job = {(n_rows + client->split_rows - 1) / client->split_rows, &s, rm_score_chunk_build,
                            rm_score_chunk_release, rm_score_chunk_take};
        rc = rm_transport_split(client, RM_OP_SCORE, &job);
        if (rc != RM_SPLIT_WHOLE) {
            free(owned);
            return rc;
        }
    }
    unsigned char counts[8];
    rm_put_u32(counts, (uint32_t)n_rows);
    rm_put_u32(counts + 4, (uint32_t)n_cols);
    const void *parts[2] = {counts, data};
    size_t sizes[2] = {sizeof counts, size};
    rm_request req = {RM_OP_SCORE, interval ? RM_FLAG_INTERVAL : 0, 2, parts, sizes, 0};
    rm_reply reply;
    rc = rm_transport_call(client, &req, &reply);
    client->deadline_cap = 0;
    free(owned);
    if (rc != READMIT_OK) return rc;
    rc = rm_score_from_reply(client, &reply, n_rows, interval, risk, atypicality, tier, low, high);
    rm_reply_close(&reply);
    return rc;
}

int readmit_score_full(readmit_client *client, const double *features, size_t n_rows,
                       size_t n_cols, double *risk, double *atypicality, uint8_t *tier) {
    if (!client) return READMIT_EINVAL;
    return rm_score(client, features, n_rows, n_cols, 0, risk, atypicality, tier, NULL, NULL);
}

int readmit_score_interval(readmit_client *client, const double *features, size_t n_rows, size_t n_cols,
                           double *risk, double *atypicality, uint8_t *tier, double *low, double *high) {
    if (!client) return READMIT_EINVAL;
    if (n_rows > 0 && (!low || !high)) return rm_fail(client, READMIT_EINVAL, "low and high must not be NULL");
    return rm_score(client, features, n_rows, n_cols, 1, risk, atypicality, tier, low, high);
}

int readmit_score(readmit_client *client, const double *features, size_t n_rows, size_t n_cols,
                  double *risk) {
    if (!client) return READMIT_EINVAL;
    if (n_rows > 0 && !risk) return rm_fail(client, READMIT_EINVAL, "risk is NULL");
    return readmit_score_full(client, features, n_rows, n_cols, risk, NULL, NULL);
}

int readmit_explain(readmit_client *client, const double *features, size_t n_rows, size_t n_cols,
                    size_t k, int32_t *feature_index, double *contribution, size_t *k_used) {
    if (!client) return READMIT_EINVAL;
    if (k == 0 || k > UINT32_MAX) return rm_fail(client, READMIT_EINVAL, "k must be between 1 and 2^32-1");
    if (n_rows > 0 && n_rows > SIZE_MAX / 8 / k)
        return rm_fail(client, READMIT_EINVAL, "n_rows * k (%zu * %zu) is too large", n_rows, k);
    const void *data;
    size_t size;
    void *owned;
    int rc = rm_matrix_frame(client, features, n_rows, n_cols, &data, &size, &owned);
    if (rc != READMIT_OK) return rc;
    unsigned char counts[16];
    rm_put_u32(counts, (uint32_t)n_rows);
    rm_put_u32(counts + 4, (uint32_t)n_cols);
    rm_put_u32(counts + 8, (uint32_t)k);
    rm_put_u32(counts + 12, 0);
    const void *parts[2] = {counts, data};
    size_t sizes[2] = {sizeof counts, size};
    rm_request req = {RM_OP_EXPLAIN, 0, 2, parts, sizes, 0};
    rm_reply reply;
    rc = rm_transport_call(client, &req, &reply);
    free(owned);
    if (rc != READMIT_OK) return rc;
    size_t kk = 0;
    rc = rm_reply_expect_frames(client, &reply, 3);
    if (rc == READMIT_OK) {
        const unsigned char *cnt = zmq_msg_data(&reply.frames[1]);
        if (zmq_msg_size(&reply.frames[1]) != 8 || rm_get_u32(cnt) != n_rows)
            rc = rm_fail(client, READMIT_EPROTO, "malformed EXPLAIN reply: bad count frame");
        else if ((kk = rm_get_u32(cnt + 4)) > k || kk == 0)
            rc = rm_fail(client, READMIT_EPROTO, "malformed EXPLAIN reply: k %zu for a request of k %zu", kk, k);
        else if (zmq_msg_size(&reply.frames[2]) != n_rows * kk * 4 || zmq_msg_size(&reply.frames[3]) != n_rows * kk * 8)
            rc = rm_fail(client, READMIT_EPROTO, "malformed EXPLAIN reply: frames do not hold %zu x %zu values", n_rows, kk);
    }
    if (rc == READMIT_OK) {
        const unsigned char *idx = zmq_msg_data(&reply.frames[2]);
        const unsigned char *con = zmq_msg_data(&reply.frames[3]);
        for (size_t r = 0; r < n_rows; r++) {
            for (size_t j = 0; j < k; j++) {
                int inside = j < kk;
                if (feature_index) feature_index[r * k + j] = inside ? rm_get_i32(idx + 4 * (r * kk + j)) : -1;
                if (contribution) {
                    if (inside) rm_copy_f64_le(&contribution[r * k + j], con + 8 * (r * kk + j), 1);
                    else contribution[r * k + j] = 0.0;
                }
            }
        }
        if (k_used) *k_used = kk;
    }
    rm_reply_close(&reply);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Text replies: INFO, HEALTH, STATS, RELOAD                                                 */
/* ---------------------------------------------------------------------------------------- */

/* Sends a request whose success reply is one UTF-8 frame and returns a NUL-terminated copy. */
static int rm_text_call(readmit_client *client, uint8_t op, uint16_t flags, const char *arg,
                        char **out, size_t *out_len) {
    const void *parts[1] = {arg};
    size_t sizes[1] = {arg ? strlen(arg) : 0};
    rm_request req = {op, flags, arg ? 1 : 0, parts, sizes, 0};
    rm_reply reply;
    int rc = rm_transport_call(client, &req, &reply);
    if (rc != READMIT_OK) return rc;
    rc = rm_reply_expect_frames(client, &reply, 1);
    if (rc == READMIT_OK) {
        size_t len = zmq_msg_size(&reply.frames[1]);
        char *s = malloc(len + 1);
        if (!s) {
            rc = rm_fail(client, READMIT_ENOMEM, "out of memory for a %zu-byte reply", len);
        } else {
            memcpy(s, zmq_msg_data(&reply.frames[1]), len);
            s[len] = '\0';
            if (memchr(s, '\0', len)) {
                free(s);
                rc = rm_fail(client, READMIT_EPROTO, "malformed reply: NUL byte in a text frame");
            } else {
                *out = s;
                if (out_len) *out_len = len;
            }
        }
    }
    rm_reply_close(&reply);
    return rc;
}

/* Fetches INFO and refreshes the cached schema. */
static int rm_fetch_info(readmit_client *client, char **json, size_t *len) {
    char *s;
    size_t n;
    int rc = rm_text_call(client, RM_OP_INFO, 0, NULL, &s, &n);
    if (rc != READMIT_OK) return rc;
    rm_schema *schema;
    const char *err = NULL;
    rc = rm_schema_from_info(s, n, &schema, &err);
    if (rc != READMIT_OK) {
        free(s);
        return rm_fail(client, rc, "malformed INFO reply: %s", err ? err : "bad JSON");
    }
    rm_schema_free(client->schema);
    client->schema = schema;
    if (json) {
        *json = s;
        if (len) *len = n;
    } else {
        free(s);
    }
    return rm_ok(client);
}

int readmit_n_features(readmit_client *client, size_t *n_features) {
    if (!client) return READMIT_EINVAL;
    if (!n_features) return rm_fail(client, READMIT_EINVAL, "n_features is NULL");
    int rc = rm_fetch_info(client, NULL, NULL);
    if (rc == READMIT_OK) *n_features = client->schema->n_features;
    return rc;
}

/* Copies `s` into a caller buffer, snprintf style (READMIT_ERANGE if it does not fit). */
static int rm_copy_out(readmit_client *client, const char *s, size_t len, char *buf, size_t buf_size,
                       size_t *needed) {
    if (needed) *needed = len + 1;
    if (!buf || buf_size < len + 1)
        return rm_fail(client, READMIT_ERANGE, "buffer of %zu bytes is too small: %zu needed", buf ? buf_size : 0,
                       len + 1);
    memcpy(buf, s, len + 1);
    return rm_ok(client);
}

int readmit_info_json(readmit_client *client, char *buf, size_t buf_size, size_t *needed) {
    if (!client) return READMIT_EINVAL;
    char *s;
    size_t n;
    int rc = rm_fetch_info(client, &s, &n);
    if (rc != READMIT_OK) return rc;
    rc = rm_copy_out(client, s, n, buf, buf_size, needed);
    free(s);
    return rc;
}

int readmit_info_json_alloc(readmit_client *client, char **out) {
    if (!client) return READMIT_EINVAL;
    if (!out) return rm_fail(client, READMIT_EINVAL, "out is NULL");
    *out = NULL;
    return rm_fetch_info(client, out, NULL);
}

int readmit_has_interval(readmit_client *client, int *has_interval) {
    if (!client) return READMIT_EINVAL;
    if (!has_interval) return rm_fail(client, READMIT_EINVAL, "has_interval is NULL");
    int rc = rm_fetch_info(client, NULL, NULL);
    if (rc != READMIT_OK) return rc;
    if (client->schema->has_interval < 0)
        return rm_fail(client, READMIT_EPROTO, "malformed INFO reply: \"interval\" is neither an object nor null");
    *has_interval = client->schema->has_interval;
    return rc;
}

int rm_schema_ensure(readmit_client *client) {
    return client->schema ? READMIT_OK : rm_fetch_info(client, NULL, NULL);
}

/* The cached schema's feature `index`, fetching INFO first if nothing is cached. */
static int rm_feature_at(readmit_client *client, size_t index, const rm_feature **f) {
    int rc = rm_schema_ensure(client);
    if (rc != READMIT_OK) return rc;
    if (index >= client->schema->n_features)
        return rm_fail(client, READMIT_ENOTFOUND, "feature index %zu is out of range (%zu features)", index,
                       client->schema->n_features);
    *f = &client->schema->features[index];
    return READMIT_OK;
}

int readmit_feature_name(readmit_client *client, size_t index, char *buf, size_t buf_size, size_t *needed) {
    if (!client) return READMIT_EINVAL;
    const rm_feature *f = NULL;
    int rc = rm_feature_at(client, index, &f);
    return rc != READMIT_OK ? rc : rm_copy_out(client, f->name, strlen(f->name), buf, buf_size, needed);
}

int readmit_feature_source(readmit_client *client, size_t index, char *buf, size_t buf_size, size_t *needed) {
    if (!client) return READMIT_EINVAL;
    const rm_feature *f = NULL;
    int rc = rm_feature_at(client, index, &f);
    return rc != READMIT_OK ? rc : rm_copy_out(client, f->source, strlen(f->source), buf, buf_size, needed);
}

int readmit_feature_kind(readmit_client *client, size_t index, int *kind) {
    if (!client) return READMIT_EINVAL;
    if (!kind) return rm_fail(client, READMIT_EINVAL, "kind is NULL");
    const rm_feature *f = NULL;
    int rc = rm_feature_at(client, index, &f);
    if (rc != READMIT_OK) return rc;
    *kind = f->kind;
    return rm_ok(client);
}

int readmit_feature_n_levels(readmit_client *client, size_t index, size_t *n_levels) {
    if (!client) return READMIT_EINVAL;
    if (!n_levels) return rm_fail(client, READMIT_EINVAL, "n_levels is NULL");
    const rm_feature *f = NULL;
    int rc = rm_feature_at(client, index, &f);
    if (rc != READMIT_OK) return rc;
    *n_levels = f->n_levels;
    return rm_ok(client);
}

int readmit_feature_level(readmit_client *client, size_t index, size_t level, char *buf, size_t buf_size,
                          size_t *needed) {
    if (!client) return READMIT_EINVAL;
    const rm_feature *f = NULL;
    int rc = rm_feature_at(client, index, &f);
    if (rc != READMIT_OK) return rc;
    if (level >= f->n_levels)
        return rm_fail(client, READMIT_ENOTFOUND, "level %zu of feature '%s' is out of range (%zu levels)", level,
                       f->name, f->n_levels);
    return rm_copy_out(client, f->levels[level], strlen(f->levels[level]), buf, buf_size, needed);
}

/* ---------------------------------------------------------------------------------------- */
/* Raw fields                                                                                */
/* ---------------------------------------------------------------------------------------- */

/* Checks that the cached schema (fetched if needed) has readable raw fields. */
static int rm_raw_fields_ready(readmit_client *client) {
    int rc = rm_schema_ensure(client);
    if (rc != READMIT_OK) return rc;
    if (client->schema->raw_error)
        return rm_fail(client, READMIT_EPROTO, "malformed INFO reply: %s", client->schema->raw_error);
    return READMIT_OK;
}

/* The cached schema's raw field `index`. */
static int rm_raw_field_at(readmit_client *client, size_t index, const rm_raw_field **f) {
    int rc = rm_raw_fields_ready(client);
    if (rc != READMIT_OK) return rc;
    if (index >= client->schema->n_raw_fields)
        return rm_fail(client, READMIT_ENOTFOUND, "raw field index %zu is out of range (%zu raw fields)", index,
                       client->schema->n_raw_fields);
    *f = &client->schema->raw_fields[index];
    return READMIT_OK;
}

int readmit_n_raw_fields(readmit_client *client, size_t *n_fields) {
    if (!client) return READMIT_EINVAL;
    if (!n_fields) return rm_fail(client, READMIT_EINVAL, "n_fields is NULL");
    int rc = rm_fetch_info(client, NULL, NULL);
    if (rc == READMIT_OK) rc = rm_raw_fields_ready(client);
    if (rc != READMIT_OK) return rc;
    *n_fields = client->schema->n_raw_fields;
    return rm_ok(client);
}

int readmit_raw_field_name(readmit_client *client, size_t index, char *buf, size_t buf_size, size_t *needed) {
    if (!client) return READMIT_EINVAL;
    const rm_raw_field *f = NULL;
    int rc = rm_raw_field_at(client, index, &f);
    return rc != READMIT_OK ? rc : rm_copy_out(client, f->name, strlen(f->name), buf, buf_size, needed);
}

int readmit_raw_field_index(readmit_client *client, const char *name, size_t *index) {
    if (!client) return READMIT_EINVAL;
    if (!name || !index) return rm_fail(client, READMIT_EINVAL, "name and index must not be NULL");
    int rc = rm_raw_fields_ready(client);
    if (rc != READMIT_OK) return rc;
    for (size_t i = 0; i < client->schema->n_raw_fields; i++) {
        if (strcmp(client->schema->raw_fields[i].name, name) == 0) {
            *index = i;
            return rm_ok(client);
        }
    }
    return rm_fail(client, READMIT_ENOTFOUND, "the model has no raw field '%s'", name);
}

int readmit_raw_field_type(readmit_client *client, size_t index, int *type) {
    if (!client) return READMIT_EINVAL;
    if (!type) return rm_fail(client, READMIT_EINVAL, "type is NULL");
    const rm_raw_field *f = NULL;
    int rc = rm_raw_field_at(client, index, &f);
    if (rc != READMIT_OK) return rc;
    *type = f->type;
    return rm_ok(client);
}

int readmit_raw_field_required(readmit_client *client, size_t index, int *required) {
    if (!client) return READMIT_EINVAL;
    if (!required) return rm_fail(client, READMIT_EINVAL, "required is NULL");
    const rm_raw_field *f = NULL;
    int rc = rm_raw_field_at(client, index, &f);
    if (rc != READMIT_OK) return rc;
    *required = f->required;
    return rm_ok(client);
}

int readmit_raw_field_history(readmit_client *client, size_t index, int *history) {
    if (!client) return READMIT_EINVAL;
    if (!history) return rm_fail(client, READMIT_EINVAL, "history is NULL");
    const rm_raw_field *f = NULL;
    int rc = rm_raw_field_at(client, index, &f);
    if (rc != READMIT_OK) return rc;
    *history = f->history;
    return rm_ok(client);
}

int readmit_raw_field_n_levels(readmit_client *client, size_t index, size_t *n_levels) {
    if (!client) return READMIT_EINVAL;
    if (!n_levels) return rm_fail(client, READMIT_EINVAL, "n_levels is NULL");
    const rm_raw_field *f = NULL;
    int rc = rm_raw_field_at(client, index, &f);
    if (rc != READMIT_OK) return rc;
    *n_levels = f->n_levels;
    return rm_ok(client);
}

int readmit_raw_field_level(readmit_client *client, size_t index, size_t level, char *buf, size_t buf_size,
                            size_t *needed) {
    if (!client) return READMIT_EINVAL;
    const rm_raw_field *f = NULL;
    int rc = rm_raw_field_at(client, index, &f);
    if (rc != READMIT_OK) return rc;
    if (level >= f->n_levels)
        return rm_fail(client, READMIT_ENOTFOUND, "level %zu of raw field '%s' is out of range (%zu levels)", level,
                       f->name, f->n_levels);
    return rm_copy_out(client, f->levels[level], strlen(f->levels[level]), buf, buf_size, needed);
}

/* ---------------------------------------------------------------------------------------- */
/* Health, stats, reload                                                                     */
/* ---------------------------------------------------------------------------------------- */

int readmit_health(readmit_client *client, int *ready, uint64_t *model_version) {
    if (!client) return READMIT_EINVAL;
    char *s;
    size_t n;
    int rc = rm_text_call(client, RM_OP_HEALTH, 0, NULL, &s, &n);
    if (rc != READMIT_OK) return rc;
    const char *err = NULL;
    rm_json *root = rm_json_parse(s, n, &err);
    free(s);
    const rm_json *r = root ? rm_json_get(root, "ready") : NULL;
    if (!r || r->type != RM_JSON_BOOL) {
        rm_json_free(root);
        return rm_fail(client, READMIT_EPROTO, "malformed HEALTH reply: %s", root ? "no boolean \"ready\"" : err);
    }
    if (ready) *ready = r->boolean;
    if (model_version) *model_version = client->last_model_version;
    rm_json_free(root);
    return rm_ok(client);
}

int readmit_stats_alloc(readmit_client *client, int prometheus, char **out) {
    if (!client) return READMIT_EINVAL;
    if (!out) return rm_fail(client, READMIT_EINVAL, "out is NULL");
    *out = NULL;
    return rm_text_call(client, RM_OP_STATS, prometheus ? 1 : 0, NULL, out, NULL);
}

int readmit_reload(readmit_client *client, const char *model_path, char **out_json) {
    if (!client) return READMIT_EINVAL;
    if (out_json) *out_json = NULL;
    if (model_path && !*model_path) return rm_fail(client, READMIT_EINVAL, "model_path is empty");
    char *s;
    int rc = rm_text_call(client, RM_OP_RELOAD, 0, model_path, &s, NULL);
    if (rc != READMIT_OK) return rc;
    /* The schema may have changed with the model: refetch it on next use. */
    rm_schema_free(client->schema);
    client->schema = NULL;
    if (out_json) *out_json = s;
    else free(s);
    return READMIT_OK;
}
