/*
 * test_daemon: libreadmit against a real readmitd (started by the harness on a free port with
 * the fixture model): schema, scoring, full results, explanations, typed daemon errors with
 * row and feature, bounded waits when the daemon is stopped or down, Lazy Pirate recovery
 * after a restart, and independent clients on several threads.
 */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "rm_internal.h" /* the shim's JSON reader, to check tiers against INFO */

static th_daemon daemon_;
static size_t nf;
static int slow; /* under valgrind: smaller batches */

static readmit_client *client(void) { return th_open(daemon_.endpoint, 10000, 0); }

static int find_kind(readmit_client *c, int kind, size_t *index) {
    for (size_t j = 0; j < nf; j++) {
        int k;
        if (readmit_feature_kind(c, j, &k) == READMIT_OK && k == kind) { *index = j; return 1; }
    }
    return 0;
}

static void test_info_and_schema(void) {
    readmit_client *c = client();
    CHECK_RC(c, readmit_n_features(c, &nf), READMIT_OK);
    CHECK(nf > 5 && nf < 10000, "n_features %zu", nf);
    char *json = NULL;
    CHECK_RC(c, readmit_info_json_alloc(c, &json), READMIT_OK);
    const char *err = NULL;
    rm_json *root = json ? rm_json_parse(json, strlen(json), &err) : NULL;
    CHECK(root != NULL, "INFO is JSON: %s", err ? err : "");
    const rm_json *features = rm_json_get(root, "features");
    CHECK(features && features->type == RM_JSON_ARRAY && features->length == nf, "features array of %zu", nf);
    const rm_json *mv = rm_json_get(root, "model_version");
    CHECK(mv && mv->type == RM_JSON_STRING && strlen(mv->string) == 16, "model_version is 16 hex digits");
    if (mv && mv->type == RM_JSON_STRING)
        CHECK(strtoull(mv->string, NULL, 16) == readmit_last_model_version(c), "header model_version %llx vs %s",
              (unsigned long long)readmit_last_model_version(c), mv->string);
    rm_json_free(root);
    readmit_free(json);
    char name[256];
    for (size_t j = 0; j < nf; j++) {
        CHECK_RC(c, readmit_feature_name(c, j, name, sizeof name, NULL), READMIT_OK);
        CHECK(strlen(name) > 0, "feature %zu has a name", j);
    }
    size_t cat;
    CHECK(find_kind(c, READMIT_FEATURE_CATEGORICAL, &cat), "the schema has a categorical feature");
    size_t levels = 0;
    CHECK_RC(c, readmit_feature_n_levels(c, cat, &levels), READMIT_OK);
    CHECK(levels > 0, "categorical feature %zu has levels", cat);
    int ready = 0;
    uint64_t version = 0;
    CHECK_RC(c, readmit_health(c, &ready, &version), READMIT_OK);
    CHECK(ready == 1 && version != 0 && version == readmit_last_model_version(c), "ready %d version %llx", ready,
          (unsigned long long)version);
    char *stats = NULL;
    CHECK_RC(c, readmit_stats_alloc(c, 0, &stats), READMIT_OK);
    CHECK(stats && stats[0] == '{', "stats JSON");
    readmit_free(stats);
    readmit_close(c);
}

/* The tier of a risk under INFO's thresholds: the last tier whose min_risk <= risk. */
static int expected_tier(const rm_json *tiers, double risk) {
    int t = 0;
    for (size_t i = 0; tiers && i < tiers->length; i++) {
        const rm_json *m = rm_json_get(tiers->items[i], "min_risk");
        if (m && m->type == RM_JSON_NUMBER && risk >= m->number) t = (int)i;
    }
    return t;
}

