/*
 * records_latency: the round trip of ONE raw encounter sent from C through libreadmit
 * (readmit_records_* + readmit_score_records: the RECORDS operation, encoded by the daemon with
 * the model's own spec) against a raw libzmq REQ/REP echo of the same request bytes, side by
 * side in one run.
 *
 *   records_latency DAEMON_ENDPOINT ECHO_ENDPOINT ROW_FILE [--pairs P] [--calls N]
 *
 * ROW_FILE holds one encounter, one raw field per line: NAME, a tab, the value as written in the
 * EHR extract (an empty value is sent as missing). benchmarks/shim/run_records.sh makes it from
 * the first row of `readmit history`'s output.
 *
 * Each call on the shim side does what an EHR plugin does per encounter: a new readmit_records,
 * one readmit_records_set_text per field, readmit_score_records, readmit_result_row, and both
 * frees. The echo side sends the same frames (built here by hand from docs/PROTOCOL.md) on a raw
 * REQ socket to an echo server and reads every frame back. Before timing, the hand-built request
 * is sent to the daemon too and its risk must equal the shim's to the bit: the two sides send
 * the same request.
 *
 * The machine's round-trip floor drifts, so the figure is the median over P alternating pairs
 * of blocks (N calls each; the echo first in even pairs, the shim first in odd ones) of the
 * ratio of the blocks' medians, with its quartiles; every loop is bounded by P and N, every
 * receive by a 10 s timeout.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "readmit.h"

#define MAX_FIELDS 512
#define MAX_LINE 4096

typedef struct {
    char *name[MAX_FIELDS];
    char *value[MAX_FIELDS]; /* NULL = missing */
    size_t n;
} encounter;

typedef struct {
    unsigned char *data[2 + 2 * MAX_FIELDS];
    size_t size[2 + 2 * MAX_FIELDS];
    size_t n;
} request_frames;

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile (0..1) of v, sorting v in place. */
static double quantile(double *v, size_t n, double q) {
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static void die(const char *what, const char *detail) {
    fprintf(stderr, "records_latency: %s: %s\n", what, detail);
    exit(1);
}

static void read_encounter(const char *path, encounter *e) {
    FILE *f = fopen(path, "r");
    if (!f) die("cannot open", path);
    char line[MAX_LINE];
    e->n = 0;
    while (fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (len == 0) continue;
        char *tab = strchr(line, '\t');
        if (!tab) die("a line without a tab in", path);
        if (e->n == MAX_FIELDS) die("too many fields in", path);
        *tab = '\0';
        e->name[e->n] = strdup(line);
        e->value[e->n] = tab[1] ? strdup(tab + 1) : NULL;
        if (!e->name[e->n] || (tab[1] && !e->value[e->n])) die("out of memory", path);
        e->n++;
    }
    fclose(f);
    if (e->n == 0) die("no fields in", path);
}

static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static unsigned char *copy_bytes(const void *src, size_t n) {
    unsigned char *p = malloc(n ? n : 1);
    if (!p) die("out of memory", "frame");
    memcpy(p, src, n);
    return p;
}

/* The RECORDS request of one encounter, every field a one-row text column (docs/PROTOCOL.md). */
static void build_request(const encounter *e, request_frames *r) {
    unsigned char header[16] = {'R', 'D', 'M', 'T', 2, 7, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
    unsigned char counts[16];
    put_u32(counts, 1);
    put_u32(counts + 4, (uint32_t)e->n);
    put_u32(counts + 8, 0);
    put_u32(counts + 12, 0);
    r->n = 0;
    r->data[r->n] = copy_bytes(header, 16), r->size[r->n++] = 16;
    r->data[r->n] = copy_bytes(counts, 16), r->size[r->n++] = 16;
    for (size_t i = 0; i < e->n; i++) {
        r->data[r->n] = copy_bytes(e->name[i], strlen(e->name[i])), r->size[r->n++] = strlen(e->name[i]);
        size_t len = e->value[i] ? strlen(e->value[i]) : 0;
        size_t size = e->value[i] ? 1 + 4 + 4 + len + 4 : 1 + 4 + 4;
        unsigned char *v = malloc(size);
        if (!v) die("out of memory", "frame");
        v[0] = 2; /* texts */
        if (e->value[i]) {
            put_u32(v + 1, 1);
            put_u32(v + 5, (uint32_t)len);
            memcpy(v + 9, e->value[i], len);
            put_u32(v + 9 + len, 0);
        } else {
            put_u32(v + 1, 0);
            put_u32(v + 5, UINT32_MAX); /* code -1: missing */
        }
        r->data[r->n] = v, r->size[r->n++] = size;
    }
}

/* One raw REQ round trip: sends every frame, reads every reply frame; returns the bytes of
 * reply frame `keep` (copied into keep_buf, up to keep_cap) or -1 when there was none. */
static long raw_round_trip(void *sock, const request_frames *r, size_t keep, unsigned char *keep_buf, size_t keep_cap) {
    for (size_t i = 0; i < r->n; i++)
        if (zmq_send(sock, r->data[i], r->size[i], i + 1 < r->n ? ZMQ_SNDMORE : 0) < 0)
            die("raw send", zmq_strerror(zmq_errno()));
    long kept = -1;
    int more = 1;
    for (size_t frame = 0; more; frame++) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, 0) < 0) die("raw receive (10 s timeout)", zmq_strerror(zmq_errno()));
        if (frame == keep) {
            size_t n = zmq_msg_size(&m) < keep_cap ? zmq_msg_size(&m) : keep_cap;
            memcpy(keep_buf, zmq_msg_data(&m), n);
            kept = (long)n;
        }
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
    return kept;
}

