/*
 * bench_shim: libreadmit's cost over a raw libzmq REQ/REP round trip of the same bytes, against
 * a running readmitd, measured side by side in one run.
 *
 *   bench_shim ENDPOINT [--calls N] [--rounds R] [--batch-rows ROWS] [--batch-reps K] [--rows-file F]
 *   bench_shim ENDPOINT --shim-only --rows-file F --batch-reps K     (time readmit_score on F only)
 *
 * 1. Per call: a 1-row SCORE, N x R calls each, in alternating blocks of 100, through (a) a raw REQ socket sending the
 *    same frames and reading the reply frames, (b) readmit_score. Reports the median latency
 *    of each and the overhead: the median over blocks of (shim block median - raw block median).
 * 2. Batch: ROWS rows (default 100,000) in one SCORE, K repetitions each way (raw zero-copy send
 *    vs readmit_score); medians and their ratio.
 * Rows come from --rows-file (raw little-endian float64, ROWS x n_features) or are synthesised
 * from the schema (valid values, some NaN).
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "readmit.h"

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n) {
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what, readmit_client *c) {
    fprintf(stderr, "bench_shim: %s: %s\n", what, c ? readmit_errmsg(c) : zmq_strerror(zmq_errno()));
    exit(1);
}

/* Raw REQ round trip: header, counts and matrix frames; reads every reply frame. */
static void raw_score(void *sock, const double *x, size_t rows, size_t nf, uint64_t id) {
    unsigned char h[16] = {'R', 'D', 'M', 'T', 1, 1, 0, 0};
    for (int i = 0; i < 8; i++) h[8 + i] = (unsigned char)(id >> (8 * i));
    uint32_t counts[2] = {(uint32_t)rows, (uint32_t)nf}; /* little-endian host */
    if (zmq_send(sock, h, sizeof h, ZMQ_SNDMORE) < 0 || zmq_send(sock, counts, sizeof counts, ZMQ_SNDMORE) < 0)
        die("raw send", NULL);
    size_t bytes = rows * nf * 8;
    if (bytes >= 64 * 1024) { /* zero copy, as the shim does for large matrices */
        zmq_msg_t m;
        zmq_msg_init_data(&m, (void *)x, bytes, NULL, NULL);
        if (zmq_msg_send(&m, sock, 0) < 0) die("raw send", NULL);
    } else if (zmq_send(sock, x, bytes, 0) < 0) {
        die("raw send", NULL);
    }
    int more = 1, frames = 0;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, 0) < 0) die("raw recv", NULL);
        more = zmq_msg_more(&m);
        if (frames == 0 && (zmq_msg_size(&m) != 24 || ((unsigned char *)zmq_msg_data(&m))[6] != 0))
            die("raw reply is an error", NULL);
        frames++;
        zmq_msg_close(&m);
    }
}

