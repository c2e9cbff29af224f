/*
 * test_balance.c: one client, several real readmitd (load balancing, 0.5.0): requests are
 * spread over the daemons, a daemon killed mid-run costs no failed request and leaves the
 * rotation within about a second, a restarted one gets requests again, split batches (SCORE
 * and RECORDS) are bit-identical to one daemon's answer, and rolling reloads (SIGHUP) and
 * rolling restarts under load fail no request.
 *
 * Every loop is bounded by a count and a time limit. Under valgrind (READMIT_TEST_SLOW) the
 * time limits are 3x and the batches smaller.
 */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define N_DAEMONS 3

static th_daemon d[N_DAEMONS];
static int port[N_DAEMONS];
static size_t nf;
static int slack = 1;

static readmit_client *open_all(int split_rows, int timeout_ms) {
    readmit_options *o = NULL;
    readmit_client *c = NULL;
    readmit_options_new(&o);
    readmit_options_set_timeout_ms(o, timeout_ms);
    readmit_options_set_retries(o, 2);
    readmit_options_set_split_rows(o, (size_t)split_rows);
    for (int i = 0; i < N_DAEMONS; i++) readmit_options_add_endpoint(o, d[i].endpoint);
    int rc = readmit_open_ex(NULL, o, &c);
    readmit_options_free(o);
    if (rc != READMIT_OK) {
        fprintf(stderr, "cannot open a client to %d daemons: %s\n", N_DAEMONS, readmit_open_errmsg());
        exit(1);
    }
    return c;
}

/* A number from daemon i's STATS JSON ("rows_scored", "requests_total", "\"ok\""), or -1. */
static long long stat_of(int i, const char *key) {
    readmit_client *c = th_open(d[i].endpoint, 5000, 1);
    char *json = NULL, pattern[64];
    long long v = -1;
    if (readmit_stats_alloc(c, 0, &json) == READMIT_OK) {
        snprintf(pattern, sizeof pattern, "\"%s\":", key);
        const char *p = strstr(json, pattern);
        if (p) v = strtoll(p + strlen(pattern), NULL, 10);
    }
    readmit_free(json);
    readmit_close(c);
    return v;
}

static double *rows(size_t n, unsigned seed) {
    double *x = malloc(n * nf * sizeof *x);
    readmit_client *c = th_open(d[0].endpoint, 10000, 0);
    th_fill_rows(c, x, n, nf, seed);
    readmit_close(c);
    return x;
}

/* ---- spreading ----------------------------------------------------------------------------- */

static void test_spreading(void) {
    long long before[N_DAEMONS];
    for (int i = 0; i < N_DAEMONS; i++) before[i] = stat_of(i, "rows_scored");
    readmit_client *c = open_all(0, 5000);
    double *x = rows(1, 1), risk;
    int n = 300, failed = 0;
    for (int k = 0; k < n; k++) failed += readmit_score(c, x, 1, nf, &risk) != READMIT_OK;
    CHECK(failed == 0, "%d of %d requests failed: %s", failed, n, readmit_errmsg(c));
    size_t ne = 0;
    CHECK(readmit_n_endpoints(c, &ne) == READMIT_OK && ne == N_DAEMONS, "%zu endpoints", ne);
    for (int i = 0; i < N_DAEMONS; i++) {
        long long got = stat_of(i, "rows_scored") - before[i];
        uint64_t answered = 0;
        int up = 0;
        CHECK(readmit_endpoint_status(c, (size_t)i, &up, &answered, NULL) == READMIT_OK, "status %d", i);
        fprintf(stderr, "   daemon %d scored %lld rows (client counted %llu)\n", i, got, (unsigned long long)answered);
        /* Round robin: exactly a third each (100), whatever the starting daemon. */
        CHECK(got == n / N_DAEMONS, "daemon %d received %lld of %d requests", i, got, n);
        CHECK(up == 1 && answered == (uint64_t)(n / N_DAEMONS), "daemon %d: in rotation %d, answered %llu", i, up,
              (unsigned long long)answered);
    }
    int up = 0;
    CHECK(readmit_endpoint_status(c, N_DAEMONS, &up, NULL, NULL) == READMIT_ENOTFOUND, "index out of range");
    free(x);
    readmit_close(c);
}

/* ---- split batches --------------------------------------------------------------------------- */

