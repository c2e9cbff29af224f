/*
 * readmit.h: the C API of libreadmit, the client library for readmitd.
 *
 * libreadmit talks to a running readmitd over ZeroMQ (docs/PROTOCOL.md) and scores feature
 * vectors for 30-day readmission risk. It is plain C11 and links only libzmq and libc, so an
 * EHR plugin can ship it. docs/C_API.md explains the conventions; in short:
 *
 *   - Every function that can fail returns an int: READMIT_OK (0) or a READMIT_E* code.
 *     readmit_strerror(code) names the code; readmit_errmsg(client) gives the last message of
 *     that client (for daemon errors, the daemon's message naming the row and feature).
 *   - Outputs are allocated by the caller. Variable-size outputs (JSON, names) take a buffer and
 *     its size and report the size needed (snprintf style); the *_alloc variants return
 *     library-allocated memory that the caller releases with readmit_free().
 *   - Every network call returns within (retries + 1) * timeout_ms: a daemon that is down, slow
 *     or stopped mid-request gives READMIT_ETIMEDOUT, never a hang. After a timeout the client
 *     reopens its socket (Lazy Pirate), so a later call succeeds once the daemon is back.
 *   - Thread-safety: a readmit_client wraps a ZeroMQ socket and must not be used from two
 *     threads at once (serialise with your own lock, or open one client per thread). Distinct
 *     clients are fully independent and may be used concurrently. Functions that take no
 *     client (readmit_version, readmit_strerror, readmit_free, the readmit_options_* calls
 *     on distinct option objects) are thread-safe.
 *
 * Ten-line use:
 *
 *   readmit_client *c;
 *   if (readmit_open("tcp://127.0.0.1:5555", &c) != READMIT_OK) { ... }
 *   size_t nf;
 *   readmit_n_features(c, &nf);
 *   double x[2 * nf]; ... fill two rows, NaN = missing ...
 *   double risk[2];
 *   int rc = readmit_score(c, x, 2, nf, risk);
 *   if (rc != READMIT_OK) fprintf(stderr, "%s: %s\n", readmit_strerror(rc), readmit_errmsg(c));
 *   readmit_close(c);
 */
#ifndef READMIT_H
#define READMIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(READMIT_BUILDING_DLL)
#define READMIT_EXPORT __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define READMIT_EXPORT __attribute__((visibility("default")))
#else
#define READMIT_EXPORT
#endif

/* ---------------------------------------------------------------------------------------- */
/* Version                                                                                   */
/* ---------------------------------------------------------------------------------------- */

/** Major version of this header (incompatible API changes). */
#define READMIT_VERSION_MAJOR 0
/** Minor version of this header (compatible additions). */
#define READMIT_VERSION_MINOR 1
/** Patch version of this header (fixes). */
#define READMIT_VERSION_PATCH 0
/** The version as a string, "MAJOR.MINOR.PATCH". */
#define READMIT_VERSION "0.1.0"
/** Combines a version into one comparable integer: MAJOR * 10000 + MINOR * 100 + PATCH. */
#define READMIT_MAKE_VERSION(major, minor, patch) ((major) * 10000 + (minor) * 100 + (patch))
/** This header's version as one integer (compare with readmit_version_number()). */
#define READMIT_VERSION_NUMBER \
    READMIT_MAKE_VERSION(READMIT_VERSION_MAJOR, READMIT_VERSION_MINOR, READMIT_VERSION_PATCH)
/** The wire protocol version this library speaks (docs/PROTOCOL.md). */
#define READMIT_PROTOCOL_VERSION 2

/** The version string of the linked library (may differ from READMIT_VERSION if the header
 *  and the library come from different installs). Thread-safe; the string is static. */
READMIT_EXPORT const char *readmit_version(void);

/** The version of the linked library as READMIT_MAKE_VERSION(major, minor, patch). Thread-safe. */
READMIT_EXPORT int readmit_version_number(void);

/* ---------------------------------------------------------------------------------------- */
/* Result codes                                                                              */
/* ---------------------------------------------------------------------------------------- */

/** Success. */
#define READMIT_OK 0

/* Codes 1..99 are error statuses reported by the daemon; the numbers are the wire protocol's
 * status codes. readmit_error_row() / readmit_error_feature() give the offending row and
 * feature where the daemon named them. */
