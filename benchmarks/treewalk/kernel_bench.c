// Microbenchmark of the CTreeWalk kernels on random complete trees (issue 15): a plain C
// reference walk (one row at a time, the Swift walk's comparisons) against the AVX2 walks,
// bit-checked, median of repeats. Not the served model: `readmit benchmark-scoring` measures
// that. Used to choose the kernel's knobs (NO_PERMUTE, KEY_GROUPS, KEY_ROWS, FOREST_GROUPS):
//   benchmarks/treewalk/run.sh [ROWS] [CHUNK] [REPEATS] [extra cc flags, e.g. -DNO_PERMUTE=1]
#include "CTreeWalk.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static uint64_t st = 42;
static double rnd(void) { st ^= st << 13; st ^= st >> 7; st ^= st << 17; return (st >> 11) * 0x1.0p-53; }
static double now(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static void ref_booster(const rtw_booster *b, const int32_t *feature, const float *split, const double *x, size_t count, size_t cols, float *acc) {
  int ni = (1 << b->depth) - 1, nl = 1 << b->depth;
  for (size_t r = 0; r < count; r++) for (int t = 0; t < b->trees; t++) {
    int i = 0;
    for (int k = 0; k < b->depth; k++) {
      int32_t code = feature[t * ni + i]; float v = (float)x[r * cols + (code & ~(1 << 30))];
      int right = (v >= split[t * ni + i]) | ((code >> 30) & (v != v));
      i = 2 * i + 1 + right;
    }
    acc[r] += b->leaf[t * nl + i - ni];
  }
}
static void ref_forest(const rtw_forest *f, const double *x, size_t count, size_t cols, double *sum) {
  int ni = (1 << f->depth) - 1, nl = 1 << f->depth;
  for (size_t r = 0; r < count; r++) for (int t = 0; t < f->trees; t++) {
    int i = 0;
    for (int k = 0; k < f->depth; k++) {
      int32_t code = f->feature[t * ni + i]; double v = x[r * cols + (code & ~(1 << 30))], val = f->value[t * ni + i];
      int right = (code & (1 << 30)) ? (v == val) : !(v <= val);
      i = 2 * i + 1 + right;
    }
    sum[r] += f->leaf[t * nl + i - ni];
  }
}
int cmp(const void *a, const void *b) { double d = *(double*)a - *(double*)b; return d < 0 ? -1 : d > 0; }
int main(int argc, char **argv) {
  size_t rows = argc > 1 ? atol(argv[1]) : 100000, chunk = argc > 2 ? atol(argv[2]) : 512;
  int reps = argc > 3 ? atoi(argv[3]) : 5;
  int T = 295, D = 6, C = 65; int ni = (1 << D) - 1, nl = 1 << D;
  int32_t *bf = malloc(4 * T * ni); float *bs = malloc(4 * T * ni), *bl = malloc(4 * T * nl);
  double *x = malloc(8 * rows * C);
  for (size_t i = 0; i < rows * C; i++) { double u = rnd(); x[i] = u < 0.2 ? NAN : (u < 0.25 ? floor(rnd() * 4) : rnd() * 10 - 5); }
  for (int i = 0; i < T * ni; i++) { bf[i] = (int)(rnd() * C) | (rnd() < 0.5 ? 1 << 30 : 0); bs[i] = rnd() < 0.1 ? INFINITY : (rnd() < 0.2 ? floorf(rnd()*4) : (float)(rnd() * 10 - 5)); if (bs[i]==INFINITY) bf[i] = 0; }
  for (int i = 0; i < T * nl; i++) bl[i] = (float)(rnd() * 0.02 - 0.01);
  int32_t *bn = malloc(4 * T * ni), *bt = malloc(4 * T * ni);
  rtw_booster_keys(bf, bs, (size_t)T * ni, bn, bt);
  rtw_booster b = {bn, bt, bl, T, D};
  int FT = 100, FD = 8, FC = 63; int fni = (1 << FD) - 1, fnl = 1 << FD;
  int32_t *ff = malloc(4 * FT * fni); double *fv = malloc(8 * FT * fni), *fl = malloc(8 * FT * fnl);
  for (int i = 0; i < FT * fni; i++) { int ind = rnd() < 0.4; ff[i] = (int)(rnd() * FC) | (ind ? 1 << 30 : 0); fv[i] = ind ? floor(rnd() * 4) : rnd() * 10 - 5; if (rnd() < 0.1) { ff[i] = 1 << 30; fv[i] = NAN; } }
  for (int i = 0; i < FT * fnl; i++) fl[i] = 5 + rnd() * 4;
  double *fx = malloc(8 * rows * FC);
  for (size_t i = 0; i < rows * FC; i++) { double u = rnd(); fx[i] = u < 0.3 ? floor(rnd() * 4) : (u < 0.32 ? NAN : rnd() * 10 - 5); }
  rtw_forest fo = {ff, fv, fl, FT, FD};
  float *a1 = calloc(rows, 4), *a2 = calloc(rows, 4); int32_t *scratch = malloc(8 * chunk * C);
  double *s1 = calloc(rows, 8), *s2 = calloc(rows, 8);
  double tb[2][20], tf[2][20];
  for (int rep = 0; rep < reps; rep++) {
    for (size_t r = 0; r < rows; r++) { a1[r] = a2[r] = 0.25f; s1[r] = s2[r] = 0; }
    double t0 = now(); ref_booster(&b, bf, bs, x, rows, C, a1); double t1 = now();
    size_t done = rtw_booster_add_avx2(&b, x, rows, C, a2, scratch, chunk); double t2 = now();
    ref_forest(&fo, fx, rows, FC, s1); double t3 = now();
    rtw_forest_add_avx2(&fo, fx, rows, FC, s2, chunk); double t4 = now();
    tb[0][rep] = t1 - t0; tb[1][rep] = t2 - t1; tf[0][rep] = t3 - t2; tf[1][rep] = t4 - t3;
    if (done != rows - rows % 8 || memcmp(a1, a2, 4 * done) || memcmp(s1, s2, 8 * done)) { printf("MISMATCH\n"); return 1; }
  }
  for (int i = 0; i < 2; i++) { qsort(tb[i], reps, 8, cmp); qsort(tf[i], reps, 8, cmp); }
  printf("chunk %zu booster: ref %.0f rows/s avx2 %.0f rows/s (%.2fx) | forest: ref %.0f avx2 %.0f (%.2fx)\n", chunk,
    rows / tb[0][reps/2], rows / tb[1][reps/2], tb[0][reps/2]/tb[1][reps/2], rows / tf[0][reps/2], rows / tf[1][reps/2], tf[0][reps/2]/tf[1][reps/2]);
  return 0;
}