static void test_score(void) {
    readmit_client *c = client();
    size_t rows = 200;
    double *x = malloc(rows * nf * sizeof *x), *risk = malloc(rows * sizeof *risk);
    double *risk2 = malloc(rows * sizeof *risk2), *aty = malloc(rows * sizeof *aty);
    uint8_t *tier = malloc(rows);
    th_fill_rows(c, x, rows, nf, 1);
    CHECK_RC(c, readmit_score(c, x, rows, nf, risk), READMIT_OK);
    int in_range = 1, distinct = 0;
    for (size_t i = 0; i < rows; i++) {
        if (!(risk[i] > 0 && risk[i] < 1)) in_range = 0;
        if (risk[i] != risk[0]) distinct = 1;
    }
    CHECK(in_range, "every risk is a probability in (0, 1)");
    CHECK(distinct, "different patients get different risks");
    CHECK_RC(c, readmit_score_full(c, x, rows, nf, risk2, aty, tier), READMIT_OK);
    CHECK(memcmp(risk, risk2, rows * sizeof *risk) == 0, "scoring is deterministic");
    char *json = NULL;
    readmit_info_json_alloc(c, &json);
    rm_json *info = json ? rm_json_parse(json, strlen(json), NULL) : NULL;
    const rm_json *tiers = rm_json_get(info, "tiers");
    CHECK(tiers && tiers->type == RM_JSON_ARRAY && tiers->length == 3, "INFO has 3 tiers");
    int tiers_ok = 1, aty_ok = 1;
    for (size_t i = 0; i < rows; i++) {
        if (tier[i] != expected_tier(tiers, risk[i])) tiers_ok = 0;
        if (!isfinite(aty[i])) aty_ok = 0;
    }
    CHECK(tiers_ok, "tiers follow INFO's min_risk thresholds");
    CHECK(aty_ok, "atypicality is finite");
    rm_json_free(info);
    readmit_free(json);
    /* Row i alone gets the same risk as row i in a batch. */
    int same = 1;
    for (size_t i = 0; i < 10; i++) {
        double one;
        if (readmit_score(c, x + i * nf, 1, nf, &one) != READMIT_OK || one != risk[i]) same = 0;
    }
    CHECK(same, "single-row scores equal batch scores");
    /* A row of all NaN is valid. */
    for (size_t j = 0; j < nf; j++) x[j] = NAN;
    CHECK_RC(c, readmit_score(c, x, 1, nf, risk), READMIT_OK);
    CHECK(risk[0] > 0 && risk[0] < 1, "all-missing row risk %g", risk[0]);
    CHECK_RC(c, readmit_score(c, NULL, 0, nf, NULL), READMIT_OK);
    free(x), free(risk), free(risk2), free(aty), free(tier);
    readmit_close(c);
}

static void test_daemon_errors(void) {
    readmit_client *c = client();
    size_t rows = 5;
    double *x = malloc(rows * nf * sizeof *x), risk[5];
    th_fill_rows(c, x, rows, nf, 2);
    size_t num = 0, cat = 0, levels = 0;
    find_kind(c, READMIT_FEATURE_NUMERIC, &num);
    find_kind(c, READMIT_FEATURE_CATEGORICAL, &cat);
    readmit_feature_n_levels(c, cat, &levels);
    char name[256] = "";
    readmit_feature_name(c, num, name, sizeof name, NULL);

    x[3 * nf + num] = INFINITY;
    CHECK_RC(c, readmit_score(c, x, rows, nf, risk), READMIT_EBADVALUE);
    CHECK(readmit_error_row(c) == 3 && readmit_error_feature(c) == (int)num, "row %d feature %d",
          readmit_error_row(c), readmit_error_feature(c));
    CHECK(strstr(readmit_errmsg(c), name) != NULL, "message names feature '%s': %s", name, readmit_errmsg(c));
    x[3 * nf + num] = 1;

    x[4 * nf + cat] = (double)levels; /* one past the last level */
    CHECK_RC(c, readmit_score(c, x, rows, nf, risk), READMIT_EBADCATEGORY);
    CHECK(readmit_error_row(c) == 4 && readmit_error_feature(c) == (int)cat, "row %d feature %d",
          readmit_error_row(c), readmit_error_feature(c));
    x[4 * nf + cat] = 0.5; /* not an integer */
    CHECK_RC(c, readmit_score(c, x, rows, nf, risk), READMIT_EBADCATEGORY);
    x[4 * nf + cat] = 0;

    CHECK_RC(c, readmit_score(c, x, 1, nf - 1, risk), READMIT_EBADCOLUMNS);
    CHECK(strlen(readmit_errmsg(c)) > 0, "message for bad columns");
    CHECK_RC(c, readmit_score(c, x, rows, nf, risk), READMIT_OK); /* the daemon and client go on */
    free(x);
    readmit_close(c);
}

static void test_explain(void) {
    readmit_client *c = client();
    size_t rows = 20, k = 5, kk = 0;
    double *x = malloc(rows * nf * sizeof *x);
    int32_t *idx = malloc(rows * nf * sizeof *idx);
    double *con = malloc(rows * nf * sizeof *con);
    th_fill_rows(c, x, rows, nf, 3);
    CHECK_RC(c, readmit_explain(c, x, rows, nf, k, idx, con, &kk), READMIT_OK);
    CHECK(kk == k, "k used %zu", kk);
    int valid = 1, sorted = 1;
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < k; j++) {
            int32_t f = idx[r * k + j];
            if (f < -1 || f >= (int32_t)nf) valid = 0;
            if (j > 0 && fabs(con[r * k + j]) > fabs(con[r * k + j - 1])) sorted = 0;
        }
    CHECK(valid, "feature indices in range");
    CHECK(sorted, "largest |contribution| first");
    CHECK_RC(c, readmit_explain(c, x, 2, nf, nf + 50, idx, con, &kk), READMIT_OK);
    CHECK(kk == nf, "k clamped to the feature count: %zu", kk);
    CHECK(idx[nf + 49] == -1 && con[nf + 49] == 0.0, "padding beyond the clamped k");
    free(x), free(idx), free(con);
    readmit_close(c);
}

