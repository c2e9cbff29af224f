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
 *     library-allocated memory that the caller releases with readmit_free(). Raw-record
 *     scoring (readmit_score_records) works with two more handles, each with its own free:
 *     readmit_records (the batch, built by the caller) and readmit_result (what came back).
 *   - Every network call returns within (retries + 1) * timeout_ms, never hangs. When nothing
 *     listens at the endpoint (no daemon, or it died) the call fails fast, in well under a
 *     second, with READMIT_EUNAVAILABLE; a daemon that is connected but slow or stopped gets
 *     the full timeout and gives READMIT_ETIMEDOUT; a daemon that refuses the client's CURVE
 *     handshake gives READMIT_EAUTH, as fast. After any of these the client reopens its socket
 *     (Lazy Pirate), so a later call succeeds once the daemon is back. A caller-installed check
 *     (readmit_options_set_interrupt) can abandon a waiting call: READMIT_EINTERRUPTED.
 *   - Several endpoints (several readmitd serving the same model) are load-balanced: requests
 *     go round robin to the daemons that are up, a daemon that dies is taken out of rotation
 *     within about a second and put back when it answers again, and a request that fails on
 *     one daemon is resent to another. Every scoring request of this library is idempotent (a
 *     score is a pure function of the request and the model), so resending it is always safe.
 *     A large batch can be split over the daemons (readmit_options_set_split_rows); results
 *     are identical to one daemon's. Calls about one daemon (readmit_health, readmit_stats_alloc,
 *     readmit_reload) go to the next daemon in rotation: open a client per endpoint to reach a
 *     given daemon.
 *   - Thread-safety: a readmit_client wraps ZeroMQ sockets and must not be used from two
 *     threads at once (serialise with your own lock, or open one client per thread). Distinct
 *     clients are fully independent and may be used concurrently. Functions that take no
 *     client (readmit_version, readmit_strerror, readmit_free, the readmit_options_* calls
 *     on distinct option objects, the readmit_records_* calls on distinct batches, the
 *     readmit_result_* calls) are thread-safe.
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
#define READMIT_VERSION_MINOR 13
/** Patch version of this header (fixes). */
#define READMIT_VERSION_PATCH 0
/** The version as a string, "MAJOR.MINOR.PATCH". */
#define READMIT_VERSION "0.13.0"
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
/** A ZeroMQ call failed (CURVE unavailable, an endpoint libzmq refuses, ...); see readmit_errmsg. */
#define READMIT_EZMQ 103
/** The reply is malformed (magic, version, op, request id, frame count or a frame size). */
#define READMIT_EPROTO 104
/** The reply is larger than the client's maximum reply size. Also (since 0.11.0) when the
 *  connection dropped while the request was out on every attempt, as ZeroMQ drops it for a
 *  reply frame over max_reply_bytes or a request frame over the daemon's --max-message-bytes
 *  (before, READMIT_ETIMEDOUT after every retry); readmit_errmsg names both limits. A drop
 *  on some attempts only (a daemon restart) is retried at once, without waiting out the
 *  timeout. */
#define READMIT_ETOOBIG 105
/** A caller-provided buffer is too small; the size needed was reported. */
#define READMIT_ERANGE 106
/** The daemon replied with a status code this library does not know. */
#define READMIT_ESTATUS 107
/** An index (feature, level) is out of range. */
#define READMIT_ENOTFOUND 108
/** Nothing answers at the endpoint(s): the connection was refused, the ipc socket file does
 *  not exist, the connect got no answer within a second, or the daemon died (its connection
 *  dropped and reconnecting fails). Detected within about a second, without waiting for the
 *  timeout; readmit_errmsg names the endpoint, e.g. "no daemon at tcp://127.0.0.1:5599
 *  (connection refused)". Since 0.3.0. */
#define READMIT_EUNAVAILABLE 109
/** The caller's interrupt check (readmit_options_set_interrupt) asked to abandon the call.
 *  Since 0.3.0. */
#define READMIT_EINTERRUPTED 110
/** The daemon refused this client's security handshake: its CURVE public key is not among the
 *  daemon's authorized keys, the server public key given is not the daemon's, or only one side
 *  uses CURVE (a peer that closes every handshake, which may also be a service that is not
 *  ZeroMQ, is reported so, saying both). Detected within about a second, without waiting for the timeout (before 0.10.0
 *  each was READMIT_ETIMEDOUT after every retry); readmit_errmsg names the endpoint and which,
 *  e.g. "refused by tcp://10.0.0.5:5555 (the daemon refused this client's CURVE public key
 *  (ZAP status 400): it is not in the daemon's --authorized-keys)". Since 0.10.0. */
#define READMIT_EAUTH 111

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

