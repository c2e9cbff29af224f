// Vectorised walks of readmit's compiled trees (CompiledBooster, CompiledForest).
//
// The Swift walks in Sources/ReadmitModels/Compiled*.swift are the reference and the fallback;
// these functions give bit-identical results (same comparisons, leaves summed per row in tree
// order) and are called only where rtw_cpu_supports_avx2() (rtw_cpu_supports_avx512()) says the
// CPU can run them. The rest of the build needs no -mavx2: the kernels carry
// __attribute__((target("avx2"))) or __attribute__((target("avx512f"))).
#ifndef READMIT_CTREEWALK_H
#define READMIT_CTREEWALK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when each of the `rows` rows of `m` doubles at `x` is valid, else 0: value j of a row is
/// valid when NaN, or when finite, low[j] <= v < high[j] and, where integral[j] is not 0, v is
/// an integer (-0 included; the caller keeps such a feature's low at 0 or above, and high at
/// most 2^52). Portable C (the compiler vectorises it), for readmit's input check.
int rtw_rows_valid(const double *x, size_t rows, size_t m, const double *low, const double *high, const double *integral);

/// rtw_rows_valid compiled for AVX2 (four values a step; the same answers). Call it only where
/// rtw_cpu_supports_avx2() is 1 (off x86-64 it is the portable loop).
int rtw_rows_valid_avx2(const double *x, size_t rows, size_t m, const double *low, const double *high, const double *integral);

/// The isolation forest's imputation of `rows` rows of `m` doubles: out = median[j] where
/// x is NaN and median[j] is not, else x (out may be x). Portable C, branch-free so that the
/// compiler vectorises it: a one-row request's 60 values took about 600 instructions in Swift.
void rtw_impute_rows(const double *x, size_t rows, size_t m, const double *median, double *out);

/// The `m` doubles at `x` as floats in `out`; 1 when each is exact as a float (NaN included:
/// the float walks compare NaN as the double walks do), else 0. Portable C, vectorised.
int rtw_row_floats(const double *x, size_t m, float *out);

/// rtw_impute_rows and rtw_row_floats in one pass, for the vector float walks: the imputed
/// values of `rows` rows as floats in `out`; 1 when each is exact as a float (NaN included),
/// else 0 (the caller then walks the doubles). Compiled for AVX2: call it only where
/// rtw_cpu_supports_avx2() is 1 (off x86-64 it is the portable loop).
int rtw_impute_floats_avx2(const double *x, size_t rows, size_t m, const double *median, float *out);

/// The booster's columns of `rows` valid schema rows of `m` values (ModelInputLayout's
/// boosterRow): value j as it is, or, where start[j] >= 0 and the value is not NaN, its level's
/// rank ranks[start[j] + v]; row r's columns at out + r * stride. `ranks` holds at least one
/// value. The _avx2 form is the same loop compiled for AVX2 (call it only where
/// rtw_cpu_supports_avx2() is 1). Portable C: in Swift the loop took 18 instructions a value.
void rtw_booster_columns(const double *x, size_t rows, size_t m, const int64_t *start, const double *ranks,
                         double *out, size_t stride);
void rtw_booster_columns_avx2(const double *x, size_t rows, size_t m, const int64_t *start, const double *ranks,
                              double *out, size_t stride);

/// readmit's histogram detector (HistogramDetector) laid out for scoring without branches. Per
/// feature j: the position x = (v - offset[j]) / scale[j] (numeric: the lower edge and bin
/// width; categorical: 0 and 1; one bin: the value and 1) is inside the bins when
/// low[j] <= x <= high[j], its bin then min((int64)x, bins[j] - 1); table[start[j] + i] holds
/// bin i's cost for i < bins[j], then the cost outside the bins, then the cost of a missing value.
typedef struct {
    const double *offset;
    const double *scale;
    const double *low;
    const double *high;
    const int64_t *start;
    const int64_t *bins;
    const double *table;
} rtw_detector;

/// The detector score of each of `rows` rows of `m` values at `x` (each row's terms added in
/// feature order) into out[r * outStride]. Portable C.
void rtw_detector_scores(const rtw_detector *d, const double *x, size_t rows, size_t m, double *out, size_t outStride);

/// rtw_detector_scores with four rows in the lanes of an AVX2 vector (the same bits: each row's
/// terms in feature order). Call it only where rtw_cpu_supports_avx2() is 1 (off x86-64 it is
/// rtw_detector_scores).
void rtw_detector_scores_avx2(const rtw_detector *d, const double *x, size_t rows, size_t m, double *out, size_t outStride);

/// 1 when this CPU (and this build's compiler) can run the AVX2 kernels, else 0.
int rtw_cpu_supports_avx2(void);

/// 1 when this CPU (and its operating system) can run the AVX-512 (AVX512F) kernels, else 0.
int rtw_cpu_supports_avx512(void);

/// 1 when this CPU is Intel's (its AVX-512 gathers run at full width), else 0 (also off x86-64).
int rtw_cpu_is_intel(void);

/// The booster's complete trees, as CompiledBooster lays them out for this walk: per tree
/// `2^depth - 1` internal nodes and `2^depth` leaves. Each node holds the key column it reads
/// and its split's key minus one (rtw_booster_keys); a row goes right when its key is greater.
typedef struct {
    const int32_t *node;
    const int32_t *threshold;
    const float *leaf;
    int32_t trees;
    int32_t depth;
} rtw_booster;

