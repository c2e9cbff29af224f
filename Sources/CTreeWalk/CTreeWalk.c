// Vectorised walks of readmit's compiled trees: see include/CTreeWalk.h.
//
// Each walk mirrors the Swift reference step for step. A level of a complete tree moves a
// node index i to 2i + 1 + right, where right is the node's comparison on the row's value;
// eight rows (one AVX2 vector: the booster on integer keys of its floats, and the forest on
// rows of floats) or four (the forest on rows of doubles) move together, sixteen or eight with
// AVX-512,
// and the leaf each row reaches is added onto that row's running sum, tree after tree, in
// tree order: the same additions in the same order as the Swift walk, so the same bits.
// No -ffast-math and no FMA: only compares, integer arithmetic, and one add per tree.
#include "CTreeWalk.h"

#include <string.h>

// ---------------------------------------------------------------------------------------------
// The one-row forest walk's tiered copy of the nodes (rtw_forest_tiers in the header): a tree's
// levels in tiers of three (the last tier holds the one to three levels left), a tier made of
// blocks, each block one subtree: seven nodes and a spare slot (64 bytes) in a tier above the
// last; in the last tier, its L levels' 2^L - 1 nodes followed by the 2^L leaves under them,
// padded to 2^(L+1) slots. A slot is 8 bytes: a node's code then its float value, or a leaf's
// double. Block b of a tier has its children's blocks at 8b .. 8b + 7 of the next.

/// Where each tier of a tree starts and how far apart its blocks are, in slots.
typedef struct {
    int tiers;
    int levels[8];
    size_t start[8], stride[8];
    size_t treeSlots;
} tier_plan;

/// Plans `depth` (1-24) for `trees` trees; 0 where the depth is outside that range or the
/// copy would pass RTW_FOREST_TIERS_MAX_SLOTS slots (the walks' slot indexes are int32).
static int plan_tiers(int32_t depth, int32_t trees, tier_plan *pl) {
    if (depth < 1 || depth > 24 || trees < 0) return 0;
    pl->tiers = (depth + 2) / 3;
    size_t at = 0, blocks = 1;
    for (int k = 0; k < pl->tiers; k++) {
        const int last = k == pl->tiers - 1;
        const int levels = last ? depth - 3 * k : 3;
        pl->levels[k] = levels;
        pl->stride[k] = last ? (size_t)2 << levels : 8;
        pl->start[k] = at;
        at += blocks * pl->stride[k];  // at most 8^7 * 16 + ...: no overflow for depth <= 24
        blocks <<= levels;
    }
    pl->treeSlots = at;
    if (trees > 0 && at > RTW_FOREST_TIERS_MAX_SLOTS / (size_t)trees) return 0;
    return 1;
}

size_t rtw_forest_tiers_slots(int32_t depth, int32_t trees) {
    tier_plan pl;
    return plan_tiers(depth, trees, &pl) ? pl.treeSlots * (size_t)(trees > 0 ? trees : 0) : 0;
}

int rtw_forest_tiers_fill(const rtw_forest_float *f, uint64_t *slots, size_t count) {
    tier_plan pl;
    if (!plan_tiers(f->depth, f->trees, &pl) || count != pl.treeSlots * (size_t)f->trees) return 0;
    const int depth = f->depth;
    const size_t internal = ((size_t)1 << depth) - 1, leaves = (size_t)1 << depth;
    memset(slots, 0, count * sizeof(uint64_t));
    for (int32_t t = 0; t < f->trees; t++) {
        unsigned char *tree = (unsigned char *)(slots + (size_t)t * pl.treeSlots);
        size_t n = 0;  // the node's index in the complete tree's breadth-first order
        for (int level = 0; level < depth; level++) {
            const int k = level / 3, l = level - 3 * k;  // its tier, and its level in the tier
            for (size_t i = 0; i < ((size_t)1 << level); i++, n++) {
                // Nodes at level l of a block: 2^l of them, after the 2^l - 1 above.
                const size_t slot = pl.start[k] + (i >> l) * pl.stride[k] + ((size_t)1 << l) - 1 + (i & (((size_t)1 << l) - 1));
                memcpy(tree + 8 * slot, &f->feature[(size_t)t * internal + n], 4);
                memcpy(tree + 8 * slot + 4, &f->valueFloat[(size_t)t * internal + n], 4);
            }
        }
        const int k = pl.tiers - 1, levels = pl.levels[k];
        for (size_t q = 0; q < leaves; q++) {
            const size_t slot = pl.start[k] + (q >> levels) * pl.stride[k] + ((size_t)1 << levels) - 1 + (q & (((size_t)1 << levels) - 1));
            memcpy(tree + 8 * slot, &f->leaf[(size_t)t * leaves + q], 8);
        }
    }
    return 1;
}

