/*
 * rm_internal.h: private declarations shared by the libreadmit sources (not installed).
 *
 * The shim is split by concept: rm_wire.c (byte layout of the protocol), rm_json.c (a small
 * JSON reader for INFO/HEALTH/RECORDS), rm_transport.c (the REQ socket, timeouts, Lazy Pirate
 * retry and reply validation), rm_schema.c (the cached feature schema and raw fields),
 * rm_client.c (the public calls), rm_records.c (the raw-records batch, its RECORDS and HISTORY
 * requests), rm_result.c (the RECORDS and HISTORY replies: validation and the result accessors) and rm_errors.c (codes,
 * messages, version). All are plain C11 over libzmq and libc.
 */
#ifndef RM_INTERNAL_H
#define RM_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <zmq.h>

#include "readmit.h"

/* ---- wire protocol constants (docs/PROTOCOL.md) ---- */
#define RM_REQ_HEADER_SIZE 16
#define RM_REP_HEADER_SIZE 24
#define RM_OP_SCORE 1
#define RM_OP_EXPLAIN 2
#define RM_OP_INFO 3
#define RM_OP_HEALTH 4
#define RM_OP_STATS 5
#define RM_OP_RELOAD 6
#define RM_OP_RECORDS 7
#define RM_OP_HISTORY 8
#define RM_STATUS_MAX_KNOWN 15
/* The most history fields a HISTORY reply may carry (a model with more is refused as EPROTO). */
#define RM_MAX_HISTORY_FIELDS 64
/* Request flag bit 1 on SCORE, option bit 2 on RECORDS: the reply carries risk intervals. */
#define RM_FLAG_INTERVAL 0x2u
/* A valid reply never has more frames than this (RECORDS: header + 7; HISTORY: header, counts,
 * a name and a values frame per history field, JSON). */
#define RM_MAX_FRAMES (3 + 2 * RM_MAX_HISTORY_FIELDS)
/* Request payloads at least this big are sent without copying (see rm_transport.c). */
#define RM_ZERO_COPY_MIN_BYTES ((size_t)64 * 1024)

/* ---- little-endian byte access (rm_wire.c) ---- */
void rm_put_u16(unsigned char *p, uint16_t v);
void rm_put_u32(unsigned char *p, uint32_t v);
void rm_put_u64(unsigned char *p, uint64_t v);
uint16_t rm_get_u16(const unsigned char *p);
uint32_t rm_get_u32(const unsigned char *p);
int32_t rm_get_i32(const unsigned char *p);
uint64_t rm_get_u64(const unsigned char *p);
/* 1 when doubles are stored little-endian on this host (then no byte swapping is needed). */
int rm_host_is_little_endian(void);
/* Copies n float64 values between host order and little-endian wire order (either way). */
void rm_copy_f64_le(void *dst, const void *src, size_t n);
/* Copies n int32 values from little-endian wire order to host order. */
void rm_copy_i32_le(int32_t *dst, const void *src, size_t n);
/* Builds a 16-byte request header. */
void rm_build_request_header(unsigned char out[RM_REQ_HEADER_SIZE], uint8_t op, uint16_t flags,
                             uint64_t request_id);

/* ---- JSON (rm_json.c): a small DOM, enough for the INFO and HEALTH replies ---- */
typedef enum { RM_JSON_NULL, RM_JSON_BOOL, RM_JSON_NUMBER, RM_JSON_STRING, RM_JSON_ARRAY,
               RM_JSON_OBJECT } rm_json_type;

typedef struct rm_json rm_json;
struct rm_json {
    rm_json_type type;
    int boolean;
    double number;
    char *string;     /* NUL-terminated UTF-8 (RM_JSON_STRING) */
    size_t length;    /* number of items (array) or members (object) */
    rm_json **items;  /* array items, or object values */
    char **keys;      /* object keys */
    void *arena;      /* the root only: the blocks every node and string of the tree lie in */
};

/* Parses `len` bytes of JSON text (not NUL-terminated). Returns NULL on malformed input or out
 * of memory; *err (may be NULL) then gets a static reason. */
rm_json *rm_json_parse(const char *text, size_t len, const char **err);
/* Frees a tree returned by rm_json_parse (its root; NULL is a no-op). */
void rm_json_free(rm_json *root);
/* The member `key` of an object, or NULL. */
const rm_json *rm_json_get(const rm_json *object, const char *key);

/* ---- cached schema (rm_schema.c) ---- */
typedef struct {
    char *name;
    char *source;
    int kind; /* READMIT_FEATURE_* */
    size_t n_levels;
    char **levels;
} rm_feature;