/** Adds an endpoint: "tcp://HOST:PORT" (HOST a name, an IPv4 address or a bracketed IPv6
 *  address, PORT 1 to 65535) or "ipc://PATH" (a Unix socket path, at most 107 bytes; "@name"
 *  for Linux's abstract namespace). Anything else gives READMIT_EINVAL, with
 *  readmit_open_errmsg() saying e.g. "invalid endpoint 'localhost:5555': expected
 *  tcp://HOST:PORT or ipc://PATH".
 *
 *  With several endpoints (daemons serving the same model) the client load-balances: it keeps
 *  a connection to each, and sends each request to the next daemon in rotation (round robin
 *  over the daemons that are up; clients opened together start at different ones). A daemon
 *  whose connection fails or drops (it died or was stopped) is taken out of rotation at the
 *  next call, within about a second; while calls are made it is probed every 200 ms and put
 *  back once it accepts a connection again. A request that finds its daemon unavailable, gets
 *  no reply within timeout_ms, or is answered READMIT_ENOTREADY or READMIT_EOVERLOADED is
 *  resent to another daemon (every request is idempotent, so this is safe; unavailable
 *  daemons use no retry, timeouts do); a daemon that timed out stays out of rotation for
 *  max(timeout_ms, 1 s). Only when every endpoint is unavailable does a call fail with
 *  READMIT_EUNAVAILABLE (naming each). Before 0.5.0 the endpoints were tried one at a time
 *  (failover only). */
READMIT_EXPORT int readmit_options_add_endpoint(readmit_options *options, const char *endpoint);

/** Enables CURVE encryption and authentication. Each key is 40 characters of Z85 text (as
 *  printed by `readmit keys` or zmq_curve_keypair): the daemon's public key and this client's
 *  key pair, whose public key must be authorized by the daemon. A daemon that refuses the key
 *  (or a key that is not the daemon's) gives READMIT_EAUTH within about a second (before
 *  0.10.0: READMIT_ETIMEDOUT after every retry). Returns READMIT_EINVAL for a malformed key;
 *  readmit_open_ex gives READMIT_EZMQ if libzmq was built without CURVE. */
READMIT_EXPORT int readmit_options_set_curve(readmit_options *options,
                                             const char *server_public_key,
                                             const char *client_public_key,
                                             const char *client_secret_key);

/** Sets the largest reply accepted, in bytes (>= 1024). Larger replies fail with
 *  READMIT_ETOOBIG (or, for one frame over the limit, READMIT_ETIMEDOUT: libzmq drops it). */
READMIT_EXPORT int readmit_options_set_max_reply_bytes(readmit_options *options, size_t max_bytes);

/** Splits large batches over several daemons (0, the default, turns it off). With rows > 0,
 *  a readmit_score, readmit_score_full, readmit_score_interval or readmit_score_records call
 *  of more than `rows` rows, on a client with at least two daemons in rotation, is cut into
 *  chunks of `rows` rows sent to the daemons at once (one chunk in flight per daemon; a daemon
 *  that answers gets the next chunk, so a faster one takes more) and reassembled in order. A
 *  chunk that fails on one daemon is resent to another. The result is the same, bit for bit,
 *  as one daemon's for the whole batch: a row's score never depends on the other rows, and
 *  whenever the chunks cannot give that answer (a daemon reports an error, which names a row
 *  of the whole batch; two chunks scored by different model versions, as during a rolling
 *  reload; a malformed reply) the whole batch is sent to one daemon as without the option,
 *  in the time left of the call. Explanations (readmit_explain) and history
 *  (readmit_derive_history, whose rows depend on each other) are never split. Pick rows so
 *  that a chunk takes a few milliseconds or more (e.g. 2000 rows). Returns READMIT_OK or
 *  READMIT_EINVAL (NULL options, rows > 2^32-1). Same thread rules as the other
 *  readmit_options_* calls. Since 0.5.0. */
READMIT_EXPORT int readmit_options_set_split_rows(readmit_options *options, size_t rows);

/** An interrupt check: returns non-zero to abandon the call in progress. */
typedef int (*readmit_interrupt_fn)(void *user);

/** Installs an interrupt check (NULL removes it) for the clients opened with these options.
 *  While a call waits for the daemon it waits in slices of at most READMIT_INTERRUPT_SLICE_MS
 *  and calls check(user) between them (also when a signal interrupts the wait), on the thread
 *  that made the call; a non-zero return abandons the call with READMIT_EINTERRUPTED. The
 *  client stays usable: its socket is replaced, so a late reply is never mistaken for the next
 *  one. A fast call may never call the check. The check must not use the client it is called
 *  for; it may be called from several threads at once when several clients share it (one per
 *  client's thread). Language bindings use it to honour Ctrl-C (Python: a pending SIGINT,
 *  R: R_CheckUserInterrupt). Since 0.3.0. */