static void test_split_score_identical(void) {
    size_t n = slack > 1 ? 3000 : 20000;
    double *x = rows(n, 7);
    double *r1 = malloc(n * sizeof *r1), *a1 = malloc(n * sizeof *a1), *r2 = malloc(n * sizeof *r2),
           *a2 = malloc(n * sizeof *a2);
    uint8_t *t1 = malloc(n), *t2 = malloc(n);
    readmit_client *one = th_open(d[0].endpoint, 10000, 0);
    readmit_client *split = open_all((int)(n / 7), 10000);
    CHECK_RC(one, readmit_score_full(one, x, n, nf, r1, a1, t1), READMIT_OK);
    uint64_t before[N_DAEMONS];
    for (int i = 0; i < N_DAEMONS; i++) readmit_endpoint_status(split, (size_t)i, NULL, &before[i], NULL);
    memset(r2, 0, n * sizeof *r2);
    CHECK_RC(split, readmit_score_full(split, x, n, nf, r2, a2, t2), READMIT_OK);
    CHECK(memcmp(r1, r2, n * sizeof *r1) == 0 && memcmp(a1, a2, n * sizeof *a1) == 0 && memcmp(t1, t2, n) == 0,
          "%zu rows split over %d daemons are bit-identical to one daemon's", n, N_DAEMONS);
    int used = 0;
    uint64_t chunks = 0;
    for (int i = 0; i < N_DAEMONS; i++) {
        uint64_t after = 0;
        readmit_endpoint_status(split, (size_t)i, NULL, &after, NULL);
        used += after > before[i];
        chunks += after - before[i];
    }
    size_t want = (n + n / 7 - 1) / (n / 7);
    CHECK(used >= 2 && chunks == want, "the %zu chunks went to %d daemons (%llu answers)", want, used,
          (unsigned long long)chunks);

    /* The interval flag, where the model has intervals. */
    int has = 0;
    if (readmit_has_interval(one, &has) == READMIT_OK && has) {
        double *l1 = malloc(n * sizeof *l1), *h1 = malloc(n * sizeof *h1), *l2 = malloc(n * sizeof *l2),
               *h2 = malloc(n * sizeof *h2);
        CHECK_RC(one, readmit_score_interval(one, x, n, nf, r1, NULL, NULL, l1, h1), READMIT_OK);
        CHECK_RC(split, readmit_score_interval(split, x, n, nf, r2, NULL, NULL, l2, h2), READMIT_OK);
        CHECK(memcmp(l1, l2, n * sizeof *l1) == 0 && memcmp(h1, h2, n * sizeof *h1) == 0 &&
                  memcmp(r1, r2, n * sizeof *r1) == 0,
              "split intervals are bit-identical");
        free(l1), free(h1), free(l2), free(h2);
    }

    /* A bad value in a late chunk: the same error, row and message as one daemon gives. */
    x[(n - 5) * nf] = INFINITY;
    int rc1 = readmit_score(one, x, n, nf, r1);
    char msg1[1024];
    snprintf(msg1, sizeof msg1, "%s", readmit_errmsg(one));
    int rc2 = readmit_score(split, x, n, nf, r2);
    CHECK(rc1 == READMIT_EBADVALUE && rc2 == rc1, "codes %d and %d", rc1, rc2);
    CHECK(readmit_error_row(split) == readmit_error_row(one) && readmit_error_row(one) == (int)(n - 5),
          "error rows %d and %d", readmit_error_row(split), readmit_error_row(one));
    CHECK(strcmp(msg1, readmit_errmsg(split)) == 0, "messages '%s' and '%s'", msg1, readmit_errmsg(split));
    free(x), free(r1), free(a1), free(r2), free(a2), free(t1), free(t2);
    readmit_close(one);
    readmit_close(split);
}

/* Builds n raw encounters from INFO's raw fields: numbers, level texts, a few missing cells,
 * a text that is not a number in one number field every 97 rows (a row error), and a column
 * the model does not read (a warning about the whole request). */