/// The node fields of `nodes` internal nodes given as XGBoost splits: `feature` the feature
/// index, bit 30 set when a missing value goes right; `split` the split value (right when
/// `x >= split`, x compared as a float, as XGBoost does).
///
/// A float's key is its bits as a signed integer with the magnitude bits flipped when negative,
/// taken after -0 became +0: floats compare as their keys do. A row's value gives two keys, at
/// 2 * feature (NaN: INT32_MAX, above every threshold) and 2 * feature + 1 (NaN: INT32_MIN);
/// `node` picks the one of the node's default direction, and `x >= split` becomes
/// key(x) > key(split) - 1 (a NaN split: INT32_MAX - 1, which only a missing value going right
/// exceeds, as `x >= NaN` is false).
void rtw_booster_keys(const int32_t *feature, const float *split, size_t nodes, int32_t *node, int32_t *threshold);

/// Adds every tree's leaf, in tree order, onto `acc[r]` (float) for the first
/// `count - count % 8` rows of `x` (row-major, `columns` doubles per row; each value is
/// compared as a float, as XGBoost does, by its keys). `scratch` holds at least
/// `2 * min(chunk, 256) * columns` keys and `chunk` is a positive multiple of 8: rows are keyed
/// and walked at most `chunk` (and 256) at a time, so the input stays in cache whatever `count`
/// is. Returns the number of rows done.
size_t rtw_booster_add_avx2(const rtw_booster *b, const double *x, size_t count, size_t columns, float *acc,
                            int32_t *scratch, size_t chunk);

/// Adds every tree's leaf, in tree order, onto `acc[r]` for all `count` rows of `x` (row-major,
/// `columns` doubles per row), one row at a time on the same integer keys as
/// rtw_booster_add_avx2 (so the same bits), eight trees walking together: for the rows the
/// vector walk leaves, and above all the one-row request. `keys` holds `2 * columns` int32.
/// Returns `count`, or 0 (nothing done) for a depth outside 0-24. Portable C.
size_t rtw_booster_add_rows(const rtw_booster *b, const double *x, size_t count, size_t columns, float *acc, int32_t *keys);

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

/// Adds every tree's path length, in tree order, onto `sum[r]` for all `count` rows of `x`
/// (row-major, `columns` imputed doubles), one row at a time, eight trees walking together: for
/// the rows the vector walks leave, above all the one-row request. The same comparisons as the
/// Swift walk (CompiledForest.goesRight), so the same bits. Returns `count`, or 0 (nothing
/// done) for a depth outside 0-24. Portable C.
size_t rtw_forest_add_rows(const rtw_forest *f, const double *x, size_t count, size_t columns, double *sum);

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

/// The AVX-512 walks: as the AVX2 ones of the same name (the same bits), sixteen rows per vector
/// for the booster and the float forest, so they do the first `count - count % 16` rows (the
/// caller gives the AVX2 walk the rest); eight for the double forest (`count - count % 8`).
/// Each returns the number of rows done, 0 where rtw_cpu_supports_avx512() is 0.
size_t rtw_booster_add_avx512(const rtw_booster *b, const double *x, size_t count, size_t columns, float *acc,
                              int32_t *scratch, size_t chunk);
size_t rtw_forest_add_avx512(const rtw_forest *f, const double *x, size_t count, size_t columns,
                             double *sum, size_t chunk);
size_t rtw_forest_add_float_avx512(const rtw_forest_float *f, const float *x, size_t count, size_t columns, double *sum);

/// As rtw_forest_add_avx2 (eight rows per vector), for `count` rows of `columns` floats that
/// the caller checked are its rows' exact values. Returns the number of rows done (a multiple
/// of 8).
size_t rtw_forest_add_float_avx2(const rtw_forest_float *f, const float *x, size_t count, size_t columns, double *sum);

/// The one-row walk's own copy of a float forest's nodes, laid out so that a row's path
/// through a tree reads few cache lines (a lone request finds the trees out of cache): each
/// tree's levels in tiers of three, a tier's subtrees of seven nodes each in a 64-byte line
/// (8-byte slots: a node's code, then its float value), and each subtree of the last tier
/// followed by its leaves (doubles). A path through a tree of depth 8 reads 3 lines instead
/// of about 11 in the arrays of rtw_forest_float. `slots` holds
/// rtw_forest_tiers_slots(depth, trees) slots filled by rtw_forest_tiers_fill, and is best
/// aligned to 64 bytes.
typedef struct {
    const uint64_t *slots;
    int32_t trees;
    int32_t depth;
} rtw_forest_tiers;

/// The largest tiered copy made, in slots (64 MiB): beyond it a row walks the other arrays.
#define RTW_FOREST_TIERS_MAX_SLOTS ((size_t)1 << 23)

/// The slots a tiered copy of `trees` trees of `depth` takes, or 0 where none is made: a
/// depth outside 1-24, no trees, or more than RTW_FOREST_TIERS_MAX_SLOTS slots.
size_t rtw_forest_tiers_slots(int32_t depth, int32_t trees);

/// Fills `count` slots (rtw_forest_tiers_slots(f->depth, f->trees)) with `f`'s tiered copy.
/// Returns 1, or 0 (nothing written) where `count` is not that number or that number is 0.
/// Portable C.
int rtw_forest_tiers_fill(const rtw_forest_float *f, uint64_t *slots, size_t count);

/// Adds every tree's path length, in tree order, onto `*sum` for one row of `columns` floats
/// (its exact imputed values; see rtw_forest_float), the trees walking eight to a vector's
/// lanes, 32 at a time, on the tiered copy: for the rows the vector walks leave, above all the
/// one-row request. Returns 1, or 0 (nothing done) where rtw_cpu_supports_avx2() is 0 or the
/// copy's depth and trees have no tiered plan.
size_t rtw_forest_tiers_row_avx2(const rtw_forest_tiers *t, const float *row, size_t columns, double *sum);

#ifdef __cplusplus
}
#endif

#endif