READMIT_EXPORT int readmit_options_set_interrupt(readmit_options *options, readmit_interrupt_fn check,
                                                 void *user);

/** The longest wait between two calls of the interrupt check, in milliseconds. */
#define READMIT_INTERRUPT_SLICE_MS 50

/* ---------------------------------------------------------------------------------------- */
/* Client                                                                                    */
/* ---------------------------------------------------------------------------------------- */

/** A connection to readmitd (opaque). Not thread-safe: use one client from one thread at a
 *  time. Distinct clients are independent. A client may be used in a process forked from the
 *  one that opened it (R's parallel::mclapply, a Python pool with the fork start method): its
 *  first call there opens that process's own sockets and leaves the parent's untouched (a
 *  ZeroMQ socket does not survive fork), and readmit_close there releases only what the child
 *  opened. Fork while no other thread is using the client. Since 0.11.0 (before, a call in the
 *  child waited out every retry). */
typedef struct readmit_client readmit_client;

/** Opens a client to the daemon at `endpoint` with the default options. ZeroMQ connects in the
 *  background, so this succeeds even when the daemon is not up yet; the first request then
 *  fails fast with READMIT_EUNAVAILABLE if nothing listens there, or waits for a reply up to
 *  its timeout. On success *out is a new client to release with readmit_close. On failure
 *  *out is set to NULL, the code says why (READMIT_EINVAL, also for a malformed endpoint;
 *  READMIT_ENOMEM; READMIT_EZMQ when libzmq refuses) and readmit_open_errmsg() gives the
 *  message. Thread-safe. */
READMIT_EXPORT int readmit_open(const char *endpoint, readmit_client **out);

/** Opens a client with options. `endpoint` may be NULL when the options hold endpoints; if both
 *  are given, `endpoint` is tried first. `options` may be NULL (defaults). Otherwise as
 *  readmit_open. Thread-safe. */
READMIT_EXPORT int readmit_open_ex(const char *endpoint, const readmit_options *options,
                                   readmit_client **out);

/** Closes the client and frees everything it holds (pending messages are discarded). NULL is a
 *  no-op. The client must not be in use by another thread. */
READMIT_EXPORT void readmit_close(readmit_client *client);

/** The number of endpoints of the client in *n. READMIT_EINVAL for a NULL argument. Same thread
 *  rules as the client. Since 0.5.0. */
READMIT_EXPORT int readmit_n_endpoints(const readmit_client *client, size_t *n);

/** What the client knows of endpoint `index` (in the order given to readmit_open_ex: the
 *  `endpoint` argument first, then the options' endpoints): *in_rotation 1 when requests go to
 *  it now, 0 while it is out of rotation (unavailable, or held after a timeout); *requests the
 *  requests (or split chunks) it has answered; *failures the attempts that failed there
 *  (unavailable or timed out). The state is updated by the client's calls (there is no
 *  background thread). Any output may be NULL. READMIT_ENOTFOUND for an index out of range,
 *  READMIT_EINVAL for a NULL client. Same thread rules as the client. Since 0.5.0. */
READMIT_EXPORT int readmit_endpoint_status(const readmit_client *client, size_t index,
                                           int *in_rotation, uint64_t *requests,
                                           uint64_t *failures);

/** The message of the client's last failed call ("" after a success). For daemon errors this is
 *  the daemon's message (e.g. "row 3, feature 'age' (index 5): value inf is not finite"). The
 *  string belongs to the client and stays valid until its next call. A NULL client gives a
 *  static message. Same thread rules as the client. */
READMIT_EXPORT const char *readmit_errmsg(const readmit_client *client);

/** The message of the calling thread's last failed call that had no client to hold it
 *  (readmit_open, readmit_open_ex, readmit_options_*), e.g. "invalid endpoint 'localhost:5555':
 *  expected tcp://HOST:PORT or ipc://PATH"; "" if none failed yet. The string is thread-local
 *  and stays valid until the thread's next such call. Since 0.3.0. */
READMIT_EXPORT const char *readmit_open_errmsg(void);

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

/** Scores like readmit_score_full and also returns each risk's interval (docs/PROTOCOL.md,
 *  "Risk intervals"): low[r] <= high[r], both in [0, 1], the inductive Venn-Abers interval of
 *  the model's calibration patients at row r's margin (wide where they say little about such a
 *  margin). The served risk (Platt-scaled) is often outside it. `low` and `high` must each
 *  have room for n_rows values (they may be NULL only when n_rows is 0); `risk`, `atypicality`
 *  and `tier` may be NULL. A row's interval, like its risk, never depends on the other rows. A
 *  model without an interval (INFO "interval" null, see readmit_has_interval) makes the call
 *  fail with READMIT_EBADARGUMENT. The reply is checked in full (6 frames, their sizes, every
 *  interval ordered and in [0, 1]; READMIT_EPROTO otherwise). On error the outputs are
 *  unspecified. Same thread rules as the client. Since 0.4.0. */
