/* Declarations shared by the package's C files (the .Call entry points). */
#ifndef RREADMIT_H
#define RREADMIT_H

#include <Rinternals.h>

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
SEXP rreadmit_assemble(SEXP cols, SEXP spec, SEXP n_levels);

#endif
