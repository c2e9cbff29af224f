// Vectorised walks of readmit's compiled trees: see include/CTreeWalk.h.
//
// Each walk mirrors the Swift reference step for step. A level of a complete tree moves a
// node index i to 2i + 1 + right, where right is the node's comparison on the row's value;
// eight rows (one AVX2 vector of floats: the booster, and the forest on rows of floats) or four
// (the forest on rows of doubles) move together,
// and the leaf each row reaches is added onto that row's running sum, tree after tree, in
// tree order: the same additions in the same order as the Swift walk, so the same bits.
// No -ffast-math and no FMA: only compares, integer arithmetic, and one add per tree.
#include "CTreeWalk.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define RTW_X86 1
#include <immintrin.h>
#endif

#ifdef RTW_X86

int rtw_cpu_supports_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? 1 : 0;
}

#define AVX2 __attribute__((target("avx2")))
// Measurement knobs (benchmarks/train/README.md): -DNO_PERMUTE=1 gathers every level's node
// fields; BOOSTER_GROUPS and FOREST_GROUPS set how many row groups walk a tree together.
#ifndef NO_PERMUTE
#define NO_PERMUTE 0
#endif

// ---------------------------------------------------------------------------------------------
// Booster: float comparisons, 8 rows per vector.

/// Row groups (of 8 rows) walked together: independent gathers overlap.
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

/// The node fields at level `k` for m (see above): levels 0-2 by a permute of the tree's first
/// eight nodes shifted by one (`top*`: lane j holds node j - 1), levels 3-5 by `pickLevel`
/// where `byPermute[k]` (the caller checked that the loads stay inside the tree), else by gather.
AVX2 static inline void booster_node(const int32_t *f, const float *s, int k, int byPermute, __m256i topCode, __m256 topSplit,
                                     __m256i m, __m256i *code, __m256 *split) {
    if (!byPermute) {
        const __m256i i = _mm256_sub_epi32(m, _mm256_set1_epi32(1));
        *code = _mm256_i32gather_epi32(f, i, 4);
        *split = _mm256_i32gather_ps(s, i, 4);
    } else if (k < 3) {
        *code = _mm256_permutevar8x32_epi32(topCode, m);
        *split = _mm256_permutevar8x32_ps(topSplit, m);
    } else {
        const int first = (1 << k) - 1;
        *code = _mm256_castps_si256(pickLevel(f + first, m, k - 3));
        *split = pickLevel((const int32_t *)(s + first), m, k - 3);
    }
}

/// One level for one group: m -> 2m + right, right = x >= split, or x missing and the node's
/// default is right: the ordered compare (NaN false) for default-left nodes, the unordered
/// not-less-than (NaN true) for default-right ones (bit 30 of the code, shifted to the sign).
AVX2 static inline __m256i booster_step(__m256i m, __m256i code, __m256 split, const float *rows, __m256i laneOffset) {
    const __m256i column = _mm256_andnot_si256(_mm256_set1_epi32(1 << 30), code);
    const __m256 x = _mm256_i32gather_ps(rows, _mm256_add_epi32(laneOffset, column), 4);
    const __m256 ge = _mm256_cmp_ps(x, split, _CMP_GE_OQ);
    const __m256 notLess = _mm256_cmp_ps(x, split, _CMP_NLT_UQ);
    const __m256i right = _mm256_castps_si256(_mm256_blendv_ps(ge, notLess, _mm256_castsi256_ps(_mm256_slli_epi32(code, 1))));
    // right is 0 or -1.
    return _mm256_sub_epi32(_mm256_add_epi32(m, m), right);
}

/// `groups` groups of 8 rows (starting at `rows`, `columns` floats each) through every tree.
AVX2 static inline void booster_groups(const rtw_booster *b, const float *rows, size_t columns, float *acc,
                                       int groups, const int *byPermute) {
    const int depth = b->depth;
    const size_t internal = ((size_t)1 << depth) - 1, leaves = (size_t)1 << depth;
    const __m256i laneOffset = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)columns));
    const __m256i leafOffset = _mm256_set1_epi32((int)leaves);  // leaf index = m - 2^depth
    const __m256i shiftUp = _mm256_setr_epi32(7, 0, 1, 2, 3, 4, 5, 6);
    __m256 sum[BOOSTER_GROUPS];
    for (int g = 0; g < groups; g++) sum[g] = _mm256_loadu_ps(acc + 8 * g);
    for (int32_t t = 0; t < b->trees; t++) {
        const int32_t *f = b->feature + (size_t)t * internal;
        const float *s = b->split + (size_t)t * internal;
        const float *l = b->leaf + (size_t)t * leaves;
        __m256i topCode = _mm256_setzero_si256();
        __m256 topSplit = _mm256_setzero_ps();
        if (byPermute[0]) {
            topCode = _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)f), shiftUp);
            topSplit = _mm256_permutevar8x32_ps(_mm256_loadu_ps(s), shiftUp);
        }
        __m256i m[BOOSTER_GROUPS];
        for (int g = 0; g < groups; g++) m[g] = _mm256_set1_epi32(1);
        for (int k = 0; k < depth; k++) {
            for (int g = 0; g < groups; g++) {
                __m256i code;
                __m256 split;
                booster_node(f, s, k, byPermute[k], topCode, topSplit, m[g], &code, &split);
                m[g] = booster_step(m[g], code, split, rows + (size_t)g * 8 * columns, laneOffset);
            }
        }
        // (The leaves by permute and blends, like the top levels' nodes, measured 3% slower.)
        for (int g = 0; g < groups; g++)
            sum[g] = _mm256_add_ps(sum[g], _mm256_i32gather_ps(l, _mm256_sub_epi32(m[g], leafOffset), 4));
    }
    for (int g = 0; g < groups; g++) _mm256_storeu_ps(acc + 8 * g, sum[g]);
}