/// One tree's path length for a float row, on its tiered slots: the scalar form of the vector
/// walk (the same comparisons as CompiledForest.goesRight in floats).
static inline double tiers_tree_path(const uint64_t *tree, const tier_plan *pl, const float *row) {
    const unsigned char *bytes = (const unsigned char *)tree;
    size_t block = 0, first = 0, p = 0;
    for (int k = 0; k < pl->tiers; k++) {
        if (k > 0) {
            block = 8 * block + (p - 7);
            first = pl->start[k] + block * pl->stride[k];
            p = 0;
        }
        for (int l = 0; l < pl->levels[k]; l++) {
            int32_t code;
            float value;
            memcpy(&code, bytes + 8 * (first + p), 4);
            memcpy(&value, bytes + 8 * (first + p) + 4, 4);
            const float x = row[code & ~(1 << 30)];
            p = 2 * p + 1 + ((code & (1 << 30)) ? (size_t)(x == value) : (size_t)!(x <= value));
        }
    }
    double leaf;
    memcpy(&leaf, bytes + 8 * (first + p), 8);
    return leaf;
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define RTW_X86 1
#include <immintrin.h>
#endif

void rtw_booster_keys(const int32_t *feature, const float *split, size_t nodes, int32_t *node, int32_t *threshold) {
    for (size_t i = 0; i < nodes; i++) {
        const int32_t code = feature[i];
        node[i] = 2 * (code & ~(1 << 30)) + ((code >> 30) & 1 ? 0 : 1);
        float s = split[i] + 0.0f;
        int32_t bits;
        memcpy(&bits, &s, 4);
        threshold[i] = s != s ? INT32_MAX - 1 : (bits ^ ((bits >> 31) & 0x7fffffff)) - 1;
    }
}

/// A float's key (rtw_booster_keys): portable, for the row walk below.
static inline int32_t rtw_float_key(float f) {
    f += 0.0f;
    int32_t bits;
    memcpy(&bits, &f, 4);
    return bits ^ ((bits >> 31) & 0x7fffffff);
}

size_t rtw_booster_add_rows(const rtw_booster *b, const double *x, size_t count, size_t columns, float *acc, int32_t *keys) {
    if (b->depth < 0 || b->depth > 24 || b->trees < 0) return 0;
    const size_t internal = ((size_t)1 << b->depth) - 1, leaves = (size_t)1 << b->depth;
    const int depth = b->depth;
    const int32_t trees = b->trees;
    for (size_t r = 0; r < count; r++) {
        const double *row = x + r * columns;
        for (size_t j = 0; j < columns; j++) {  // the row's keys once: two per value
            const float f = (float)row[j];
            const int32_t key = rtw_float_key(f);
            keys[2 * j] = f != f ? INT32_MAX : key;
            keys[2 * j + 1] = f != f ? INT32_MIN : key;
        }
        float sum = acc[r];
        int32_t t = 0;
        // Eight trees walk together (their loads are independent and overlap); each node is one
        // integer compare. The leaves are then added in tree order.
        for (; t + 8 <= trees; t += 8) {
            const int32_t *node = b->node + (size_t)t * internal, *threshold = b->threshold + (size_t)t * internal;
            size_t i[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            for (int k = 0; k < depth; k++)
                for (size_t q = 0; q < 8; q++) {
                    const size_t at = q * internal + i[q];
                    i[q] = 2 * i[q] + 1 + (size_t)(keys[node[at]] > threshold[at]);
                }
            const float *leaf = b->leaf + (size_t)t * leaves;
            for (size_t q = 0; q < 8; q++) sum += leaf[q * leaves + i[q] - internal];
        }
        for (; t < trees; t++) {
            const int32_t *node = b->node + (size_t)t * internal, *threshold = b->threshold + (size_t)t * internal;
            size_t i = 0;
            for (int k = 0; k < depth; k++) i = 2 * i + 1 + (size_t)(keys[node[i]] > threshold[i]);
            sum += b->leaf[(size_t)t * leaves + i - internal];
        }
        acc[r] = sum;
    }
    return count;
}

size_t rtw_forest_add_rows(const rtw_forest *f, const double *x, size_t count, size_t columns, double *sum) {
    if (f->depth < 0 || f->depth > 24 || f->trees < 0) return 0;
    const size_t internal = ((size_t)1 << f->depth) - 1, leaves = (size_t)1 << f->depth;
    const int depth = f->depth;
    const int32_t trees = f->trees, indicator = 1 << 30;
    for (size_t r = 0; r < count; r++) {
        const double *row = x + r * columns;
        double s = sum[r];
        int32_t t = 0;
        // As the booster's row walk: eight trees together, path lengths added in tree order.
        for (; t + 8 <= trees; t += 8) {
            const int32_t *feature = f->feature + (size_t)t * internal;
            const double *value = f->value + (size_t)t * internal;
            size_t i[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            for (int k = 0; k < depth; k++)
                for (size_t q = 0; q < 8; q++) {
                    const size_t at = q * internal + i[q];
                    const int32_t code = feature[at];
                    const double v = row[code & ~indicator], level = value[at];
                    const size_t right = (code & indicator) ? (size_t)(v == level) : (size_t)!(v <= level);
                    i[q] = 2 * i[q] + 1 + right;
                }
            const double *leaf = f->leaf + (size_t)t * leaves;
            for (size_t q = 0; q < 8; q++) s += leaf[q * leaves + i[q] - internal];
        }
        for (; t < trees; t++) {
            const int32_t *feature = f->feature + (size_t)t * internal;
            const double *value = f->value + (size_t)t * internal;
            size_t i = 0;
            for (int k = 0; k < depth; k++) {
                const int32_t code = feature[i];
                const double v = row[code & ~indicator], level = value[i];
                i = 2 * i + 1 + ((code & indicator) ? (size_t)(v == level) : (size_t)!(v <= level));
            }
            s += f->leaf[(size_t)t * leaves + i - internal];
        }
        sum[r] = s;
    }
    return count;
}

// The loops below are written once (inline bodies) and compiled twice: portable (SSE2 on x86-64,
// two doubles a step) and, in the x86-64 section, for AVX2 (four), chosen by the caller. They
// only compare, select and convert, so both give the same bits.
#define RTW_BODY static inline __attribute__((always_inline))

RTW_BODY int rows_valid(const double *x, size_t rows, size_t m, const double *low, const double *high, const double *integral) {
    // Branch-free so that the compiler vectorises the inner loop. v - v is 0 exactly when v is
    // finite; (v + 2^52) - 2^52 is v rounded to an integer for 0 <= v < 2^52 (no floor: a libm
    // call on baseline x86-64), equal to v exactly when v is an integer (-0 included).
    long bad = 0;
    for (size_t r = 0; r < rows; r++) {
        const double *row = x + r * m;
        for (size_t j = 0; j < m; j++) {
            const double v = row[j];
            const double rounded = (v + 0x1p52) - 0x1p52;
            const int ok = ((v - v == 0) & (v >= low[j]) & (v < high[j]) & ((rounded == v) | (integral[j] == 0))) | (v != v);
            bad |= !ok;
        }
    }
    return bad == 0;
}

int rtw_rows_valid(const double *x, size_t rows, size_t m, const double *low, const double *high, const double *integral) {
    return rows_valid(x, rows, m, low, high, integral);
}

/// Booster column value for v with rank start s (rtw_booster_columns).
RTW_BODY double booster_column(double v, int64_t s, const double *ranks) {
    // Every index is read, so each must be in bounds: a value without a rank reads ranks[0]
    // (the caller allocates at least one) and keeps v. A valid categorical value is an integer
    // in 0..<levels (below 2^31), so the int32 conversion is exact.
    const int ranked = (s >= 0) & (v == v);
    const double level = ranked ? v : 0.0;
    const double rank = ranks[(ranked ? s : 0) + (int32_t)level];
    return ranked ? rank : v;
}

RTW_BODY void booster_columns(const double *x, size_t rows, size_t m, const int64_t *start, const double *ranks,
                              double *out, size_t stride) {
    for (size_t r = 0; r < rows; r++) {
        const double *row = x + r * m;
        double *to = out + r * stride;
        for (size_t j = 0; j < m; j++) to[j] = booster_column(row[j], start[j], ranks);
    }
}

void rtw_booster_columns(const double *x, size_t rows, size_t m, const int64_t *start, const double *ranks,
                         double *out, size_t stride) {
    booster_columns(x, rows, m, start, ranks, out, stride);
}

// The forest's imputation, one value: a missing value (NaN) takes its feature's median, unless
// the median is NaN too (a feature never seen in training). Branch-free (a select).
RTW_BODY double imputed_value(double v, double median) { return ((v != v) & (median == median)) ? median : v; }

// 1 when v, not NaN, changes on its way to a float: the caller then walks the doubles (NaN
// counts as exact, the float walks comparing it as the double walks do).
RTW_BODY int float_inexact(double v, float f) { return ((double)f != v) & (v == v); }

RTW_BODY int impute_floats(const double *x, size_t rows, size_t m, const double *median, float *out) {
    int inexact = 0;
    for (size_t r = 0; r < rows; r++) {
        const double *row = x + r * m;
        float *to = out + r * m;
        for (size_t j = 0; j < m; j++) {
            const double imputed = imputed_value(row[j], median[j]);
            const float f = (float)imputed;
            to[j] = f;
            inexact |= float_inexact(imputed, f);
        }
    }
    return !inexact;
}

void rtw_impute_rows(const double *x, size_t rows, size_t m, const double *median, double *out) {
    for (size_t r = 0; r < rows; r++) {
        const double *row = x + r * m;
        double *to = out + r * m;
        for (size_t j = 0; j < m; j++) to[j] = imputed_value(row[j], median[j]);
    }
}

int rtw_row_floats(const double *x, size_t m, float *out) {
    int inexact = 0;
    for (size_t j = 0; j < m; j++) {
        const float f = (float)x[j];
        out[j] = f;
        inexact |= float_inexact(x[j], f);
    }
    return !inexact;
}

/// Feature j's detector term for value v: see rtw_detector in the header.
static inline double detector_term(const rtw_detector *d, size_t j, double v) {
    const double x = (v - d->offset[j]) / d->scale[j];
    const int inside = (x >= d->low[j]) & (x <= d->high[j]);
    const int64_t n = d->bins[j];
    int64_t bin = (int64_t)(inside ? x : 0);
    bin = bin > n - 1 ? n - 1 : bin;
    const int64_t index = v != v ? n + 1 : (inside ? bin : n);
    return d->table[d->start[j] + index];
}

void rtw_detector_scores(const rtw_detector *d, const double *x, size_t rows, size_t m, double *out, size_t outStride) {
    size_t r = 0;
    // Four rows side by side: each row's terms are added in feature order (one chain of
    // dependent additions per row), four chains overlapping.
    for (; r + 4 <= rows; r += 4) {
        const double *x0 = x + r * m, *x1 = x0 + m, *x2 = x1 + m, *x3 = x2 + m;
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (size_t j = 0; j < m; j++) {
            s0 += detector_term(d, j, x0[j]);
            s1 += detector_term(d, j, x1[j]);
            s2 += detector_term(d, j, x2[j]);
            s3 += detector_term(d, j, x3[j]);
        }
        out[r * outStride] = s0;
        out[(r + 1) * outStride] = s1;
        out[(r + 2) * outStride] = s2;
        out[(r + 3) * outStride] = s3;
    }
    for (; r < rows; r++) {
        const double *row = x + r * m;
        double s = 0;
        for (size_t j = 0; j < m; j++) s += detector_term(d, j, row[j]);
        out[r * outStride] = s;
    }
}

#ifdef RTW_X86

int rtw_cpu_supports_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? 1 : 0;
}

__attribute__((target("avx2"))) int rtw_rows_valid_avx2(const double *x, size_t rows, size_t m, const double *low,
                                                          const double *high, const double *integral) {
    return rows_valid(x, rows, m, low, high, integral);
}

__attribute__((target("avx2"))) void rtw_booster_columns_avx2(const double *x, size_t rows, size_t m, const int64_t *start, const double *ranks,
                                   double *out, size_t stride) {
    // Four values a step: a masked gather reads the ranks of the lanes that have one (the
    // compiler did not vectorise the portable loop); the other lanes keep their value.
    const __m256i none = _mm256_set1_epi64x(-1);
    for (size_t r = 0; r < rows; r++) {
        const double *row = x + r * m;
        double *to = out + r * stride;
        size_t j = 0;
        for (; j + 4 <= m; j += 4) {
            const __m256d v = _mm256_loadu_pd(row + j);
            const __m256i s = _mm256_loadu_si256((const __m256i *)(start + j));
            const __m256d ranked = _mm256_and_pd(_mm256_cmp_pd(v, v, _CMP_ORD_Q), _mm256_castsi256_pd(_mm256_cmpgt_epi64(s, none)));
            const __m256i index = _mm256_add_epi64(s, _mm256_cvtepi32_epi64(_mm256_cvttpd_epi32(v)));
            _mm256_storeu_pd(to + j, _mm256_mask_i64gather_pd(v, ranks, index, ranked, 8));
        }
        for (; j < m; j++) to[j] = booster_column(row[j], start[j], ranks);
    }
}

/// The low 32 bits of each 64-bit lane of a compare's mask (all ones or zero), as four lanes.
__attribute__((target("avx2"))) static inline __m128i lanes32(__m256d mask) {
    return _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(_mm256_castpd_si256(mask), _mm256_setr_epi32(0, 2, 4, 6, 0, 0, 0, 0)));
}

__attribute__((target("avx2"))) void rtw_detector_scores_avx2(const rtw_detector *d, const double *x, size_t rows, size_t m,
                                                               double *out, size_t outStride) {
    // Four rows in the lanes of a vector: each lane adds its row's terms in feature order, as
    // detector_term does one at a time (the same subtraction, division, compares and table
    // entry per term, so the same bits); the scalar form's four chains took 20 instructions
    // a value. A valid row's level counts and bins fit in 32 bits.
    size_t r = 0;
    const __m256i rowOffset = _mm256_setr_epi64x(0, (long long)m, 2 * (long long)m, 3 * (long long)m);
    for (; r + 4 <= rows; r += 4) {
        const double *x0 = x + r * m;
        __m256d sum = _mm256_setzero_pd();
        for (size_t j = 0; j < m; j++) {
            const __m256d v = _mm256_i64gather_pd(x0 + j, rowOffset, 8);
            const __m256d pos = _mm256_div_pd(_mm256_sub_pd(v, _mm256_set1_pd(d->offset[j])), _mm256_set1_pd(d->scale[j]));
            const __m256d inside = _mm256_and_pd(_mm256_cmp_pd(pos, _mm256_set1_pd(d->low[j]), _CMP_GE_OQ),
                                                 _mm256_cmp_pd(pos, _mm256_set1_pd(d->high[j]), _CMP_LE_OQ));
            const int n = (int)d->bins[j];
            // (int)(inside ? pos : 0), at most n - 1, where inside; else n (outside), or n + 1
            // where the value is missing.
            const __m128i bin = _mm_min_epi32(_mm256_cvttpd_epi32(_mm256_and_pd(inside, pos)), _mm_set1_epi32(n - 1));
            const __m128i outside = _mm_blendv_epi8(_mm_set1_epi32(n), bin, lanes32(inside));
            const __m128i index = _mm_blendv_epi8(outside, _mm_set1_epi32(n + 1), lanes32(_mm256_cmp_pd(v, v, _CMP_UNORD_Q)));
            sum = _mm256_add_pd(sum, _mm256_i32gather_pd(d->table + d->start[j], index, 8));
        }
        double lanes[4];
        _mm256_storeu_pd(lanes, sum);
        for (int q = 0; q < 4; q++) out[(r + q) * outStride] = lanes[q];
    }
    if (r < rows) rtw_detector_scores(d, x + r * m, rows - r, m, out + r * outStride, outStride);
}

__attribute__((target("avx2"))) int rtw_impute_floats_avx2(const double *x, size_t rows, size_t m, const double *median, float *out) {
    return impute_floats(x, rows, m, median, out);
}

#define AVX2 __attribute__((target("avx2")))
// Measurement knobs (benchmarks/train/README.md): -DNO_PERMUTE=1 gathers every level's node
// fields; KEY_GROUPS, BOOSTER_GROUPS (the forest's float walk) and FOREST_GROUPS set how many
// row groups walk a tree together; KEY_ROWS how many rows the booster keys at a time.
#ifndef NO_PERMUTE
#define NO_PERMUTE 0
#endif

// ---------------------------------------------------------------------------------------------
// Node reads shared by the booster's walk and the forest's float walk, 8 rows per vector.

/// Row groups (of 8 rows) walked together by the forest's float walk: independent gathers overlap.
#ifndef BOOSTER_GROUPS
#define BOOSTER_GROUPS 4
#endif

/// Within a tree the walk tracks m = i + 1 for node index i: a level is then m -> 2m + right,
/// and on level k (nodes 2^k - 1 to 2^(k+1) - 2, m from 2^k to 2^(k+1) - 1) the node's offset
/// in its level is m's low k bits, which is what the permutes and blends below read.

/// Eight 32-bit values from `p`: lane j takes p[m_j mod 8].
AVX2 static inline __m256i pick8(const int32_t *p, __m256i m) {
    return _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)p), m);
}