/* One encounter through libreadmit, as a plugin sends it; returns its risk. */
static double shim_round_trip(readmit_client *client, const encounter *e) {
    readmit_records *records = NULL;
    readmit_result *result = NULL;
    if (readmit_records_new(1, &records) != READMIT_OK) die("readmit_records_new", "failed");
    for (size_t i = 0; i < e->n; i++)
        if (readmit_records_set_text(records, e->name[i], 0, e->value[i]) != READMIT_OK)
            die("readmit_records_set_text", readmit_records_errmsg(records));
    if (readmit_score_records(client, records, 0, 0, &result) != READMIT_OK) die("readmit_score_records", readmit_errmsg(client));
    double risk = NAN;
    int has_error = 0;
    if (readmit_result_row(result, 0, &risk, NULL, NULL, &has_error) != READMIT_OK || has_error)
        die("the encounter", "has an error: check ROW_FILE against the model's raw fields");
    readmit_result_free(result);
    readmit_records_free(records);
    return risk;
}

static void *raw_socket(void *ctx, const char *endpoint) {
    void *s = zmq_socket(ctx, ZMQ_REQ);
    int timeout = 10000, linger = 0;
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(s, endpoint) != 0) die(endpoint, zmq_strerror(zmq_errno()));
    return s;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: records_latency DAEMON_ENDPOINT ECHO_ENDPOINT ROW_FILE [--pairs P] [--calls N]\n");
        return 2;
    }
    size_t pairs = 20, calls = 1000;
    for (int i = 4; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--pairs") == 0) pairs = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--calls") == 0) calls = strtoul(argv[i + 1], NULL, 10);
        else die("unknown option", argv[i]);
    }
    if (pairs == 0 || pairs > 1000 || calls == 0 || calls > 100000) die("bad --pairs or --calls", "1..1000, 1..100000");
    static encounter e;
    static request_frames request;
    read_encounter(argv[3], &e);

    readmit_client *client = NULL;
    if (readmit_open(argv[1], &client) != READMIT_OK) die("readmit_open", readmit_errmsg(client));
    /* A plugin sends the model's raw fields only (INFO's raw_fields): drop the file's others
     * (identifiers, the label), which the daemon would ignore with a warning. */
    size_t n_fields = 0, kept = 0, index;
    if (readmit_n_raw_fields(client, &n_fields) != READMIT_OK) die("readmit_n_raw_fields", readmit_errmsg(client));
    for (size_t i = 0; i < e.n; i++) {
        if (readmit_raw_field_index(client, e.name[i], &index) == READMIT_OK) {
            e.name[kept] = e.name[i], e.value[kept++] = e.value[i];
        } else {
            free(e.name[i]), free(e.value[i]);
        }
    }
    e.n = kept;
    if (e.n == 0) die(argv[3], "holds none of the model's raw fields");
    build_request(&e, &request);
    void *ctx = zmq_ctx_new();
    void *daemon = raw_socket(ctx, argv[1]);
    void *echo = raw_socket(ctx, argv[2]);

    /* The same request: the hand-built frames scored by the daemon give the shim's risk. */
    double shim_risk = shim_round_trip(client, &e), raw_risk = NAN;
    unsigned char risk_frame[8];
    if (raw_round_trip(daemon, &request, 2, risk_frame, sizeof risk_frame) != 8) die("raw RECORDS", "no 8-byte risk frame");
    memcpy(&raw_risk, risk_frame, 8);
    if (memcmp(&raw_risk, &shim_risk, 8) != 0) die("raw and shim requests", "give different risks");
    size_t bytes = 0;
    for (size_t i = 0; i < request.n; i++) bytes += request.size[i];
    printf("encounter: %zu of the model's %zu raw fields, request %zu frames, %zu bytes; risk %.17g (raw request = shim, to the bit)\n",
           e.n, n_fields, request.n, bytes, shim_risk);

    for (size_t i = 0; i < calls; i++) { /* warm both paths */
        shim_round_trip(client, &e);
        raw_round_trip(echo, &request, SIZE_MAX, NULL, 0);
    }
    double *lat = malloc(calls * sizeof *lat), *all_shim = malloc(pairs * calls * sizeof *lat),
           *all_echo = malloc(pairs * calls * sizeof *lat), *ratio = malloc(pairs * sizeof *ratio);
    if (!lat || !all_shim || !all_echo || !ratio) die("out of memory", "latencies");
    for (size_t p = 0; p < pairs; p++) {
        double med[2];
        for (int side = 0; side < 2; side++) {
            int shim_side = (p % 2 == 0) ? side == 1 : side == 0;
            for (size_t i = 0; i < calls; i++) {
                double t0 = now_us();
                if (shim_side) shim_round_trip(client, &e);
                else raw_round_trip(echo, &request, SIZE_MAX, NULL, 0);
                lat[i] = now_us() - t0;
                (shim_side ? all_shim : all_echo)[p * calls + i] = lat[i];
            }
            med[shim_side] = quantile(lat, calls, 0.5);
        }
        ratio[p] = med[1] / med[0];
        printf("pair %zu: shim %.1f us, echo %.1f us, ratio %.3f\n", p + 1, med[1], med[0], ratio[p]);
    }
    size_t n = pairs * calls;
    double shim50 = quantile(all_shim, n, 0.5), shim99 = quantile(all_shim, n, 0.99);
    double echo50 = quantile(all_echo, n, 0.5), echo99 = quantile(all_echo, n, 0.99);
    double r25 = quantile(ratio, pairs, 0.25), r50 = quantile(ratio, pairs, 0.5), r75 = quantile(ratio, pairs, 0.75);
    printf("one raw encounter through libreadmit: median %.1f us, p99 %.1f us\n", shim50, shim99);
    printf("raw libzmq echo of the same bytes:    median %.1f us, p99 %.1f us\n", echo50, echo99);
    printf("ratio, median of %zu pair ratios: %.2fx (quartiles %.2f-%.2f); of all medians %.2fx; p99 %.2fx (target <= 1.3x)\n",
           pairs, r50, r25, r75, shim50 / echo50, shim99 / echo99);
    free(lat), free(all_shim), free(all_echo), free(ratio);
    zmq_close(daemon);
    zmq_close(echo);
    zmq_ctx_term(ctx);
    readmit_close(client);
    return 0;
}
