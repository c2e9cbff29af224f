/*
 * harness.h: a tiny test harness for the libreadmit C tests: checks that count failures, and a
 * real readmitd started on a free 127.0.0.1 port (READMITD_BIN, READMIT_TEST_MODEL; defaults
 * .build/release/readmitd and .build/fixtures/model.readmit from the repository root).
 */
#ifndef READMIT_TEST_HARNESS_H
#define READMIT_TEST_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "readmit.h"

extern int th_failures;
extern int th_checks;

/* Records a failed check with its location and a formatted explanation; never aborts. */
#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        th_checks++;                                                                       \
        if (!(cond)) {                                                                     \
            th_failures++;                                                                 \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fprintf(stderr, "\n");                                                         \
        }                                                                                  \
    } while (0)

/* Checks a readmit call's result code, printing the client's message when it differs. */
#define CHECK_RC(client, got, want)                                                        \
    do {                                                                                   \
        int th_rc_ = (got);                                                                \
        CHECK(th_rc_ == (want), "got %d (%s: %s), want %d", th_rc_, readmit_strerror(th_rc_), \
              readmit_errmsg(client), (want));                                             \
    } while (0)

/* Runs one test function, printing its name. */
#define RUN(fn)                                                                            \
    do {                                                                                   \
        int th_before_ = th_failures;                                                      \
        const char *th_only_ = getenv("READMIT_TEST_ONLY");                                \
        if (th_only_ && !strstr(#fn, th_only_)) break;                                     \
        fprintf(stderr, "-- %s\n", #fn);                                                   \
        fn();                                                                              \
        if (th_failures != th_before_) fprintf(stderr, "-- %s FAILED\n", #fn);             \
    } while (0)

/* Runs one test function that takes an argument. */
#define RUN_ARG(fn, arg)                                                                   \
    do {                                                                                   \
        int th_before_ = th_failures;                                                      \
        const char *th_only_ = getenv("READMIT_TEST_ONLY");                                \
        if (th_only_ && !strstr(#fn, th_only_)) break;                                     \
        fprintf(stderr, "-- %s\n", #fn);                                                   \
        fn(arg);                                                                           \
        if (th_failures != th_before_) fprintf(stderr, "-- %s FAILED\n", #fn);             \
    } while (0)

/* Prints a summary and returns the process exit status. */
int th_finish(const char *suite);

/* A readmitd child process. */
typedef struct {
    pid_t pid;
    int port;
    char endpoint[64];
} th_daemon;

/* A TCP port on 127.0.0.1 that is free right now. */
int th_free_port(void);
/* Sleeps `ms` milliseconds. */
void th_sleep_ms(int ms);
/* Milliseconds on a monotonic clock. */
long long th_now_ms(void);
/* Starts readmitd on `port` (0: a free one) and waits until HEALTH says ready (up to 60 s).
 * Returns 1 on success. Extra arguments (NULL-terminated) are appended to the command line. */
int th_daemon_start(th_daemon *d, int port, ...);
/* Starts readmitd on `port` without waiting for it (for restart tests). Returns 1 if spawned. */
int th_daemon_spawn(th_daemon *d, int port);
/* Starts readmitd on a free port with extra arguments (NULL-terminated), without waiting. */
int th_daemon_spawn_args(th_daemon *d, ...);
/* Sends `sig` to the daemon (SIGSTOP/SIGCONT to freeze it mid-request); after SIGSTOP it
 * returns once the daemon has stopped. */
void th_daemon_signal(th_daemon *d, int sig);
/* Stops the daemon (SIGTERM, then SIGKILL after 5 s) and reaps it. */
void th_daemon_stop(th_daemon *d);
/* Opens a client with the given timeout and retries; aborts the test run on failure. */
readmit_client *th_open(const char *endpoint, int timeout_ms, int retries);
/* Fills rows x n_cols with a deterministic, valid feature matrix for the client's schema
 * (numeric features small values, categoricals level indices, some NaN). */
void th_fill_rows(readmit_client *c, double *x, size_t rows, size_t n_cols, unsigned seed);

#endif
