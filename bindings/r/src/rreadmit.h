/* Declarations shared by the package's C files (the .Call entry points). */
#ifndef RREADMIT_H
#define RREADMIT_H

#include <stdint.h>
#include <Rinternals.h>
#include "readmit.h"

SEXP rreadmit_json_parse(SEXP text);
SEXP rreadmit_connect(SEXP endpoints, SEXP timeout_ms, SEXP retries, SEXP curve,
                      SEXP max_reply_bytes, SEXP split_rows);
SEXP rreadmit_endpoint_status(SEXP xp);
SEXP rreadmit_close(SEXP xp);
SEXP rreadmit_is_open(SEXP xp);
SEXP rreadmit_info_json(SEXP xp);
SEXP rreadmit_health(SEXP xp);
SEXP rreadmit_stats(SEXP xp, SEXP prometheus);
SEXP rreadmit_reload(SEXP xp, SEXP path);
SEXP rreadmit_score(SEXP xp, SEXP x, SEXP full);
SEXP rreadmit_score_interval(SEXP xp, SEXP x);
SEXP rreadmit_explain(SEXP xp, SEXP x, SEXP k);
SEXP rreadmit_lib_version(void);
SEXP rreadmit_schema(SEXP xp);
SEXP rreadmit_score_records(SEXP xp, SEXP names, SEXP cols, SEXP n_rows, SEXP k, SEXP options);
SEXP rreadmit_derive_history(SEXP xp, SEXP names, SEXP cols, SEXP n_rows, SEXP options);
SEXP rreadmit_raw_fields(SEXP xp);
SEXP rreadmit_gunzip(SEXP input, SEXP limit);

/* Shared by the glue files (src/rreadmit.c): the open client behind a handle (or an R error),
 * a "readmit_failure" list describing a failed library call, and a model version in hex. */
readmit_client *rreadmit_get_client(SEXP xp);
/* The batch the client kept in `slot` (0: the call's batch; 1: the one a large frame's second
 * part is filled into) from its last raw-records call, cleared, when it has n_rows rows (the
 * client keeps none until it is given back: an R error in between frees it with its owner),
 * else NULL; and the giving back (cleared and kept, or freed when its n_rows by n_columns
 * cells pass 128 MiB at 8 bytes each). A new batch per call took fresh memory for every
 * field: about 3,000 page faults per 100,000-row call. */
readmit_records *rreadmit_take_batch(SEXP xp, size_t n_rows, int slot);
void rreadmit_keep_batch(SEXP xp, readmit_records *records, size_t n_rows, size_t n_columns, int slot);

/* Sets the columns `cols` (checked: numbers, integers, factors or character vectors of n
 * rows each) named `names` in `recs` (src/rreadmit_fill.c); a frame of 16,384 rows or more
 * is filled on two threads. `client` (a client handle, or R_NilValue) lends its kept second
 * batch. Returns a library code; on failure rreadmit_fill_failure gives the message (and the
 * 0-based row, -1 for none) to report, or NULL when `recs`'s own message says it. */
int rreadmit_set_columns(SEXP client, readmit_records *recs, SEXP names, SEXP cols, size_t n);
const char *rreadmit_fill_failure(int *row);
void rreadmit_fill_failure_clear(void);
SEXP rreadmit_failure(const readmit_client *c, int rc, const char *fallback);
SEXP rreadmit_hex_version(uint64_t v);

#endif
