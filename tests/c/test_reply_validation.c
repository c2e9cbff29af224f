/*
 * test_reply_validation: the client's defences that a real daemon cannot exercise. A fake
 * server (fake_daemon.h) sends truncated, oversized, mislabelled and malformed replies; every
 * one must give a clear error code, never a crash or a read past the end (run under valgrind
 * and ASan by scripts/tests/20-c.sh), and the client must keep working afterwards.
 * Also: argument checks, version, strerror, and timeouts against a silent server.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fake_daemon.h"
#include "harness.h"

static fake_daemon *fake;

static int score_rc(readmit_client *c, size_t rows) {
    double x[2 * 8] = {0};
    double risk[8];
    return readmit_score(c, x, rows, 2, risk);
}

static void test_version_and_strerror(void) {
    CHECK(strcmp(readmit_version(), READMIT_VERSION) == 0, "library %s, header %s", readmit_version(), READMIT_VERSION);
    CHECK(readmit_version_number() == READMIT_VERSION_NUMBER, "%d", readmit_version_number());
    int codes[] = {READMIT_OK, READMIT_EBADCATEGORY, READMIT_EINTERNAL, READMIT_EINVAL, READMIT_ETIMEDOUT,
                   READMIT_EPROTO, READMIT_ETOOBIG, READMIT_ERANGE, READMIT_ESTATUS, READMIT_ENOTFOUND};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        CHECK(strncmp(readmit_strerror(codes[i]), "READMIT_", 8) == 0, "code %d: %s", codes[i],
              readmit_strerror(codes[i]));
    CHECK(strstr(readmit_strerror(12345), "unknown") != NULL, "%s", readmit_strerror(12345));
}

static void test_argument_checks(void) {
    readmit_client *c = NULL;
    CHECK(readmit_open(NULL, &c) == READMIT_EINVAL && c == NULL, "NULL endpoint");
    CHECK(readmit_open("tcp://127.0.0.1:1", NULL) == READMIT_EINVAL, "NULL out");
    CHECK(readmit_open("no-such-transport://x", &c) == READMIT_EZMQ && c == NULL, "bad endpoint");
    CHECK(readmit_open("tcp://", &c) == READMIT_EZMQ && c == NULL, "bad tcp endpoint");
    readmit_options *o;
    CHECK(readmit_options_new(&o) == READMIT_OK, "options");
    CHECK(readmit_options_set_timeout_ms(o, 0) == READMIT_EINVAL, "timeout 0");
    CHECK(readmit_options_set_retries(o, -1) == READMIT_EINVAL, "retries -1");
    CHECK(readmit_options_set_max_reply_bytes(o, 10) == READMIT_EINVAL, "tiny max reply");
    CHECK(readmit_options_set_curve(o, "short", "short", "short") == READMIT_EINVAL, "bad curve keys");
    CHECK(readmit_open_ex(NULL, o, &c) == READMIT_EINVAL, "no endpoint at all");
    readmit_options_free(o);
    readmit_options_free(NULL);
    readmit_close(NULL);
    readmit_free(NULL);
    CHECK(strlen(readmit_errmsg(NULL)) > 0, "errmsg(NULL)");

    c = th_open(fake_endpoint(fake), 1000, 0);
    double x[4] = {0}, risk[2];
    CHECK_RC(c, readmit_score(c, NULL, 2, 2, risk), READMIT_EINVAL);
    CHECK(strstr(readmit_errmsg(c), "features") != NULL, "message names the argument: %s", readmit_errmsg(c));
    CHECK_RC(c, readmit_score(c, x, 2, 2, NULL), READMIT_EINVAL);
    CHECK_RC(c, readmit_score(c, x, 2, 0, risk), READMIT_EINVAL);
    CHECK_RC(c, readmit_score(c, x, (size_t)UINT32_MAX + 1, 2, risk), READMIT_EINVAL);
    CHECK_RC(c, readmit_explain(c, x, 2, 2, 0, NULL, NULL, NULL), READMIT_EINVAL);
    CHECK_RC(c, readmit_n_features(c, NULL), READMIT_EINVAL);
    CHECK_RC(c, score_rc(c, 0), READMIT_OK); /* zero rows is a valid request */
    readmit_close(c);
}