/// Lanes j take p[m_j mod 2^k] for a level of `2^k` = 8 << `blockBits` nodes at `p` (k = 3, 4
/// or 5): a permute per block of eight, then blends on bit 3 (and bit 4) of m.
AVX2 static inline __m256 pickLevel(const int32_t *p, __m256i m, int blockBits) {
    __m256 v = _mm256_castsi256_ps(pick8(p, m));
    if (blockBits == 0) return v;
    const __m256 b3 = _mm256_castsi256_ps(_mm256_slli_epi32(m, 28));
    v = _mm256_blendv_ps(v, _mm256_castsi256_ps(pick8(p + 8, m)), b3);
    if (blockBits == 1) return v;
    const __m256 upper = _mm256_blendv_ps(_mm256_castsi256_ps(pick8(p + 16, m)), _mm256_castsi256_ps(pick8(p + 24, m)), b3);
    return _mm256_blendv_ps(v, upper, _mm256_castsi256_ps(_mm256_slli_epi32(m, 27)));
}

// ---------------------------------------------------------------------------------------------
// Booster on integer keys: each float maps to a 32-bit integer of the same order, so a node's
// test is one integer compare (see rtw_booster_keys in the header).

#ifndef KEY_GROUPS
#define KEY_GROUPS 4
#endif
#ifndef KEY_ROWS
#define KEY_ROWS 256
#endif

/// The node fields (two 32-bit fields: the booster's key column and threshold, or the forest's
/// code and float value) at level `k` for m (see above): levels 0-2 by a permute of the tree's
/// first eight nodes shifted by one (`top*`: lane j holds node j - 1), levels 3-5 by `pickLevel`
/// where `byPermute[k]` (the caller checked that the loads stay inside the tree), else by gather.
AVX2 static inline void key_node(const int32_t *nd, const int32_t *th, int k, int byPermute, __m256i topNode, __m256i topThr,
                                 __m256i m, __m256i *node, __m256i *thr) {
    if (!byPermute) {
        const __m256i i = _mm256_sub_epi32(m, _mm256_set1_epi32(1));
        *node = _mm256_i32gather_epi32(nd, i, 4);
        *thr = _mm256_i32gather_epi32(th, i, 4);
    } else if (k < 3) {
        *node = _mm256_permutevar8x32_epi32(topNode, m);
        *thr = _mm256_permutevar8x32_epi32(topThr, m);
    } else {
        const int first = (1 << k) - 1;
        *node = _mm256_castps_si256(pickLevel(nd + first, m, k - 3));
        *thr = _mm256_castps_si256(pickLevel(th + first, m, k - 3));
    }
}