/** The request did not start with the protocol magic (a library/daemon mismatch). */
#define READMIT_EBADMAGIC 1
/** The daemon does not speak this protocol version. */
#define READMIT_EBADVERSION 2
/** The daemon does not know the operation. */
#define READMIT_EBADOP 3
/** Wrong number of frames, or a header/count frame of the wrong size. */
#define READMIT_EBADFRAMES 4
/** The feature matrix length is not n_rows * n_cols * 8 bytes. */
#define READMIT_EBADPAYLOAD 5
/** n_cols differs from the number of features of the model's schema. */
#define READMIT_EBADCOLUMNS 6
/** A value is infinite (NaN means missing and is allowed). Row and feature are given. */
#define READMIT_EBADVALUE 7
/** A categorical value is not a level index of the schema. Row and feature are given. */
#define READMIT_EBADCATEGORY 8
/** More rows than the daemon's --max-rows. */
#define READMIT_ETOOMANYROWS 9
/** The daemon has no model loaded. */
#define READMIT_ENOTREADY 10
/** The daemon's work queue is full; retry later. */
#define READMIT_EOVERLOADED 11
/** A model reload failed; the old model keeps serving. */
#define READMIT_ERELOADFAILED 12
/** The operation is not allowed by the daemon's configuration. */
#define READMIT_EFORBIDDEN 13
/** Another invalid argument, detected by the daemon (e.g. k = 0). */
#define READMIT_EBADARGUMENT 14
/** An unexpected failure inside the daemon (the daemon keeps serving). */
#define READMIT_EINTERNAL 15

/* Codes 100 and above are detected by this library. */
/** An invalid argument to a library call (NULL pointer, zero size, n_cols mismatch, ...). */
#define READMIT_EINVAL 100
/** Out of memory. */
#define READMIT_ENOMEM 101
/** No valid reply within the timeout, after all retries. */
#define READMIT_ETIMEDOUT 102
/** A ZeroMQ call failed (bad endpoint syntax, CURVE unavailable, ...); see readmit_errmsg. */
#define READMIT_EZMQ 103
/** The reply is malformed (magic, version, op, request id, frame count or a frame size). */
#define READMIT_EPROTO 104
/** The reply is larger than the client's maximum reply size. */
#define READMIT_ETOOBIG 105
/** A caller-provided buffer is too small; the size needed was reported. */
#define READMIT_ERANGE 106
/** The daemon replied with a status code this library does not know. */
#define READMIT_ESTATUS 107
/** An index (feature, level) is out of range. */
#define READMIT_ENOTFOUND 108

/** A static English name and description of a result code, e.g.
 *  "READMIT_ETIMEDOUT: no reply within the timeout". Never NULL; thread-safe. */
READMIT_EXPORT const char *readmit_strerror(int code);

/* ---------------------------------------------------------------------------------------- */
/* Options                                                                                   */
/* ---------------------------------------------------------------------------------------- */

/** Connection options (opaque). Create with readmit_options_new, pass to readmit_open_ex, free
 *  with readmit_options_free. An options object may be freed right after readmit_open_ex (the
 *  client copies what it needs) and reused for several opens. One options object must not be
 *  modified from two threads at once. */
typedef struct readmit_options readmit_options;

/** Default per-attempt timeout of a request, in milliseconds. */
#define READMIT_DEFAULT_TIMEOUT_MS 5000
/** Default number of retries after a timeout (so at most 3 attempts). */
#define READMIT_DEFAULT_RETRIES 2
/** Default largest reply accepted, in bytes (512 MiB). */
#define READMIT_DEFAULT_MAX_REPLY_BYTES ((size_t)512 * 1024 * 1024)

/** Allocates options with the defaults (no endpoint, READMIT_DEFAULT_TIMEOUT_MS,
 *  READMIT_DEFAULT_RETRIES, no CURVE). Returns READMIT_OK, READMIT_EINVAL or READMIT_ENOMEM. */
READMIT_EXPORT int readmit_options_new(readmit_options **out);

/** Frees options; NULL is a no-op. */
READMIT_EXPORT void readmit_options_free(readmit_options *options);

/** Sets the per-attempt timeout in milliseconds (> 0). A call waits at most
 *  (retries + 1) * timeout_ms. */
READMIT_EXPORT int readmit_options_set_timeout_ms(readmit_options *options, int timeout_ms);

/** Sets how many times a timed-out request is resent on a fresh socket (>= 0). Every request is
 *  idempotent, so resending is safe. */
READMIT_EXPORT int readmit_options_set_retries(readmit_options *options, int retries);

/** Adds an endpoint ("tcp://host:port" or "ipc://path"). With several endpoints the client
 *  talks to one at a time, starting with the first; after a timeout it reconnects to the next
 *  one (failover, round robin). */
READMIT_EXPORT int readmit_options_add_endpoint(readmit_options *options, const char *endpoint);