static void test_valid_fake_and_schema(void) {
    fake_set_mode(fake, FAKE_VALID);
    readmit_client *c = th_open(fake_endpoint(fake), 1000, 0);
    double x[6] = {1, 0, 2, 1, NAN, NAN}, risk[3] = {0}, aty[3];
    uint8_t tier[3];
    CHECK_RC(c, readmit_score_full(c, x, 3, 2, risk, aty, tier), READMIT_OK);
    CHECK(risk[0] == 0.25 && risk[2] == 0.25, "risk %g %g", risk[0], risk[2]);
    CHECK(readmit_last_model_version(c) == 0xff, "model version %llx", (unsigned long long)readmit_last_model_version(c));
    size_t nf = 0, need = 0, nl = 0;
    CHECK_RC(c, readmit_n_features(c, &nf), READMIT_OK);
    CHECK(nf == 2, "n_features %zu", nf);
    char buf[64];
    CHECK_RC(c, readmit_feature_name(c, 1, NULL, 0, &need), READMIT_ERANGE);
    CHECK(need == 5, "needed %zu for \"race\"", need);
    CHECK_RC(c, readmit_feature_name(c, 1, buf, 4, &need), READMIT_ERANGE);
    CHECK_RC(c, readmit_feature_name(c, 1, buf, sizeof buf, &need), READMIT_OK);
    CHECK(strcmp(buf, "race") == 0, "%s", buf);
    CHECK_RC(c, readmit_feature_n_levels(c, 1, &nl), READMIT_OK);
    CHECK(nl == 2, "levels %zu", nl);
    CHECK_RC(c, readmit_feature_level(c, 1, 1, buf, sizeof buf, NULL), READMIT_OK);
    CHECK(strcmp(buf, "B\xc3\xa9") == 0, "\\u00e9 decoded to UTF-8: %s", buf);
    CHECK_RC(c, readmit_feature_level(c, 1, 2, buf, sizeof buf, NULL), READMIT_ENOTFOUND);
    CHECK_RC(c, readmit_feature_name(c, 2, buf, sizeof buf, NULL), READMIT_ENOTFOUND);
    int kind = -1;
    CHECK_RC(c, readmit_feature_kind(c, 0, &kind), READMIT_OK);
    CHECK(kind == READMIT_FEATURE_NUMERIC, "kind %d", kind);
    char *json = NULL;
    CHECK_RC(c, readmit_info_json_alloc(c, &json), READMIT_OK);
    CHECK(json && strstr(json, "\"features\"") != NULL, "info json");
    size_t len = json ? strlen(json) : 0;
    readmit_free(json);
    CHECK_RC(c, readmit_info_json(c, NULL, 0, &need), READMIT_ERANGE);
    CHECK(need == len + 1, "needed %zu, json length %zu", need, len);
    int32_t idx[6];
    double con[6];
    size_t kk = 0;
    CHECK_RC(c, readmit_explain(c, x, 3, 2, 2, idx, con, &kk), READMIT_OK);
    CHECK(kk == 2, "k used %zu", kk);
    readmit_close(c);
}

/* Each malformed reply: the right code, a message, and the next (valid) call works. */
static void expect_rejected(fake_mode mode, int op, int want, const char *what) {
    readmit_options *o;
    readmit_options_new(&o);
    readmit_options_set_timeout_ms(o, 1000);
    readmit_options_set_retries(o, 0);
    readmit_options_set_max_reply_bytes(o, 1 << 20);
    readmit_client *c = NULL;
    readmit_open_ex(fake_endpoint(fake), o, &c);
    readmit_options_free(o);
    fake_set_mode(fake, mode);
    int rc;
    if (op == 1) {
        rc = score_rc(c, 3);
    } else if (op == 2) {
        double x[4] = {0};
        int32_t idx[4];
        double con[4];
        rc = readmit_explain(c, x, 2, 2, 2, idx, con, NULL);
    } else if (op == 3) {
        size_t nf;
        rc = readmit_n_features(c, &nf);
    } else {
        int ready;
        rc = readmit_health(c, &ready, NULL);
    }
    CHECK(rc == want, "%s: got %d (%s: %s), want %d", what, rc, readmit_strerror(rc), readmit_errmsg(c), want);
    CHECK(strlen(readmit_errmsg(c)) > 0, "%s: empty message", what);
    fake_set_mode(fake, FAKE_VALID);
    CHECK_RC(c, score_rc(c, 2), READMIT_OK);
    readmit_close(c);
}