/* A large batch equals the same rows scored in chunks. */
static void test_large_batch(void) {
    readmit_client *c = client();
    size_t rows = slow ? 5000 : 100000, chunk = rows / 10;
    double *x = malloc(rows * nf * sizeof *x), *a = malloc(rows * sizeof *a), *b = malloc(rows * sizeof *b);
    th_fill_rows(c, x, rows, nf, 4);
    CHECK_RC(c, readmit_score(c, x, rows, nf, a), READMIT_OK);
    int ok = 1;
    for (size_t i = 0; i < rows && ok; i += chunk) ok = readmit_score(c, x + i * nf, chunk, nf, b + i) == READMIT_OK;
    CHECK(ok && memcmp(a, b, rows * sizeof *a) == 0, "%zu rows in one batch equal 10 chunks", rows);
    free(x), free(a), free(b);
    readmit_close(c);
}

/* Bounded waits and recovery with a real daemon: frozen (SIGSTOP), then killed and restarted. */
static void test_stopped_and_restarted(void) {
    readmit_client *c = th_open(daemon_.endpoint, 400, 1);
    double *x = malloc(nf * sizeof *x), risk, risk_before;
    th_fill_rows(c, x, 1, nf, 5);
    CHECK_RC(c, readmit_score(c, x, 1, nf, &risk_before), READMIT_OK);

    th_daemon_signal(&daemon_, SIGSTOP);
    long long t0 = th_now_ms();
    CHECK_RC(c, readmit_score(c, x, 1, nf, &risk), READMIT_ETIMEDOUT);
    long long dt = th_now_ms() - t0;
    CHECK(dt >= 750 && dt < 2500, "2 attempts of 400 ms against a frozen daemon took %lld ms", dt);
    th_daemon_signal(&daemon_, SIGCONT);
    CHECK_RC(c, readmit_score(c, x, 1, nf, &risk), READMIT_OK);
    CHECK(risk == risk_before, "same risk after the freeze");

    int port = daemon_.port;
    th_daemon_stop(&daemon_);
    t0 = th_now_ms();
    CHECK_RC(c, readmit_score(c, x, 1, nf, &risk), READMIT_ETIMEDOUT);
    dt = th_now_ms() - t0;
    CHECK(dt < 2500, "down daemon: %lld ms", dt);

    /* Restart on the same port; a client with enough retries rides over the restart. */
    CHECK(th_daemon_spawn(&daemon_, port), "respawn");
    readmit_client *patient = th_open(daemon_.endpoint, 500, 120);
    CHECK_RC(patient, readmit_score(patient, x, 1, nf, &risk), READMIT_OK);
    CHECK(risk == risk_before, "same risk after the restart");
    CHECK_RC(c, readmit_score(c, x, 1, nf, &risk), READMIT_OK); /* the old client recovers too */
    readmit_close(patient);
    free(x);
    readmit_close(c);
}

static void write_key(const char *path, const char *key) {
    FILE *f = fopen(path, "w");
    if (!f) { perror(path); exit(2); }
    fprintf(f, "# test key\n%s\n", key);
    fclose(f);
}

static readmit_client *curve_client(const char *endpoint, const char *server_pub, const char *pub, const char *sec) {
    readmit_options *o;
    readmit_client *c = NULL;
    readmit_options_new(&o);
    readmit_options_set_timeout_ms(o, 1000);
    readmit_options_set_retries(o, 0);
    CHECK(readmit_options_set_curve(o, server_pub, pub, sec) == READMIT_OK, "curve keys accepted");
    CHECK(readmit_open_ex(endpoint, o, &c) == READMIT_OK, "open with CURVE");
    readmit_options_free(o);
    return c;
}

