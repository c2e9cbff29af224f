// Vectorised walks of readmit's compiled trees (CompiledBooster, CompiledForest).
//
// The Swift walks in Sources/ReadmitModels/Compiled*.swift are the reference and the fallback;
// these functions give bit-identical results (same comparisons, leaves summed per row in tree
// order) and are called only where rtw_cpu_supports_avx2() says the CPU can run them. The
// rest of the build needs no -mavx2: the kernels carry __attribute__((target("avx2"))).
#ifndef READMIT_CTREEWALK_H
#define READMIT_CTREEWALK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when this CPU (and this build's compiler) can run the AVX2 kernels, else 0.
int rtw_cpu_supports_avx2(void);

/// The booster's complete trees, as CompiledBooster lays them out: per tree `2^depth - 1`
/// internal nodes (feature index, bit 30 set when a missing value goes right; split value,
/// right when `x >= split`) and `2^depth` leaves.
typedef struct {
    const int32_t *feature;
    const float *split;
    const float *leaf;
    int32_t trees;
    int32_t depth;
} rtw_booster;

/// Adds every tree's leaf, in tree order, onto `acc[r]` (float) for the first
/// `count - count % 8` rows of `x` (row-major, `columns` doubles per row; each value is
/// compared as a float, as XGBoost does). `scratch` holds at least `chunk * columns` floats
/// and `chunk` is a positive multiple of 8: rows are walked `chunk` at a time, so the input
/// stays in cache whatever `count` is. Returns the number of rows done.
size_t rtw_booster_add_avx2(const rtw_booster *b, const double *x, size_t count, size_t columns,
                            float *acc, float *scratch, size_t chunk);

/// The isolation forest's complete trees, as CompiledForest lays them out: per internal node
/// a schema feature (bit 30 set for an indicator test, right when `x == value`; otherwise
/// right when `!(x <= value)`) and a value; per leaf a path length.
typedef struct {
    const int32_t *feature;
    const double *value;
    const double *leaf;
    int32_t trees;
    int32_t depth;
} rtw_forest;

/// Adds every tree's path length, in tree order, onto `sum[r]` (double) for the first
/// `count - count % 8` rows of `x` (row-major, `columns` imputed doubles per row), walking
/// `chunk` rows at a time (a positive multiple of 8). Returns the number of rows done.
size_t rtw_forest_add_avx2(const rtw_forest *f, const double *x, size_t count, size_t columns,
                           double *sum, size_t chunk);

/// The forest with each node's value as a float (`valueFloat`: an indicator's level as is,
/// a numeric threshold rounded down to the largest float not above it). For rows whose every
/// value is a float (`(double)(float)x == x`, or NaN), `!(x <= t)` in doubles equals
/// `!(xf <= tf)` in floats (tf the largest float <= t), and `x == level` equals `xf == level`.
typedef struct {
    const int32_t *feature;
    const float *valueFloat;
    const double *leaf;
    int32_t trees;
    int32_t depth;
} rtw_forest_float;

/// As rtw_forest_add_avx2 (eight rows per vector), for `count` rows of `columns` floats that
/// the caller checked are its rows' exact values. Returns the number of rows done (a multiple
/// of 8).
size_t rtw_forest_add_float_avx2(const rtw_forest_float *f, const float *x, size_t count, size_t columns, double *sum);

#ifdef __cplusplus
}
#endif

#endif