static void test_malformed_replies(void) {
    expect_rejected(FAKE_SHORT_HEADER, 1, READMIT_EPROTO, "23-byte header");
    expect_rejected(FAKE_BAD_MAGIC, 1, READMIT_EPROTO, "bad magic");
    expect_rejected(FAKE_BAD_VERSION, 3, READMIT_EPROTO, "bad version");
    expect_rejected(FAKE_WRONG_OP, 1, READMIT_EPROTO, "wrong op");
    expect_rejected(FAKE_WRONG_ID, 1, READMIT_EPROTO, "wrong request id");
    expect_rejected(FAKE_SHORT_RISK, 1, READMIT_EPROTO, "truncated risk frame");
    expect_rejected(FAKE_LONG_RISK, 1, READMIT_EPROTO, "overlong risk frame");
    expect_rejected(FAKE_WRONG_ROWS, 1, READMIT_EPROTO, "row count mismatch");
    expect_rejected(FAKE_MISSING_FRAME, 1, READMIT_EPROTO, "missing tier frame");
    expect_rejected(FAKE_EXTRA_FRAMES, 1, READMIT_EPROTO, "20 extra frames");
    expect_rejected(FAKE_EXTRA_FRAMES, 3, READMIT_EPROTO, "extra frames after INFO");
    expect_rejected(FAKE_HUGE, 3, READMIT_ETOOBIG, "reply over max_reply_bytes");
    expect_rejected(FAKE_HUGE, 1, READMIT_ETOOBIG, "SCORE reply over max_reply_bytes");
    expect_rejected(FAKE_HUGE_FRAME, 3, READMIT_ETIMEDOUT, "one frame over max_reply_bytes (dropped by libzmq)");
    expect_rejected(FAKE_ERROR_NO_MESSAGE, 1, READMIT_EPROTO, "error reply without message");
    expect_rejected(FAKE_BAD_JSON, 3, READMIT_EPROTO, "INFO not JSON");
    expect_rejected(FAKE_BAD_JSON, 4, READMIT_EPROTO, "HEALTH not JSON");
    expect_rejected(FAKE_EXPLAIN_BIG_K, 2, READMIT_EPROTO, "EXPLAIN k over request");
    expect_rejected(FAKE_UNKNOWN_STATUS, 1, READMIT_ESTATUS, "unknown status");
}

static void test_unknown_status_details(void) {
    readmit_client *c = th_open(fake_endpoint(fake), 1000, 0);
    fake_set_mode(fake, FAKE_UNKNOWN_STATUS);
    CHECK_RC(c, score_rc(c, 1), READMIT_ESTATUS);
    CHECK(strstr(readmit_errmsg(c), "99") && strstr(readmit_errmsg(c), "made-up failure"), "%s", readmit_errmsg(c));
    CHECK(readmit_error_row(c) == 3 && readmit_error_feature(c) == 1, "row %d feature %d", readmit_error_row(c),
          readmit_error_feature(c));
    fake_set_mode(fake, FAKE_VALID);
    CHECK_RC(c, score_rc(c, 1), READMIT_OK);
    CHECK(readmit_error_row(c) == -1 && strlen(readmit_errmsg(c)) == 0, "error state cleared by success");
    readmit_close(c);
}

/* Bounded waits: a silent server gives ETIMEDOUT within (retries + 1) * timeout, resending on a
 * fresh socket each time (Lazy Pirate); a slow one gives a timeout, then the client recovers. */