AVX2 static void booster_chunk(const rtw_booster *b, const float *rows, size_t count, size_t columns, float *acc,
                               const int *byPermute) {
    size_t r = 0;
    for (; r + 8 * BOOSTER_GROUPS <= count; r += 8 * BOOSTER_GROUPS)
        booster_groups(b, rows + r * columns, columns, acc + r, BOOSTER_GROUPS, byPermute);
    for (; r + 8 <= count; r += 8) booster_groups(b, rows + r * columns, columns, acc + r, 1, byPermute);
}

AVX2 static size_t booster_add(const rtw_booster *b, const double *x, size_t count, size_t columns, float *acc,
                               float *scratch, size_t chunk) {
    const size_t done = count - count % 8;
    if (done == 0 || b->depth <= 0 || b->depth > 24 || b->trees <= 0 || chunk < 8 || columns > (1u << 24)) return 0;
    chunk -= chunk % 8;
    // Which levels read their nodes by permute: levels 0-2 from the tree's first eight nodes,
    // level k = 3 to 5 from its 2^k nodes starting at 2^k - 1; the loads must lie inside the
    // tree's internal nodes.
    int byPermute[32] = {0};
    const size_t internal = ((size_t)1 << b->depth) - 1;
    for (int k = 0; k < b->depth && k < 32; k++) {
        const size_t width = (size_t)1 << k, first = width - 1;
        byPermute[k] = !NO_PERMUTE && (k < 3 ? 8 <= internal : width <= 32 && first + width <= internal);
    }
    for (size_t start = 0; start < done; start += chunk) {
        const size_t n = done - start < chunk ? done - start : chunk;
        // Each value as a float, converted once per chunk (the Swift walk converts it at
        // each comparison: the same rounding).
        const double *src = x + start * columns;
        for (size_t i = 0; i < n * columns; i++) scratch[i] = (float)src[i];
        booster_chunk(b, scratch, n, columns, acc + start, byPermute);
    }
    return done;
}

size_t rtw_booster_add_avx2(const rtw_booster *b, const double *x, size_t count, size_t columns, float *acc,
                            float *scratch, size_t chunk) {
    if (!rtw_cpu_supports_avx2()) return 0;
    return booster_add(b, x, count, columns, acc, scratch, chunk);
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
        __m256 topValue = _mm256_setzero_ps();
        if (byPermute[0]) {
            topCode = _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)f), shiftUp);
            topValue = _mm256_permutevar8x32_ps(_mm256_loadu_ps(v), shiftUp);
        }
        __m256i m[BOOSTER_GROUPS];
        for (int g = 0; g < groups; g++) m[g] = _mm256_set1_epi32(1);
        for (int k = 0; k < depth; k++) {
            for (int g = 0; g < groups; g++) {
                __m256i code;
                __m256 value;
                booster_node(f, v, k, byPermute[k], topCode, topValue, m[g], &code, &value);
                m[g] = forest_float_step(m[g], code, value, rows + (size_t)g * 8 * columns, laneOffset);
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

#else  // not x86-64: no vector kernels; the Swift walk does everything.

size_t rtw_forest_add_float_avx2(const rtw_forest_float *f, const float *x, size_t count, size_t columns, double *sum) {
    (void)f; (void)x; (void)count; (void)columns; (void)sum;
    return 0;
}


int rtw_cpu_supports_avx2(void) { return 0; }

size_t rtw_booster_add_avx2(const rtw_booster *b, const double *x, size_t count, size_t columns, float *acc,
                            float *scratch, size_t chunk) {
    (void)b; (void)x; (void)count; (void)columns; (void)acc; (void)scratch; (void)chunk;
    return 0;
}

size_t rtw_forest_add_avx2(const rtw_forest *f, const double *x, size_t count, size_t columns, double *sum, size_t chunk) {
    (void)f; (void)x; (void)count; (void)columns; (void)sum; (void)chunk;
    return 0;
}

#endif