static readmit_records *records_for(readmit_client *c, size_t n) {
    static const char *codes[] = {"428", "250.83", "414", "786", "V58", "276", "?"};
    readmit_records *r = NULL;
    readmit_records_new(n, &r);
    size_t nraw = 0;
    CHECK_RC(c, readmit_n_raw_fields(c, &nraw), READMIT_OK);
    int bad_done = 0, failed = 0;
    for (size_t i = 0; i < nraw; i++) {
        char name[300], level[300];
        int type = 0;
        size_t levels = 0;
        readmit_raw_field_name(c, i, name, sizeof name, NULL);
        readmit_raw_field_type(c, i, &type);
        readmit_raw_field_n_levels(c, i, &levels);
        for (size_t row = 0; row < n; row++) {
            unsigned v = (unsigned)(row * 2654435761u + i * 40503u) >> 7;
            int rc = READMIT_OK;
            if (v % 19 == 4) continue; /* missing */
            if (type == READMIT_FIELD_NUMBER && !bad_done) {
                char text[32];
                if (row % 97 == 5) snprintf(text, sizeof text, "three");
                else snprintf(text, sizeof text, "%u", v % 9);
                rc = readmit_records_set_text(r, name, row, text);
            } else if (type == READMIT_FIELD_NUMBER) {
                rc = readmit_records_set_number(r, name, row, (double)(v % 7));
            } else if (type == READMIT_FIELD_TEXT && levels > 0) {
                readmit_raw_field_level(c, i, v % levels, level, sizeof level, NULL);
                rc = readmit_records_set_text(r, name, row, level);
            } else if (type == READMIT_FIELD_TEXT) {
                snprintf(level, sizeof level, "%u", 1000 + (unsigned)row);
                rc = readmit_records_set_text(r, name, row, level);
            } else if (type == READMIT_FIELD_DIAGNOSIS_CODE) {
                rc = readmit_records_set_text(r, name, row, codes[v % 7]);
            }
            if (rc != READMIT_OK && failed++ == 0)
                fprintf(stderr, "   set '%s' row %zu: %s\n", name, row, readmit_records_errmsg(r));
        }
        if (type == READMIT_FIELD_NUMBER) bad_done = 1;
    }
    for (size_t row = 0; row < n; row++)
        failed += readmit_records_set_number(r, "column_no_model_reads", row, 1.0) != READMIT_OK;
    CHECK(failed == 0, "%d cells could not be set", failed);
    return r;
}

/* Two results are equal bit for bit: rows, explanations and messages. */
static int same_result(const readmit_result *x, const readmit_result *y) {
    size_t n = readmit_result_n_rows(x), nm = readmit_result_n_messages(x);
    if (n != readmit_result_n_rows(y) || nm != readmit_result_n_messages(y) ||
        readmit_result_k(x) != readmit_result_k(y) ||
        readmit_result_model_version(x) != readmit_result_model_version(y) ||
        readmit_result_has_interval(x) != readmit_result_has_interval(y))
        return 0;
    for (size_t r = 0; r < n; r++) {
        double r1, r2, a1, a2, l1 = 0, l2 = 0, h1 = 0, h2 = 0;
        uint8_t t1, t2;
        int e1, e2;
        size_t n1 = 0, n2 = 0;
        readmit_result_row(x, r, &r1, &a1, &t1, &e1);
        readmit_result_row(y, r, &r2, &a2, &t2, &e2);
        if (readmit_result_has_interval(x)) {
            readmit_result_interval(x, r, &l1, &h1);
            readmit_result_interval(y, r, &l2, &h2);
        }
        if (memcmp(&r1, &r2, 8) || memcmp(&a1, &a2, 8) || t1 != t2 || e1 != e2 || memcmp(&l1, &l2, 8) ||
            memcmp(&h1, &h2, 8))
            return 0;
        readmit_result_n_explanations(x, r, &n1);
        readmit_result_n_explanations(y, r, &n2);
        if (n1 != n2) return 0;
        for (size_t j = 0; j < n1; j++) {
            const char *f1, *f2, *v1, *v2;
            double c1, c2;
            readmit_result_explanation(x, r, j, &f1, &c1, &v1);
            readmit_result_explanation(y, r, j, &f2, &c2, &v2);
            if (strcmp(f1, f2) || memcmp(&c1, &c2, 8) || (v1 == NULL) != (v2 == NULL) || (v1 && strcmp(v1, v2)))
                return 0;
        }
    }
    for (size_t m = 0; m < nm; m++) {
        int row1, row2, s1, s2;
        const char *f1, *f2, *c1, *c2, *m1, *m2;
        readmit_result_message(x, m, &row1, &f1, &s1, &c1, &m1);
        readmit_result_message(y, m, &row2, &f2, &s2, &c2, &m2);
        if (row1 != row2 || s1 != s2 || (f1 == NULL) != (f2 == NULL) || (f1 && strcmp(f1, f2)) || strcmp(c1, c2) ||
            strcmp(m1, m2)) {
            fprintf(stderr, "   message %zu differs: row %d/%d %s/%s '%s' / '%s'\n", m, row1, row2, c1, c2, m1, m2);
            return 0;
        }
    }
    return 1;
}