/// `groups` groups of 8 rows of keys (2 * `columns` per row) through every tree.
AVX2 static inline void key_groups(const rtw_booster *b, const int32_t *rows, size_t columns, float *acc, int groups,
                                   const int *byPermute) {
    const int depth = b->depth;
    const size_t internal = ((size_t)1 << depth) - 1, leaves = (size_t)1 << depth;
    const __m256i laneOffset = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)(2 * columns)));
    const __m256i leafOffset = _mm256_set1_epi32((int)leaves);
    const __m256i shiftUp = _mm256_setr_epi32(7, 0, 1, 2, 3, 4, 5, 6);
    __m256 sum[KEY_GROUPS];
    for (int g = 0; g < groups; g++) sum[g] = _mm256_loadu_ps(acc + 8 * g);
    for (int32_t t = 0; t < b->trees; t++) {
        const int32_t *nd = b->node + (size_t)t * internal;
        const int32_t *th = b->threshold + (size_t)t * internal;
        const float *l = b->leaf + (size_t)t * leaves;
        __m256i topNode = _mm256_setzero_si256(), topThr = _mm256_setzero_si256();
        if (byPermute[0]) {
            topNode = _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)nd), shiftUp);
            topThr = _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)th), shiftUp);
        }
        __m256i m[KEY_GROUPS];
        for (int g = 0; g < groups; g++) m[g] = _mm256_set1_epi32(1);
        for (int k = 0; k < depth; k++) {
            for (int g = 0; g < groups; g++) {
                __m256i node, thr;
                key_node(nd, th, k, byPermute[k], topNode, topThr, m[g], &node, &thr);
                const __m256i x = _mm256_i32gather_epi32(rows + (size_t)g * 16 * columns, _mm256_add_epi32(laneOffset, node), 4);
                m[g] = _mm256_sub_epi32(_mm256_add_epi32(m[g], m[g]), _mm256_cmpgt_epi32(x, thr));
            }
        }
        for (int g = 0; g < groups; g++)
            sum[g] = _mm256_add_ps(sum[g], _mm256_i32gather_ps(l, _mm256_sub_epi32(m[g], leafOffset), 4));
    }
    for (int g = 0; g < groups; g++) _mm256_storeu_ps(acc + 8 * g, sum[g]);
}

/// The key of a float: its bits as a signed integer, the magnitude bits flipped for negative
/// values, after -0 became +0 (x + 0.0f): then a < b as floats iff key(a) < key(b) as integers
/// (NaN aside).
static inline int32_t float_key(float f) {
    f += 0.0f;
    int32_t bits;
    memcpy(&bits, &f, 4);
    return bits ^ ((bits >> 31) & 0x7fffffff);
}

/// Each value of `n` doubles as two keys of its float: [2i] a missing value above every
/// threshold (INT32_MAX), [2i + 1] below every one (INT32_MIN).
AVX2 static void row_keys(const double *x, size_t n, int32_t *out) {
    size_t i = 0;
    const __m256i magnitude = _mm256_set1_epi32(0x7fffffff);
    const __m256i high = _mm256_set1_epi32(INT32_MAX), low = _mm256_set1_epi32(INT32_MIN);
    for (; i + 8 <= n; i += 8) {
        const __m256 f = _mm256_add_ps(_mm256_setr_m128(_mm256_cvtpd_ps(_mm256_loadu_pd(x + i)), _mm256_cvtpd_ps(_mm256_loadu_pd(x + i + 4))),
                                       _mm256_setzero_ps());
        const __m256i bits = _mm256_castps_si256(f);
        const __m256i key = _mm256_xor_si256(bits, _mm256_and_si256(_mm256_srai_epi32(bits, 31), magnitude));
        const __m256 nan = _mm256_cmp_ps(f, f, _CMP_UNORD_Q);
        const __m256i right = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(key), _mm256_castsi256_ps(high), nan));
        const __m256i left = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(key), _mm256_castsi256_ps(low), nan));
        // Interleave: right0 left0 right1 left1 ...
        const __m256i a = _mm256_unpacklo_epi32(right, left), b = _mm256_unpackhi_epi32(right, left);
        _mm256_storeu_si256((__m256i *)(out + 2 * i), _mm256_permute2x128_si256(a, b, 0x20));
        _mm256_storeu_si256((__m256i *)(out + 2 * i + 8), _mm256_permute2x128_si256(a, b, 0x31));
    }
    for (; i < n; i++) {
        const float f = (float)x[i];
        const int32_t key = float_key(f);
        out[2 * i] = f != f ? INT32_MAX : key;
        out[2 * i + 1] = f != f ? INT32_MIN : key;
    }
}

AVX2 static size_t key_add(const rtw_booster *b, const double *x, size_t count, size_t columns, float *acc,
                           int32_t *scratch, size_t chunk) {
    const size_t done = count - count % 8;
    if (done == 0 || b->depth <= 0 || b->depth > 24 || b->trees <= 0 || chunk < 8 || columns > (1u << 22)) return 0;
    chunk -= chunk % 8;
    int byPermute[32] = {0};
    const size_t internal = ((size_t)1 << b->depth) - 1;
    for (int k = 0; k < b->depth && k < 32; k++) {
        const size_t width = (size_t)1 << k, first = width - 1;
        byPermute[k] = !NO_PERMUTE && (k < 3 ? 8 <= internal : width <= 32 && first + width <= internal);
    }
    // Two keys per value: the rows of a chunk take twice the floats' room, so they are keyed
    // and walked at most KEY_ROWS at a time to keep them in cache beside the trees.
    if (chunk > KEY_ROWS) chunk = KEY_ROWS;
    for (size_t start = 0; start < done; start += chunk) {
        const size_t n = done - start < chunk ? done - start : chunk;
        row_keys(x + start * columns, n * columns, scratch);
        size_t r = 0;
        for (; r + 8 * KEY_GROUPS <= n; r += 8 * KEY_GROUPS)
            key_groups(b, scratch + 2 * r * columns, columns, acc + start + r, KEY_GROUPS, byPermute);
        for (; r + 8 <= n; r += 8) key_groups(b, scratch + 2 * r * columns, columns, acc + start + r, 1, byPermute);
    }
    return done;
}

size_t rtw_booster_add_avx2(const rtw_booster *b, const double *x, size_t count, size_t columns, float *acc,
                            int32_t *scratch, size_t chunk) {
    if (!rtw_cpu_supports_avx2()) return 0;
    return key_add(b, x, count, columns, acc, scratch, chunk);
}

// ---------------------------------------------------------------------------------------------
// Isolation forest: double comparisons, 4 rows per vector, node indices in 64-bit lanes.

#ifndef FOREST_GROUPS
#define FOREST_GROUPS 4
#endif

