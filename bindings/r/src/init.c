/* Registers the package's .Call routines (R_registerRoutines) and turns off symbol lookup by
 * name, so only these entry points are callable from R. */
#include <R.h>
#include <Rinternals.h>
#include <R_ext/Rdynload.h>
#include "rreadmit.h"

static const R_CallMethodDef call_methods[] = {
    {"rreadmit_json_parse", (DL_FUNC)&rreadmit_json_parse, 1},
    {"rreadmit_connect", (DL_FUNC)&rreadmit_connect, 6},
    {"rreadmit_endpoint_status", (DL_FUNC)&rreadmit_endpoint_status, 1},
    {"rreadmit_close", (DL_FUNC)&rreadmit_close, 1},
    {"rreadmit_is_open", (DL_FUNC)&rreadmit_is_open, 1},
    {"rreadmit_info_json", (DL_FUNC)&rreadmit_info_json, 1},
    {"rreadmit_health", (DL_FUNC)&rreadmit_health, 1},
    {"rreadmit_stats", (DL_FUNC)&rreadmit_stats, 2},
    {"rreadmit_reload", (DL_FUNC)&rreadmit_reload, 2},
    {"rreadmit_score", (DL_FUNC)&rreadmit_score, 3},
    {"rreadmit_score_interval", (DL_FUNC)&rreadmit_score_interval, 2},
    {"rreadmit_explain", (DL_FUNC)&rreadmit_explain, 3},
    {"rreadmit_lib_version", (DL_FUNC)&rreadmit_lib_version, 0},
    {"rreadmit_schema", (DL_FUNC)&rreadmit_schema, 1},
    {"rreadmit_score_records", (DL_FUNC)&rreadmit_score_records, 6},
    {"rreadmit_derive_history", (DL_FUNC)&rreadmit_derive_history, 5},
    {"rreadmit_raw_fields", (DL_FUNC)&rreadmit_raw_fields, 1},
    {"rreadmit_gunzip", (DL_FUNC)&rreadmit_gunzip, 2},
    {NULL, NULL, 0}
};

void R_init_readmit(DllInfo *dll) {
    R_registerRoutines(dll, NULL, call_methods, NULL, NULL);
    R_useDynamicSymbols(dll, FALSE);
    R_forceSymbols(dll, TRUE);
}