/* CURVE: an authorised key pair scores; an unknown key or a plain client gets no answer. */
static void test_curve(void) {
    char dir[] = "/tmp/readmit-curve-XXXXXX";
    if (!mkdtemp(dir)) { perror("mkdtemp"); return; }
    char path[400], keys[200];
    char spub[41], ssec[41], cpub[41], csec[41], xpub[41], xsec[41];
    zmq_curve_keypair(spub, ssec);
    zmq_curve_keypair(cpub, csec);
    zmq_curve_keypair(xpub, xsec); /* never authorised */
    snprintf(keys, sizeof keys, "%s/clients", dir);
    mkdir(keys, 0700);
    snprintf(path, sizeof path, "%s/client.pub", keys);
    write_key(path, cpub);
    snprintf(path, sizeof path, "%s/server.key", dir);
    write_key(path, ssec);
    th_daemon secure;
    /* The harness probes HEALTH without CURVE, so start without waiting and probe with keys. */
    CHECK(th_daemon_spawn_args(&secure, "--curve-secret-key", path, "--authorized-keys", keys, (const char *)NULL), "spawn CURVE daemon");
    readmit_options *o;
    readmit_client *good = NULL;
    readmit_options_new(&o);
    readmit_options_set_timeout_ms(o, 500);
    readmit_options_set_retries(o, 40);
    readmit_options_set_curve(o, spub, cpub, csec);
    readmit_open_ex(secure.endpoint, o, &good);
    readmit_options_free(o);
    int ready = 0;
    int rc = readmit_health(good, &ready, NULL);
    CHECK_RC(good, rc, READMIT_OK);
    if (rc != READMIT_OK) {
        readmit_close(good);
        th_daemon_stop(&secure);
        return;
    }
    double *x = malloc(nf * sizeof *x), risk = -1;
    th_fill_rows(good, x, 1, nf, 7);
    CHECK_RC(good, readmit_score(good, x, 1, nf, &risk), READMIT_OK);
    CHECK(risk > 0 && risk < 1, "risk over CURVE %g", risk);
    readmit_close(good);

    readmit_client *stranger = curve_client(secure.endpoint, spub, xpub, xsec);
    CHECK_RC(stranger, readmit_score(stranger, x, 1, nf, &risk), READMIT_ETIMEDOUT);
    readmit_close(stranger);
    readmit_client *plain = th_open(secure.endpoint, 1000, 0);
    CHECK_RC(plain, readmit_score(plain, x, 1, nf, &risk), READMIT_ETIMEDOUT);
    readmit_close(plain);
    th_daemon_stop(&secure);
    free(x);
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    CHECK(system(path) == 0, "cleanup");
}

typedef struct {
    const double *x;
    size_t rows;
    double *risk;
    int rc;
} job;

static void *score_thread(void *arg) {
    job *j = arg;
    readmit_client *c = client();
    j->rc = READMIT_OK;
    for (int i = 0; i < 20 && j->rc == READMIT_OK; i++) j->rc = readmit_score(c, j->x, j->rows, nf, j->risk);
    readmit_close(c);
    return NULL;
}

/* Distinct clients on distinct threads are independent. */
static void test_threads(void) {
    readmit_client *c = client();
    size_t rows = 500;
    double *x = malloc(rows * nf * sizeof *x), *want = malloc(rows * sizeof *want);
    th_fill_rows(c, x, rows, nf, 6);
    CHECK_RC(c, readmit_score(c, x, rows, nf, want), READMIT_OK);
    readmit_close(c);
    enum { N = 4 };
    pthread_t t[N];
    job jobs[N];
    for (int i = 0; i < N; i++) {
        jobs[i] = (job){x, rows, malloc(rows * sizeof(double)), -1};
        pthread_create(&t[i], NULL, score_thread, &jobs[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        CHECK(jobs[i].rc == READMIT_OK, "thread %d: %s", i, readmit_strerror(jobs[i].rc));
        CHECK(memcmp(jobs[i].risk, want, rows * sizeof *want) == 0, "thread %d risks", i);
        free(jobs[i].risk);
    }
    free(x), free(want);
}

int main(void) {
    slow = getenv("READMIT_TEST_SLOW") != NULL;
    if (!th_daemon_start(&daemon_, 0, (const char *)NULL)) {
        fprintf(stderr, "test_daemon: cannot start readmitd (set READMITD_BIN and READMIT_TEST_MODEL)\n");
        return 1;
    }
    readmit_client *c = client();
    int rc = readmit_n_features(c, &nf);
    CHECK_RC(c, rc, READMIT_OK);
    readmit_close(c);
    RUN(test_info_and_schema);
    if (nf > 0) {
        RUN(test_score);
        RUN(test_daemon_errors);
        RUN(test_explain);
        RUN(test_large_batch);
        RUN(test_threads);
        RUN(test_curve);
        RUN(test_stopped_and_restarted);
    }
    th_daemon_stop(&daemon_);
    return th_finish("test_daemon");
}