static void test_split_records_identical(void) {
    size_t n = slack > 1 ? 1500 : 6000;
    readmit_client *one = th_open(d[0].endpoint, 20000, 0);
    readmit_client *split = open_all((int)(n / 5), 20000);
    readmit_records *r = records_for(one, n);
    int has = 0;
    readmit_has_interval(one, &has);
    unsigned opts[2] = {0, has ? READMIT_RECORDS_INTERVAL : 0};
    size_t ks[2] = {3, 0};
    for (int v = 0; v < 2; v++) {
        readmit_result *whole = NULL, *parts = NULL;
        CHECK_RC(one, readmit_score_records(one, r, ks[v], opts[v], &whole), READMIT_OK);
        uint64_t before[N_DAEMONS];
        for (int i = 0; i < N_DAEMONS; i++) readmit_endpoint_status(split, (size_t)i, NULL, &before[i], NULL);
        CHECK_RC(split, readmit_score_records(split, r, ks[v], opts[v], &parts), READMIT_OK);
        if (whole && parts) {
            size_t errors = 0, warnings = 0;
            for (size_t m = 0; m < readmit_result_n_messages(whole); m++) {
                int row, sev;
                readmit_result_message(whole, m, &row, NULL, &sev, NULL, NULL);
                errors += sev == READMIT_SEVERITY_ERROR;
                warnings += row < 0;
            }
            CHECK(errors > 5 && warnings >= 1, "the batch has row errors (%zu) and a request warning (%zu)", errors,
                  warnings);
            CHECK(same_result(whole, parts), "RECORDS of %zu rows (k %zu, options %u) split in 5 equal one daemon's",
                  n, ks[v], opts[v]);
            fprintf(stderr, "   RECORDS k %zu options %u: %zu rows, %zu messages, split equals whole\n", ks[v], opts[v], n,
                    readmit_result_n_messages(parts));
        }
        int used = 0;
        for (int i = 0; i < N_DAEMONS; i++) {
            uint64_t after = 0;
            readmit_endpoint_status(split, (size_t)i, NULL, &after, NULL);
            used += after > before[i];
        }
        CHECK(used >= 2, "the chunks went to %d daemons", used);
        readmit_result_free(whole);
        readmit_result_free(parts);
    }
    readmit_records_free(r);
    readmit_close(one);
    readmit_close(split);
}

/* Two daemons serving two model versions (the fixture model under another id, as during a
 * rolling update): the two chunks of a split batch come back from different versions, so the
 * batch is scored whole on one daemon (a third answer) and carries that one version. */
/* Chunks over the daemons' --max-message-bytes: libzmq drops each chunk's connection there. A
 * chunk dropped twice ends the split, and the whole call reports READMIT_ETOOBIG within one
 * timeout, naming the limits (it waited out the timeouts before), and the daemons serve on. */
static void test_split_chunks_over_the_frame_limit(void) {
    th_daemon small[2];
    int up = th_daemon_start(&small[0], 0, "--max-message-bytes", "4096", (const char *)NULL) &&
             th_daemon_start(&small[1], 0, "--max-message-bytes", "4096", (const char *)NULL);
    CHECK(up, "two daemons with a 4096-byte frame limit");
    if (!up) return;
    readmit_options *o = NULL;
    readmit_client *c = NULL;
    readmit_options_new(&o);
    readmit_options_set_timeout_ms(o, 5000);
    readmit_options_set_retries(o, 1);
    readmit_options_set_split_rows(o, 100);
    readmit_options_add_endpoint(o, small[0].endpoint);
    readmit_options_add_endpoint(o, small[1].endpoint);
    CHECK(readmit_open_ex(NULL, o, &c) == READMIT_OK, "open");
    readmit_options_free(o);
    size_t n = 1000; /* chunks of 100 rows: 100 x nf x 8 bytes each, far over 4096 */
    double *x = rows(n, 9), *risk = malloc(n * sizeof *risk);
    long long t0 = th_now_ms();
    CHECK_RC(c, readmit_score(c, x, n, nf, risk), READMIT_ETOOBIG);
    long long took = th_now_ms() - t0;
    CHECK(took < 4000 * slack, "READMIT_ETOOBIG after %lld ms, within one timeout", took);
    CHECK(strstr(readmit_errmsg(c), "--max-message-bytes") != NULL, "names the limit: %s", readmit_errmsg(c));
    CHECK_RC(c, readmit_score(c, x, 1, nf, risk), READMIT_OK);
    readmit_close(c);
    free(x), free(risk);
    th_daemon_stop(&small[0]);
    th_daemon_stop(&small[1]);
}