READMIT_EXPORT int readmit_score_interval(readmit_client *client, const double *features,
                                          size_t n_rows, size_t n_cols, double *risk,
                                          double *atypicality, uint8_t *tier, double *low,
                                          double *high);

/** Asks the daemon (INFO) whether its model has risk intervals (*has_interval 1 or 0: INFO's
 *  "interval" is an object or null) and refreshes the client's cached schema. Same thread
 *  rules as the client. Since 0.4.0. */
READMIT_EXPORT int readmit_has_interval(readmit_client *client, int *has_interval);

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
/* Raw fields (INFO "raw_fields")                                                            */
/* ---------------------------------------------------------------------------------------- */

/* The raw fields of one encounter, as the model's dataset spec names them: the columns a
 * readmit_records batch sends (docs/PROTOCOL.md, "Raw records"). Read them here instead of
 * hard-coding field names: they change with the model's dataset. Like the readmit_feature_*
 * calls they read the schema cached by the client (INFO, fetched on first use, refreshed by
 * readmit_n_raw_fields, readmit_n_features and readmit_info_json); strings follow the
 * readmit_info_json convention (buffer, size, *needed; READMIT_ERANGE if too small); an index
 * out of range gives READMIT_ENOTFOUND. A malformed "raw_fields" in INFO (or none) makes these
 * calls fail with READMIT_EPROTO and a message saying what was wrong; the readmit_feature_*
 * calls and scoring are not affected by it. Same thread rules as the client. */

/** Raw field types returned by readmit_raw_field_type (the INFO "type" of the field). A
 *  number field is set with readmit_records_set_number(s); text, timestamp and diagnosis
 *  code fields are sent as texts (readmit_records_set_text(s)), as written in the EHR. */
#define READMIT_FIELD_NUMBER 0
#define READMIT_FIELD_TEXT 1
/** A date/time, as text in the format of the model's dataset spec. */
#define READMIT_FIELD_TIMESTAMP 2
/** A diagnosis code (ICD-9, ICD-10, ...), as text. */
#define READMIT_FIELD_DIAGNOSIS_CODE 3
/** A type this version of the library does not know (a newer daemon); send it as text. */
#define READMIT_FIELD_OTHER 4

/** Asks the daemon (INFO) for the number of raw fields of one encounter and refreshes the
 *  client's cached schema. */
READMIT_EXPORT int readmit_n_raw_fields(readmit_client *client, size_t *n_fields);

/** The name of raw field `index` (INFO order): the column name to use in a readmit_records. */
READMIT_EXPORT int readmit_raw_field_name(readmit_client *client, size_t index, char *buf,
                                          size_t buf_size, size_t *needed);

/** The index of the raw field named `name` (the first one if several share it), or
 *  READMIT_ENOTFOUND. */
READMIT_EXPORT int readmit_raw_field_index(readmit_client *client, const char *name,
                                           size_t *index);

/** The type of raw field `index` (READMIT_FIELD_*). */
READMIT_EXPORT int readmit_raw_field_type(readmit_client *client, size_t index, int *type);

/** Whether raw field `index` is required: *required is 1 when a batch without the column fails
 *  with READMIT_EBADARGUMENT (unless READMIT_RECORDS_MISSING_FIELDS_OK), 0 when it may be left
 *  out. A required column may still hold missing cells. */
READMIT_EXPORT int readmit_raw_field_required(readmit_client *client, size_t index,
                                              int *required);

/** Whether raw field `index` is a history field (*history 1 or 0): a value the caller supplies
 *  from its records of the patient's earlier stays. A row without it has unknown history. */
READMIT_EXPORT int readmit_raw_field_history(readmit_client *client, size_t index,
                                             int *history);

/** The number of levels of raw field `index` (the texts learned in training; 0 when the
 *  field has no list of levels). */
READMIT_EXPORT int readmit_raw_field_n_levels(readmit_client *client, size_t index,
                                              size_t *n_levels);

/** Level `level` of raw field `index`: a text to send as is. */
READMIT_EXPORT int readmit_raw_field_level(readmit_client *client, size_t index, size_t level,
                                           char *buf, size_t buf_size, size_t *needed);

/* ---------------------------------------------------------------------------------------- */
/* Raw records (RECORDS)                                                                     */
/* ---------------------------------------------------------------------------------------- */

/* readmit_score_records sends encounters as they are in the EHR, one named column per raw
 * field, and the daemon encodes them with the model's own dataset spec (docs/PROTOCOL.md,
 * "Raw records"): the caller never maps levels to indices or computes a feature. Each row is
 * encoded alone, so a row's result never depends on the other rows of the batch. Problems
 * with single values (a text in a number field, an unknown level) do not fail the call: they
 * come back as messages in the result, and a row with an error is not scored. */

