/* Load client for readmitd and its references (raw echo, pyzmq + scikit-learn server).
 * Speaks docs/PROTOCOL.md with raw libzmq REQ sockets.
 *
 *   load_client latency  ENDPOINT COLS N [ROWS]    one-row SCORE round trips: median, p99 (us); ROWS 0
 *                                                  sends a SCORE of no row (the daemon's fixed cost)
 *   load_client batch    ENDPOINT COLS ROWS N      ROWS-row SCORE: median seconds, rows/s
 *   load_client parallel ENDPOINT COLS CLIENTS N   CLIENTS threads x N one-row SCOREs: req/s, p50, p99
 *   load_client interleaved ENDPOINT COLS N ROWS REFERENCE
 *                                                  N round trips to each of ENDPOINT and REFERENCE
 *                                                  (an echo server), one after the other from one
 *                                                  thread, the first of each pair swapped every pair:
 *                                                  both medians and p99s and their ratios, so the two
 *                                                  are timed in the same machine state, request by
 *                                                  request, not run by run
 *
 * Rows: the feature vectors in LOAD_ROWS_F64 when it is set (rows x COLS little-endian float64,
 * `readmit encode --format f64`; a batch takes them in order, starting again at the first when
 * it is longer), else a synthetic row (every feature 0.0, every 5th value missing).
 * A matrix of 64 KiB or more goes without a copy (zmq_msg_init_data), as the shim sends it.
 * Every loop is bounded by N; every receive has a 60 s timeout. Prints one JSON line. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

static void *ctx;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double quantile(double *v, int n, double q) {
    qsort(v, n, sizeof *v, cmp_double);
    int i = (int)ceil(q * n) - 1;
    if (i < 0) i = 0;
    if (i >= n) i = n - 1;
    return v[i];
}

typedef struct { uint8_t header[16]; uint32_t counts[2]; double *matrix; size_t rows, cols; } request_t;

/* Real feature vectors (LOAD_ROWS_F64: rows x cols little-endian float64, as `readmit encode
 * --format f64` writes them), read once; NULL without the variable. */
static double *real_rows;
static size_t n_real_rows;

static void load_real_rows(size_t cols) {
    const char *path = getenv("LOAD_ROWS_F64");
    if (!path || !*path) return;
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "cannot open LOAD_ROWS_F64 %s\n", path); exit(2); }
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (bytes <= 0 || (size_t)bytes % (cols * sizeof(double)) != 0) {
        fprintf(stderr, "LOAD_ROWS_F64 %s: %ld bytes is not a whole number of %zu-column rows\n", path, bytes, cols);
        exit(2);
    }
    n_real_rows = (size_t)bytes / (cols * sizeof(double));
    real_rows = malloc((size_t)bytes);
    if (!real_rows || fread(real_rows, 1, (size_t)bytes, f) != (size_t)bytes) { fprintf(stderr, "cannot read %s\n", path); exit(2); }
    fclose(f);
}

static void make_request(request_t *r, size_t rows, size_t cols) {
    memcpy(r->header, "RDMT", 4);
    r->header[4] = 2; r->header[5] = 1;  /* protocol version 2, SCORE */
    memset(r->header + 6, 0, 10);
    r->counts[0] = (uint32_t)rows; r->counts[1] = (uint32_t)cols;
    r->rows = rows; r->cols = cols;
    r->matrix = malloc(rows * cols * sizeof(double) + 8);
    if (real_rows) {  /* the file's rows in order, from its start again when a batch is longer */
        for (size_t i = 0; i < rows; i++) memcpy(r->matrix + i * cols, real_rows + (i % n_real_rows) * cols, cols * sizeof(double));
        return;
    }
    /* 0.0 is valid for every feature (a value, or categorical level 0); every 5th value missing. */
    for (size_t i = 0; i < rows * cols; i++) r->matrix[i] = (i % 5 == 0) ? NAN : 0.0;
}

static void *connect_req(const char *endpoint) {
    void *s = zmq_socket(ctx, ZMQ_REQ);
    int timeout = 60000, linger = 0;
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(s, endpoint) != 0) { fprintf(stderr, "connect %s failed\n", endpoint); exit(1); }
    return s;
}

/* One round trip; returns 0 on an OK reply (status 0, or an echo of the request). */
static int round_trip(void *s, request_t *r, uint64_t id) {
    memcpy(r->header + 8, &id, 8);
    zmq_send(s, r->header, 16, ZMQ_SNDMORE);
    zmq_send(s, r->counts, 8, ZMQ_SNDMORE);
    /* As the shim sends a frame of 64 KiB or more (rm_transport.c): without a copy. The matrix
     * is never written after make_request, so no release callback is needed. */
    size_t bytes = r->rows * r->cols * 8;
    if (bytes >= 64 * 1024) {
        zmq_msg_t body;
        zmq_msg_init_data(&body, r->matrix, bytes, NULL, NULL);
        if (zmq_msg_send(&body, s, 0) < 0) zmq_msg_close(&body);
    } else {
        zmq_send(s, r->matrix, bytes, 0);
    }
    int status = -1, part = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s, 0) < 0) { zmq_msg_close(&m); fprintf(stderr, "receive timeout\n"); exit(1); }
        if (part == 0) {
            const uint8_t *d = zmq_msg_data(&m);
            if (zmq_msg_size(&m) == 24) status = d[6] | (d[7] << 8);
            else if (zmq_msg_size(&m) == 16) status = 0;  /* the echo server returns the request header */
        }
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        part++;
    }
    return status;
}

typedef struct { const char *endpoint; size_t cols; int n; double *lat; int failures; } worker_t;