static void test_split_mixed_versions(void) {
    const char *model = getenv("READMIT_TEST_MODEL");
    if (!model || !*model) model = ".build/fixtures/model.readmit";
    char copy[] = "/tmp/readmit-other-id-XXXXXX", cmd[2048];
    int fd = mkstemp(copy);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0) return;
    close(fd);
    snprintf(cmd, sizeof cmd, "python3 tests/tools/model_with_id.py '%s' '%s' 00000000000000aa", model, copy);
    int rc = system(cmd);
    CHECK(rc == 0, "%s: %d", cmd, rc);
    char *saved = getenv("READMIT_TEST_MODEL") ? strdup(getenv("READMIT_TEST_MODEL")) : NULL;
    setenv("READMIT_TEST_MODEL", copy, 1);
    th_daemon other;
    int up = rc == 0 && th_daemon_start(&other, 0, (const char *)NULL);
    if (saved) setenv("READMIT_TEST_MODEL", saved, 1);
    else unsetenv("READMIT_TEST_MODEL");
    free(saved);
    CHECK(up, "readmitd serves the model under another id");
    if (up) {
        size_t n = slack > 1 ? 2000 : 8000;
        double *x = rows(n, 5), *r1 = malloc(n * sizeof *r1), *r2 = malloc(n * sizeof *r2);
        readmit_client *one = th_open(d[0].endpoint, 10000, 0);
        CHECK_RC(one, readmit_score(one, x, n, nf, r1), READMIT_OK);
        uint64_t v0 = readmit_last_model_version(one);
        readmit_options *o = NULL;
        readmit_client *split = NULL;
        readmit_options_new(&o);
        readmit_options_set_timeout_ms(o, 10000);
        readmit_options_set_split_rows(o, n / 2);
        readmit_options_add_endpoint(o, d[0].endpoint);
        readmit_options_add_endpoint(o, other.endpoint);
        CHECK(readmit_open_ex(NULL, o, &split) == READMIT_OK, "open");
        readmit_options_free(o);
        CHECK_RC(split, readmit_score(split, x, n, nf, r2), READMIT_OK);
        uint64_t a = 0, b = 0, v = readmit_last_model_version(split);
        readmit_endpoint_status(split, 0, NULL, &a, NULL);
        readmit_endpoint_status(split, 1, NULL, &b, NULL);
        CHECK(memcmp(r1, r2, n * sizeof *r1) == 0, "same risks");
        CHECK(a + b == 3 && a >= 1 && b >= 1, "two chunks from two versions, then the whole batch: %llu + %llu answers",
              (unsigned long long)a, (unsigned long long)b);
        CHECK(v == v0 || v == 0xaa, "the call's version %016llx is one of the two", (unsigned long long)v);
        fprintf(stderr, "   chunks from %016llx and 00000000000000aa: scored whole (%llu + %llu answers)\n",
                (unsigned long long)v0, (unsigned long long)a, (unsigned long long)b);
        free(x), free(r1), free(r2);
        readmit_close(one);
        readmit_close(split);
        th_daemon_stop(&other);
    }
    unlink(copy);
}

/* ---- a daemon killed mid-run, and restarted ------------------------------------------------ */

typedef struct {
    int which;
    int delay_ms;
    long long done_at;
} action;

static void *kill_later(void *arg) {
    action *a = arg;
    th_sleep_ms(a->delay_ms);
    kill(d[a->which].pid, SIGKILL);
    a->done_at = th_now_ms();
    waitpid(d[a->which].pid, NULL, 0);
    d[a->which].pid = 0;
    return NULL;
}

