/*
 * daemons.c: requests per second and latency of libreadmit clients spread over several readmitd
 * (load balancing, 0.5.0). THREADS threads each open one client to every endpoint given and
 * score ROWS-row feature matrices (SCORE) back to back for SECONDS; with --split N each call is
 * split into chunks of N rows over the daemons. With --kill PID --kill-after MS, the main thread
 * SIGKILLs that daemon mid-run. Prints one line:
 *
 *   daemons=3 threads=4 rows=100 split=0 killed=0 calls=12345 failed=0 req_s=4115.0 rows_s=411500 p50_us=870.1 p99_us=2911.4
 *
 * Every call's risks are compared with a reference scored before the run: a difference counts
 * as a failure. Build: see run.sh (cc -O2 daemons.c -Iinclude build/libreadmit.a -lzmq -pthread).
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "readmit.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *endpoints[16];
static int n_endpoints, threads = 4, split = 0;
static size_t rows = 100, nf;
static double seconds = 3.0, start_at;
static double *matrix, *reference;

typedef struct {
    long calls, failed;
    double *lat; /* seconds per call */
    long cap;
} worker;

static readmit_client *open_client(void) {
    readmit_options *o = NULL;
    readmit_client *c = NULL;
    readmit_options_new(&o);
    readmit_options_set_timeout_ms(o, 5000);
    readmit_options_set_split_rows(o, (size_t)split);
    for (int i = 0; i < n_endpoints; i++) readmit_options_add_endpoint(o, endpoints[i]);
    if (readmit_open_ex(NULL, o, &c) != READMIT_OK) {
        fprintf(stderr, "daemons: cannot open a client: %s\n", readmit_open_errmsg());
        exit(2);
    }
    readmit_options_free(o);
    return c;
}

static void *run(void *arg) {
    worker *w = arg;
    readmit_client *c = open_client();
    double *risk = malloc(rows * sizeof *risk);
    while (now_s() < start_at + seconds && w->calls < w->cap) {
        double t0 = now_s();
        int rc = readmit_score(c, matrix, rows, nf, risk);
        double dt = now_s() - t0;
        if (rc != READMIT_OK || memcmp(risk, reference, rows * sizeof *risk) != 0) {
            if (w->failed++ < 3) fprintf(stderr, "daemons: call failed: %s: %s\n", readmit_strerror(rc), readmit_errmsg(c));
        }
        w->lat[w->calls++] = dt;
    }
    free(risk);
    readmit_close(c);
    return NULL;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    long kill_pid = 0, kill_after_ms = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) { fprintf(stderr, "daemons: %s needs a value\n", a); return 2; }
        if (!strcmp(a, "--endpoint") && n_endpoints < 16) endpoints[n_endpoints++] = argv[++i];
        else if (!strcmp(a, "--threads")) threads = atoi(argv[++i]);
        else if (!strcmp(a, "--rows")) rows = (size_t)atol(argv[++i]);
        else if (!strcmp(a, "--seconds")) seconds = atof(argv[++i]);
        else if (!strcmp(a, "--split")) split = atoi(argv[++i]);
        else if (!strcmp(a, "--kill")) kill_pid = atol(argv[++i]);
        else if (!strcmp(a, "--kill-after-ms")) kill_after_ms = atol(argv[++i]);
        else { fprintf(stderr, "daemons: unknown argument %s\n", a); return 2; }
    }
    if (n_endpoints == 0 || threads < 1 || threads > 64 || rows < 1) {
        fprintf(stderr, "usage: daemons --endpoint E [--endpoint E ...] [--threads 4] [--rows 100] [--seconds 3] "
                        "[--split N] [--kill PID --kill-after-ms MS]\n");
        return 2;
    }
    readmit_client *c = open_client();
    if (readmit_n_features(c, &nf) != READMIT_OK) {
        fprintf(stderr, "daemons: INFO failed: %s\n", readmit_errmsg(c));
        return 1;
    }
    /* A deterministic valid matrix: numeric features small integers, categoricals a level. */
    matrix = malloc(rows * nf * sizeof *matrix);
    reference = malloc(rows * sizeof *reference);
    unsigned s = 12345;
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < nf; j++) {
            int kind = 0;
            size_t levels = 0;
            readmit_feature_kind(c, j, &kind);
            readmit_feature_n_levels(c, j, &levels);
            s = s * 1103515245u + 12345u;
            unsigned v = (s >> 8) & 0xffff;
            matrix[r * nf + j] = v % 13 == 0 ? NAN : kind == READMIT_FEATURE_CATEGORICAL ? (double)(levels ? v % levels : 0)
                                                                                          : (double)(v % 10);
        }
    if (readmit_score(c, matrix, rows, nf, reference) != READMIT_OK) {
        fprintf(stderr, "daemons: reference score failed: %s\n", readmit_errmsg(c));
        return 1;
    }
    readmit_close(c);

    worker *w = calloc((size_t)threads, sizeof *w);
    pthread_t *t = calloc((size_t)threads, sizeof *t);
    start_at = now_s();
    for (int i = 0; i < threads; i++) {
        w[i].cap = 2000000;
        w[i].lat = malloc((size_t)w[i].cap * sizeof *w[i].lat);
        pthread_create(&t[i], NULL, run, &w[i]);
    }
    int killed = 0;
    if (kill_pid > 0) {
        struct timespec pause = {kill_after_ms / 1000, (kill_after_ms % 1000) * 1000000L};
        nanosleep(&pause, NULL);
        killed = kill((pid_t)kill_pid, SIGKILL) == 0;
    }
    long calls = 0, failed = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        calls += w[i].calls;
        failed += w[i].failed;
    }
    double elapsed = now_s() - start_at;
    double *all = malloc((size_t)(calls ? calls : 1) * sizeof *all);
    long k = 0;
    for (int i = 0; i < threads; i++) {
        memcpy(all + k, w[i].lat, (size_t)w[i].calls * sizeof *all);
        k += w[i].calls;
        free(w[i].lat);
    }
    qsort(all, (size_t)calls, sizeof *all, by_value);
    double p50 = calls ? all[(long)(0.50 * (calls - 1))] : NAN, p99 = calls ? all[(long)(0.99 * (calls - 1))] : NAN;
    printf("daemons=%d threads=%d rows=%zu split=%d killed=%d calls=%ld failed=%ld req_s=%.1f rows_s=%.0f "
           "p50_us=%.1f p99_us=%.1f\n",
           n_endpoints, threads, rows, split, killed, calls, failed, calls / elapsed, calls * (double)rows / elapsed,
           p50 * 1e6, p99 * 1e6);
    free(all);
    free(w);
    free(t);
    free(matrix);
    free(reference);
    return failed ? 1 : 0;
}