/** A batch of raw encounters (opaque), built column by column. A column is created by the
 *  first setter that names it, and its kind (numbers or texts) is fixed by that setter;
 *  cells never set are missing. Columns are sent in the order they were created. A records
 *  object is not thread-safe while it is being modified; once built it may be scored by
 *  several clients on several threads at once (readmit_score_records only reads it). */
typedef struct readmit_records readmit_records;

/** Allocates an empty batch of n_rows rows (0 to 2^32-1; the daemon's --max-rows also
 *  applies). On success *out is a new object to release with readmit_records_free; on failure
 *  *out is NULL and the code is READMIT_EINVAL or READMIT_ENOMEM. Thread-safe. */
READMIT_EXPORT int readmit_records_new(size_t n_rows, readmit_records **out);

/** Frees the batch; NULL is a no-op. */
READMIT_EXPORT void readmit_records_free(readmit_records *records);

/** Removes every field from the batch, which keeps its row count: it is then as new from
 *  readmit_records_new, except that it keeps the memory of the removed fields' values and the
 *  fields set next reuse it. For a caller that scores one frame of the same row count after
 *  another (the Python and R packages keep one batch per client): a new batch per frame takes
 *  fresh memory for every field, and when the allocator has handed the last batch's back to
 *  the system, each page of it is faulted in again (about 3,000 pages for 100,000 rows of 58
 *  fields). It keeps no more than the removed fields held (since 0.12.1). The kept memory is
 *  released by readmit_records_free. Returns READMIT_OK, or
 *  READMIT_EINVAL for NULL. Not thread-safe on one batch (as every setter). */
READMIT_EXPORT int readmit_records_clear(readmit_records *records);

/** Moves every field of `from` into `into` (after the fields `into` has, in `from`'s order),
 *  without copying a large batch's values: `from` is left without fields, as after
 *  readmit_records_clear, and keeps its row count. Distinct batches may be filled on
 *  distinct threads at once, so a caller with a wide frame fills parts of its columns on
 *  several threads, each part in its own batch, and then joins them with this call (the
 *  Python and R packages do, for 16,384 rows or more). Both batches must have the same row count,
 *  and no field may be in both; otherwise READMIT_EINVAL with `into`'s message naming the
 *  difference or the field, and neither batch changes (READMIT_ENOMEM likewise). NULL, or the
 *  same batch twice, is READMIT_EINVAL. For a large batch, `from` takes as much of the memory
 *  `into` kept from readmit_records_clear as it gave (since 0.12.1): two batches filled and
 *  joined frame after frame, each cleared after the call, keep the same memory from one frame
 *  to the next (before, `into` kept all of it and `from` took new memory, about 13 MB a frame
 *  of 100,000 rows of 58 fields, never given back until readmit_records_free). Not
 *  thread-safe on either batch. Since 0.12.0. */
READMIT_EXPORT int readmit_records_move(readmit_records *into, readmit_records *from);

/** The message of the records object's last failed call ("" after a success), e.g. "field
 *  'age' holds texts: cannot set a number". The string belongs to the object and stays valid
 *  until its next call. A NULL object gives a static message. */
READMIT_EXPORT const char *readmit_records_errmsg(const readmit_records *records);

/** Sets `field`'s value in `row` to a number; NaN means missing (an infinite value is sent as
 *  is; the daemon reports it as an error of its row). `field` is UTF-8, 1 to 256 bytes.
 *  Returns READMIT_OK; READMIT_EINVAL for a bad argument or when `field` holds texts (the
 *  message names the field); READMIT_ENOTFOUND for a row out of range; READMIT_ENOMEM. */
READMIT_EXPORT int readmit_records_set_number(readmit_records *records, const char *field,
                                              size_t row, double value);

/** Sets `field`'s value in `row` to a text (UTF-8, copied; NULL means missing). The text is
 *  sent as written: the dataset spec's missing tokens (like "?") are missing for the daemon,
 *  and a number field may be given texts (the daemon reads them as numbers; one that is not a
 *  number is an error of its row). READMIT_EINVAL when `field` holds numbers or the text is
 *  not valid UTF-8; otherwise as readmit_records_set_number. */
READMIT_EXPORT int readmit_records_set_text(readmit_records *records, const char *field,
                                            size_t row, const char *text);

/** Sets the whole column `field` to n_rows numbers (`values` may be NULL when n_rows is 0).
 *  As readmit_records_set_number otherwise. Since 0.13.0 a column whose values are all
 *  missing or whole numbers of 32 bits (not -0) goes on the wire as 8-, 16- or 32-bit integers
 *  (docs/PROTOCOL.md, value types 5-7; a readmitd older than those types refuses them); for
 *  a batch of more than 16 rows this call builds that frame, on the caller's thread, so
 *  several threads filling their own batches (readmit_records_move) share the work. */