/** Enables CURVE encryption and authentication. Each key is 40 characters of Z85 text (as
 *  printed by `readmit keys` or zmq_curve_keypair): the daemon's public key and this client's
 *  key pair, whose public key must be authorized by the daemon. A daemon that refuses the key
 *  never answers, so the calls give READMIT_ETIMEDOUT. Returns READMIT_EINVAL for a malformed
 *  key; readmit_open_ex gives READMIT_EZMQ if libzmq was built without CURVE. */
READMIT_EXPORT int readmit_options_set_curve(readmit_options *options,
                                             const char *server_public_key,
                                             const char *client_public_key,
                                             const char *client_secret_key);

/** Sets the largest reply accepted, in bytes (>= 1024). Larger replies fail with
 *  READMIT_ETOOBIG (or, for one frame over the limit, READMIT_ETIMEDOUT: libzmq drops it). */
READMIT_EXPORT int readmit_options_set_max_reply_bytes(readmit_options *options, size_t max_bytes);

/* ---------------------------------------------------------------------------------------- */
/* Client                                                                                    */
/* ---------------------------------------------------------------------------------------- */

/** A connection to readmitd (opaque). Not thread-safe: use one client from one thread at a
 *  time. Distinct clients are independent. */
typedef struct readmit_client readmit_client;

/** Opens a client to the daemon at `endpoint` with the default options. ZeroMQ connects in the
 *  background, so this succeeds even when the daemon is not up yet; the first request then
 *  waits for it up to its timeout. On success *out is a new client to release with
 *  readmit_close. On failure *out is set to NULL and the code says why (READMIT_EINVAL,
 *  READMIT_ENOMEM, READMIT_EZMQ for a malformed endpoint). Thread-safe. */
READMIT_EXPORT int readmit_open(const char *endpoint, readmit_client **out);

/** Opens a client with options. `endpoint` may be NULL when the options hold endpoints; if both
 *  are given, `endpoint` is tried first. `options` may be NULL (defaults). Otherwise as
 *  readmit_open. Thread-safe. */
READMIT_EXPORT int readmit_open_ex(const char *endpoint, const readmit_options *options,
                                   readmit_client **out);

/** Closes the client and frees everything it holds (pending messages are discarded). NULL is a
 *  no-op. The client must not be in use by another thread. */
READMIT_EXPORT void readmit_close(readmit_client *client);

/** The message of the client's last failed call ("" after a success). For daemon errors this is
 *  the daemon's message (e.g. "row 3, feature 'age' (index 5): value inf is not finite"). The
 *  string belongs to the client and stays valid until its next call. A NULL client gives a
 *  static message. Same thread rules as the client. */
READMIT_EXPORT const char *readmit_errmsg(const readmit_client *client);

/** The result code of the client's last call (READMIT_OK after a success). */
READMIT_EXPORT int readmit_errcode(const readmit_client *client);

/** The row named by the daemon in the last error reply, or -1 (not applicable / no error). */
READMIT_EXPORT int readmit_error_row(const readmit_client *client);

/** The feature index named by the daemon in the last error reply, or -1. */
READMIT_EXPORT int readmit_error_feature(const readmit_client *client);

/** The model version (the 64-bit model id) carried by the last reply, 0 if none yet. */
READMIT_EXPORT uint64_t readmit_last_model_version(const readmit_client *client);

/* ---------------------------------------------------------------------------------------- */
/* Scoring                                                                                   */
/* ---------------------------------------------------------------------------------------- */

/** Asks the daemon (INFO) for the number of features of its model's schema: the n_cols every
 *  scoring call needs. Also refreshes the client's cached schema (readmit_feature_*). */
READMIT_EXPORT int readmit_n_features(readmit_client *client, size_t *n_features);

/** Scores n_rows feature vectors. `features` holds n_rows * n_cols doubles, row-major, in schema
 *  order: numeric values as is, categorical features as level indices, NaN for missing.
 *  `risk` must have room for n_rows calibrated probabilities. n_rows may be 0. On error the
 *  contents of `risk` are unspecified. */
READMIT_EXPORT int readmit_score(readmit_client *client, const double *features, size_t n_rows,
                                 size_t n_cols, double *risk);

/** Risk tiers as returned by readmit_score_full (names in the INFO JSON "tiers"). */
#define READMIT_TIER_LOW 0
#define READMIT_TIER_MEDIUM 1
#define READMIT_TIER_HIGH 2

/** Scores like readmit_score and returns the full per-row result: the calibrated risk, the
 *  atypicality score (how unlike the training patients the row is) and the risk tier
 *  (READMIT_TIER_*). Each output has room for n_rows values; any of them may be NULL when not
 *  wanted. */
READMIT_EXPORT int readmit_score_full(readmit_client *client, const double *features,
                                      size_t n_rows, size_t n_cols, double *risk,
                                      double *atypicality, uint8_t *tier);