static void test_timeouts_and_retries(void) {
    readmit_client *c = th_open(fake_endpoint(fake), 300, 2);
    fake_set_mode(fake, FAKE_SILENT);
    int before = fake_requests(fake);
    long long t0 = th_now_ms();
    CHECK_RC(c, score_rc(c, 1), READMIT_ETIMEDOUT);
    long long dt = th_now_ms() - t0;
    CHECK(dt >= 850 && dt < 2000, "3 attempts of 300 ms took %lld ms", dt);
    /* Give the fake's thread a moment to count the last resend. */
    for (int i = 0; i < 50 && fake_requests(fake) - before < 3; i++) th_sleep_ms(10);
    CHECK(fake_requests(fake) - before == 3, "resent on fresh sockets: %d requests", fake_requests(fake) - before);
    CHECK(strstr(readmit_errmsg(c), "300 ms") != NULL, "%s", readmit_errmsg(c));
    fake_set_mode(fake, FAKE_VALID);
    CHECK_RC(c, score_rc(c, 1), READMIT_OK);
    readmit_close(c);

    c = th_open(fake_endpoint(fake), 500, 0);
    fake_set_mode(fake, FAKE_SLOW);
    t0 = th_now_ms();
    CHECK_RC(c, score_rc(c, 1), READMIT_ETIMEDOUT);
    dt = th_now_ms() - t0;
    CHECK(dt >= 450 && dt < 1200, "slow server: 500 ms timeout took %lld ms", dt);
    fake_set_mode(fake, FAKE_VALID);
    th_sleep_ms(1200); /* let the fake finish the slow answer (dropped: the socket was reset) */
    CHECK_RC(c, score_rc(c, 1), READMIT_OK);
    readmit_close(c);

    /* Nothing listening at all: connect is asynchronous, the call times out. */
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", th_free_port());
    c = th_open(ep, 200, 1);
    t0 = th_now_ms();
    int ready = 1;
    CHECK_RC(c, readmit_health(c, &ready, NULL), READMIT_ETIMEDOUT);
    dt = th_now_ms() - t0;
    CHECK(dt >= 350 && dt < 1000, "down daemon: 2 x 200 ms took %lld ms", dt);
    readmit_close(c);
}

/* Several endpoints: a dead first endpoint fails over to the live one after one timeout. */
static void test_failover(void) {
    fake_set_mode(fake, FAKE_VALID);
    char dead[64];
    snprintf(dead, sizeof dead, "tcp://127.0.0.1:%d", th_free_port());
    readmit_options *o;
    readmit_options_new(&o);
    readmit_options_set_timeout_ms(o, 200);
    readmit_options_set_retries(o, 1);
    readmit_options_add_endpoint(o, fake_endpoint(fake));
    readmit_client *c = NULL;
    CHECK(readmit_open_ex(dead, o, &c) == READMIT_OK, "open with two endpoints");
    readmit_options_free(o);
    CHECK_RC(c, score_rc(c, 2), READMIT_OK);
    CHECK_RC(c, score_rc(c, 2), READMIT_OK); /* stays on the live endpoint */
    readmit_close(c);
}

/* Large matrices are sent without a copy; a timeout must still release them before returning
 * (valgrind/ASan would flag a late read of the freed buffer). */
static void test_zero_copy_timeout(void) {
    size_t rows = 20000;
    double *x = calloc(rows * 2, sizeof *x);
    double *risk = calloc(rows, sizeof *risk);
    readmit_client *c = th_open(fake_endpoint(fake), 300, 0);
    fake_set_mode(fake, FAKE_SILENT);
    CHECK_RC(c, readmit_score(c, x, rows, 2, risk), READMIT_ETIMEDOUT);
    free(x); /* the library must no longer use it */
    x = calloc(rows * 2, sizeof *x);
    fake_set_mode(fake, FAKE_VALID);
    CHECK_RC(c, readmit_score(c, x, rows, 2, risk), READMIT_OK);
    CHECK(risk[rows - 1] == 0.25, "last risk %g", risk[rows - 1]);
    free(x);
    free(risk);
    readmit_close(c);
}

int main(void) {
    fake = fake_start();
    RUN(test_version_and_strerror);
    RUN(test_argument_checks);
    RUN(test_valid_fake_and_schema);
    RUN(test_malformed_replies);
    RUN(test_unknown_status_details);
    RUN(test_timeouts_and_retries);
    RUN(test_failover);
    RUN(test_zero_copy_timeout);
    fake_stop(fake);
    return th_finish("test_reply_validation");
}