READMIT_EXPORT int readmit_records_set_numbers(readmit_records *records, const char *field,
                                               const double *values);

/** Sets the whole column `field` to n_rows texts (NULL entries are missing; `texts` may be
 *  NULL when n_rows is 0). Every text is checked before anything is changed; on
 *  READMIT_ENOMEM the column may be partly set. As readmit_records_set_text otherwise. */
READMIT_EXPORT int readmit_records_set_texts(readmit_records *records, const char *field,
                                             const char *const *texts);

/** Sets the whole column `field` to dictionary-encoded texts: `levels` holds n_levels texts
 *  (UTF-8, copied; none NULL; equal texts are allowed and mean the same value) and `codes`
 *  n_rows indices into them, -1 for missing. The cheapest way to send a large text column: each
 *  distinct text is checked and stored once (pandas' factorize and R's factor give levels and
 *  codes as they are). The batch sends the same bytes as readmit_records_set_texts with the
 *  texts the codes name. READMIT_EINVAL (nothing changed) for a NULL or invalid level or a code
 *  out of range (the message names the row); otherwise as readmit_records_set_texts. */
READMIT_EXPORT int readmit_records_set_codes(readmit_records *records, const char *field,
                                             size_t n_levels, const char *const *levels,
                                             const int32_t *codes);

/** Sets the whole column `field` to n_rows texts held in one buffer, laid out as an Apache
 *  Arrow `large_string` column (pyarrow, pandas' Arrow-backed strings, Spark's Arrow batches):
 *  row i's text is the bytes data[offsets[i]] .. data[offsets[i + 1] - 1] (UTF-8, no NUL, not
 *  NUL-terminated) for the n_rows + 1 non-decreasing `offsets`, each from 0 to `data_len`.
 *  `valid` is NULL (every row has a text) or n_rows bytes, 0 meaning missing (its offsets
 *  still count). Nothing is copied per row: each distinct text is checked and stored once, the
 *  rows become codes, and the batch sends the same bytes as readmit_records_set_texts. Returns
 *  READMIT_EINVAL (nothing changed) for a NULL `offsets`, offsets that are not a range of the
 *  buffer, or a text that is not valid UTF-8 or holds a NUL (the message names the field and
 *  the first such row); otherwise as readmit_records_set_texts. Since 0.6.0. */
READMIT_EXPORT int readmit_records_set_text_buffer(readmit_records *records, const char *field,
                                                   const char *data, size_t data_len,
                                                   const int64_t *offsets, const uint8_t *valid);

/** Sets the whole column `field` to n_rows texts held in several Arrow chunks, as a pyarrow
 *  ChunkedArray holds them (pandas' `read_csv` gives its string columns in several), without
 *  joining them first: chunk j holds chunk_rows[j] rows laid out as for
 *  readmit_records_set_text_buffer (data[j] of data_len[j] bytes, chunk_rows[j] + 1 offsets[j]
 *  into it, and valid[j], or NULL when `valid` is NULL or every row of the chunk has a text), and
 *  the chunks' rows add up to n_rows. The column and the batch's bytes are what
 *  readmit_records_set_text_buffer gives for the chunks joined. READMIT_EINVAL (nothing changed)
 *  when the rows do not add up, or as readmit_records_set_text_buffer (the message names the
 *  batch's row and the chunk); otherwise as readmit_records_set_texts. Since 0.9.0. */
READMIT_EXPORT int readmit_records_set_text_chunks(readmit_records *records, const char *field,
                                                   size_t n_chunks, const size_t *chunk_rows,
                                                   const char *const *data, const size_t *data_len,
                                                   const int64_t *const *offsets,
                                                   const uint8_t *const *valid);

/* Option bits of readmit_score_records (the protocol's RECORDS options). */
/** A required field absent from the batch is sent as missing for every row (one warning),
 *  instead of the call failing with READMIT_EBADARGUMENT. */
#define READMIT_RECORDS_MISSING_FIELDS_OK 0x1u
/** A value that cannot be read (a text that is not a number in a number field, an infinite
 *  number, ...) is missing with a warning, instead of an error for its row. */
#define READMIT_RECORDS_BAD_VALUES_MISSING 0x2u
/** The result also holds each scored row's risk interval (readmit_result_interval); a model
 *  without an interval makes readmit_score_records fail with READMIT_EBADARGUMENT. Only for
 *  readmit_score_records (readmit_derive_history gives READMIT_EINVAL). Since 0.4.0. */
#define READMIT_RECORDS_INTERVAL 0x4u

