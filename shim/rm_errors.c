/*
 * rm_errors.c: result codes, their names, the per-client error state, and the library version.
 */
#include <stdio.h>
#include <string.h>

#include "rm_internal.h"

const char *readmit_version(void) { return READMIT_VERSION; }

int readmit_version_number(void) { return READMIT_VERSION_NUMBER; }

const char *readmit_strerror(int code) {
    switch (code) {
    case READMIT_OK: return "READMIT_OK: success";
    case READMIT_EBADMAGIC: return "READMIT_EBADMAGIC: the daemon did not recognise the request magic";
    case READMIT_EBADVERSION: return "READMIT_EBADVERSION: the daemon does not speak this protocol version";
    case READMIT_EBADOP: return "READMIT_EBADOP: the daemon does not know the operation";
    case READMIT_EBADFRAMES: return "READMIT_EBADFRAMES: wrong number or size of request frames";
    case READMIT_EBADPAYLOAD: return "READMIT_EBADPAYLOAD: feature matrix size is not n_rows * n_cols * 8 bytes";
    case READMIT_EBADCOLUMNS: return "READMIT_EBADCOLUMNS: n_cols differs from the model's feature count";
    case READMIT_EBADVALUE: return "READMIT_EBADVALUE: a feature value is not finite";
    case READMIT_EBADCATEGORY: return "READMIT_EBADCATEGORY: a categorical value is not a level index";
    case READMIT_ETOOMANYROWS: return "READMIT_ETOOMANYROWS: more rows than the daemon accepts";
    case READMIT_ENOTREADY: return "READMIT_ENOTREADY: the daemon has no model loaded";
    case READMIT_EOVERLOADED: return "READMIT_EOVERLOADED: the daemon is overloaded; retry later";
    case READMIT_ERELOADFAILED: return "READMIT_ERELOADFAILED: the model could not be reloaded";
    case READMIT_EFORBIDDEN: return "READMIT_EFORBIDDEN: operation not allowed by the daemon";
    case READMIT_EBADARGUMENT: return "READMIT_EBADARGUMENT: the daemon rejected an argument";
    case READMIT_EINTERNAL: return "READMIT_EINTERNAL: internal error in the daemon";
    case READMIT_EINVAL: return "READMIT_EINVAL: invalid argument";
    case READMIT_ENOMEM: return "READMIT_ENOMEM: out of memory";
    case READMIT_ETIMEDOUT: return "READMIT_ETIMEDOUT: no reply within the timeout";
    case READMIT_EZMQ: return "READMIT_EZMQ: ZeroMQ error";
    case READMIT_EPROTO: return "READMIT_EPROTO: malformed reply";
    case READMIT_ETOOBIG: return "READMIT_ETOOBIG: reply larger than the maximum reply size";
    case READMIT_ERANGE: return "READMIT_ERANGE: buffer too small";
    case READMIT_ESTATUS: return "READMIT_ESTATUS: unknown status code from the daemon";
    case READMIT_ENOTFOUND: return "READMIT_ENOTFOUND: index out of range";
    case READMIT_EUNAVAILABLE: return "READMIT_EUNAVAILABLE: no daemon at the endpoint";
    case READMIT_EINTERRUPTED: return "READMIT_EINTERRUPTED: the call was interrupted";
    case READMIT_EAUTH: return "READMIT_EAUTH: the daemon refused the client's security handshake";
    default: return "unknown readmit result code";
    }
}

int rm_fail(readmit_client *client, int code, const char *fmt, ...) {
    if (!client) return code;
    client->errcode = code;
    client->error_row = -1;
    client->error_feature = -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(client->errmsg, sizeof client->errmsg, fmt, ap);
    va_end(ap);
    return code;
}

/* The message of the thread's last failed call without a client (readmit_open_errmsg). */
#if defined(_MSC_VER)
static __declspec(thread) char rm_open_errmsg[512];
#else
static _Thread_local char rm_open_errmsg[512];
#endif

int rm_fail_open(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rm_open_errmsg, sizeof rm_open_errmsg, fmt, ap);
    va_end(ap);
    return code;
}

const char *readmit_open_errmsg(void) { return rm_open_errmsg; }

int rm_ok(readmit_client *client) {
    client->errcode = READMIT_OK;
    client->error_row = -1;
    client->error_feature = -1;
    client->errmsg[0] = '\0';
    return READMIT_OK;
}

const char *readmit_errmsg(const readmit_client *client) {
    if (!client) return "no client (NULL; readmit_open failed or was not called)";
    return client->errmsg;
}

int readmit_errcode(const readmit_client *client) {
    return client ? client->errcode : READMIT_EINVAL;
}

int readmit_error_row(const readmit_client *client) { return client ? client->error_row : -1; }

int readmit_error_feature(const readmit_client *client) {
    return client ? client->error_feature : -1;
}

uint64_t readmit_last_model_version(const readmit_client *client) {
    return client ? client->last_model_version : 0;
}
