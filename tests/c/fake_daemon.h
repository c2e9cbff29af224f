/*
 * fake_daemon.h: a deliberately broken server, for the client-side error paths only.
 *
 * A real readmitd never sends truncated, oversized or mislabelled replies, so these paths can
 * only be tested against a server that does. Everything else in the C tests runs against the
 * real readmitd (harness.h).
 */
#ifndef READMIT_TEST_FAKE_DAEMON_H
#define READMIT_TEST_FAKE_DAEMON_H

#include <stddef.h>

/* How the fake answers the next requests. */
typedef enum {
    FAKE_VALID,            /* a well-formed reply (SCORE: risk 0.25 per row; INFO: 2 features and
                              6 raw fields; RECORDS: see below) */
    FAKE_SILENT,           /* never answers */
    FAKE_SHORT_HEADER,     /* a 23-byte reply header */
    FAKE_BAD_MAGIC,        /* "XDMT" */
    FAKE_BAD_VERSION,      /* protocol version 9 */
    FAKE_WRONG_OP,         /* op of another operation */
    FAKE_WRONG_ID,         /* request id + 1 */
    FAKE_SHORT_RISK,       /* SCORE risk frame one value short */
    FAKE_LONG_RISK,        /* SCORE risk frame one value too long */
    FAKE_WRONG_ROWS,       /* SCORE count frame says one row more */
    FAKE_MISSING_FRAME,    /* SCORE without the tier frame */
    FAKE_EXTRA_FRAMES,     /* 20 extra empty frames */
    FAKE_HUGE,             /* 8 extra frames of 512 KiB (4 MiB in all, each under the limit) */
    FAKE_HUGE_FRAME,       /* one 4 MiB extra frame (libzmq drops it: the client times out) */
    FAKE_UNKNOWN_STATUS,   /* status 99 with a message */
    FAKE_ERROR_NO_MESSAGE, /* status 7 with only the row/feature frame */
    FAKE_BAD_JSON,         /* INFO/HEALTH frame that is not JSON */
    FAKE_EXPLAIN_BIG_K,    /* EXPLAIN reply with k larger than requested */
    FAKE_SLOW,             /* answers correctly after 1.5 s */
    FAKE_SCRIPTED          /* status 0, then the frames given to fake_script (any op) */
} fake_mode;

/* With the interval flag (SCORE) or option (RECORDS), a valid reply carries the interval
 * [0.2, 0.3] for every row. The valid RECORDS reply: risk 0.25, atypicality 0.5 and tier 1 for every row, no messages,
 * and min(k, 3) explanations per row: {"age", -0.5, 6}, {"race", 0.25, "B\u00e9"} and
 * {"x", 0.125, null} (so the reply's k is the request's clamped to 3). */

typedef struct fake_daemon fake_daemon;

/* Starts the fake on a free 127.0.0.1 port in a thread. */
fake_daemon *fake_start(void);
/* Its endpoint, "tcp://127.0.0.1:PORT". */
const char *fake_endpoint(const fake_daemon *f);
/* Changes how it answers from the next request on. */
void fake_set_mode(fake_daemon *f, fake_mode mode);
/* Number of requests it has received. */
int fake_requests(const fake_daemon *f);
/* Sets the frames FAKE_SCRIPTED sends after the reply header (copied). */
void fake_script(fake_daemon *f, size_t n, const void *const *frames, const size_t *sizes);
/* The number of frames of the last request, after the empty delimiter (frame 0 is the 16-byte
 * request header). */
size_t fake_last_n_frames(fake_daemon *f);
/* Frame i of the last request (a copy, valid until the next request; NULL if out of range). */
const unsigned char *fake_last_frame(fake_daemon *f, size_t i, size_t *size);
/* Stops the thread and frees everything. */
void fake_stop(fake_daemon *f);

#endif