/// The node fields at level `k` for node indices `n` (64-bit lanes, all on that level): from
/// registers for the top levels (up to 8 nodes: one or two loads of four and a permute), by
/// gather below.
AVX2 static inline void forest_node(const int32_t *f, const double *v, int k, int byPermute, __m256i n,
                                    __m256i *code, __m256d *value) {
    if (!byPermute) {
        *code = _mm256_cvtepi32_epi64(_mm256_i64gather_epi32((const int *)f, n, 4));
        *value = _mm256_i64gather_pd(v, n, 8);
        return;
    }
    const int first = (1 << k) - 1;
    const __m256i idx = _mm256_sub_epi64(n, _mm256_set1_epi64x(first));
    // A double's two 32-bit halves: 2i and 2i + 1 (the permute reads the low 3 bits).
    const __m256i twice = _mm256_slli_epi64(idx, 1);
    const __m256i pair = _mm256_or_si256(twice, _mm256_slli_epi64(_mm256_add_epi64(twice, _mm256_set1_epi64x(1)), 32));
    __m256i c = _mm256_permutevar8x32_epi32(_mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)(f + first))), pair);
    __m256d x = _mm256_castps_pd(_mm256_permutevar8x32_ps(_mm256_castpd_ps(_mm256_loadu_pd(v + first)), pair));
    if (k == 3) {
        const __m256d b2 = _mm256_castsi256_pd(_mm256_slli_epi64(idx, 61));
        __m256i c1 = _mm256_permutevar8x32_epi32(_mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)(f + first + 4))), pair);
        __m256d x1 = _mm256_castps_pd(_mm256_permutevar8x32_ps(_mm256_castpd_ps(_mm256_loadu_pd(v + first + 4)), pair));
        c = _mm256_castpd_si256(_mm256_blendv_pd(_mm256_castsi256_pd(c), _mm256_castsi256_pd(c1), b2));
        x = _mm256_blendv_pd(x, x1, b2);
    }
    *code = c;
    *value = x;
}

AVX2 static inline __m256i forest_step(__m256i n, __m256i code, __m256d value, const double *rows, __m256i laneOffset) {
    const __m256i column = _mm256_andnot_si256(_mm256_set1_epi64x(1 << 30), code);
    const __m256d x = _mm256_i64gather_pd(rows, _mm256_add_epi64(laneOffset, column), 8);
    const __m256d equal = _mm256_cmp_pd(x, value, _CMP_EQ_OQ);       // indicator: x == level
    const __m256d greater = _mm256_cmp_pd(x, value, _CMP_NLE_UQ);    // numeric: !(x <= value)
    const __m256d indicator = _mm256_castsi256_pd(_mm256_slli_epi64(code, 33));  // bit 30 -> sign
    const __m256i right = _mm256_castpd_si256(_mm256_blendv_pd(greater, equal, indicator));
    return _mm256_sub_epi64(_mm256_add_epi64(_mm256_add_epi64(n, n), _mm256_set1_epi64x(1)), right);
}

AVX2 static inline void forest_groups(const rtw_forest *fo, const double *rows, size_t columns, double *sum, int groups,
                                      const int *byPermute) {
    const int depth = fo->depth;
    const size_t internal = ((size_t)1 << depth) - 1, leaves = (size_t)1 << depth;
    const __m256i laneOffset = _mm256_setr_epi64x(0, (long long)columns, 2 * (long long)columns, 3 * (long long)columns);
    const __m256i firstLeaf = _mm256_set1_epi64x((long long)internal);
    __m256d acc[FOREST_GROUPS];
    for (int g = 0; g < groups; g++) acc[g] = _mm256_loadu_pd(sum + 4 * g);
    for (int32_t t = 0; t < fo->trees; t++) {
        const int32_t *f = fo->feature + (size_t)t * internal;
        const double *v = fo->value + (size_t)t * internal;
        const double *l = fo->leaf + (size_t)t * leaves;
        __m256i n[FOREST_GROUPS];
        for (int g = 0; g < groups; g++) n[g] = _mm256_setzero_si256();
        for (int k = 0; k < depth; k++)
            for (int g = 0; g < groups; g++) {
                __m256i code;
                __m256d value;
                forest_node(f, v, k, byPermute[k], n[g], &code, &value);
                n[g] = forest_step(n[g], code, value, rows + (size_t)g * 4 * columns, laneOffset);
            }
        for (int g = 0; g < groups; g++)
            acc[g] = _mm256_add_pd(acc[g], _mm256_i64gather_pd(l, _mm256_sub_epi64(n[g], firstLeaf), 8));
    }
    for (int g = 0; g < groups; g++) _mm256_storeu_pd(sum + 4 * g, acc[g]);
}

AVX2 static size_t forest_add(const rtw_forest *fo, const double *x, size_t count, size_t columns, double *sum, size_t chunk) {
    const size_t done = count - count % 8;
    if (done == 0 || fo->depth <= 0 || fo->depth > 24 || fo->trees <= 0 || chunk < 8 || columns > (1u << 24)) return 0;
    chunk -= chunk % 8;
    // Levels 0-3 read their nodes by permute where the loads (four nodes at least) stay
    // inside the tree's internal nodes.
    int byPermute[32] = {0};
    const size_t internal = ((size_t)1 << fo->depth) - 1;
    for (int k = 0; k < fo->depth && k < 32; k++) {
        const size_t width = (size_t)1 << k, first = width - 1;
        byPermute[k] = !NO_PERMUTE && width <= 8 && first + (width < 4 ? 4 : width) <= internal;
    }
    for (size_t start = 0; start < done; start += chunk) {
        const size_t n = done - start < chunk ? done - start : chunk;
        const double *rows = x + start * columns;
        size_t r = 0;
        for (; r + 4 * FOREST_GROUPS <= n; r += 4 * FOREST_GROUPS)
            forest_groups(fo, rows + r * columns, columns, sum + start + r, FOREST_GROUPS, byPermute);
        for (; r + 4 <= n; r += 4) forest_groups(fo, rows + r * columns, columns, sum + start + r, 1, byPermute);
    }
    return done;
}

size_t rtw_forest_add_avx2(const rtw_forest *f, const double *x, size_t count, size_t columns, double *sum, size_t chunk) {
    if (!rtw_cpu_supports_avx2()) return 0;
    return forest_add(f, x, count, columns, sum, chunk);
}

// ---------------------------------------------------------------------------------------------
// Isolation forest on float-exact rows: the booster's layout (int32 codes, float values), eight
// rows per vector; only the path lengths (doubles) are summed in two halves of four.

/// One level for one group: m -> 2m + right; right = x == level for an indicator node (bit 30
/// of the code, shifted to the sign), else !(x <= value) (NaN goes right).
AVX2 static inline __m256i forest_float_step(__m256i m, __m256i code, __m256 value, const float *rows, __m256i laneOffset) {
    const __m256i column = _mm256_andnot_si256(_mm256_set1_epi32(1 << 30), code);
    const __m256 x = _mm256_i32gather_ps(rows, _mm256_add_epi32(laneOffset, column), 4);
    const __m256 equal = _mm256_cmp_ps(x, value, _CMP_EQ_OQ);
    const __m256 greater = _mm256_cmp_ps(x, value, _CMP_NLE_UQ);
    const __m256i right = _mm256_castps_si256(_mm256_blendv_ps(greater, equal, _mm256_castsi256_ps(_mm256_slli_epi32(code, 1))));
    return _mm256_sub_epi32(_mm256_add_epi32(m, m), right);
}

AVX2 static inline void forest_float_groups(const rtw_forest_float *fo, const float *rows, size_t columns, double *sum,
                                            int groups, const int *byPermute) {
    const int depth = fo->depth;
    const size_t internal = ((size_t)1 << depth) - 1, leaves = (size_t)1 << depth;
    const __m256i laneOffset = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)columns));
    const __m256i leafOffset = _mm256_set1_epi32((int)leaves);
    const __m256i shiftUp = _mm256_setr_epi32(7, 0, 1, 2, 3, 4, 5, 6);
    __m256d lo[BOOSTER_GROUPS], hi[BOOSTER_GROUPS];
    for (int g = 0; g < groups; g++) {
        lo[g] = _mm256_loadu_pd(sum + 8 * g);
        hi[g] = _mm256_loadu_pd(sum + 8 * g + 4);
    }
    for (int32_t t = 0; t < fo->trees; t++) {
        const int32_t *f = fo->feature + (size_t)t * internal;
        const float *v = fo->valueFloat + (size_t)t * internal;
        const double *l = fo->leaf + (size_t)t * leaves;
        __m256i topCode = _mm256_setzero_si256();
        __m256i topValue = _mm256_setzero_si256();
        if (byPermute[0]) {
            topCode = _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)f), shiftUp);
            topValue = _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)v), shiftUp);
        }
        __m256i m[BOOSTER_GROUPS];
        for (int g = 0; g < groups; g++) m[g] = _mm256_set1_epi32(1);
        for (int k = 0; k < depth; k++) {
            for (int g = 0; g < groups; g++) {
                __m256i code;
                __m256i value;
                key_node(f, (const int32_t *)v, k, byPermute[k], topCode, topValue, m[g], &code, &value);
                m[g] = forest_float_step(m[g], code, _mm256_castsi256_ps(value), rows + (size_t)g * 8 * columns, laneOffset);
            }
        }
        for (int g = 0; g < groups; g++) {
            const __m256i leaf = _mm256_sub_epi32(m[g], leafOffset);
            lo[g] = _mm256_add_pd(lo[g], _mm256_i32gather_pd(l, _mm256_castsi256_si128(leaf), 8));
            hi[g] = _mm256_add_pd(hi[g], _mm256_i32gather_pd(l, _mm256_extracti128_si256(leaf, 1), 8));
        }
    }
    for (int g = 0; g < groups; g++) {
        _mm256_storeu_pd(sum + 8 * g, lo[g]);
        _mm256_storeu_pd(sum + 8 * g + 4, hi[g]);
    }
}