/** Explains n_rows rows: the top-k features per row by absolute contribution to the log-odds.
 *  `feature_index` and `contribution` each have room for n_rows * k values and are written
 *  row-major with stride k: feature_index[r * k + j] is the schema index of row r's j-th
 *  feature (largest |contribution| first) and contribution[r * k + j] its log-odds
 *  contribution; unused slots are -1 and 0.0. The daemon clamps k to the number of features;
 *  *k_used (may be NULL) receives the clamped k. k must be > 0. */
READMIT_EXPORT int readmit_explain(readmit_client *client, const double *features,
                                   size_t n_rows, size_t n_cols, size_t k,
                                   int32_t *feature_index, double *contribution, size_t *k_used);

/* ---------------------------------------------------------------------------------------- */
/* Model information                                                                         */
/* ---------------------------------------------------------------------------------------- */

/** Fetches the INFO JSON (model metadata and the feature schema, docs/PROTOCOL.md) into `buf`
 *  of `buf_size` bytes, NUL-terminated. *needed (may be NULL) receives the size needed
 *  including the NUL. If `buf` is NULL or too small, nothing is written to it and
 *  READMIT_ERANGE is returned (with *needed set): call once with NULL to size the buffer.
 *  Also refreshes the cached schema. */
READMIT_EXPORT int readmit_info_json(readmit_client *client, char *buf, size_t buf_size,
                                     size_t *needed);

/** Like readmit_info_json, but returns a NUL-terminated copy allocated by the library in *out;
 *  release it with readmit_free. */
READMIT_EXPORT int readmit_info_json_alloc(readmit_client *client, char **out);

/** Feature kinds returned by readmit_feature_kind. */
#define READMIT_FEATURE_NUMERIC 0
#define READMIT_FEATURE_CATEGORICAL 1

/* The readmit_feature_* calls read the schema cached by the client (fetched with INFO on first
 * use, refreshed by readmit_n_features and readmit_info_json). String outputs follow the
 * readmit_info_json convention (buffer, size, *needed; READMIT_ERANGE if too small). An index
 * out of range gives READMIT_ENOTFOUND. */

/** The name of feature `index` (schema order). */
READMIT_EXPORT int readmit_feature_name(readmit_client *client, size_t index, char *buf,
                                        size_t buf_size, size_t *needed);

/** The raw CSV column (or rule) that feature `index` comes from. */
READMIT_EXPORT int readmit_feature_source(readmit_client *client, size_t index, char *buf,
                                          size_t buf_size, size_t *needed);

/** The kind of feature `index` (READMIT_FEATURE_NUMERIC or READMIT_FEATURE_CATEGORICAL). */
READMIT_EXPORT int readmit_feature_kind(readmit_client *client, size_t index, int *kind);

/** The number of levels of feature `index` (0 for numeric features). */
READMIT_EXPORT int readmit_feature_n_levels(readmit_client *client, size_t index,
                                            size_t *n_levels);

/** The name of level `level` of categorical feature `index`: the value to send for it is the
 *  level index itself, as a double. */
READMIT_EXPORT int readmit_feature_level(readmit_client *client, size_t index, size_t level,
                                         char *buf, size_t buf_size, size_t *needed);

/* ---------------------------------------------------------------------------------------- */
/* Operations                                                                                */
/* ---------------------------------------------------------------------------------------- */

/** Asks the daemon whether it is live and ready. *ready (may be NULL) is 1 when a model is
 *  loaded, else 0; *model_version (may be NULL) is the serving model's version (0 if none).
 *  A daemon that does not answer gives READMIT_ETIMEDOUT. */
READMIT_EXPORT int readmit_health(readmit_client *client, int *ready, uint64_t *model_version);

/** Fetches the daemon's STATS as JSON (or Prometheus text when `prometheus` is non-zero), in
 *  library-allocated memory (*out; release with readmit_free). */
READMIT_EXPORT int readmit_stats_alloc(readmit_client *client, int prometheus, char **out);

/** Asks the daemon to reload its model: from its configured path when `model_path` is NULL,
 *  or from `model_path` (needs the daemon's --allow-reload-path). On success *out_json (may be
 *  NULL) receives library-allocated JSON {"model_version": ..., "model_id": ...}, to release
 *  with readmit_free. */
READMIT_EXPORT int readmit_reload(readmit_client *client, const char *model_path,
                                  char **out_json);

/** Frees memory allocated by this library (the *_alloc outputs). NULL is a no-op. Thread-safe. */
READMIT_EXPORT void readmit_free(void *ptr);

#ifdef __cplusplus
}
#endif

#endif /* READMIT_H */
