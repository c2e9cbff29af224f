/* The six history features of docs/FEATURES.md (R/encode.R, history_columns) from the rows
 * sorted by patient and encounter (the order is computed in R, with order(), so ties keep
 * file order exactly as before). One pass over the sorted rows instead of a dozen vectorised R
 * operations (each allocating a vector of every row) and a matrix scatter. */
#include <limits.h>
#include <R.h>
#include <Rinternals.h>
#include "rreadmit.h"

/* dst[k] = x[o[k] - 1] as a double (NA stays NA), for a double, integer or logical vector. The
 * type is looked at once: REAL() and INTEGER() are function calls in package code. */
static void gather(SEXP x, const int *o, R_xlen_t n, double *dst) {
    if (TYPEOF(x) == REALSXP) {
        const double *v = REAL(x);
        for (R_xlen_t k = 0; k < n; k++) dst[k] = v[o[k] - 1];
    } else {
        const int *v = TYPEOF(x) == INTSXP ? INTEGER(x) : LOGICAL(x);
        for (R_xlen_t k = 0; k < n; k++) {
            int i = v[o[k] - 1];
            dst[k] = i == NA_INTEGER ? NA_REAL : (double)i;
        }
    }
}

static int numeric_vector(SEXP x) {
    return TYPEOF(x) == REALSXP || TYPEOF(x) == INTSXP || TYPEOF(x) == LGLSXP;
}

/* order: 1-based rows sorted by (patient, encounter); patient: the ids (no NA); los, inpatient:
 * time_in_hospital and number_inpatient (NA allowed); home: 1 where the stay ended at home, else
 * 0; within30: 1 where the stay was followed by a readmission within 30 days, else 0, or NULL
 * when the label is absent. Returns the six features as double vectors in file order:
 * prior_encounters, prior_days_in_hospital (earlier stays, NA counted as 0), prev_number_inpatient,
 * prev_time_in_hospital, prev_discharged_home, prior_readmitted_within_30.
 *
 * The sums run over each patient's earlier rows in order, accumulated in long double and
 * rounded per row, exactly as R's cumsum() (which the R version of this code used) does. */
SEXP rreadmit_history(SEXP order, SEXP patient, SEXP los, SEXP inpatient, SEXP home,
                      SEXP within30) {
    R_xlen_t n = XLENGTH(order);
    int have30 = !Rf_isNull(within30);
    if (TYPEOF(order) != INTSXP || !numeric_vector(patient) || !numeric_vector(los) ||
        !numeric_vector(inpatient) || !numeric_vector(home) ||
        (have30 && !numeric_vector(within30)) || XLENGTH(patient) != n || XLENGTH(los) != n ||
        XLENGTH(inpatient) != n || XLENGTH(home) != n || (have30 && XLENGTH(within30) != n))
        Rf_error("history: bad arguments");
    if (n > INT_MAX) Rf_error("too many rows");
    const int *o = INTEGER(order);
    for (R_xlen_t k = 0; k < n; k++)
        if (o[k] < 1 || o[k] > n) Rf_error("history: bad order");

    const char *names[] = {"prior_encounters", "prior_days_in_hospital", "prev_number_inpatient",
                           "prev_time_in_hospital", "prev_discharged_home",
                           "prior_readmitted_within_30", ""};
    SEXP out = PROTECT(Rf_mkNamed(VECSXP, names));
    double *h[6];
    for (int f = 0; f < 6; f++) {
        SET_VECTOR_ELT(out, f, Rf_allocVector(REALSXP, n));
        h[f] = REAL(VECTOR_ELT(out, f));
    }
    /* In sorted order first (one random gather per input, sequential work, then one random
     * scatter per feature): each random pass then touches one array only, which stays in cache. */
    double *sp = (double *)R_alloc(n > 0 ? (size_t)n : 1, sizeof(double));
    double *sv = (double *)R_alloc(n > 0 ? (size_t)n : 1, sizeof(double));
    int *first = (int *)R_alloc(n > 0 ? (size_t)n : 1, sizeof(int));
    gather(patient, o, n, sp);
    for (R_xlen_t k = 0; k < n; k++) first[k] = k == 0 || sp[k] != sp[k - 1];
    /* prior_encounters */
    double pos = 0;
    for (R_xlen_t k = 0; k < n; k++) {
        if (first[k]) pos = 0;
        h[0][o[k] - 1] = pos;
        pos += 1;
    }
    /* prev_*: the value of the previous sorted row of the same patient. */
    SEXP prev_of[3] = {inpatient, los, home};
    for (int f = 0; f < 3; f++) {
        gather(prev_of[f], o, n, sv);
        double *out = h[2 + f];
        for (R_xlen_t k = 0; k < n; k++) out[o[k] - 1] = first[k] ? NA_REAL : sv[k - 1];
    }
    /* prior sums: prior_days_in_hospital (NA stays count 0), prior_readmitted_within_30. */
    SEXP sum_of[2] = {los, within30};
    double *sum_out[2] = {h[1], h[5]};
    for (int f = 0; f < 2; f++) {
        double *out = sum_out[f];
        if (f == 1 && !have30) {
            for (R_xlen_t k = 0; k < n; k++) out[k] = NA_REAL;
            continue;
        }
        gather(sum_of[f], o, n, sv);
        long double acc = 0;
        for (R_xlen_t k = 0; k < n; k++) {
            if (first[k]) acc = 0;
            out[o[k] - 1] = (double)acc;
            if (!ISNAN(sv[k])) acc += sv[k];
        }
    }
    UNPROTECT(1);
    return out;
}