AVX2 static size_t forest_float_add(const rtw_forest_float *fo, const float *x, size_t count, size_t columns, double *sum) {
    const size_t done = count - count % 8;
    if (done == 0 || fo->depth <= 0 || fo->depth > 24 || fo->trees <= 0 || columns > (1u << 24)) return 0;
    int byPermute[32] = {0};
    const size_t internal = ((size_t)1 << fo->depth) - 1;
    for (int k = 0; k < fo->depth && k < 32; k++) {
        const size_t width = (size_t)1 << k, first = width - 1;
        byPermute[k] = !NO_PERMUTE && (k < 3 ? 8 <= internal : width <= 32 && first + width <= internal);
    }
    size_t r = 0;
    for (; r + 8 * BOOSTER_GROUPS <= done; r += 8 * BOOSTER_GROUPS)
        forest_float_groups(fo, x + r * columns, columns, sum + r, BOOSTER_GROUPS, byPermute);
    for (; r < done; r += 8) forest_float_groups(fo, x + r * columns, columns, sum + r, 1, byPermute);
    return done;
}

size_t rtw_forest_add_float_avx2(const rtw_forest_float *f, const float *x, size_t count, size_t columns, double *sum) {
    if (!rtw_cpu_supports_avx2()) return 0;
    return forest_float_add(f, x, count, columns, sum);
}

// ---------------------------------------------------------------------------------------------
// One float-exact row, eight trees in the lanes of a vector (issue 15's "trees spread over
// vector lanes" for single rows), on the tiered copy of the nodes (rtw_forest_tiers): per
// level, each group of eight trees' node codes and values, then the row's values they test,
// are gathered; the leaves are added onto the row's sum in tree order, so the same bits as the
// walks above.

/// Groups of eight trees walked at once: independent gathers overlap (1, 2 and 4 groups: 2.1,
/// 1.4 and 1.2 us a row for 100 trees of depth 8, against 2.7 us for rtw_forest_add_rows).
#ifndef ROW_TREE_GROUPS
#define ROW_TREE_GROUPS 4
#endif

AVX2 static size_t forest_tiers_row(const rtw_forest_tiers *ft, const float *row, size_t columns, double *sum) {
    tier_plan pl;
    if (ft->slots == NULL || columns > (1u << 24) || !plan_tiers(ft->depth, ft->trees, &pl)) return 0;
    const int32_t trees = ft->trees;
    const __m256i one = _mm256_set1_epi32(1);
    const __m256i indicator = _mm256_set1_epi32(1 << 30);
    // Lane j of group g walks tree t + 8g + j, whose slots start (8g + j) * treeSlots after tree t's.
    __m256i treeBase[ROW_TREE_GROUPS];
    for (int g = 0; g < ROW_TREE_GROUPS; g++) {
        const __m256i lane = _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(8 * g));
        treeBase[g] = _mm256_mullo_epi32(lane, _mm256_set1_epi32((int)pl.treeSlots));
    }
    double s = *sum;
    int32_t t = 0;
    for (; t + 8 * ROW_TREE_GROUPS <= trees; t += 8 * ROW_TREE_GROUPS) {
        const uint64_t *base = ft->slots + (size_t)t * pl.treeSlots;
        // A node's slot: its code in the first four bytes, its value in the next four.
        const char *codes = (const char *)base, *values = (const char *)base + 4;
        // Per lane: the node's block in its tier, the block's first slot, the node in the block.
        __m256i block[ROW_TREE_GROUPS], first[ROW_TREE_GROUPS], p[ROW_TREE_GROUPS];
        for (int g = 0; g < ROW_TREE_GROUPS; g++) {
            block[g] = _mm256_setzero_si256();
            first[g] = treeBase[g];
            p[g] = _mm256_setzero_si256();
        }
        for (int k = 0; k < pl.tiers; k++) {
            if (k > 0) {  // into the child block: after three levels p is 7 + which child
                const __m256i start = _mm256_set1_epi32((int)pl.start[k]), stride = _mm256_set1_epi32((int)pl.stride[k]);
                for (int g = 0; g < ROW_TREE_GROUPS; g++) {
                    block[g] = _mm256_add_epi32(_mm256_slli_epi32(block[g], 3), _mm256_sub_epi32(p[g], _mm256_set1_epi32(7)));
                    first[g] = _mm256_add_epi32(_mm256_add_epi32(treeBase[g], start), _mm256_mullo_epi32(block[g], stride));
                    p[g] = _mm256_setzero_si256();
                }
            }
            for (int l = 0; l < pl.levels[k]; l++) {
                for (int g = 0; g < ROW_TREE_GROUPS; g++) {
                    const __m256i at = _mm256_add_epi32(first[g], p[g]);
                    const __m256i code = _mm256_i32gather_epi32((const int *)codes, at, 8);
                    const __m256 value = _mm256_i32gather_ps((const float *)values, at, 8);
                    const __m256 x = _mm256_i32gather_ps(row, _mm256_andnot_si256(indicator, code), 4);
                    const __m256 equal = _mm256_cmp_ps(x, value, _CMP_EQ_OQ);
                    const __m256 greater = _mm256_cmp_ps(x, value, _CMP_NLE_UQ);
                    // right is all ones (-1) where the row goes right: p -> 2p + 1 + 1.
                    const __m256i right = _mm256_castps_si256(_mm256_blendv_ps(greater, equal, _mm256_castsi256_ps(_mm256_slli_epi32(code, 1))));
                    p[g] = _mm256_sub_epi32(_mm256_add_epi32(_mm256_add_epi32(p[g], p[g]), one), right);
                }
            }
        }
        // The leaves follow the last tier's nodes in their block: the leaf reached is slot first + p.
        const double *l = (const double *)base;
        for (int g = 0; g < ROW_TREE_GROUPS; g++) {
            const __m256i at = _mm256_add_epi32(first[g], p[g]);
            double leaf[8];
            _mm256_storeu_pd(leaf, _mm256_i32gather_pd(l, _mm256_castsi256_si128(at), 8));
            _mm256_storeu_pd(leaf + 4, _mm256_i32gather_pd(l, _mm256_extracti128_si256(at, 1), 8));
            for (int q = 0; q < 8; q++) s += leaf[q];
        }
    }
    // The last trees one at a time, as the lanes compare (eight or fewer lanes of a last group
    // measured slower: a whole vector's gathers for a few trees).
    for (; t < trees; t++) s += tiers_tree_path(ft->slots + (size_t)t * pl.treeSlots, &pl, row);
    *sum = s;
    return 1;
}

size_t rtw_forest_tiers_row_avx2(const rtw_forest_tiers *t, const float *row, size_t columns, double *sum) {
    if (!rtw_cpu_supports_avx2()) return 0;
    return forest_tiers_row(t, row, columns, sum);
}

// ---------------------------------------------------------------------------------------------
// AVX-512: sixteen rows per vector (the booster on integer keys, the forest on floats) or eight
// (the forest on doubles), the same steps as the AVX2 walks above, so the same bits. A node's
// test becomes a mask and `m` moves by a masked add; the top six levels' nodes (up to 32) come
// from one or two masked loads and a permute, deeper ones by gather.

#define AVX512 __attribute__((target("avx512f")))

