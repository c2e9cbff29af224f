/* The C reference for benchmarks/bindings/r_vs_c.sh: scores the same feature matrix through
 * libreadmit directly, so the R binding's overhead can be measured side by side.
 *
 *   r_vs_c_shim ENDPOINT MATRIX.bin N_ROWS N_COLS REPEATS RISK_OUT.bin
 *
 * MATRIX.bin holds N_ROWS * N_COLS float64, row-major (as the wire protocol wants). After one
 * untimed warm-up call of each kind, runs REPEATS rounds of readmit_score and readmit_score_full
 * and prints one line per timed call: "score <ms>" or "score_full <ms>". Writes the last risks
 * to RISK_OUT.bin (float64) so the caller can check that both clients got the same scores. */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "readmit.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s ENDPOINT MATRIX.bin N_ROWS N_COLS REPEATS RISK_OUT.bin\n", argv[0]);
        return 2;
    }
    size_t n = strtoul(argv[3], NULL, 10), m = strtoul(argv[4], NULL, 10);
    int repeats = atoi(argv[5]);
    if (n == 0 || m == 0 || repeats < 1) { fprintf(stderr, "bad sizes\n"); return 2; }
    double *x = malloc(n * m * sizeof *x);
    double *risk = malloc(n * sizeof *risk), *atyp = malloc(n * sizeof *atyp);
    uint8_t *tier = malloc(n);
    if (!x || !risk || !atyp || !tier) { fprintf(stderr, "out of memory\n"); return 1; }
    FILE *f = fopen(argv[2], "rb");
    if (!f || fread(x, sizeof *x, n * m, f) != n * m) { fprintf(stderr, "cannot read %s\n", argv[2]); return 1; }
    fclose(f);

    readmit_options *opt;
    readmit_client *c;
    if (readmit_options_new(&opt) != READMIT_OK) return 1;
    readmit_options_set_timeout_ms(opt, 60000);
    int rc = readmit_open_ex(argv[1], opt, &c);
    readmit_options_free(opt);
    if (rc != READMIT_OK) { fprintf(stderr, "open: %s\n", readmit_strerror(rc)); return 1; }

    rc = readmit_score(c, x, n, m, risk);
    if (rc == READMIT_OK) rc = readmit_score_full(c, x, n, m, risk, atyp, tier);
    for (int r = 0; r < repeats && rc == READMIT_OK; r++) {
        double t0 = now_ms();
        rc = readmit_score(c, x, n, m, risk);
        double t1 = now_ms();
        if (rc != READMIT_OK) break;
        rc = readmit_score_full(c, x, n, m, risk, atyp, tier);
        double t2 = now_ms();
        printf("score %.3f\nscore_full %.3f\n", t1 - t0, t2 - t1);
    }
    if (rc != READMIT_OK) {
        fprintf(stderr, "score: %s: %s\n", readmit_strerror(rc), readmit_errmsg(c));
        readmit_close(c);
        return 1;
    }
    FILE *out = fopen(argv[6], "wb");
    if (!out || fwrite(risk, sizeof *risk, n, out) != n || fclose(out) != 0) {
        fprintf(stderr, "cannot write %s\n", argv[6]);
        return 1;
    }
    readmit_close(c);
    free(x); free(risk); free(atyp); free(tier);
    return 0;
}
