/*
 * harness.c: see harness.h. The daemon is a real readmitd process; nothing is mocked here.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int th_failures = 0;
int th_checks = 0;

int th_finish(const char *suite) {
    fprintf(stderr, "%s: %d checks, %d failures\n", suite, th_checks, th_failures);
    return th_failures == 0 && th_checks > 0 ? 0 : 1;
}

void th_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

long long th_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int th_free_port(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(s, (struct sockaddr *)&a, &len) != 0) {
        perror("th_free_port");
        exit(2);
    }
    int port = ntohs(a.sin_port);
    close(s);
    return port;
}

static const char *th_env(const char *name, const char *fallback) {
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

readmit_client *th_open(const char *endpoint, int timeout_ms, int retries) {
    readmit_options *o;
    readmit_client *c = NULL;
    if (readmit_options_new(&o) != READMIT_OK || readmit_options_set_timeout_ms(o, timeout_ms) != READMIT_OK ||
        readmit_options_set_retries(o, retries) != READMIT_OK || readmit_open_ex(endpoint, o, &c) != READMIT_OK) {
        fprintf(stderr, "cannot open a client to %s\n", endpoint);
        exit(2);
    }
    readmit_options_free(o);
    return c;
}

static int th_spawn(th_daemon *d, int port, va_list ap) {
    const char *bin = th_env("READMITD_BIN", ".build/release/readmitd");
    const char *model = th_env("READMIT_TEST_MODEL", ".build/fixtures/model.readmit");
    d->port = port ? port : th_free_port();
    snprintf(d->endpoint, sizeof d->endpoint, "tcp://127.0.0.1:%d", d->port);
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)bin;
    argv[n++] = "--model";
    argv[n++] = (char *)model;
    argv[n++] = "--endpoint";
    argv[n++] = d->endpoint;
    for (const char *a; n < 30 && (a = va_arg(ap, const char *)) != NULL;) argv[n++] = (char *)a;
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (!getenv("READMIT_TEST_VERBOSE")) {
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    }
    int rc = posix_spawn(&d->pid, bin, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "cannot start %s: %s\n", bin, strerror(rc));
        return 0;
    }
    return 1;
}

static int th_spawn_list(th_daemon *d, int port, ...) {
    va_list ap;
    va_start(ap, port);
    int ok = th_spawn(d, port, ap);
    va_end(ap);
    return ok;
}

int th_daemon_spawn(th_daemon *d, int port) { return th_spawn_list(d, port, (const char *)NULL); }

int th_daemon_spawn_args(th_daemon *d, ...) {
    va_list ap;
    va_start(ap, d);
    int ok = th_spawn(d, 0, ap);
    va_end(ap);
    return ok;
}

int th_daemon_start(th_daemon *d, int port, ...) {
    va_list ap;
    va_start(ap, port);
    int ok = th_spawn(d, port, ap);
    va_end(ap);
    if (!ok) return 0;
    const char *bin = th_env("READMITD_BIN", ".build/release/readmitd");
    readmit_client *c = th_open(d->endpoint, 250, 0);
    long long deadline = th_now_ms() + 60000;
    int ready = 0;
    while (!ready && th_now_ms() < deadline) {
        int status;
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            fprintf(stderr, "%s exited before it was ready (status %d)\n", bin, status);
            d->pid = 0;
            break;
        }
        if (readmit_health(c, &ready, NULL) != READMIT_OK || !ready) {
            ready = 0;
            th_sleep_ms(50);
        }
    }
    readmit_close(c);
    if (!ready) th_daemon_stop(d);
    return ready;
}

void th_daemon_signal(th_daemon *d, int sig) {
    if (d->pid <= 0) return;
    kill(d->pid, sig);
    /* kill() returns before every thread has stopped; a busy daemon could still answer one
     * request in between. Wait (we are its parent) until the whole process has stopped. */
    if (sig == SIGSTOP) {
        int status;
        while (waitpid(d->pid, &status, WUNTRACED) < 0 && errno == EINTR) {}
    }
}

void th_daemon_stop(th_daemon *d) {
    if (d->pid <= 0) return;
    kill(d->pid, SIGCONT);
    kill(d->pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(d->pid, NULL, WNOHANG) == d->pid) { d->pid = 0; return; }
        th_sleep_ms(50);
    }
    kill(d->pid, SIGKILL);
    waitpid(d->pid, NULL, 0);
    d->pid = 0;
}

void th_fill_rows(readmit_client *c, double *x, size_t rows, size_t n_cols, unsigned seed) {
    unsigned s = seed * 2654435761u + 12345u;
    for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < n_cols; j++) {
            s = s * 1103515245u + 12345u;
            unsigned v = (s >> 8) & 0xffff;
            int kind = READMIT_FEATURE_NUMERIC;
            size_t levels = 0;
            readmit_feature_kind(c, j, &kind);
            readmit_feature_n_levels(c, j, &levels);
            double value;
            if (v % 13 == 0) value = NAN; /* some missing values in every matrix */
            else if (kind == READMIT_FEATURE_CATEGORICAL) value = levels ? (double)(v % levels) : NAN;
            else value = (double)(v % 10);
            x[r * n_cols + j] = value;
        }
    }
}