int rtw_cpu_supports_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? 1 : 0;
}

int rtw_cpu_is_intel(void) {
    __builtin_cpu_init();
    return __builtin_cpu_is("intel") ? 1 : 0;
}

/// Groups of 16 rows walked together by the AVX-512 booster walk (8: its gathers overlap more;
/// measured 3.75-3.80M rows/s against 3.06-3.43M with 2 or 4 on a Zen 4), and of 16 (or 8)
/// rows by the forest walks (4: 1.25-1.31M rows/s against 1.07M with 8).
#ifndef KEY_GROUPS512
#define KEY_GROUPS512 8
#endif
#ifndef GROUPS512
#define GROUPS512 4
#endif

/// A level of a tree's two 32-bit node fields (the booster's key column and threshold, the
/// forest's code and float value) for permutes: level k's 2^k nodes (k <= 5) of each field in
/// `lo` (and `hi` for k = 5); lanes past the level are zero (a masked load reads nothing past
/// the tree). Deeper levels are gathered (pick512).
typedef struct {
    int k;
    __m512i lo[2], hi[2];
} rtw_level512;

AVX512 static inline rtw_level512 level512(const int32_t *a, const int32_t *b, int k) {
    rtw_level512 level = {k, {_mm512_setzero_si512(), _mm512_setzero_si512()}, {_mm512_setzero_si512(), _mm512_setzero_si512()}};
    if (k > 5) return level;
    const size_t first = ((size_t)1 << k) - 1;
    const int width = 1 << k;
    const __mmask16 lanes = (__mmask16)(width >= 16 ? 0xFFFF : (1u << width) - 1);
    const int32_t *field[2] = {a + first, b + first};
    for (int f = 0; f < 2; f++) {
        level.lo[f] = _mm512_maskz_loadu_epi32(lanes, field[f]);
        level.hi[f] = k == 5 ? _mm512_loadu_si512((const void *)(field[f] + 16)) : level.lo[f];
    }
    return level;
}

/// Field f (0: of `a`, 1: of `b`) of node m - 1 per lane (m on the level): by permute from the
/// level's registers for k <= 5, else by gather from the tree's nodes at `tree`.
AVX512 static inline __m512i pick512(const rtw_level512 *level, int f, const int32_t *tree, __m512i m) {
    const int k = level->k;
    if (k > 5) return _mm512_i32gather_epi32(_mm512_sub_epi32(m, _mm512_set1_epi32(1)), tree, 4);
    const __m512i index = _mm512_sub_epi32(m, _mm512_set1_epi32(1 << k));
    return k == 5 ? _mm512_permutex2var_epi32(level->lo[f], index, level->hi[f]) : _mm512_permutexvar_epi32(index, level->lo[f]);
}

/// `groups` groups of 16 rows of keys (2 * `columns` per row) through every tree (key_groups).
AVX512 static void key_groups512(const rtw_booster *b, const int32_t *rows, size_t columns, float *acc, int groups) {
    const int depth = b->depth;
    const size_t internal = ((size_t)1 << depth) - 1, leaves = (size_t)1 << depth;
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i laneOffset = _mm512_mullo_epi32(lane, _mm512_set1_epi32((int)(2 * columns)));
    const __m512i leafOffset = _mm512_set1_epi32((int)leaves), one = _mm512_set1_epi32(1);
    __m512 sum[KEY_GROUPS512];
    for (int g = 0; g < groups; g++) sum[g] = _mm512_loadu_ps(acc + 16 * g);
    for (int32_t t = 0; t < b->trees; t++) {
        const int32_t *nd = b->node + (size_t)t * internal;
        const int32_t *th = b->threshold + (size_t)t * internal;
        const float *l = b->leaf + (size_t)t * leaves;
        __m512i m[KEY_GROUPS512];
        for (int g = 0; g < groups; g++) m[g] = one;
        for (int k = 0; k < depth; k++) {
            const rtw_level512 level = level512(nd, th, k);
            for (int g = 0; g < groups; g++) {
                const __m512i node = pick512(&level, 0, nd, m[g]);
                const __m512i thr = pick512(&level, 1, th, m[g]);
                const __m512i x = _mm512_i32gather_epi32(_mm512_add_epi32(laneOffset, node), rows + (size_t)g * 32 * columns, 4);
                const __m512i twice = _mm512_add_epi32(m[g], m[g]);
                m[g] = _mm512_mask_add_epi32(twice, _mm512_cmpgt_epi32_mask(x, thr), twice, one);
            }
        }
        for (int g = 0; g < groups; g++)
            sum[g] = _mm512_add_ps(sum[g], _mm512_i32gather_ps(_mm512_sub_epi32(m[g], leafOffset), l, 4));
    }
    for (int g = 0; g < groups; g++) _mm512_storeu_ps(acc + 16 * g, sum[g]);
}

AVX512 static size_t key_add512(const rtw_booster *b, const double *x, size_t count, size_t columns, float *acc,
                                int32_t *scratch, size_t chunk) {
    const size_t done = count - count % 16;
    if (done == 0 || b->depth <= 0 || b->depth > 24 || b->trees <= 0 || chunk < 16 || columns > (1u << 22)) return 0;
    chunk -= chunk % 16;
    if (chunk > KEY_ROWS) chunk = KEY_ROWS;  // as key_add: the keys of a chunk stay in cache
    for (size_t start = 0; start < done; start += chunk) {
        const size_t n = done - start < chunk ? done - start : chunk;
        row_keys(x + start * columns, n * columns, scratch);
        size_t r = 0;
        for (; r + 16 * KEY_GROUPS512 <= n; r += 16 * KEY_GROUPS512)
            key_groups512(b, scratch + 2 * r * columns, columns, acc + start + r, KEY_GROUPS512);
        for (; r + 16 <= n; r += 16) key_groups512(b, scratch + 2 * r * columns, columns, acc + start + r, 1);
    }
    return done;
}

size_t rtw_booster_add_avx512(const rtw_booster *b, const double *x, size_t count, size_t columns, float *acc,
                              int32_t *scratch, size_t chunk) {
    if (!rtw_cpu_supports_avx512()) return 0;
    return key_add512(b, x, count, columns, acc, scratch, chunk);
}

/// forest_float_groups with 16 rows per vector; the path lengths summed in two halves of 8.
AVX512 static void forest_float_groups512(const rtw_forest_float *fo, const float *rows, size_t columns, double *sum, int groups) {
    const int depth = fo->depth;
    const size_t internal = ((size_t)1 << depth) - 1, leaves = (size_t)1 << depth;
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i laneOffset = _mm512_mullo_epi32(lane, _mm512_set1_epi32((int)columns));
    const __m512i leafOffset = _mm512_set1_epi32((int)leaves), one = _mm512_set1_epi32(1);
    const __m512i indicatorBit = _mm512_set1_epi32(1 << 30);
    __m512d lo[GROUPS512], hi[GROUPS512];
    for (int g = 0; g < groups; g++) {
        lo[g] = _mm512_loadu_pd(sum + 16 * g);
        hi[g] = _mm512_loadu_pd(sum + 16 * g + 8);
    }
    for (int32_t t = 0; t < fo->trees; t++) {
        const int32_t *f = fo->feature + (size_t)t * internal;
        const int32_t *v = (const int32_t *)(fo->valueFloat + (size_t)t * internal);
        const double *l = fo->leaf + (size_t)t * leaves;
        __m512i m[GROUPS512];
        for (int g = 0; g < groups; g++) m[g] = one;
        for (int k = 0; k < depth; k++) {
            const rtw_level512 level = level512(f, v, k);
            for (int g = 0; g < groups; g++) {
                const __m512i code = pick512(&level, 0, f, m[g]);
                const __m512 value = _mm512_castsi512_ps(pick512(&level, 1, v, m[g]));
                const __m512i column = _mm512_andnot_si512(indicatorBit, code);
                const __m512 x = _mm512_i32gather_ps(_mm512_add_epi32(laneOffset, column), rows + (size_t)g * 16 * columns, 4);
                // Indicator (bit 30): right when x == level; numeric: right when !(x <= value) (NaN right).
                const __mmask16 indicator = _mm512_test_epi32_mask(code, indicatorBit);
                const __mmask16 right = (__mmask16)((indicator & _mm512_cmp_ps_mask(x, value, _CMP_EQ_OQ))
                                                    | (~indicator & _mm512_cmp_ps_mask(x, value, _CMP_NLE_UQ)));
                const __m512i twice = _mm512_add_epi32(m[g], m[g]);
                m[g] = _mm512_mask_add_epi32(twice, right, twice, one);
            }
        }
        for (int g = 0; g < groups; g++) {
            const __m512i leaf = _mm512_sub_epi32(m[g], leafOffset);
            lo[g] = _mm512_add_pd(lo[g], _mm512_i32gather_pd(_mm512_castsi512_si256(leaf), l, 8));
            hi[g] = _mm512_add_pd(hi[g], _mm512_i32gather_pd(_mm512_extracti64x4_epi64(leaf, 1), l, 8));
        }
    }
    for (int g = 0; g < groups; g++) {
        _mm512_storeu_pd(sum + 16 * g, lo[g]);
        _mm512_storeu_pd(sum + 16 * g + 8, hi[g]);
    }
}