static void *parallel_worker(void *arg) {
    worker_t *w = arg;
    void *s = connect_req(w->endpoint);
    request_t r;
    make_request(&r, 1, w->cols);
    for (int i = 0; i < w->n; i++) {
        double t0 = now();
        if (round_trip(s, &r, (uint64_t)i) != 0) w->failures++;
        w->lat[i] = now() - t0;
    }
    zmq_close(s);
    free(r.matrix);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: see the header of load_client.c\n"); return 2; }
    ctx = zmq_ctx_new();
    const char *mode = argv[1], *endpoint = argv[2];
    size_t cols = strtoul(argv[3], NULL, 10);
    /* N (the latency and interleaved modes' count) must be at least 1: the quantiles read it. */
    if ((strcmp(mode, "latency") == 0 || strcmp(mode, "interleaved") == 0) && atoi(argv[4]) < 1) {
        fprintf(stderr, "load_client %s: N must be at least 1\n", mode);
        return 2;
    }
    int failures = 0;
    load_real_rows(cols);
    if (strcmp(mode, "latency") == 0) {
        int n = atoi(argv[4]);
        void *s = connect_req(endpoint);
        request_t r;
        make_request(&r, argc > 5 ? strtoul(argv[5], NULL, 10) : 1, cols);
        for (int i = 0; i < 200; i++) round_trip(s, &r, 0);  /* warm up */
        double *lat = malloc(n * sizeof *lat);
        for (int i = 0; i < n; i++) {
            double t0 = now();
            if (round_trip(s, &r, (uint64_t)i) != 0) failures++;
            lat[i] = now() - t0;
        }
        printf("{\"mode\":\"latency\",\"n\":%d,\"median_us\":%.1f,\"p99_us\":%.1f,\"failures\":%d}\n",
               n, quantile(lat, n, 0.5) * 1e6, quantile(lat, n, 0.99) * 1e6, failures);
        zmq_close(s);
    } else if (strcmp(mode, "interleaved") == 0 && argc >= 7) {
        int n = atoi(argv[4]);
        void *s = connect_req(endpoint), *ref = connect_req(argv[6]);
        request_t r;
        make_request(&r, strtoul(argv[5], NULL, 10), cols);
        for (int i = 0; i < 200; i++) { round_trip(s, &r, 0); round_trip(ref, &r, 0); }  /* warm up */
        double *lat = malloc(n * sizeof *lat), *refLat = malloc(n * sizeof *refLat);
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < 2; k++) {
                const int endpointTurn = (i + k) % 2 == 0;  /* ENDPOINT first in even pairs */
                double t0 = now();
                if (round_trip(endpointTurn ? s : ref, &r, (uint64_t)i) != 0) failures++;
                (endpointTurn ? lat : refLat)[i] = now() - t0;
            }
        }
        double med = quantile(lat, n, 0.5), refMed = quantile(refLat, n, 0.5);
        double p99 = quantile(lat, n, 0.99), refP99 = quantile(refLat, n, 0.99);
        printf("{\"mode\":\"interleaved\",\"n\":%d,\"median_us\":%.1f,\"p99_us\":%.1f,\"reference_median_us\":%.1f,"
               "\"reference_p99_us\":%.1f,\"median_ratio\":%.4f,\"p99_ratio\":%.4f,\"failures\":%d}\n",
               n, med * 1e6, p99 * 1e6, refMed * 1e6, refP99 * 1e6, med / refMed, p99 / refP99, failures);
        zmq_close(s);
        zmq_close(ref);
        free(lat);
        free(refLat);
        free(r.matrix);
    } else if (strcmp(mode, "batch") == 0 && argc >= 6) {
        size_t rows = strtoul(argv[4], NULL, 10);
        int n = atoi(argv[5]);
        void *s = connect_req(endpoint);
        request_t r;
        make_request(&r, rows, cols);
        round_trip(s, &r, 0);  /* warm up */
        double *sec = malloc(n * sizeof *sec);
        for (int i = 0; i < n; i++) {
            double t0 = now();
            if (round_trip(s, &r, (uint64_t)i) != 0) failures++;
            sec[i] = now() - t0;
        }
        double med = quantile(sec, n, 0.5);
        printf("{\"mode\":\"batch\",\"rows\":%zu,\"n\":%d,\"median_s\":%.6f,\"rows_per_s\":%.0f,\"failures\":%d}\n",
               rows, n, med, rows / med, failures);
        zmq_close(s);
    } else if (strcmp(mode, "parallel") == 0 && argc >= 6) {
        int clients = atoi(argv[4]), n = atoi(argv[5]);
        pthread_t *threads = calloc(clients, sizeof *threads);
        worker_t *w = calloc(clients, sizeof *w);
        double t0 = now();
        for (int c = 0; c < clients; c++) {
            w[c] = (worker_t){endpoint, cols, n, malloc(n * sizeof(double)), 0};
            pthread_create(&threads[c], NULL, parallel_worker, &w[c]);
        }
        double *all = malloc((size_t)clients * n * sizeof *all);
        for (int c = 0; c < clients; c++) {
            pthread_join(threads[c], NULL);
            memcpy(all + (size_t)c * n, w[c].lat, n * sizeof(double));
            failures += w[c].failures;
        }
        double elapsed = now() - t0;
        int total = clients * n;
        printf("{\"mode\":\"parallel\",\"clients\":%d,\"n\":%d,\"requests_per_s\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"failures\":%d}\n",
               clients, total, total / elapsed, quantile(all, total, 0.5) * 1e6, quantile(all, total, 0.99) * 1e6, failures);
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    zmq_ctx_term(ctx);
    return failures ? 1 : 0;
}