/* Scores in a loop (split or not) while daemon 1 is killed; then restarts it. */
static void killed_mid_run(int split_rows) {
    size_t n = split_rows ? (size_t)split_rows * 4 : 1;
    double *x = rows(n, 3), *ref = malloc(n * sizeof *ref), *risk = malloc(n * sizeof *risk);
    readmit_client *c = open_all(split_rows, 5000);
    CHECK_RC(c, readmit_score(c, x, n, nf, ref), READMIT_OK);
    action a = {1, 300, 0};
    pthread_t t;
    pthread_create(&t, NULL, kill_later, &a);
    long long start = th_now_ms(), out_at = 0, worst = 0;
    int calls = 0, failed = 0, differ = 0;
    while (calls < 100000 && th_now_ms() - start < 1500 * slack) {
        long long t0 = th_now_ms();
        int rc = readmit_score(c, x, n, nf, risk);
        long long dt = th_now_ms() - t0;
        calls++;
        if (rc != READMIT_OK) {
            failed++;
            fprintf(stderr, "   call %d failed: %s: %s\n", calls, readmit_strerror(rc), readmit_errmsg(c));
        } else if (memcmp(risk, ref, n * sizeof *ref) != 0) {
            differ++;
        }
        if (dt > worst) worst = dt;
        int up = 1;
        readmit_endpoint_status(c, 1, &up, NULL, NULL);
        if (a.done_at && !up && !out_at) out_at = th_now_ms();
    }
    pthread_join(t, NULL);
    CHECK(failed == 0 && differ == 0, "%d of %d calls failed, %d differ (split_rows %d)", failed, calls, differ,
          split_rows);
    CHECK(out_at > 0 && out_at - a.done_at < 1000 * slack, "taken out of rotation %lld ms after the kill",
          out_at ? out_at - a.done_at : -1);
    fprintf(stderr, "   split_rows %d: %d calls, 0 failed; out of rotation %lld ms after the kill; slowest call %lld ms\n",
            split_rows, calls, out_at - a.done_at, worst);

    /* Restarted on its port: back in rotation and answering within a few seconds of calls. */
    uint64_t before = 0, after = 0;
    readmit_endpoint_status(c, 1, NULL, &before, NULL);
    CHECK(th_daemon_start(&d[1], port[1], (const char *)NULL), "restart daemon 1 on port %d", port[1]);
    long long back = th_now_ms();
    failed = 0;
    for (int k = 0; k < 100000 && th_now_ms() - back < 5000 * slack; k++) {
        failed += readmit_score(c, x, n, nf, risk) != READMIT_OK;
        readmit_endpoint_status(c, 1, NULL, &after, NULL);
        if (after > before + 2) break;
    }
    CHECK(failed == 0 && after > before + 2, "restarted daemon answered %llu requests (%d failed) in %lld ms",
          (unsigned long long)(after - before), failed, th_now_ms() - back);
    fprintf(stderr, "   restarted daemon back in rotation after %lld ms\n", th_now_ms() - back);
    free(x), free(ref), free(risk);
    readmit_close(c);
}

static void test_killed_mid_run(void) { killed_mid_run(0); }
static void test_killed_mid_run_split(void) { killed_mid_run(slack > 1 ? 200 : 1000); }

/* A stopped daemon (SIGSTOP: connected, never answers): the request waiting on it times out and
 * is resent to another daemon; the stopped one is held out of rotation, so only one call waits. */
static void test_stopped_daemon_is_held_out(void) {
    int timeout = 400 * slack;
    readmit_client *c = open_all(0, timeout);
    double *x = rows(1, 9), ref, risk;
    CHECK_RC(c, readmit_score(c, x, 1, nf, &ref), READMIT_OK);
    th_daemon_signal(&d[2], SIGSTOP);
    int failed = 0, slow = 0, n = 30;
    for (int k = 0; k < n; k++) {
        long long t0 = th_now_ms();
        int rc = readmit_score(c, x, 1, nf, &risk);
        failed += rc != READMIT_OK || risk != ref;
        slow += th_now_ms() - t0 >= timeout;
    }
    int up = 1;
    uint64_t fails = 0;
    readmit_endpoint_status(c, 2, &up, NULL, &fails);
    th_daemon_signal(&d[2], SIGCONT);
    CHECK(failed == 0, "%d of %d calls failed with one daemon stopped", failed, n);
    CHECK(slow == 1 && fails == 1 && up == 0, "%d calls waited out the timeout, %llu failures there, in rotation %d",
          slow, (unsigned long long)fails, up);
    free(x);
    readmit_close(c);
}