/** The result of readmit_score_records (opaque, immutable): per row the risk, atypicality
 *  and tier, the messages (errors and warnings) and, when asked, the explanations. Strings
 *  returned by the readmit_result_* calls belong to the result and stay valid until
 *  readmit_result_free. A result may be read from several threads at once. */
typedef struct readmit_result readmit_result;

/** Severities of a result message. */
#define READMIT_SEVERITY_WARNING 1
#define READMIT_SEVERITY_ERROR 2

/** Scores the encounters of `records` with the daemon's RECORDS operation. k is the number of
 *  explanations per row (0 = none; the daemon may clamp it), `options` a combination of
 *  READMIT_RECORDS_* bits. Field names are those of readmit_raw_field_name; a required field
 *  absent from the batch fails the call with READMIT_EBADARGUMENT naming it, a column the model
 *  does not read is ignored with a warning. On success *out is a new result to release with
 *  readmit_result_free, also when some rows have errors (readmit_result_row); on failure *out
 *  is NULL and readmit_errmsg(client) says why (a malformed reply is READMIT_EPROTO). Same
 *  thread rules as the client. */
READMIT_EXPORT int readmit_score_records(readmit_client *client, const readmit_records *records,
                                         size_t k, unsigned options, readmit_result **out);

/** Frees a result; NULL is a no-op. */
READMIT_EXPORT void readmit_result_free(readmit_result *result);

/** The number of rows of the result (the batch's n_rows; 0 for NULL). */
READMIT_EXPORT size_t readmit_result_n_rows(const readmit_result *result);

/** The number of explanations per row the daemon used (at most the k asked; 0 for NULL). */
READMIT_EXPORT size_t readmit_result_k(const readmit_result *result);

/** The model version (the 64-bit model id) that computed the result (0 for NULL). */
READMIT_EXPORT uint64_t readmit_result_model_version(const readmit_result *result);

/** Row `row` of the result: the calibrated risk, the atypicality score, the tier
 *  (READMIT_TIER_*) and *has_error (1 when the row has an error and was not scored: then the
 *  risk and atypicality are NaN and the tier is 255; its messages say why). Any output may be
 *  NULL. READMIT_ENOTFOUND for a row out of range, READMIT_EINVAL for a NULL result. */
READMIT_EXPORT int readmit_result_row(const readmit_result *result, size_t row, double *risk,
                                      double *atypicality, uint8_t *tier, int *has_error);

/** Copies every row's risk, atypicality and tier (each output has room for n_rows values and
 *  may be NULL), as readmit_score_full does. Rows with an error have NaN, NaN and 255. */
READMIT_EXPORT int readmit_result_scores(const readmit_result *result, double *risk,
                                         double *atypicality, uint8_t *tier);

/** 1 when the result holds risk intervals (it was made with READMIT_RECORDS_INTERVAL), else 0
 *  (also for NULL). Thread-safe. Since 0.4.0. */
READMIT_EXPORT int readmit_result_has_interval(const readmit_result *result);

/** Row `row`'s risk interval: *low <= *high, both in [0, 1] (see readmit_score_interval), or
 *  NaN and NaN for a row with an error. Either output may be NULL. READMIT_ENOTFOUND for a row
 *  out of range; READMIT_EINVAL for a NULL result or one made without READMIT_RECORDS_INTERVAL
 *  (readmit_result_has_interval tells them apart), and then the outputs are not written.
 *  Thread-safe. Since 0.4.0. */
READMIT_EXPORT int readmit_result_interval(const readmit_result *result, size_t row, double *low,
                                           double *high);

/** Copies every row's interval (each output has room for n_rows values and may be NULL); rows
 *  with an error have NaN, NaN. READMIT_EINVAL as for readmit_result_interval. Thread-safe.
 *  Since 0.4.0. */
READMIT_EXPORT int readmit_result_intervals(const readmit_result *result, double *low,
                                            double *high);

/** The number of messages (errors and warnings, in the daemon's order: by row). */
READMIT_EXPORT size_t readmit_result_n_messages(const readmit_result *result);

/** Message `index`: *row is the 0-based row it is about, or -1 for the whole request; *field
 *  the raw field's name (NULL when the message names none); *severity READMIT_SEVERITY_*;
 *  *code a stable machine-readable code ("bad_number", "not_finite", "unknown_level",
 *  "bad_timestamp", "missing_field", "history_unknown", "unused_field", ...); *message an
 *  English sentence.
 *  Any output may be NULL. READMIT_ENOTFOUND for an index out of range. */
READMIT_EXPORT int readmit_result_message(const readmit_result *result, size_t index, int *row,
                                          const char **field, int *severity, const char **code,
                                          const char **message);

