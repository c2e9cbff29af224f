/* Declarations shared by the package's C files (the .Call entry points). */
#ifndef RREADMIT_H
#define RREADMIT_H

#include <stdint.h>
#include <Rinternals.h>
#include "readmit.h"

SEXP rreadmit_json_parse(SEXP text);
SEXP rreadmit_connect(SEXP endpoints, SEXP timeout_ms, SEXP retries, SEXP curve,
                      SEXP max_reply_bytes);
SEXP rreadmit_close(SEXP xp);
SEXP rreadmit_is_open(SEXP xp);
SEXP rreadmit_info_json(SEXP xp);
SEXP rreadmit_health(SEXP xp);
SEXP rreadmit_stats(SEXP xp, SEXP prometheus);
SEXP rreadmit_reload(SEXP xp, SEXP path);
SEXP rreadmit_score(SEXP xp, SEXP x, SEXP full);
SEXP rreadmit_explain(SEXP xp, SEXP x, SEXP k);
SEXP rreadmit_lib_version(void);
SEXP rreadmit_assemble(SEXP cols, SEXP spec, SEXP n_levels, SEXP row_major, SEXP names);
SEXP rreadmit_distinct(SEXP cols);
SEXP rreadmit_history(SEXP order, SEXP patient, SEXP los, SEXP inpatient, SEXP home,
                      SEXP within30);
SEXP rreadmit_score_columns(SEXP xp, SEXP cols, SEXP spec, SEXP n_levels, SEXP full);
SEXP rreadmit_score_records(SEXP xp, SEXP names, SEXP cols, SEXP n_rows, SEXP k, SEXP options);
SEXP rreadmit_raw_fields(SEXP xp);

/* Shared by the glue files (src/rreadmit.c): the open client behind a handle (or an R error),
 * a "readmit_failure" list describing a failed library call, and a model version in hex. */
readmit_client *rreadmit_get_client(SEXP xp);
SEXP rreadmit_failure(const readmit_client *c, int rc, const char *fallback);
SEXP rreadmit_hex_version(uint64_t v);

/* Feature columns prepared in R (src/rreadmit_assemble.c): checks them and returns the row
 * count, or raises an R error. */
R_xlen_t rreadmit_columns_check(SEXP cols, SEXP spec, SEXP n_levels);
/* Writes the columns into `base` (column-major, or row-major when `row_major`), counting
 * missing and unseen values per feature into `missing` and `unseen`. Level columns may be
 * keyed (list(x, keys, codes)); see src/rreadmit_assemble.c. */
void rreadmit_columns_write(SEXP cols, SEXP spec, SEXP n_levels, double *base, int row_major,
                            int *missing, int *unseen);

#endif