/* ---- rolling reload and rolling restart under load ----------------------------------------- */

typedef struct {
    atomic_int stop;
    atomic_int calls, failed;
    pthread_mutex_t lock; /* guards last_error */
    char last_error[512];
} load;

static void *load_thread(void *arg) {
    load *l = arg;
    readmit_client *c = open_all(0, 5000);
    double *x = rows(8, 11), risk[8];
    while (!atomic_load(&l->stop) && atomic_load(&l->calls) < 1000000) {
        int rc = readmit_score(c, x, 8, nf, risk);
        atomic_fetch_add(&l->calls, 1);
        if (rc != READMIT_OK) {
            atomic_fetch_add(&l->failed, 1);
            pthread_mutex_lock(&l->lock);
            snprintf(l->last_error, sizeof l->last_error, "%s: %s", readmit_strerror(rc), readmit_errmsg(c));
            pthread_mutex_unlock(&l->lock);
        }
    }
    free(x);
    readmit_close(c);
    return NULL;
}

static void test_rolling_reload(void) {
    load l;
    memset(&l, 0, sizeof l);
    pthread_mutex_init(&l.lock, NULL);
    pthread_t t[2];
    for (int k = 0; k < 2; k++) pthread_create(&t[k], NULL, load_thread, &l);
    th_sleep_ms(200);
    for (int i = 0; i < N_DAEMONS; i++) {
        long long ok = stat_of(i, "ok");
        kill(d[i].pid, SIGHUP);
        long long t0 = th_now_ms();
        while (stat_of(i, "ok") <= ok && th_now_ms() - t0 < 20000 * slack) th_sleep_ms(20);
        CHECK(stat_of(i, "ok") > ok, "daemon %d reloaded (SIGHUP)", i);
        th_sleep_ms(100);
    }
    int before_restart = atomic_load(&l.calls);
    /* Rolling restart: SIGTERM one daemon, start it again on its port, wait until ready. */
    for (int i = 0; i < N_DAEMONS; i++) {
        th_daemon_stop(&d[i]);
        CHECK(th_daemon_start(&d[i], port[i], (const char *)NULL), "restart daemon %d", i);
        th_sleep_ms(300);
    }
    atomic_store(&l.stop, 1);
    for (int k = 0; k < 2; k++) pthread_join(t[k], NULL);
    int calls = atomic_load(&l.calls), failed = atomic_load(&l.failed);
    CHECK(failed == 0, "%d of %d calls failed during rolling reloads and restarts (last: %s)", failed, calls,
          l.last_error);
    CHECK(before_restart > 10 && calls - before_restart > 10, "load ran: %d calls during reloads, %d during restarts",
          before_restart, calls - before_restart);
    fprintf(stderr, "   rolling SIGHUP reload then rolling restart of %d daemons: %d calls, %d failed\n", N_DAEMONS,
            calls, failed);
    pthread_mutex_destroy(&l.lock);
}

int main(void) {
    slack = getenv("READMIT_TEST_SLOW") ? 3 : 1;
    for (int i = 0; i < N_DAEMONS; i++) {
        if (!th_daemon_start(&d[i], 0, (const char *)NULL)) {
            fprintf(stderr, "test_balance: cannot start readmitd (set READMITD_BIN and READMIT_TEST_MODEL)\n");
            for (int j = 0; j < i; j++) th_daemon_stop(&d[j]);
            return 1;
        }
        port[i] = d[i].port;
    }
    readmit_client *c = th_open(d[0].endpoint, 10000, 0);
    CHECK_RC(c, readmit_n_features(c, &nf), READMIT_OK);
    readmit_close(c);
    if (nf > 0) {
        RUN(test_spreading);
        RUN(test_split_score_identical);
        RUN(test_split_records_identical);
        RUN(test_split_mixed_versions);
        RUN(test_split_chunks_over_the_frame_limit);
        RUN(test_killed_mid_run);
        RUN(test_killed_mid_run_split);
        RUN(test_stopped_daemon_is_held_out);
        RUN(test_rolling_reload);
    }
    for (int i = 0; i < N_DAEMONS; i++) th_daemon_stop(&d[i]);
    return th_finish("test_balance");
}