/** Every message at once (since 0.8.0), into caller-owned arrays of readmit_result_n_messages
 *  entries each, any of them NULL: rows[i], severities[i], fields[i], codes[i] and messages[i]
 *  as readmit_result_message gives message i. Equal strings of one result are one pointer
 *  (the result holds each distinct field, code and message text once), so a caller that
 *  converts strings converts each distinct pointer once: a 100,000-row batch can carry
 *  thousands of messages in a few wordings. The strings belong to the result. Returns
 *  READMIT_OK, or READMIT_EINVAL for a NULL result. Thread-safe (the result is immutable). */
READMIT_EXPORT int readmit_result_messages(const readmit_result *result, int *rows, int *severities,
                                           const char **fields, const char **codes,
                                           const char **messages);

/** The number of explanations of row `row` in *n (at most readmit_result_k; 0 for a row with
 *  an error or when k was 0). READMIT_ENOTFOUND for a row out of range. */
READMIT_EXPORT int readmit_result_n_explanations(const readmit_result *result, size_t row,
                                                 size_t *n);

/** Explanation `index` of row `row`, the largest absolute contribution first: *feature the
 *  model feature's name (readmit_feature_name), *contribution its log-odds contribution,
 *  *value the raw value as sent (a level's text, a number's shortest text such as "6"), or
 *  NULL when the value was missing. Any output may be NULL. READMIT_ENOTFOUND for a row or
 *  index out of range. */
READMIT_EXPORT int readmit_result_explanation(const readmit_result *result, size_t row,
                                              size_t index, const char **feature,
                                              double *contribution, const char **value);

/** Reads back the numbers of column `field` of the batch into `values` (room for n_rows;
 *  NaN is missing): for example the history fields readmit_derive_history set. Returns
 *  READMIT_OK, READMIT_ENOTFOUND when the batch has no such column, READMIT_EINVAL for a NULL
 *  argument or a column of texts. Only reads the batch: thread-safe with other readers. */
READMIT_EXPORT int readmit_records_get_numbers(const readmit_records *records, const char *field,
                                               double *values);

/* History (HISTORY). History is an input of readmit_score_records, never a guess: the daemon
 * never derives it behind the caller's back. A caller that holds a patient's earlier encounters
 * in the same batch asks for it explicitly here; the daemon derives each row's history fields
 * from the other rows of the same patient that ended before it began, by the model's dataset
 * spec and with the code training uses (docs/PROTOCOL.md, "History"). Unlike scoring, a row's
 * result depends on the other rows of the batch: that is the point. */

/** Derives the history fields of the encounters of `records` (one patient file: every row
 *  carries the patient id and the dates or order column of the model's spec; see INFO
 *  "raw_fields") with the daemon's HISTORY operation and, on success, sets them in `records`
 *  as number columns, replacing any column of the same name the caller had, so that
 *  readmit_score_records can follow. `options` as for readmit_score_records. A row with an
 *  error (a bad timestamp, no patient id, ...) gets NaN (unknown) history and an error message
 *  naming its row and field; the other rows of its patient get a "history_incomplete" warning.
 *  When `messages` is not NULL, on success *messages is a new result to release with
 *  readmit_result_free that holds the messages (readmit_result_message), whether each row has
 *  an error (readmit_result_row's *has_error; no row is scored: risk and atypicality NaN, tier
 *  255) and the names of the fields set (readmit_result_history_field). A field needed to
 *  place the rows (the patient id, ...) absent from the batch fails the call with
 *  READMIT_EBADARGUMENT naming it, and `records` is not changed; a malformed reply is
 *  READMIT_EPROTO (also then `records` is not changed); on READMIT_ENOMEM some history fields
 *  may be set. Same thread rules as the client; `records` must not be used by another thread
 *  during the call. */
READMIT_EXPORT int readmit_derive_history(readmit_client *client, readmit_records *records,
                                          unsigned options, readmit_result **messages);

/** The number of history fields a readmit_derive_history result says it set (0 for NULL or a
 *  readmit_score_records result). */
READMIT_EXPORT size_t readmit_result_n_history_fields(const readmit_result *result);

/** The name of history field `index` of a readmit_derive_history result (the column name in
 *  the records), or NULL when out of range. The string belongs to the result. */
READMIT_EXPORT const char *readmit_result_history_field(const readmit_result *result,
                                                        size_t index);

/* ---------------------------------------------------------------------------------------- */
/* Operations                                                                                */
/* ---------------------------------------------------------------------------------------- */

/** Asks the daemon whether it is live and ready. *ready (may be NULL) is 1 when a model is
 *  loaded, else 0; *model_version (may be NULL) is the serving model's version (0 if none).
 *  No daemon at the endpoint gives READMIT_EUNAVAILABLE, one that does not answer
 *  READMIT_ETIMEDOUT. */
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