size_t rtw_forest_add_float_avx512(const rtw_forest_float *f, const float *x, size_t count, size_t columns, double *sum) {
    if (!rtw_cpu_supports_avx512()) return 0;
    const size_t done = count - count % 16;
    if (done == 0 || f->depth <= 0 || f->depth > 24 || f->trees <= 0 || columns > (1u << 24)) return 0;
    size_t r = 0;
    for (; r + 16 * GROUPS512 <= done; r += 16 * GROUPS512) forest_float_groups512(f, x + r * columns, columns, sum + r, GROUPS512);
    for (; r < done; r += 16) forest_float_groups512(f, x + r * columns, columns, sum + r, 1);
    return done;
}

/// forest_groups with 8 rows per vector (64-bit node indices), nodes by gather.
AVX512 static void forest_groups512(const rtw_forest *fo, const double *rows, size_t columns, double *sum, int groups) {
    const int depth = fo->depth;
    const size_t internal = ((size_t)1 << depth) - 1, leaves = (size_t)1 << depth;
    const long long c = (long long)columns;
    const __m512i laneOffset = _mm512_setr_epi64(0, c, 2 * c, 3 * c, 4 * c, 5 * c, 6 * c, 7 * c);
    const __m512i firstLeaf = _mm512_set1_epi64((long long)internal), one = _mm512_set1_epi64(1);
    const __m512i indicatorBit = _mm512_set1_epi64(1 << 30);
    __m512d acc[GROUPS512];
    for (int g = 0; g < groups; g++) acc[g] = _mm512_loadu_pd(sum + 8 * g);
    for (int32_t t = 0; t < fo->trees; t++) {
        const int32_t *f = fo->feature + (size_t)t * internal;
        const double *v = fo->value + (size_t)t * internal;
        const double *l = fo->leaf + (size_t)t * leaves;
        __m512i n[GROUPS512];
        for (int g = 0; g < groups; g++) n[g] = _mm512_setzero_si512();
        for (int k = 0; k < depth; k++)
            for (int g = 0; g < groups; g++) {
                const __m512i code = _mm512_cvtepi32_epi64(_mm512_i64gather_epi32(n[g], f, 4));
                const __m512d value = _mm512_i64gather_pd(n[g], v, 8);
                const __m512i column = _mm512_andnot_si512(indicatorBit, code);
                const __m512d x = _mm512_i64gather_pd(_mm512_add_epi64(laneOffset, column), rows + (size_t)g * 8 * columns, 8);
                const __mmask8 indicator = _mm512_test_epi64_mask(code, indicatorBit);
                const __mmask8 right = (__mmask8)((indicator & _mm512_cmp_pd_mask(x, value, _CMP_EQ_OQ))
                                                  | (~indicator & _mm512_cmp_pd_mask(x, value, _CMP_NLE_UQ)));
                const __m512i next = _mm512_add_epi64(_mm512_add_epi64(n[g], n[g]), one);
                n[g] = _mm512_mask_add_epi64(next, right, next, one);
            }
        for (int g = 0; g < groups; g++)
            acc[g] = _mm512_add_pd(acc[g], _mm512_i64gather_pd(_mm512_sub_epi64(n[g], firstLeaf), l, 8));
    }
    for (int g = 0; g < groups; g++) _mm512_storeu_pd(sum + 8 * g, acc[g]);
}

size_t rtw_forest_add_avx512(const rtw_forest *f, const double *x, size_t count, size_t columns, double *sum, size_t chunk) {
    if (!rtw_cpu_supports_avx512()) return 0;
    const size_t done = count - count % 8;
    if (done == 0 || f->depth <= 0 || f->depth > 24 || f->trees <= 0 || chunk < 8 || columns > (1u << 24)) return 0;
    chunk -= chunk % 8;
    for (size_t start = 0; start < done; start += chunk) {
        const size_t n = done - start < chunk ? done - start : chunk;
        const double *rows = x + start * columns;
        size_t r = 0;
        for (; r + 8 * GROUPS512 <= n; r += 8 * GROUPS512) forest_groups512(f, rows + r * columns, columns, sum + start + r, GROUPS512);
        for (; r + 8 <= n; r += 8) forest_groups512(f, rows + r * columns, columns, sum + start + r, 1);
    }
    return done;
}

#else  // not x86-64: no vector kernels; the Swift walk does everything.

size_t rtw_booster_add_avx2(const rtw_booster *b, const double *x, size_t count, size_t columns, float *acc,
                            int32_t *scratch, size_t chunk) {
    (void)b; (void)x; (void)count; (void)columns; (void)acc; (void)scratch; (void)chunk;
    return 0;
}

size_t rtw_forest_add_float_avx2(const rtw_forest_float *f, const float *x, size_t count, size_t columns, double *sum) {
    (void)f; (void)x; (void)count; (void)columns; (void)sum;
    return 0;
}

size_t rtw_forest_tiers_row_avx2(const rtw_forest_tiers *t, const float *row, size_t columns, double *sum) {
    (void)t; (void)row; (void)columns; (void)sum;
    return 0;
}


int rtw_cpu_supports_avx2(void) { return 0; }

int rtw_rows_valid_avx2(const double *x, size_t rows, size_t m, const double *low, const double *high, const double *integral) {
    return rows_valid(x, rows, m, low, high, integral);
}

void rtw_booster_columns_avx2(const double *x, size_t rows, size_t m, const int64_t *start, const double *ranks,
                              double *out, size_t stride) {
    booster_columns(x, rows, m, start, ranks, out, stride);
}

void rtw_detector_scores_avx2(const rtw_detector *d, const double *x, size_t rows, size_t m, double *out, size_t outStride) {
    rtw_detector_scores(d, x, rows, m, out, outStride);
}

int rtw_impute_floats_avx2(const double *x, size_t rows, size_t m, const double *median, float *out) {
    return impute_floats(x, rows, m, median, out);
}


size_t rtw_forest_add_avx2(const rtw_forest *f, const double *x, size_t count, size_t columns, double *sum, size_t chunk) {
    (void)f; (void)x; (void)count; (void)columns; (void)sum; (void)chunk;
    return 0;
}

int rtw_cpu_supports_avx512(void) { return 0; }
int rtw_cpu_is_intel(void) { return 0; }

size_t rtw_booster_add_avx512(const rtw_booster *b, const double *x, size_t count, size_t columns, float *acc,
                              int32_t *scratch, size_t chunk) {
    (void)b; (void)x; (void)count; (void)columns; (void)acc; (void)scratch; (void)chunk;
    return 0;
}

size_t rtw_forest_add_float_avx512(const rtw_forest_float *f, const float *x, size_t count, size_t columns, double *sum) {
    (void)f; (void)x; (void)count; (void)columns; (void)sum;
    return 0;
}

size_t rtw_forest_add_avx512(const rtw_forest *f, const double *x, size_t count, size_t columns, double *sum, size_t chunk) {
    (void)f; (void)x; (void)count; (void)columns; (void)sum; (void)chunk;
    return 0;
}

#endif