/* One entry of INFO's "raw_fields". */
typedef struct {
    char *name;
    int type;     /* READMIT_FIELD_* */
    int required; /* 1 or 0 */
    int history;  /* 1 or 0 */
    size_t n_levels;
    char **levels;
} rm_raw_field;

typedef struct {
    size_t n_features;
    rm_feature *features;
    uint64_t model_version;
    size_t n_raw_fields;
    rm_raw_field *raw_fields;
    /* Why "raw_fields" could not be read (static text), or NULL. A bad "raw_fields" fails only
     * the raw-field calls, not the feature schema. */
    const char *raw_error;
    /* INFO "interval": 1 an object (the model has risk intervals), 0 null or absent, -1 neither. */
    int has_interval;
} rm_schema;

/* Builds the schema from INFO JSON text. Returns READMIT_OK, READMIT_EPROTO (with a reason in
 * *err) or READMIT_ENOMEM. */
int rm_schema_from_info(const char *json, size_t len, rm_schema **out, const char **err);
void rm_schema_free(rm_schema *schema);

/* ---- client state ---- */
struct readmit_options {
    int timeout_ms;
    int retries;
    size_t max_reply_bytes;
    size_t n_endpoints;
    char **endpoints;
    int curve;
    char server_public_key[41];
    char client_public_key[41];
    char client_secret_key[41];
    readmit_interrupt_fn interrupt;
    void *interrupt_user;
    size_t split_rows;
};

/* One received reply: header fields and the frames after the header. */
typedef struct {
    uint8_t op;
    uint16_t status;
    uint64_t request_id;
    uint64_t model_version;
    size_t n_frames;                 /* frames after the header */
    zmq_msg_t frames[RM_MAX_FRAMES]; /* frames[0] is the header, 1..n_frames the rest */
    int held;                        /* number of initialised messages in frames[] */
} rm_reply;

/* An empty reply: its header fields zeroed, no frame held. The frames array (about 8 KiB) is
 * not cleared: only frames[0 .. held) are ever read, and a memset of it on every call showed
 * in a one-row request's client profile. */
static inline void rm_reply_init(rm_reply *reply) {
    reply->op = 0;
    reply->status = 0;
    reply->request_id = 0;
    reply->model_version = 0;
    reply->n_frames = 0;
    reply->held = 0;
}

/* What the socket monitor has said about the REQ socket's connection (rm_transport.c). */
typedef struct {
    int up;             /* a connection is established (CONNECTED, no DISCONNECTED since) */
    int failed;         /* a connection attempt failed since the last CONNECTED */
    int skip_retry;     /* the next CONNECT_RETRIED only schedules a reconnect (after a drop) */
    int lost;           /* a connection dropped since the last CONNECTED */
    int closed;         /* the attempt under way opened a socket (CLOSED before CONNECT_RETRIED) */
    int64_t since_ms;   /* when the current connection attempt began (to tell refusal from silence) */
    int refused;        /* the security handshake failed for good (READMIT_EAUTH); reason says how */
    int handshake_drops; /* CURVE handshakes the daemon closed without a word, in a row */
    int ready;          /* the current connection's ZeroMQ handshake succeeded */
    int handshake_said; /* a handshake event (failed or succeeded) came for the current connection */
    unsigned drops;     /* connections that dropped after their handshake succeeded */
    char reason[200];   /* why the endpoint is unavailable (failed) or refused us (refused) */
} rm_link;

/* One endpoint of a client (rm_transport.c): its REQ socket and what is known of its daemon.
 * A peer is in rotation unless it is down (suspect: its connection failed or dropped, or a
 * request found nothing there; it leaves that state when a connection succeeds again) or held
 * (a request timed out there: not chosen again before hold_until while another peer can be). */
typedef struct {
    void *socket;           /* NULL until needed, after a failure, and while down */
    void *monitor;          /* PAIR socket receiving the REQ socket's monitor events */
    rm_link link;
    int suspect;            /* down: taken out of rotation until a connection succeeds */
    int64_t retry_at;       /* a down peer's socket is reopened (probed) no sooner than this */
    int64_t hold_until;     /* after a timeout: not chosen before this while others are in rotation */
    uint64_t requests;      /* requests (or chunks) answered by this endpoint */
    uint64_t failures;      /* attempts that failed here (unavailable or timed out) */
    int awaiting;           /* a request is out: a connection drop from now on loses it */
    unsigned drops_at_send; /* link.drops when that request was sent */
    int lost_request;       /* the last attempt here ended with its connection dropped */
} rm_peer;