static void synthesise(readmit_client *c, double *x, size_t rows, size_t nf) {
    unsigned s = 12345;
    for (size_t j = 0; j < nf; j++) {
        int kind = 0;
        size_t levels = 0;
        readmit_feature_kind(c, j, &kind);
        readmit_feature_n_levels(c, j, &levels);
        for (size_t r = 0; r < rows; r++) {
            s = s * 1103515245u + 12345u;
            unsigned v = (s >> 8) & 0xffff;
            x[r * nf + j] = v % 11 == 0 ? NAN : kind == READMIT_FEATURE_CATEGORICAL ? (double)(v % (levels ? levels : 1))
                                                                                    : (double)(v % 20);
        }
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_shim ENDPOINT [--calls N] [--rounds R] [--batch-rows ROWS] [--batch-reps K] "
                        "[--rows-file F] [--shim-only]\n");
        return 2;
    }
    const char *endpoint = argv[1], *rows_file = NULL;
    size_t calls = 20000, rounds = 5, batch_rows = 100000, batch_reps = 7;
    int shim_only = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--calls") && i + 1 < argc) calls = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--batch-rows") && i + 1 < argc) batch_rows = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--batch-reps") && i + 1 < argc) batch_reps = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--rows-file") && i + 1 < argc) rows_file = argv[++i];
        else if (!strcmp(argv[i], "--shim-only")) shim_only = 1;
        else { fprintf(stderr, "bench_shim: unknown argument %s\n", argv[i]); return 2; }
    }
    readmit_options *o;
    readmit_options_new(&o);
    readmit_options_set_timeout_ms(o, 120000);
    readmit_options_set_retries(o, 0);
    readmit_client *c = NULL;
    if (readmit_open_ex(endpoint, o, &c) != READMIT_OK) die("open", NULL);
    readmit_options_free(o);
    size_t nf;
    if (readmit_n_features(c, &nf) != READMIT_OK) die("n_features", c);

    double *x = NULL;
    if (rows_file) {
        FILE *f = fopen(rows_file, "rb");
        if (!f) { perror(rows_file); return 1; }
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fseek(f, 0, SEEK_SET);
        batch_rows = (size_t)size / (nf * 8);
        x = malloc(batch_rows * nf * 8);
        if (fread(x, 8, batch_rows * nf, f) != batch_rows * nf) { perror("read"); return 1; }
        fclose(f);
    } else {
        x = malloc(batch_rows * nf * 8);
        synthesise(c, x, batch_rows, nf);
    }
    double *risk = malloc(batch_rows * sizeof *risk);
    double *t_shim = malloc(batch_reps * sizeof(double)), *t_raw = malloc(batch_reps * sizeof(double));

    if (shim_only) {
        readmit_score(c, x, batch_rows, nf, risk); /* warm-up */
        for (size_t k = 0; k < batch_reps; k++) {
            double t0 = now_us();
            if (readmit_score(c, x, batch_rows, nf, risk) != READMIT_OK) die("score", c);
            t_shim[k] = now_us() - t0;
        }
        printf("shim_batch_ms_median %.3f rows %zu reps %zu\n", median(t_shim, batch_reps) / 1e3, batch_rows, batch_reps);
        readmit_close(c);
        return 0;
    }

    void *ctx = zmq_ctx_new(), *sock = zmq_socket(ctx, ZMQ_REQ);
    int linger = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(sock, endpoint) != 0) die("raw connect", NULL);

    /* 1. Per-call latency, 1 row. */
    double *lat_raw = malloc(calls * rounds * sizeof(double)), *lat_shim = malloc(calls * rounds * sizeof(double));
    for (size_t i = 0; i < 1000; i++) { /* warm-up both paths */
        raw_score(sock, x, 1, nf, i);
        readmit_score(c, x, 1, nf, risk);
    }
    /* Calls go in blocks of 100 per path, alternating which path goes first, so both see the
     * same load; the overhead is the median over blocks of the paired difference of medians. */
    uint64_t id = 1;
    const size_t block = 100;
    size_t n_blocks = calls * rounds / block;
    double *diff = malloc(n_blocks * sizeof(double)), tmp_raw[100], tmp_shim[100];
    for (size_t k = 0; k < n_blocks; k++) {
        for (int pass = 0; pass < 2; pass++) {
            int shim_pass = (int)((k + (size_t)pass) % 2);
            for (size_t i = 0; i < block; i++) {
                const double *row = x + ((k * block + i) % 1000) * nf;
                double t0 = now_us();
                if (shim_pass) {
                    if (readmit_score(c, row, 1, nf, risk) != READMIT_OK) die("score", c);
                    lat_shim[k * block + i] = tmp_shim[i] = now_us() - t0;
                } else {
                    raw_score(sock, row, 1, nf, id++);
                    lat_raw[k * block + i] = tmp_raw[i] = now_us() - t0;
                }
            }
        }
        diff[k] = median(tmp_shim, block) - median(tmp_raw, block);
    }
    double m_raw = median(lat_raw, n_blocks * block), m_shim = median(lat_shim, n_blocks * block);
    double m_diff = median(diff, n_blocks);
    free(diff);

    /* 2. Batch. */
    raw_score(sock, x, batch_rows, nf, id++);
    readmit_score(c, x, batch_rows, nf, risk);
    for (size_t k = 0; k < batch_reps; k++) {
        /* Alternate which path goes first, so drift affects both alike. */
        for (int pass = 0; pass < 2; pass++) {
            int shim_pass = (int)((k + (size_t)pass) % 2);
            double t0 = now_us();
            if (shim_pass) {
                if (readmit_score(c, x, batch_rows, nf, risk) != READMIT_OK) die("score", c);
                t_shim[k] = now_us() - t0;
            } else {
                raw_score(sock, x, batch_rows, nf, id++);
                t_raw[k] = now_us() - t0;
            }
        }
    }
    double b_raw = median(t_raw, batch_reps), b_shim = median(t_shim, batch_reps);

    printf("features per row: %zu\n", nf);
    printf("per call (1-row SCORE, %zu calls x %zu rounds each, medians):\n", calls, rounds);
    printf("  raw libzmq REQ round trip : %8.2f us\n", m_raw);
    printf("  libreadmit readmit_score  : %8.2f us\n", m_shim);
    printf("  shim overhead             : %8.2f us  (median of %zu paired block differences; ratio of medians %.3f)\n",
           m_diff, n_blocks, m_shim / m_raw);
    printf("batch (%zu rows in one SCORE, %zu reps each, medians):\n", batch_rows, batch_reps);
    printf("  raw libzmq REQ round trip : %8.2f ms  (%.0f rows/s)\n", b_raw / 1e3, batch_rows / (b_raw / 1e6));
    printf("  libreadmit readmit_score  : %8.2f ms  (%.0f rows/s)\n", b_shim / 1e3, batch_rows / (b_shim / 1e6));
    printf("  ratio shim / raw          : %8.3f\n", b_shim / b_raw);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    readmit_close(c);
    free(x), free(risk), free(t_shim), free(t_raw), free(lat_raw), free(lat_shim);
    return 0;
}