struct readmit_client {
    void *context;
    pid_t owner_pid;        /* the process whose ZeroMQ objects these are (see rm_transport_adopt) */
    unsigned monitor_seq;   /* makes each monitor's inproc address unique in the context */
    readmit_interrupt_fn interrupt;
    void *interrupt_user;
    char **endpoints;
    size_t n_endpoints;
    rm_peer *peers;         /* n_endpoints peers, one per endpoint */
    size_t current;         /* index of the endpoint of the attempt under way */
    size_t next_peer;       /* round robin: where the next choice starts */
    size_t split_rows;      /* > 0: batches of more rows are split over the endpoints */
    int64_t deadline_cap;   /* > 0: rm_transport_call ends by then (a split call's fallback) */
    int timeout_ms;
    int retries;
    size_t max_reply_bytes;
    int curve;
    char server_public_key[41];
    char client_public_key[41];
    char client_secret_key[41];
    uint64_t next_request_id;
    int errcode;
    int error_row;
    int error_feature;
    uint64_t last_model_version;
    rm_schema *schema;
    char errmsg[1024];
};

/* ---- errors (rm_errors.c) ---- */
/* Records an error on the client (formatted message) and returns `code`. */
int rm_fail(readmit_client *client, int code, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Records success on the client and returns READMIT_OK. */
int rm_ok(readmit_client *client);
/* Records the message of a failed call that has no client (readmit_open*, readmit_options_*)
 * for readmit_open_errmsg, and returns `code`. */
int rm_fail_open(int code, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Checks an endpoint's form: 1 if valid, else 0 with the reason in why (a full sentence
 * naming the endpoint). */
int rm_endpoint_valid(const char *endpoint, char *why, size_t why_size);

/* ---- transport (rm_transport.c) ---- */
/* A request: the op, its flags and the payload frames after the header (n_parts pointers and
 * sizes; parts of RM_ZERO_COPY_MIN_BYTES or more are sent without a copy and must stay valid
 * until rm_transport_call returns, unless `copy` is set: then every part is copied). */
typedef struct {
    uint8_t op;
    uint16_t flags;
    size_t n_parts;
    const void *const *parts;
    const size_t *sizes;
    int copy;
} rm_request;

/* Whether a tcp endpoint's host is a bracketed IPv6 address (tcp://[::1]:5555): its socket
 * needs ZMQ_IPV6. */
int rm_endpoint_is_ipv6(const char *endpoint);

/* Allocates the client's peers and opens a socket to every endpoint (connecting in the
 * background). */
int rm_transport_connect(readmit_client *client);
/* In a process forked from the one that opened the client, forgets the ZeroMQ context and
 * sockets inherited from the parent (without touching them) so that the next request opens
 * this process's own; a no-op in the owning process. */
void rm_transport_adopt(readmit_client *client);
/* Closes every socket (discarding anything pending). */
void rm_transport_disconnect(readmit_client *client);
/* Sends `req` and receives a validated reply (header checked: magic, version, op, request id;
 * size limit; error replies decoded into the client's error state and returned as their code).
 * On READMIT_OK the caller owns `reply` and must call rm_reply_close. With several endpoints
 * the request goes to the next endpoint in rotation and, where it fails (unavailable, timed
 * out, not ready or overloaded), to another. Retries per the client's options; never waits
 * longer than (retries + 1) * timeout_ms. */
int rm_transport_call(readmit_client *client, const rm_request *req, rm_reply *reply);

/* A batch cut into chunks for rm_transport_split. build() makes chunk i's request (every part
 * copied when sent: set req->copy) and *owned, what release() frees once it is sent; take()
 * reads chunk i's validated success reply (READMIT_OK, or an error recorded on the client). */
typedef struct {
    size_t n_chunks;
    void *ctx;
    int (*build)(readmit_client *client, void *ctx, size_t chunk, rm_request *req, void **owned);
    void (*release)(void *owned);
    int (*take)(readmit_client *client, void *ctx, size_t chunk, const rm_reply *reply);
} rm_split_job;
/* rm_transport_split's answer when the batch must be sent whole instead (see rm_split_call). */
#define RM_SPLIT_WHOLE (-1)
/* 1 when a batch of n_rows rows is to be split: split_rows set, n_rows above it, and at least
 * two endpoints in rotation. */
int rm_split_wanted(readmit_client *client, size_t n_rows);
/* Sends the chunks of `job` to the endpoints in rotation at once (one chunk in flight per
 * endpoint; an endpoint that answers gets the next chunk) and hands each reply to take().
 * A chunk that fails on one endpoint (unavailable, timed out) is sent to another. Returns
 * READMIT_OK when every chunk was answered by the same model version; READMIT_EINTERRUPTED or
 * READMIT_ENOMEM; or RM_SPLIT_WHOLE when the batch must be sent whole: a daemon refused a
 * chunk (a daemon error names a row of its chunk: only the whole batch reports it as one
 * daemon would), chunks came from different model versions (a reload under way), a reply was
 * malformed, or no endpoint could take the chunks in time. Then client->deadline_cap holds the
 * end of the call's time, for the whole-batch request. */
int rm_transport_split(readmit_client *client, uint8_t op, const rm_split_job *job);
void rm_reply_close(rm_reply *reply);
/* Validates a received reply (frames[0..n_frames] held): header size, magic, version, op and
 * request id; an error reply is decoded into the client's error state and its code returned.
 * On any result but READMIT_OK the reply is closed. Touches no socket (the fuzz target calls
 * it on frames built in memory). */
int rm_reply_validate(readmit_client *client, uint8_t op, uint64_t id, rm_reply *reply);
/* Validates that the reply has exactly `n` frames after the header. */
int rm_reply_expect_frames(readmit_client *client, const rm_reply *reply, size_t n);

/* ---- client helpers shared by rm_client.c and rm_records.c ---- */
/* Fetches INFO if nothing is cached yet (the schema is then client->schema). */
int rm_schema_ensure(readmit_client *client);

/* ---- SCORE reply (rm_client.c) ---- */
/* Validates a SCORE success reply for a request of n_rows rows (4 frames; 6 with `interval`:
 * sizes, and each interval ordered within [0, 1]) and copies it into the outputs that are not
 * NULL (room for n_rows each). Touches no socket. Returns READMIT_OK or READMIT_EPROTO
 * (recorded on the client). */
int rm_score_from_reply(readmit_client *client, const rm_reply *reply, size_t n_rows, int interval,
                        double *risk, double *atypicality, uint8_t *tier, double *low, double *high);

/* ---- RECORDS reply (rm_result.c) ---- */
/* Validates a RECORDS success reply (frames 1..5, and 6..7 with `interval`) against the
 * request's n_rows and k and builds the result. Returns READMIT_OK, READMIT_EPROTO (recorded on
 * the client) or READMIT_ENOMEM. */
int rm_result_from_reply(readmit_client *client, const rm_reply *reply, size_t n_rows, size_t k,
                         int interval, readmit_result **out);
/* Joins the results of consecutive chunks of one batch (n results, in row order) into one, as
 * one daemon would have answered the whole batch: rows in order, the messages about the whole
 * request (row -1) once, from the first chunk, then each chunk's row messages with their rows
 * moved by the chunk's first row. Takes ownership of nothing (the parts stay the caller's).
 * Returns READMIT_OK or READMIT_ENOMEM (recorded). */
int rm_result_concat(readmit_client *client, readmit_result *const *parts, size_t n, readmit_result **out);
/* Builds a messages-only result (HISTORY) from the reply's JSON frame: every row unscored,
 * has_error from the error messages, `fields` (n_fields names, copied) the history fields set.
 * Returns READMIT_OK, READMIT_EPROTO (recorded) or READMIT_ENOMEM. */
int rm_result_from_messages(readmit_client *client, const char *json, size_t json_len, size_t n_rows,
                            uint64_t model_version, const char *const *fields, const size_t *field_lens,
                            size_t n_fields, readmit_result **out);

/* ---- RECORDS request (rm_records.c) ---- */
/* The values frame that text column `field` of `records` sends for rows first .. first +
 * n_rows - 1 (malloc'd, *size bytes; NULL when there is no such text column or rows, or out of
 * memory): for the C tests, which compare it with the protocol's layout byte for byte. */
unsigned char *rm_records_text_frame(const readmit_records *records, const char *field, size_t first, size_t n_rows,
                                     size_t *size);

/* ---- HISTORY reply (rm_records.c) ---- */
/* Validates a HISTORY success reply for a request of n_rows rows: the counts frame, then per
 * field a unique 1..256-byte UTF-8 name without NUL and a type-1 values frame of n_rows float64
 * (names/name_lens/values, RM_MAX_HISTORY_FIELDS entries, point into the reply), then the JSON
 * messages (*messages). Touches no socket and changes no records. Returns READMIT_OK,
 * READMIT_EPROTO (recorded) or READMIT_ENOMEM. */
int rm_history_from_reply(readmit_client *client, const rm_reply *reply, size_t n_rows, size_t *n_fields,
                          const char **names, size_t *name_lens, const unsigned char **values,
                          readmit_result **messages);

#endif /* RM_INTERNAL_H */
