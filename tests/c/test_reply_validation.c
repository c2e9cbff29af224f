/*
 * test_reply_validation: the client's defences that a real daemon cannot exercise. A fake
 * server (fake_daemon.h) sends truncated, oversized, mislabelled and malformed replies; every
 * one must give a clear error code, never a crash or a read past the end (run under valgrind
 * and ASan by scripts/tests/20-c.sh), and the client must keep working afterwards.
 * Also: argument checks, version, strerror, and timeouts against a silent server. For raw
 * records (RECORDS): the request frames byte for byte (dictionary encoding, options, frame
 * layout), every malformed reply rejected, the builder's argument checks, and INFO's
 * raw_fields read and validated.
 */
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_daemon.h"
#include "harness.h"
#include "rm_internal.h" /* rm_records_text_frame: a text column's frame for any rows */

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
    CHECK(readmit_open("no-such-transport://x", &c) == READMIT_EINVAL && c == NULL, "bad endpoint");
    CHECK(readmit_open("tcp://", &c) == READMIT_EINVAL && c == NULL, "bad tcp endpoint");
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
    int has_interval = -1;
    CHECK_RC(c, readmit_has_interval(c, &has_interval), READMIT_OK);
    CHECK(has_interval == 0, "an INFO without \"interval\" has none: %d", has_interval);
    CHECK_RC(c, readmit_has_interval(c, NULL), READMIT_EINVAL);
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

/* A client of the fake daemon accepting replies of up to 1 MiB. */
static readmit_client *fake_client(int timeout_ms, int retries) {
    readmit_options *o;
    readmit_options_new(&o);
    readmit_options_set_timeout_ms(o, timeout_ms);
    readmit_options_set_retries(o, retries);
    readmit_options_set_max_reply_bytes(o, 1 << 20);
    readmit_client *c = NULL;
    readmit_open_ex(fake_endpoint(fake), o, &c);
    readmit_options_free(o);
    return c;
}

/* Each malformed reply: the right code, a message, and the next (valid) call works. */
static void expect_rejected(fake_mode mode, int op, int want, const char *what) {
    readmit_client *c = fake_client(1000, 0);
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
    } else if (op == 7) {
        readmit_records *r = NULL;
        readmit_result *res = NULL;
        readmit_records_new(3, &r);
        readmit_records_set_number(r, "age", 0, 1);
        rc = readmit_score_records(c, r, 1, 0, &res);
        CHECK(res == NULL || rc == READMIT_OK, "%s: no result on failure", what);
        readmit_result_free(res);
        readmit_records_free(r);
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
    /* One frame over max_reply_bytes: libzmq drops the connection. That was READMIT_ETIMEDOUT
     * after every retry; now READMIT_ETOOBIG as soon as the drop is seen, naming the limit. */
    {
        readmit_client *c = fake_client(3000, 1);
        fake_set_mode(fake, FAKE_HUGE_FRAME);
        size_t nf = 0;
        long long t0 = th_now_ms();
        CHECK_RC(c, readmit_n_features(c, &nf), READMIT_ETOOBIG);
        long long took = th_now_ms() - t0;
        CHECK(took < 2000, "one frame over max_reply_bytes: READMIT_ETOOBIG after %lld ms, not the 6000 ms of two timeouts", took);
        CHECK(strstr(readmit_errmsg(c), "dropped while the request was out, on each of 2 attempts") != NULL &&
                  strstr(readmit_errmsg(c), "max_reply_bytes (1048576)") != NULL,
              "the message names the drop and the limit: %s", readmit_errmsg(c));
        fake_set_mode(fake, FAKE_VALID);
        CHECK_RC(c, score_rc(c, 2), READMIT_OK);
        readmit_close(c);
    }
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

    /* Nothing listening at all: the refused connection fails the call at once, well before
     * the timeout (test_availability.c covers this in depth). */
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", th_free_port());
    c = th_open(ep, 2000, 1);
    t0 = th_now_ms();
    int ready = 1;
    CHECK_RC(c, readmit_health(c, &ready, NULL), READMIT_EUNAVAILABLE);
    dt = th_now_ms() - t0;
    CHECK(dt < 1000, "down daemon: %lld ms, not 2 x 2000 ms", dt);
    readmit_close(c);
}

/* Several endpoints: a dead first endpoint fails over to the live one (at once: nothing
 * listens there). */
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

/* ---------------------------------------------------------------------------------------- */
/* Raw records (RECORDS) and raw fields                                                      */
/* ---------------------------------------------------------------------------------------- */

/* A byte string built by hand, to compare request frames with byte for byte. */
typedef struct {
    unsigned char b[1024];
    size_t n;
} bytes;

static void put_u8(bytes *x, unsigned v) { x->b[x->n++] = (unsigned char)v; }
static void put_u32(bytes *x, uint32_t v) {
    for (int i = 0; i < 4; i++) put_u8(x, (v >> (8 * i)) & 0xff);
}
static void put_f64(bytes *x, double v) {
    uint64_t u;
    memcpy(&u, &v, 8);
    for (int i = 0; i < 8; i++) put_u8(x, (unsigned)(u >> (8 * i)) & 0xff);
}
static void put_u16(bytes *x, uint16_t v) {
    put_u8(x, v & 0xff);
    put_u8(x, (unsigned)(v >> 8) & 0xff);
}
static void put_text(bytes *x, const char *s) { /* u32 length + bytes */
    put_u32(x, (uint32_t)strlen(s));
    memcpy(x->b + x->n, s, strlen(s));
    x->n += strlen(s);
}

/* Frame i of the fake's last request equals `want`. */
static void check_frame(size_t i, const void *want, size_t want_size, const char *what) {
    size_t size = 0;
    const unsigned char *got = fake_last_frame(fake, i, &size);
    CHECK(got != NULL && size == want_size && memcmp(got, want, size) == 0, "%s: frame %zu is %zu bytes, want %zu%s",
          what, i, size, want_size, got && size == want_size ? " (bytes differ)" : "");
    if (got && size == want_size && memcmp(got, want, size) != 0)
        for (size_t j = 0; j < size; j++)
            if (got[j] != ((const unsigned char *)want)[j]) {
                fprintf(stderr, "   first difference at byte %zu: 0x%02x, want 0x%02x\n", j, got[j],
                        ((const unsigned char *)want)[j]);
                break;
            }
}

static void test_records_builder(void) {
    readmit_records *r = NULL;
    CHECK(readmit_records_new(2, NULL) == READMIT_EINVAL, "NULL out");
    CHECK(readmit_records_new((size_t)UINT32_MAX + 1, &r) == READMIT_EINVAL && r == NULL, "2^32 rows");
    CHECK(strlen(readmit_records_errmsg(NULL)) > 0, "errmsg(NULL)");
    readmit_records_free(NULL);
    CHECK(readmit_records_set_number(NULL, "age", 0, 1) == READMIT_EINVAL, "NULL records");
    CHECK(readmit_records_new(3, &r) == READMIT_OK && r != NULL, "new");
    CHECK(strcmp(readmit_records_errmsg(r), "") == 0, "no message yet");

    CHECK(readmit_records_set_number(r, NULL, 0, 1) == READMIT_EINVAL, "NULL field");
    CHECK(readmit_records_set_number(r, "", 0, 1) == READMIT_EINVAL, "empty field");
    char long_name[258];
    memset(long_name, 'a', 257);
    long_name[257] = '\0';
    CHECK(readmit_records_set_number(r, long_name, 0, 1) == READMIT_EINVAL, "257-byte field name");
    CHECK(strstr(readmit_records_errmsg(r), "257 bytes") != NULL, "%s", readmit_records_errmsg(r));
    long_name[256] = '\0';
    CHECK(readmit_records_set_number(r, long_name, 0, 1) == READMIT_OK, "256-byte field name: %s", readmit_records_errmsg(r));
    CHECK(readmit_records_set_number(r, "bad\xff", 0, 1) == READMIT_EINVAL, "field name not UTF-8");
    CHECK(readmit_records_set_number(r, "age", 3, 1) == READMIT_ENOTFOUND, "row out of range");
    CHECK(strstr(readmit_records_errmsg(r), "row 3") != NULL, "%s", readmit_records_errmsg(r));

    CHECK(readmit_records_set_number(r, "age", 0, 70) == READMIT_OK, "number");
    CHECK(strcmp(readmit_records_errmsg(r), "") == 0, "success clears the message");
    CHECK(readmit_records_set_text(r, "age", 1, "70") == READMIT_EINVAL, "text into a number column");
    CHECK(strstr(readmit_records_errmsg(r), "'age'") && strstr(readmit_records_errmsg(r), "numbers"), "%s",
          readmit_records_errmsg(r));
    const char *texts[3] = {"x", NULL, "y"};
    CHECK(readmit_records_set_texts(r, "age", texts) == READMIT_EINVAL, "texts into a number column");
    CHECK(readmit_records_set_text(r, "race", 0, "A") == READMIT_OK, "text");
    CHECK(readmit_records_set_number(r, "race", 1, 2) == READMIT_EINVAL, "number into a text column");
    CHECK(strstr(readmit_records_errmsg(r), "'race'") && strstr(readmit_records_errmsg(r), "texts"), "%s",
          readmit_records_errmsg(r));
    double values[3] = {1, 2, 3};
    CHECK(readmit_records_set_numbers(r, "race", values) == READMIT_EINVAL, "numbers into a text column");
    CHECK(readmit_records_set_text(r, "race", 1, "caf\xc3") == READMIT_EINVAL, "truncated UTF-8 text");
    CHECK(readmit_records_set_text(r, "race", 1, "\xed\xa0\x80") == READMIT_EINVAL, "a UTF-16 surrogate");
    CHECK(readmit_records_set_text(r, "race", 1, "\xc0\xaf") == READMIT_EINVAL, "overlong UTF-8");
    CHECK(readmit_records_set_text(r, "race", 1, "caf\xc3\xa9 \xf0\x9f\x98\x80") == READMIT_OK, "valid UTF-8: %s",
          readmit_records_errmsg(r));
    const char *bad[3] = {"ok", "ok", "\xff"};
    CHECK(readmit_records_set_texts(r, "gender", bad) == READMIT_EINVAL, "a bad text in a whole column");
    CHECK(strstr(readmit_records_errmsg(r), "row 2") != NULL, "%s", readmit_records_errmsg(r));
    CHECK(readmit_records_set_numbers(r, "x", NULL) == READMIT_EINVAL, "NULL values");
    CHECK(readmit_records_set_texts(r, "y", NULL) == READMIT_EINVAL, "NULL texts");
    const char *levels[2] = {"a", "b"};
    CHECK(readmit_records_set_codes(r, "codes", 2, levels, (const int32_t[3]){0, 2, 1}) == READMIT_EINVAL, "code 2 of 2 levels");
    CHECK(strstr(readmit_records_errmsg(r), "row 1") != NULL, "%s", readmit_records_errmsg(r));
    CHECK(readmit_records_set_codes(r, "codes", 2, levels, (const int32_t[3]){0, -2, 1}) == READMIT_EINVAL, "code -2");
    const char *bad_levels[2] = {"a", "\xff"};
    CHECK(readmit_records_set_codes(r, "codes", 2, bad_levels, (const int32_t[3]){0, 0, 0}) == READMIT_EINVAL, "a bad level");
    CHECK(strstr(readmit_records_errmsg(r), "level 1") != NULL, "%s", readmit_records_errmsg(r));
    const char *null_level[2] = {"a", NULL};
    CHECK(readmit_records_set_codes(r, "codes", 2, null_level, (const int32_t[3]){0, 0, 0}) == READMIT_EINVAL, "a NULL level");
    CHECK(readmit_records_set_codes(r, "codes", 2, NULL, (const int32_t[3]){0, 0, 0}) == READMIT_EINVAL, "NULL levels");
    CHECK(readmit_records_set_codes(r, "codes", 2, levels, NULL) == READMIT_EINVAL, "NULL codes");
    CHECK(readmit_records_set_codes(r, "age", 2, levels, (const int32_t[3]){0, 1, -1}) == READMIT_EINVAL, "codes into a number column");
    CHECK(readmit_records_set_codes(r, "codes", 0, NULL, (const int32_t[3]){-1, -1, -1}) == READMIT_OK, "no levels, all missing: %s",
          readmit_records_errmsg(r));
    /* Texts from one buffer with offsets: the offsets are a range of the buffer, each text
     * valid UTF-8 without NUL (checked once per distinct text; the first bad row is named). */
    const char *buf = "ab\xff" "cd\0e";
    CHECK(readmit_records_set_text_buffer(r, "buf", buf, 7, NULL, NULL) == READMIT_EINVAL, "NULL offsets");
    CHECK(readmit_records_set_text_buffer(r, "buf", NULL, 7, (const int64_t[4]){0, 0, 0, 0}, NULL) == READMIT_EINVAL, "NULL data");
    CHECK(readmit_records_set_text_buffer(r, "buf", buf, 7, (const int64_t[4]){0, 2, 1, 3}, NULL) == READMIT_EINVAL,
          "decreasing offsets");
    CHECK(strstr(readmit_records_errmsg(r), "row 1") != NULL, "%s", readmit_records_errmsg(r));
    CHECK(readmit_records_set_text_buffer(r, "buf", buf, 7, (const int64_t[4]){0, 1, 2, 8}, NULL) == READMIT_EINVAL,
          "an offset past the buffer");
    CHECK(strstr(readmit_records_errmsg(r), "row 2") && strstr(readmit_records_errmsg(r), "7-byte"), "%s", readmit_records_errmsg(r));
    CHECK(readmit_records_set_text_buffer(r, "buf", buf, 7, (const int64_t[4]){-1, 1, 2, 3}, NULL) == READMIT_EINVAL,
          "a negative offset");
    CHECK(readmit_records_set_text_buffer(r, "buf", buf, 7, (const int64_t[4]){0, 2, 2, 3}, NULL) == READMIT_EINVAL,
          "bad UTF-8 in row 2");
    CHECK(strstr(readmit_records_errmsg(r), "'buf', row 2") && strstr(readmit_records_errmsg(r), "UTF-8"), "%s",
          readmit_records_errmsg(r));
    CHECK(readmit_records_set_text_buffer(r, "buf", buf, 7, (const int64_t[4]){0, 2, 2, 3}, (const uint8_t[3]){1, 1, 0}) ==
              READMIT_OK, "a bad text in a missing row is not read: %s", readmit_records_errmsg(r));
    CHECK(readmit_records_set_text_buffer(r, "buf", buf, 7, (const int64_t[4]){0, 3, 5, 7}, NULL) == READMIT_EINVAL,
          "a NUL in row 2 (and bad UTF-8 in row 0)");
    {
        /* The same checks on a column long enough for the short-text cache (256 rows or more),
         * where rows of texts seen before take its fast loop: an offset out of order or past
         * the buffer after many such rows is named by its row, also in a missing row, and the
         * column keeps what it held. */
        enum { ROWS = 300 };
        readmit_records *big = NULL;
        CHECK(readmit_records_new(ROWS, &big) == READMIT_OK, "new");
        char text[ROWS * 6];
        int64_t off[ROWS + 1];
        uint8_t valid[ROWS];
        off[0] = 0;
        for (size_t row = 0; row < ROWS; row++) {
            const char *t = row % 3 ? "No" : "Steady";
            memcpy(text + off[row], t, strlen(t));
            off[row + 1] = off[row] + (int64_t)strlen(t);
            valid[row] = 1;
        }
        size_t len = (size_t)off[ROWS];
        CHECK(readmit_records_set_text_buffer(big, "med", text, len, off, NULL) == READMIT_OK, "%s", readmit_records_errmsg(big));
        int64_t saved = off[281];
        off[281] = off[280] - 1;
        CHECK(readmit_records_set_text_buffer(big, "med", text, len, off, NULL) == READMIT_EINVAL, "decreasing at row 280");
        CHECK(strstr(readmit_records_errmsg(big), "'med', row 280:") != NULL, "%s", readmit_records_errmsg(big));
        valid[280] = 0;
        CHECK(readmit_records_set_text_buffer(big, "med", text, len, off, valid) == READMIT_EINVAL, "decreasing in a missing row");
        CHECK(strstr(readmit_records_errmsg(big), "'med', row 280:") != NULL, "%s", readmit_records_errmsg(big));
        off[281] = saved;
        CHECK(readmit_records_set_text_buffer(big, "med", text, len - 1, off, NULL) == READMIT_EINVAL, "past the buffer");
        CHECK(strstr(readmit_records_errmsg(big), "'med', row 299:") != NULL, "%s", readmit_records_errmsg(big));
        size_t size = 0;
        unsigned char *frame = rm_records_text_frame(big, "med", 0, ROWS, &size);
        /* Type 3, two texts in the order of their first row, then a code a row. */
        CHECK(frame && size == 1 + 4 + 4 + 6 + 4 + 2 + ROWS && frame[0] == 3 && frame[1] == 2 && memcmp(frame + 9, "Steady", 6) == 0,
              "the column is the first one set");
        for (size_t row = 0; frame && row < ROWS; row++) CHECK(frame[21 + row] == (row % 3 ? 1 : 0), "row %zu", row);
        free(frame);
        readmit_records_free(big);
    }
    CHECK(strstr(readmit_records_errmsg(r), "row 0") != NULL, "%s", readmit_records_errmsg(r));
    CHECK(readmit_records_set_text_buffer(r, "buf", buf, 7, (const int64_t[4]){3, 5, 5, 7}, NULL) == READMIT_EINVAL,
          "a NUL in row 2");
    CHECK(strstr(readmit_records_errmsg(r), "row 2") && strstr(readmit_records_errmsg(r), "NUL"), "%s", readmit_records_errmsg(r));
    CHECK(readmit_records_set_text_buffer(r, "age", "a", 1, (const int64_t[4]){0, 1, 1, 1}, NULL) == READMIT_EINVAL,
          "texts into a number column");
    readmit_records_free(r);

    /* Zero rows: NULL column arrays are fine. */
    CHECK(readmit_records_new(0, &r) == READMIT_OK, "0 rows");
    CHECK(readmit_records_set_numbers(r, "age", NULL) == READMIT_OK, "0-row numbers");
    CHECK(readmit_records_set_texts(r, "race", NULL) == READMIT_OK, "0-row texts");
    CHECK(readmit_records_set_text_buffer(r, "buf", NULL, 0, (const int64_t[1]){0}, NULL) == READMIT_OK, "0-row text buffer");
    CHECK(readmit_records_set_number(r, "age", 0, 1) == READMIT_ENOTFOUND, "no row 0");
    readmit_records_free(r);
}

/* The request is built byte for byte as docs/PROTOCOL.md says: counts, then name and values
 * frames per column in creation order; texts dictionary-encoded with only the texts in use, in
 * the order of their first row. */
static void test_records_request_bytes(void) {
    fake_set_mode(fake, FAKE_VALID);
    readmit_client *c = th_open(fake_endpoint(fake), 2000, 0);
    readmit_records *r = NULL;
    readmit_result *res = NULL;
    readmit_records_new(3, &r);
    readmit_records_set_number(r, "age", 2, -2.0); /* row 1 never set: missing */
    readmit_records_set_number(r, "age", 0, 1.5);
    readmit_records_set_text(r, "race", 2, "Z");
    readmit_records_set_text(r, "race", 0, "B");
    readmit_records_set_text(r, "race", 0, "Y"); /* "B" is no longer used: not sent */
    const char *g[3] = {"F", "M", "F"};
    CHECK(readmit_records_set_texts(r, "g\xc3\xa9", g) == READMIT_OK, "%s", readmit_records_errmsg(r));
    double prior[3] = {0, NAN, 4};
    readmit_records_set_numbers(r, "prior", prior);
    readmit_records_set_text(r, "empty", 1, NULL); /* a text column with no text at all */
    CHECK_RC(c, readmit_score_records(c, r, 2, READMIT_RECORDS_BAD_VALUES_MISSING, &res), READMIT_OK);
    readmit_result_free(res);

    CHECK(fake_last_n_frames(fake) == 2 + 2 * 5, "%zu request frames, want 12", fake_last_n_frames(fake));
    size_t size = 0;
    const unsigned char *h = fake_last_frame(fake, 0, &size);
    CHECK(h && size == 16 && memcmp(h, "RDMT", 4) == 0 && h[4] == 2 && h[5] == 7 && h[6] == 0 && h[7] == 0,
          "request header: magic, version 2, op 7, flags 0");
    bytes x = {{0}, 0};
    put_u32(&x, 3), put_u32(&x, 5), put_u32(&x, 2), put_u32(&x, 2); /* n_rows, n_columns, k, options */
    check_frame(1, x.b, x.n, "counts");
    check_frame(2, "age", 3, "name of column 0 (no NUL)");
    x.n = 0;
    put_u8(&x, 1), put_f64(&x, 1.5);
    for (int i = 0; i < 6; i++) put_u8(&x, 0); /* unset: the quiet NaN 0x7ff8000000000000, LE */
    put_u8(&x, 0xf8), put_u8(&x, 0x7f);
    put_f64(&x, -2.0);
    check_frame(3, x.b, x.n, "numbers: type 1, float64 LE, unset = NaN");
    check_frame(4, "race", 4, "name of column 1");
    x.n = 0;
    put_u8(&x, 3), put_u32(&x, 2), put_text(&x, "Y"), put_text(&x, "Z"); /* two texts: 8-bit codes */
    put_u8(&x, 0), put_u8(&x, 255), put_u8(&x, 1);
    check_frame(5, x.b, x.n, "texts: type 3, used texts by first row, u8 codes with 255 missing");
    check_frame(6, "g\xc3\xa9", 3, "UTF-8 name");
    x.n = 0;
    put_u8(&x, 3), put_u32(&x, 2), put_text(&x, "F"), put_text(&x, "M");
    put_u8(&x, 0), put_u8(&x, 1), put_u8(&x, 0);
    check_frame(7, x.b, x.n, "whole text column");
    check_frame(8, "prior", 5, "name of column 3");
    size_t psize = 0;
    const unsigned char *p = fake_last_frame(fake, 9, &psize);
    CHECK(p && psize == 4 && p[0] == 5 && p[1] == 0 && p[2] == 0x80 && p[3] == 4,
          "whole number column of small whole numbers: type 5, 8-bit integers, -128 missing");
    check_frame(10, "empty", 5, "name of column 4");
    x.n = 0;
    put_u8(&x, 3), put_u32(&x, 0), put_u8(&x, 255), put_u8(&x, 255), put_u8(&x, 255);
    check_frame(11, x.b, x.n, "a text column without texts");

    /* The same cells set in another order give the same bytes. */
    readmit_records *r2 = NULL;
    readmit_records_new(3, &r2);
    readmit_records_set_number(r2, "age", 0, 1.5);
    readmit_records_set_number(r2, "age", 2, -2.0);
    /* ... and so do dictionary-encoded columns (unused and repeated levels included). */
    const char *race_levels[4] = {"Z", "unused", "Y", "Z"};
    CHECK(readmit_records_set_codes(r2, "race", 4, race_levels, (const int32_t[3]){2, -1, 3}) == READMIT_OK, "%s",
          readmit_records_errmsg(r2));
    const char *g_levels[2] = {"M", "F"};
    CHECK(readmit_records_set_codes(r2, "g\xc3\xa9", 2, g_levels, (const int32_t[3]){1, 0, 1}) == READMIT_OK, "%s",
          readmit_records_errmsg(r2));
    readmit_records_set_numbers(r2, "prior", prior);
    readmit_records_set_texts(r2, "empty", (const char *const[3]){NULL, NULL, NULL});
    size_t n1 = fake_last_n_frames(fake);
    unsigned char *copy[12];
    size_t sizes[12];
    for (size_t i = 0; i < n1 && i < 12; i++) {
        const unsigned char *d = fake_last_frame(fake, i, &sizes[i]);
        copy[i] = malloc(sizes[i] + 1);
        memcpy(copy[i], d, sizes[i]);
    }
    CHECK_RC(c, readmit_score_records(c, r2, 2, READMIT_RECORDS_BAD_VALUES_MISSING, &res), READMIT_OK);
    readmit_result_free(res);
    for (size_t i = 1; i < n1 && i < 12; i++) check_frame(i, copy[i], sizes[i], "same cells, another order");
    readmit_records_free(r2);

    /* ... and so do columns set from one buffer of texts with offsets (Arrow's layout); a
     * failed set leaves the column as it was. */
    readmit_records *r3 = NULL;
    readmit_records_new(3, &r3);
    readmit_records_set_number(r3, "age", 0, 1.5);
    readmit_records_set_number(r3, "age", 2, -2.0);
    const int64_t race_offsets[4] = {2, 3, 7, 8}; /* row 1 is missing: its bytes are ignored */
    CHECK(readmit_records_set_text_buffer(r3, "race", "..Y\xff\xff\0xZ", 9, race_offsets, (const uint8_t[3]){1, 0, 1}) ==
              READMIT_OK, "%s", readmit_records_errmsg(r3));
    const int64_t bad_offsets[4] = {0, 1, 2, 3};
    CHECK(readmit_records_set_text_buffer(r3, "race", "AB\xff", 3, bad_offsets, NULL) == READMIT_EINVAL, "a bad text");
    CHECK(strstr(readmit_records_errmsg(r3), "row 2") && strstr(readmit_records_errmsg(r3), "UTF-8"), "%s",
          readmit_records_errmsg(r3));
    CHECK(readmit_records_set_text_buffer(r3, "g\xc3\xa9", "FMF", 3, (const int64_t[4]){0, 1, 2, 3}, NULL) == READMIT_OK,
          "%s", readmit_records_errmsg(r3));
    readmit_records_set_numbers(r3, "prior", prior);
    CHECK(readmit_records_set_text_buffer(r3, "empty", NULL, 0, (const int64_t[4]){0, 0, 0, 0}, (const uint8_t[3]){0, 0, 0}) ==
              READMIT_OK, "%s", readmit_records_errmsg(r3));
    CHECK_RC(c, readmit_score_records(c, r3, 2, READMIT_RECORDS_BAD_VALUES_MISSING, &res), READMIT_OK);
    readmit_result_free(res);
    for (size_t i = 1; i < n1 && i < 12; i++) check_frame(i, copy[i], sizes[i], "the same cells from text buffers");
    readmit_records_free(r3);
    for (size_t i = 0; i < n1 && i < 12; i++) free(copy[i]);

    /* Options and k travel in the counts frame; every option bit known. */
    CHECK_RC(c, readmit_score_records(c, r, 0, READMIT_RECORDS_MISSING_FIELDS_OK | READMIT_RECORDS_BAD_VALUES_MISSING, &res),
             READMIT_OK);
    readmit_result_free(res);
    x.n = 0;
    put_u32(&x, 3), put_u32(&x, 5), put_u32(&x, 0), put_u32(&x, 3);
    check_frame(1, x.b, x.n, "counts with k 0 and both options");
    readmit_records_free(r);

    /* No rows, no columns: the header and the counts only. */
    readmit_records_new(0, &r);
    CHECK_RC(c, readmit_score_records(c, r, 0, 0, &res), READMIT_OK);
    CHECK(res && readmit_result_n_rows(res) == 0, "empty result");
    readmit_result_free(res);
    CHECK(fake_last_n_frames(fake) == 2, "%zu frames for an empty request", fake_last_n_frames(fake));
    x.n = 0;
    put_u32(&x, 0), put_u32(&x, 0), put_u32(&x, 0), put_u32(&x, 0);
    check_frame(1, x.b, x.n, "empty counts");

    /* Argument checks: nothing is sent. */
    int before = fake_requests(fake);
    res = (readmit_result *)&before; /* set to NULL on failure */
    CHECK_RC(c, readmit_score_records(c, r, 0, 8, &res), READMIT_EINVAL);
    CHECK(res == NULL, "*out is NULL after a failure");
    CHECK(strstr(readmit_errmsg(c), "0x8") != NULL, "message names the unknown bit: %s", readmit_errmsg(c));
    CHECK_RC(c, readmit_score_records(c, NULL, 0, 0, &res), READMIT_EINVAL);
    CHECK_RC(c, readmit_score_records(c, r, 0, 0, NULL), READMIT_EINVAL);
    CHECK_RC(c, readmit_score_records(c, r, (size_t)UINT32_MAX + 1, 0, &res), READMIT_EINVAL);
    CHECK(readmit_score_records(NULL, r, 0, 0, &res) == READMIT_EINVAL, "NULL client");
    CHECK(fake_requests(fake) == before, "invalid calls send nothing");
    readmit_records_free(r);
    readmit_close(c);
}

/* A text column's values frame as docs/PROTOCOL.md says, written here from the cells alone (NULL
 * = missing): a type byte, u32 count of the distinct texts of the rows in the order of their
 * first row (u32 length + bytes each), then one code per row in the narrowest width the count
 * allows (type 3: u8, 255 missing, below 255 texts; type 4: u16 LE, 65535 missing, below
 * 65,535; type 2: i32 LE, -1 missing). malloc'd. */
static unsigned char *spec_text_frame(const char *const *cells, size_t n, size_t *size) {
    const char **seen = malloc((n ? n : 1) * sizeof *seen);
    int32_t *code = malloc((n ? n : 1) * sizeof *code);
    size_t n_seen = 0, total = 1 + 4;
    for (size_t row = 0; row < n; row++) {
        code[row] = -1;
        if (!cells[row]) continue;
        size_t j = 0;
        while (j < n_seen && strcmp(seen[j], cells[row]) != 0) j++;
        if (j == n_seen) {
            seen[n_seen++] = cells[row];
            total += 4 + strlen(cells[row]);
        }
        code[row] = (int32_t)j;
    }
    int width = n_seen < 255 ? 1 : (n_seen < 65535 ? 2 : 4);
    total += (size_t)width * n;
    unsigned char *f = malloc(total), *p = f;
    *p++ = width == 1 ? 3 : (width == 2 ? 4 : 2);
    for (int b = 0; b < 4; b++) *p++ = (unsigned char)(n_seen >> (8 * b));
    for (size_t j = 0; j < n_seen; j++) {
        size_t len = strlen(seen[j]);
        for (int b = 0; b < 4; b++) *p++ = (unsigned char)(len >> (8 * b));
        memcpy(p, seen[j], len);
        p += len;
    }
    for (size_t row = 0; row < n; row++)
        for (int b = 0; b < width; b++) *p++ = (unsigned char)((uint32_t)code[row] >> (8 * b));
    free(seen);
    free(code);
    *size = total;
    return f;
}

/* The text frames of any rows of a column equal the protocol's layout, however the column was
 * set: levels in the order of their first row (the frame keeps the codes as they are), levels
 * in another order, with repeats and unused levels (codes remapped), cell by cell from the last
 * row up, from one text buffer; a level first used near the end (the scan for first rows cannot
 * stop early), every row missing, as many texts as rows; slices as the split path sends them. */
/* Field names either side of the length kept in the column itself (31 and 32 bytes, and the
 * longest, 256), texts either side of the length kept in a dictionary entry (15 and 16 bytes),
 * and more fields than the batch first has room for (70): each goes with its own name and text. */
/* A number column goes as 8-, 16- or 32-bit integers (value types 5, 6, 7; the type's minimum
 * is missing) when every value is missing or a whole number that fits above that minimum, and
 * none is -0; as float64 (type 1) otherwise. */
static void test_records_integer_frames(void) {
    fake_set_mode(fake, FAKE_VALID);
    readmit_client *c = th_open(fake_endpoint(fake), 2000, 0);
    static const struct {
        double v[3];
        unsigned type; /* 1, 5, 6 or 7 */
        const char *what;
    } cases[] = {
        {{0, NAN, 4}, 5, "small whole numbers and a missing one"},
        {{-127, 127, NAN}, 5, "the 8-bit range above -128"},
        {{NAN, NAN, NAN}, 5, "every row missing"},
        {{-128, 0, 1}, 6, "-128 is the 8-bit missing value: 16 bits"},
        {{128, NAN, 0}, 6, "128 is past 8 bits"},
        {{-32767, 32767, 1}, 6, "the 16-bit range above -32768"},
        {{-32768, 0, 0}, 7, "-32768 is the 16-bit missing value: 32 bits"},
        {{2147483647.0, -2147483647.0, NAN}, 7, "the 32-bit range above -2^31"},
        {{-2147483648.0, 0, 0}, 1, "-2^31 is the 32-bit missing value: float64"},
        {{2147483648.0, 0, 0}, 1, "2^31 is past 32 bits"},
        {{-0.0, 1, 2}, 1, "-0 keeps its sign as float64"},
        {{0.5, 1, 2}, 1, "a fraction"},
        {{INFINITY, 1, 2}, 1, "an infinite number (the daemon's not_finite)"},
        {{1e300, 1, 2}, 1, "a large number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        readmit_records *r = NULL;
        readmit_result *res = NULL;
        readmit_records_new(3, &r);
        CHECK(readmit_records_set_numbers(r, "n", cases[i].v) == READMIT_OK, "%s", readmit_records_errmsg(r));
        CHECK_RC(c, readmit_score_records(c, r, 0, 0, &res), READMIT_OK);
        readmit_result_free(res);
        readmit_records_free(r);
        bytes x = {{0}, 0};
        put_u8(&x, cases[i].type);
        for (int row = 0; row < 3; row++) {
            double v = cases[i].v[row];
            switch (cases[i].type) {
            case 5: put_u8(&x, isnan(v) ? 0x80 : (unsigned)(uint8_t)(int8_t)v); break;
            case 6: put_u16(&x, isnan(v) ? 0x8000 : (uint16_t)(int16_t)v); break;
            case 7: put_u32(&x, isnan(v) ? 0x80000000u : (uint32_t)(int32_t)v); break;
            default: put_f64(&x, v);
            }
        }
        check_frame(3, x.b, x.n, cases[i].what);
    }

    /* Longer columns (the vectorised scan, four rows a step, and the frame, eight): one value
     * that decides the width, at each position of a column of 8-bit values. */
    static const struct {
        double v;
        unsigned type;
    } edges[] = {{-127, 5}, {127, 5}, {NAN, 5}, {-128, 6}, {128, 6}, {32767, 6}, {-32767, 6}, {-32768, 7},
                 {32768, 7}, {2147483647.0, 7}, {-2147483647.0, 7}, {-2147483648.0, 1}, {2147483648.0, 1},
                 {-0.0, 1}, {0.5, 1}, {-1e-300, 1}, {INFINITY, 1}, {-INFINITY, 1}, {4503599627370497.0, 1},
                 {1e300, 1}, {2251799813685248.5, 1}};
    enum { LONG = 37 };
    for (size_t e = 0; e < sizeof edges / sizeof edges[0]; e++) {
        static const size_t at[] = {0, 3, 4, 17, 35, 36};
        for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
            double v[LONG];
            for (int row = 0; row < LONG; row++) v[row] = row % 11 == 5 ? NAN : row % 50 - 20;
            v[at[k]] = edges[e].v;
            readmit_records *r = NULL;
            readmit_result *res = NULL;
            readmit_records_new(LONG, &r);
            readmit_records_set_numbers(r, "n", v);
            CHECK_RC(c, readmit_score_records(c, r, 0, 0, &res), READMIT_OK);
            readmit_result_free(res);
            readmit_records_free(r);
            bytes x = {{0}, 0};
            put_u8(&x, edges[e].type);
            for (int row = 0; row < LONG; row++) {
                switch (edges[e].type) {
                case 5: put_u8(&x, isnan(v[row]) ? 0x80 : (unsigned)(uint8_t)(int8_t)v[row]); break;
                case 6: put_u16(&x, isnan(v[row]) ? 0x8000 : (uint16_t)(int16_t)v[row]); break;
                case 7: put_u32(&x, isnan(v[row]) ? 0x80000000u : (uint32_t)(int32_t)v[row]); break;
                default: put_f64(&x, v[row]);
                }
            }
            char what[80];
            snprintf(what, sizeof what, "%g at row %zu of %d", edges[e].v, at[k], LONG);
            check_frame(3, x.b, x.n, what);
        }
    }

    /* A large batch's column set whole keeps its integer frame, built by the setter; a cell set
     * afterwards (or a column moved from another batch) gives the bytes of its new values. */
    enum { N = 100 };
    double v[N];
    for (int row = 0; row < N; row++) v[row] = row % 9 == 0 ? NAN : row;
    readmit_records *r = NULL, *other = NULL;
    readmit_records_new(N, &r);
    readmit_records_new(N, &other);
    for (int step = 0; step < 4; step++) {
        if (step == 0) readmit_records_set_numbers(r, "n", v);
        if (step == 1) readmit_records_set_number(r, "n", 5, 300); /* 16 bits */
        if (step == 2) readmit_records_set_number(r, "n", 6, 0.5); /* float64 */
        if (step == 3) {
            readmit_records_clear(r);
            readmit_records_set_numbers(other, "n", v);
            CHECK(readmit_records_move(r, other) == READMIT_OK, "%s", readmit_records_errmsg(r));
        }
        double got[N];
        CHECK(readmit_records_get_numbers(r, "n", got) == READMIT_OK, "get numbers");
        readmit_result *res = NULL;
        CHECK_RC(c, readmit_score_records(c, r, 0, 0, &res), READMIT_OK);
        readmit_result_free(res);
        static const unsigned types[4] = {5, 6, 1, 5};
        bytes x = {{0}, 0};
        put_u8(&x, types[step]);
        for (int row = 0; row < N; row++) {
            if (types[step] == 5) put_u8(&x, isnan(got[row]) ? 0x80 : (unsigned)(uint8_t)(int8_t)got[row]);
            if (types[step] == 6) put_u16(&x, isnan(got[row]) ? 0x8000 : (uint16_t)(int16_t)got[row]);
            if (types[step] == 1) put_f64(&x, got[row]);
        }
        check_frame(3, x.b, x.n, step == 0 ? "a large column set whole" : step == 1 ? "then a cell past 8 bits"
                                 : step == 2 ? "then a fraction" : "a large column moved from another batch");
    }
    readmit_records_free(r);
    readmit_records_free(other);
    readmit_close(c);
}

static void test_records_names_and_texts_by_length(void) {
    fake_set_mode(fake, FAKE_VALID);
    readmit_client *c = th_open(fake_endpoint(fake), 2000, 0);
    enum { FIELDS = 70 };
    char names[FIELDS][260], texts[FIELDS][24];
    readmit_records *r = NULL;
    CHECK(readmit_records_new(1, &r) == READMIT_OK, "new");
    for (int f = 0; f < FIELDS; f++) {
        size_t name_len = f == 0 ? 31 : f == 1 ? 32 : f == 2 ? 256 : 2 + (size_t)f % 40;
        memset(names[f], 'a' + f % 26, name_len);
        names[f][0] = (char)('0' + f / 10), names[f][1] = (char)('0' + f % 10); /* distinct */
        names[f][name_len] = '\0';
        size_t text_len = (size_t)(f % 2 ? 15 : 16) + (f % 3 == 0 ? 4 : 0);
        for (size_t i = 0; i < text_len; i++) texts[f][i] = (char)('A' + (f * 7 + (int)i) % 26);
        texts[f][text_len] = '\0';
        CHECK(readmit_records_set_text(r, names[f], 0, texts[f]) == READMIT_OK, "field %d: %s", f, readmit_records_errmsg(r));
        /* Set twice: the second finds the same column and the same text. */
        CHECK(readmit_records_set_text(r, names[f], 0, texts[f]) == READMIT_OK, "field %d again: %s", f, readmit_records_errmsg(r));
    }
    readmit_result *res = NULL;
    CHECK_RC(c, readmit_score_records(c, r, 0, 0, &res), READMIT_OK);
    readmit_result_free(res);
    CHECK(fake_last_n_frames(fake) == 2 + 2 * FIELDS, "%zu request frames", fake_last_n_frames(fake));
    for (int f = 0; f < FIELDS; f++) {
        char what[64];
        snprintf(what, sizeof what, "name of field %d (%zu bytes)", f, strlen(names[f]));
        check_frame(2 + 2 * (size_t)f, names[f], strlen(names[f]), what);
        bytes x = {{0}, 0};
        put_u8(&x, 3), put_u32(&x, 1), put_text(&x, texts[f]), put_u8(&x, 0);
        snprintf(what, sizeof what, "text of field %d (%zu bytes)", f, strlen(texts[f]));
        check_frame(3 + 2 * (size_t)f, x.b, x.n, what);
    }
    readmit_records_free(r);
    readmit_close(c);
}

/* A column set whole from texts keeps them in the order of their first row with every one
 * used, so its frame is taken as it is (no scan): after a cell is replaced, which leaves a text
 * unused or moves where one first appears, the frame again holds only the texts used, in the
 * order of their first row; and a slice's frame holds only its own texts. */
static void test_records_text_frames_after_a_cell_changes(void) {
    enum { N = 400 };
    const char *cells[N];
    char buffer[N * 8];
    int64_t offsets[N + 1];
    offsets[0] = 0;
    for (size_t row = 0; row < N; row++) {
        cells[row] = row == 5 ? "Rare" : row % 4 ? "No" : "Steady";
        memcpy(buffer + offsets[row], cells[row], strlen(cells[row]));
        offsets[row + 1] = offsets[row] + (int64_t)strlen(cells[row]);
    }
    for (int setter = 0; setter < 2; setter++) {
        readmit_records *r = NULL;
        CHECK(readmit_records_new(N, &r) == READMIT_OK, "new");
        if (setter == 0)
            CHECK(readmit_records_set_text_buffer(r, "med", buffer, (size_t)offsets[N], offsets, NULL) == READMIT_OK, "%s",
                  readmit_records_errmsg(r));
        else
            CHECK(readmit_records_set_texts(r, "med", cells) == READMIT_OK, "%s", readmit_records_errmsg(r));
        const char *edits[][2] = {{"5", "No"}, {"0", "No"}, {"1", "Up"}};
        for (size_t e = 0; e <= 3; e++) {
            if (e > 0) {
                size_t row = (size_t)atoi(edits[e - 1][0]);
                cells[row] = edits[e - 1][1];
                CHECK(readmit_records_set_text(r, "med", row, cells[row]) == READMIT_OK, "%s", readmit_records_errmsg(r));
            }
            size_t slices[][2] = {{0, N}, {0, 3}, {4, 10}};
            for (size_t s = 0; s < 3; s++) {
                size_t want_size = 0, size = 0;
                unsigned char *want = spec_text_frame(cells + slices[s][0], slices[s][1], &want_size);
                unsigned char *got = rm_records_text_frame(r, "med", slices[s][0], slices[s][1], &size);
                CHECK(got && size == want_size && memcmp(got, want, size) == 0, "setter %d, after %zu edits, rows %zu + %zu",
                      setter, e, slices[s][0], slices[s][1]);
                free(want);
                free(got);
            }
        }
        readmit_records_free(r);
        cells[5] = "Rare", cells[0] = "Steady", cells[1] = "No";
    }
}

/* The memory malloc has handed out now (glibc: the heap's and the separately mapped large
 * chunks'), or 0 where it cannot be read (then the bounds below hold). */
static size_t heap_in_use(void) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
#else
    return 0;
#endif
}

/* A frame filled on two threads, each part in its own batch, joined with readmit_records_move
 * and both batches cleared for the next frame (as the Python package does, frame after frame):
 * the memory in use stays the same from one frame to the next. Before 0.12.1 the batch joined
 * into kept every buffer when cleared and the other took new ones each time (about 13 MB a
 * frame of 100,000 rows of 58 fields). Where the allocator's counts cannot be read (valgrind,
 * ASan, another libc), the frames are still filled and joined. */
static void test_records_move_keeps_memory_bounded(void) {
    enum { N = 20000, FIELDS = 8 };
    static double numbers[N];
    static int32_t codes[N];
    for (int row = 0; row < N; row++) numbers[row] = row % 7, codes[row] = row % 3 - 1;
    const char *levels[2] = {"a", "b"};
    const char *names[FIELDS] = {"n0", "t0", "n1", "t1", "n2", "t2", "n3", "t3"};
    readmit_records *into = NULL, *from = NULL;
    readmit_records_new(N, &into);
    readmit_records_new(N, &from);
    size_t after_warm_up = 0, grown = 0;
    for (int frame = 0; frame < 30; frame++) {
        for (int f = 0; f < FIELDS; f++) {
            readmit_records *part = f < FIELDS / 2 ? into : from;
            int rc = f % 2 == 0 ? readmit_records_set_numbers(part, names[f], numbers)
                                : readmit_records_set_codes(part, names[f], 2, levels, codes);
            CHECK(rc == READMIT_OK, "frame %d, field %s: %s", frame, names[f], readmit_records_errmsg(part));
        }
        CHECK(readmit_records_move(into, from) == READMIT_OK, "frame %d: %s", frame, readmit_records_errmsg(into));
        static double got[N];
        CHECK(readmit_records_get_numbers(into, "n3", got) == READMIT_OK && got[5] == 5, "frame %d: a moved field", frame);
        readmit_records_clear(from);
        readmit_records_clear(into);
        size_t now = heap_in_use();
        if (frame == 2) after_warm_up = now;
        if (frame > 2 && now > after_warm_up && now - after_warm_up > grown) grown = now - after_warm_up;
    }
    CHECK(grown < (size_t)N * 8, "the memory in use grew by %zu bytes over 27 frames (one field's values: %d)", grown, N * 8);
    readmit_records_free(into);
    readmit_records_free(from);
}

/* A batch of at most RM_ARENA_ROWS rows takes its buffers from an arena (rm_records.c): the
 * frames must be those of any batch, a dictionary that outgrows the arena must move to the
 * heap intact, and setters repeated on one batch (also failing ones, also across
 * readmit_records_clear) must not grow it without bound. Run under valgrind and ASan, which
 * see a free of an arena buffer or a read of a freed one. */
static void test_records_small_batches(void) {
    static char texts[40][16];  /* "t" and any int, with its NUL */
    for (int i = 0; i < 40; i++) snprintf(texts[i], sizeof texts[i], "t%d", i);
    size_t sizes[] = {1, 2, 16, 17};
    for (size_t v = 0; v < sizeof sizes / sizeof *sizes; v++) {
        size_t n = sizes[v];
        const char *cells[17] = {0};
        readmit_records *r = NULL;
        CHECK(readmit_records_new(n, &r) == READMIT_OK, "new(%zu)", n);
        /* Forty texts through one cell: the dictionary grows past the arena's two. */
        for (int i = 0; i < 40; i++) {
            size_t row = (size_t)i % n;
            cells[row] = texts[i];
            CHECK(readmit_records_set_text(r, "race", row, cells[row]) == READMIT_OK, "%s", readmit_records_errmsg(r));
            size_t want_size = 0, size = 0;
            unsigned char *want = spec_text_frame(cells, n, &want_size);
            unsigned char *got = rm_records_text_frame(r, "race", 0, n, &size);
            CHECK(got && size == want_size && memcmp(got, want, size) == 0, "%zu rows, after %d texts", n, i + 1);
            free(want);
            free(got);
        }
        /* A whole-column setter on new columns and then again on the same ones. */
        const char *g[17];
        char buffer[17 * 4];
        int64_t offsets[18] = {0};
        for (size_t row = 0; row < n; row++) {
            g[row] = texts[row % 3];
            memcpy(buffer + offsets[row], g[row], strlen(g[row]));
            offsets[row + 1] = offsets[row] + (int64_t)strlen(g[row]);
        }
        for (int again = 0; again < 3; again++) {
            CHECK(readmit_records_set_texts(r, "g", g) == READMIT_OK, "%s", readmit_records_errmsg(r));
            CHECK(readmit_records_set_text_buffer(r, "b", buffer, (size_t)offsets[n], offsets, NULL) == READMIT_OK, "%s",
                  readmit_records_errmsg(r));
            const char *fields[2] = {"g", "b"};
            for (int f = 0; f < 2; f++) {
                size_t want_size = 0, size = 0;
                unsigned char *want = spec_text_frame(g, n, &want_size);
                unsigned char *got = rm_records_text_frame(r, fields[f], 0, n, &size);
                CHECK(got && size == want_size && memcmp(got, want, size) == 0, "%zu rows, column %s, set %d times", n,
                      fields[f], again + 1);
                free(want);
                free(got);
            }
        }
        /* Setters that fail, and setters that replace a column, many times over: bounded. */
        int64_t bad[18];
        memcpy(bad, offsets, sizeof bad);
        bad[n] = offsets[n] + 1000; /* past the buffer */
        size_t before = heap_in_use();
        int failures = 0;
        for (int i = 0; i < 20000; i++) {
            failures += readmit_records_set_text_buffer(r, "new", buffer, (size_t)offsets[n], bad, NULL) == READMIT_EINVAL;
            readmit_records_set_text_buffer(r, "b", buffer, (size_t)offsets[n], offsets, NULL);
            readmit_records_set_texts(r, "g", g);
            readmit_records_set_text(r, "race", 0, texts[i % 40]);
        }
        size_t after = heap_in_use();
        CHECK(failures == 20000, "%d of 20000 bad buffers refused", failures);
        CHECK(after < before + 65536, "%zu rows: the heap grew from %zu to %zu bytes over 20000 rounds of setters", n,
              before, after);
        /* Cleared and refilled many times: bounded, and the frames are those of a new batch. */
        before = heap_in_use();
        for (int i = 0; i < 20000; i++) {
            CHECK(readmit_records_clear(r) == READMIT_OK, "clear");
            for (int f = 0; f < 8; f++) {
                char name[16];
                snprintf(name, sizeof name, "f%d", f);
                readmit_records_set_text(r, name, 0, texts[(i + f) % 40]);
                readmit_records_set_number(r, "n", n - 1, (double)i);
            }
            readmit_records_set_text_buffer(r, "b", buffer, (size_t)offsets[n], offsets, NULL);
        }
        after = heap_in_use();
        CHECK(after < before + 65536, "%zu rows: the heap grew from %zu to %zu bytes over 20000 clears", n, before, after);
        const char *last[17] = {0};
        last[0] = texts[(19999 + 7) % 40];
        size_t want_size = 0, size = 0;
        unsigned char *want = spec_text_frame(last, n, &want_size);
        unsigned char *got = rm_records_text_frame(r, "f7", 0, n, &size);
        CHECK(got && size == want_size && memcmp(got, want, size) == 0, "%zu rows: f7 after the clears", n);
        free(want);
        free(got);
        readmit_records_free(r);
    }
}

static void test_records_text_frames(void) {
    enum { N = 3000, POOL = 7 };
    static const char *pool[POOL] = {"No", "Steady", "", "Up", "Down", "\xc3\xa9t\xc3\xa9", "late"};
    static char ids[N][8];
    const char *cells[N];
    const char *variants[6] = {"few levels", "a level first used at row 2990", "every row missing",
                               "a text per row", "a level unused by the first half",
                               "texts of 0 to 20 bytes differing in their last byte"};
    /* Variant 5's texts: every length around the buffer path's 8- and 16-byte words, and the
     * same texts with the last byte changed, so two texts differ only past a word's end. */
    static char sized[41][24];
    for (int len = 0; len <= 20; len++) {
        memcpy(sized[len], "abcdefghijklmnopqrstu", (size_t)len);
        sized[len][len] = '\0';
        if (len > 0) {
            memcpy(sized[20 + len], sized[len], (size_t)len + 1);
            sized[20 + len][len - 1] = 'X';
        }
    }
    uint32_t seed = 12345;
    size_t slices[][2] = {{0, N}, {0, 1}, {1, N - 1}, {N / 2, N / 2}, {N - 1, 1}, {17, 100}, {2980, 20}, {5, 0}};
    for (int v = 0; v < 6; v++) {
        for (size_t row = 0; row < N; row++) {
            seed = seed * 1103515245u + 12345u;
            unsigned x = (seed >> 16) % 9;
            if (v == 5) {
                unsigned k = (seed >> 16) % 45; /* one row in 11 missing */
                cells[row] = k >= 41 ? NULL : sized[k];
                continue;
            }
            cells[row] = x >= 6 ? NULL : pool[x]; /* "late" (pool[6]) only where placed below */
            if (v == 1 && row == 2990) cells[row] = pool[6];
            if (v == 2) cells[row] = NULL;
            if (v == 3) {
                snprintf(ids[row], sizeof ids[row], "%zu", (row * 7919) % N);
                cells[row] = ids[row];
            }
            if (v == 4 && row < N / 2 && cells[row] == pool[0]) cells[row] = pool[1];
        }
        /* The distinct texts in the order of their first row, and each row's index into them. */
        const char **levels = malloc(N * sizeof *levels);
        int32_t *codes = malloc(N * sizeof *codes), *shuffled_codes = malloc(N * sizeof *codes);
        size_t n_levels = 0;
        for (size_t row = 0; row < N; row++) {
            codes[row] = -1;
            if (!cells[row]) continue;
            size_t j = 0;
            while (j < n_levels && strcmp(levels[j], cells[row]) != 0) j++;
            if (j == n_levels) levels[n_levels++] = cells[row];
            codes[row] = (int32_t)j;
        }
        /* Another order: reversed, then a repeat of level 0 and an unused level at the end. */
        const char **shuffled = malloc((n_levels + 2) * sizeof *shuffled);
        for (size_t j = 0; j < n_levels; j++) shuffled[j] = levels[n_levels - 1 - j];
        size_t n_shuffled = n_levels;
        if (n_levels > 0) shuffled[n_shuffled++] = levels[0];
        shuffled[n_shuffled++] = "never used";
        for (size_t row = 0; row < N; row++) {
            int32_t c = codes[row];
            shuffled_codes[row] = c < 0 ? -1 : c == 0 && row % 2 ? (int32_t)n_levels : (int32_t)(n_levels - 1 - (size_t)c);
        }
        /* One buffer with offsets (Arrow's layout), missing rows marked invalid. */
        size_t total = 0;
        for (size_t row = 0; row < N; row++) total += cells[row] ? strlen(cells[row]) : 3;
        char *buffer = malloc(total + 1);
        int64_t *offsets = malloc((N + 1) * sizeof *offsets);
        uint8_t *valid = malloc(N);
        offsets[0] = 0;
        for (size_t row = 0; row < N; row++) {
            const char *t = cells[row] ? cells[row] : "xyz"; /* a missing row's bytes are ignored */
            memcpy(buffer + offsets[row], t, strlen(t));
            offsets[row + 1] = offsets[row] + (int64_t)strlen(t);
            valid[row] = cells[row] != NULL;
        }
        readmit_records *r = NULL;
        CHECK(readmit_records_new(N, &r) == READMIT_OK, "new");
        CHECK(readmit_records_set_codes(r, "first-row order", n_levels, levels, codes) == READMIT_OK, "%s",
              readmit_records_errmsg(r));
        CHECK(readmit_records_set_codes(r, "another order", n_shuffled, shuffled, shuffled_codes) == READMIT_OK, "%s",
              readmit_records_errmsg(r));
        for (size_t row = N; row-- > 0;)
            CHECK(readmit_records_set_text(r, "cell by cell", row, cells[row]) == READMIT_OK, "%s", readmit_records_errmsg(r));
        CHECK(readmit_records_set_texts(r, "texts", cells) == READMIT_OK, "%s", readmit_records_errmsg(r));
        CHECK(readmit_records_set_text_buffer(r, "buffer", buffer, total, offsets, valid) == READMIT_OK, "%s",
              readmit_records_errmsg(r));
        /* The same buffer as Arrow chunks (readmit_records_set_text_chunks): three of them, the
         * middle one empty, each with its own bytes and offsets from 0 (a chunk of a ChunkedArray
         * points into its own buffers), and the validity of the last one left out where it has
         * no missing row. */
        size_t cut[4] = {0, N / 3, N / 3, N}, chunk_rows[3], chunk_len[3];
        const char *chunk_data[3];
        const int64_t *chunk_offsets[3];
        const uint8_t *chunk_valid[3];
        char *chunk_bytes[3];
        int64_t *chunk_offsets_own[3];
        for (int j = 0; j < 3; j++) {
            chunk_rows[j] = cut[j + 1] - cut[j];
            chunk_len[j] = (size_t)(offsets[cut[j + 1]] - offsets[cut[j]]);
            chunk_bytes[j] = malloc(chunk_len[j] + 1);
            memcpy(chunk_bytes[j], buffer + offsets[cut[j]], chunk_len[j]);
            chunk_offsets_own[j] = malloc((chunk_rows[j] + 1) * sizeof *offsets);
            for (size_t row = 0; row <= chunk_rows[j]; row++)
                chunk_offsets_own[j][row] = offsets[cut[j] + row] - offsets[cut[j]];
            chunk_data[j] = chunk_bytes[j];
            chunk_offsets[j] = chunk_offsets_own[j];
            chunk_valid[j] = valid + cut[j];
            if (j == 2 && memchr(valid + cut[j], 0, chunk_rows[j]) == NULL) chunk_valid[j] = NULL;
        }
        CHECK(readmit_records_set_text_chunks(r, "chunks", 3, chunk_rows, chunk_data, chunk_len, chunk_offsets,
                                              chunk_valid) == READMIT_OK,
              "%s", readmit_records_errmsg(r));
        {   /* Rows that do not add up to the batch's, and a bad offset in the last chunk, which
             * the message places at the batch's row: nothing changes (the frames below). */
            size_t short_rows[3] = {chunk_rows[0], chunk_rows[1], chunk_rows[2] - 1};
            CHECK(readmit_records_set_text_chunks(r, "chunks", 3, short_rows, chunk_data, chunk_len, chunk_offsets,
                                                  chunk_valid) == READMIT_EINVAL &&
                      strstr(readmit_records_errmsg(r), "the chunks hold") != NULL,
                  "%s", readmit_records_errmsg(r));
            int64_t saved = chunk_offsets_own[2][5];
            chunk_offsets_own[2][5] = (int64_t)chunk_len[2] + 1;
            char want_row[48];
            snprintf(want_row, sizeof want_row, "row %zu: offsets", cut[2] + 4);
            CHECK(readmit_records_set_text_chunks(r, "chunks", 3, chunk_rows, chunk_data, chunk_len, chunk_offsets,
                                                  chunk_valid) == READMIT_EINVAL &&
                      strstr(readmit_records_errmsg(r), want_row) != NULL && strstr(readmit_records_errmsg(r), "chunk 2"),
                  "%s (want %s)", readmit_records_errmsg(r), want_row);
            chunk_offsets_own[2][5] = saved;
        }
        for (int j = 0; j < 3; j++) {
            free(chunk_bytes[j]);
            free(chunk_offsets_own[j]);
        }
        /* A code out of range anywhere (blocks of eight rows and the rest are checked apart) fails
         * naming its row, and leaves the column as it was (checked by the frames below). */
        size_t bad_rows[] = {0, 7, 8, 1234, N - 1};
        for (size_t b = 0; b < sizeof bad_rows / sizeof bad_rows[0]; b++)
            for (int kind = 0; kind < 2; kind++) {
                size_t at = bad_rows[b], n_rows = kind ? N - 3 : N; /* N - 3: a tail of 5 rows */
                if (at >= n_rows) at = n_rows - 1;
                readmit_records *short_r = NULL;
                readmit_records_new(n_rows, &short_r);
                int32_t saved = codes[at];
                codes[at] = kind ? -2 : (int32_t)n_levels;
                CHECK(readmit_records_set_codes(kind ? short_r : r, "first-row order", n_levels, levels, codes) ==
                          READMIT_EINVAL, "%s: code %d at row %zu of %zu", variants[v], codes[at], at, n_rows);
                char want_row[32];
                snprintf(want_row, sizeof want_row, "row %zu:", at);
                CHECK(strstr(readmit_records_errmsg(kind ? short_r : r), want_row) != NULL, "%s",
                      readmit_records_errmsg(kind ? short_r : r));
                codes[at] = saved;
                readmit_records_free(short_r);
            }
        const char *fields[6] = {"first-row order", "another order", "cell by cell", "texts", "buffer", "chunks"};
        for (size_t s = 0; s < sizeof slices / sizeof slices[0]; s++) {
            size_t first = slices[s][0], n = slices[s][1], want_size = 0;
            unsigned char *want = spec_text_frame(cells + first, n, &want_size);
            for (int f = 0; f < 6; f++) {
                size_t size = 0;
                unsigned char *got = rm_records_text_frame(r, fields[f], first, n, &size);
                CHECK(got && size == want_size && memcmp(got, want, size) == 0,
                      "%s, column set '%s', rows %zu..%zu: %zu bytes, want %zu%s", variants[v], fields[f], first,
                      first + n, size, want_size, got && size == want_size ? " (bytes differ)" : "");
                free(got);
            }
            free(want);
        }
        size_t size = 0;
        CHECK(rm_records_text_frame(r, "no such field", 0, N, &size) == NULL, "no such column");
        CHECK(rm_records_text_frame(r, "texts", N - 1, 2, &size) == NULL, "rows past the end");

        /* The whole column as sent (the request's frame 3 + 2 * column). */
        fake_set_mode(fake, FAKE_VALID);
        readmit_client *c = th_open(fake_endpoint(fake), 5000, 0);
        readmit_result *res = NULL;
        CHECK_RC(c, readmit_score_records(c, r, 0, 0, &res), READMIT_OK);
        readmit_result_free(res);
        size_t want_size = 0;
        unsigned char *want = spec_text_frame(cells, N, &want_size);
        for (int f = 0; f < 6; f++) {
            char what[96];
            snprintf(what, sizeof what, "%s: column '%s' as sent", variants[v], fields[f]);
            check_frame(3 + 2 * (size_t)f, want, want_size, what);
        }
        free(want);
        readmit_close(c);
        readmit_records_free(r);
        free(levels);
        free(codes);
        free(shuffled_codes);
        free(shuffled);
        free(buffer);
        free(offsets);
        free(valid);
    }
}

/* A large batch (number frames sent without a copy, texts encoded): the bytes arrive intact. */
static void test_records_large(void) {
    fake_set_mode(fake, FAKE_VALID);
    readmit_client *c = th_open(fake_endpoint(fake), 5000, 0);
    size_t rows = 20000;
    readmit_records *r = NULL;
    readmit_records_new(rows, &r);
    static const char *levels[3] = {"alpha", "beta", "gamma"};
    for (size_t i = 0; i < rows; i++) {
        readmit_records_set_number(r, "n", i, (double)i / 4);
        readmit_records_set_text(r, "t", i, i % 7 == 0 ? NULL : levels[i % 3]);
    }
    readmit_result *res = NULL;
    CHECK_RC(c, readmit_score_records(c, r, 1, 0, &res), READMIT_OK);
    size_t size = 0;
    const unsigned char *p = fake_last_frame(fake, 3, &size);
    int ok = p && size == 1 + 8 * rows && p[0] == 1;
    for (size_t i = 0; ok && i < rows; i++) {
        double v;
        memcpy(&v, p + 1 + 8 * i, 8);
        ok = v == (double)i / 4;
    }
    CHECK(ok, "20,000 numbers arrive intact");
    p = fake_last_frame(fake, 5, &size);
    size_t dict = 1 + 4 + 3 * 4 + strlen("alpha") + strlen("beta") + strlen("gamma");
    ok = p && size == dict + rows && p[0] == 3 && p[1] == 3; /* three texts: 8-bit codes */
    /* first rows: 0 missing, 1 beta, 2 gamma, 3 alpha: codes beta 0, gamma 1, alpha 2 */
    for (size_t i = 0; ok && i < rows; i++) {
        int want = i % 7 == 0 ? 255 : (int)((i % 3 + 2) % 3);
        ok = p[dict + i] == want;
    }
    CHECK(ok, "20,000 codes arrive intact");
    CHECK(res && readmit_result_n_rows(res) == rows, "rows");
    readmit_result_free(res);

    /* A timeout with zero-copy frames in flight: the library must be done with them on return
     * (valgrind/ASan would flag a late read of the freed batch). */
    readmit_client *quick = th_open(fake_endpoint(fake), 300, 1);
    fake_set_mode(fake, FAKE_SILENT);
    res = NULL;
    CHECK_RC(quick, readmit_score_records(quick, r, 0, 0, &res), READMIT_ETIMEDOUT);
    CHECK(res == NULL, "no result after a timeout");
    readmit_records_free(r);
    fake_set_mode(fake, FAKE_VALID);
    readmit_records_new(1, &r);
    readmit_records_set_number(r, "n", 0, 1);
    CHECK_RC(quick, readmit_score_records(quick, r, 0, 0, &res), READMIT_OK);
    readmit_result_free(res);
    readmit_records_free(r);
    readmit_close(quick);
    readmit_close(c);
}

static void test_records_result(void) {
    fake_set_mode(fake, FAKE_VALID);
    readmit_client *c = th_open(fake_endpoint(fake), 2000, 0);
    readmit_records *r = NULL;
    readmit_records_new(2, &r);
    readmit_records_set_number(r, "age", 0, 6);
    readmit_result *res = NULL;
    CHECK_RC(c, readmit_score_records(c, r, 5, 0, &res), READMIT_OK);
    CHECK(readmit_result_n_rows(res) == 2 && readmit_result_k(res) == 3, "rows %zu, k %zu (clamped from 5)",
          readmit_result_n_rows(res), readmit_result_k(res));
    CHECK(readmit_result_model_version(res) == 0xff, "model version");
    double risk = 0, aty = 0;
    uint8_t tier = 0;
    int err = -1;
    CHECK(readmit_result_row(res, 1, &risk, &aty, &tier, &err) == READMIT_OK, "row 1");
    CHECK(risk == 0.25 && aty == 0.5 && tier == 1 && err == 0, "risk %g aty %g tier %u error %d", risk, aty, tier, err);
    CHECK(readmit_result_row(res, 2, &risk, NULL, NULL, NULL) == READMIT_ENOTFOUND, "row 2 out of range");
    CHECK(readmit_result_row(NULL, 0, &risk, NULL, NULL, NULL) == READMIT_EINVAL, "NULL result");
    double risks[2] = {0, 0};
    uint8_t tiers[2] = {9, 9};
    CHECK(readmit_result_scores(res, risks, NULL, tiers) == READMIT_OK && risks[0] == 0.25 && tiers[1] == 1, "scores");
    CHECK(readmit_result_n_messages(res) == 0, "no messages");
    CHECK(readmit_result_message(res, 0, NULL, NULL, NULL, NULL, NULL) == READMIT_ENOTFOUND, "message 0");
    size_t n = 0;
    CHECK(readmit_result_n_explanations(res, 1, &n) == READMIT_OK && n == 3, "3 explanations, got %zu", n);
    const char *feature = NULL, *value = "unset";
    double contribution = 0;
    CHECK(readmit_result_explanation(res, 1, 0, &feature, &contribution, &value) == READMIT_OK, "explanation 0");
    CHECK(feature && strcmp(feature, "age") == 0 && contribution == -0.5 && value && strcmp(value, "10") == 0,
          "a whole number value in plain digits (not 1e+01): %s %g %s", feature, contribution, value ? value : "NULL");
    readmit_result_explanation(res, 1, 1, &feature, NULL, &value);
    CHECK(value && strcmp(value, "B\xc3\xa9") == 0, "text value decoded: %s", value ? value : "NULL");
    readmit_result_explanation(res, 1, 2, &feature, NULL, &value);
    CHECK(value == NULL, "missing value is NULL");
    CHECK(readmit_result_explanation(res, 1, 3, &feature, NULL, &value) == READMIT_ENOTFOUND, "index 3");
    CHECK(readmit_result_explanation(res, 2, 0, &feature, NULL, &value) == READMIT_ENOTFOUND, "row 2");
    readmit_result_free(res);
    CHECK(readmit_result_n_rows(NULL) == 0 && readmit_result_k(NULL) == 0 && readmit_result_n_messages(NULL) == 0,
          "NULL result counts");
    readmit_result_free(NULL);

    /* A daemon error reply: the code, the daemon's message and row, no result. */
    fake_set_mode(fake, FAKE_UNKNOWN_STATUS);
    res = NULL;
    CHECK_RC(c, readmit_score_records(c, r, 0, 0, &res), READMIT_ESTATUS);
    CHECK(res == NULL && strstr(readmit_errmsg(c), "made-up failure"), "%s", readmit_errmsg(c));
    fake_set_mode(fake, FAKE_VALID);
    readmit_records_free(r);
    readmit_close(c);
}

/* Scripted RECORDS replies for a 2-row request with k = 2: the count frame, risk, atypicality,
 * tier, JSON. */
typedef struct {
    uint32_t rows, k;
    double risk[2], aty[2];
    unsigned char tier[2];
    size_t risk_size, aty_size, tier_size, count_size;
    const char *json;
    int n_frames;
    unsigned options; /* READMIT_RECORDS_INTERVAL: frames 6 and 7 hold low and high */
    double low[2], high[2];
    size_t low_size, high_size;
} script;

static script good_script(void) {
    script s = {2, 2, {0.1, NAN}, {0.3, NAN}, {0, 255}, 16, 16, 2, 8,
                "{\"messages\": [{\"row\": -1, \"field\": null, \"severity\": \"warning\", \"code\": \"history_unknown\", "
                "\"message\": \"no history\"}, {\"row\": 1, \"field\": \"age\", \"severity\": \"error\", \"code\": "
                "\"bad_number\", \"message\": \"row 1, field 'age': 'three' is not a number\"}], "
                "\"explanations\": [[{\"feature\": \"age\", \"contribution\": 0.5, \"value\": 70}], []]}",
                5, 0, {0, 0}, {0, 0}, 16, 16};
    return s;
}

/* The good script asked and answered with intervals: row 0 [0.05, 0.2], row 1 (an error) NaN. */
static script interval_script(void) {
    script s = good_script();
    s.n_frames = 7;
    s.options = READMIT_RECORDS_INTERVAL;
    s.low[0] = 0.05, s.high[0] = 0.2, s.low[1] = s.high[1] = NAN;
    return s;
}

static int run_script(readmit_client *c, const script *s, readmit_result **res) {
    unsigned char cnt[8];
    for (int i = 0; i < 4; i++) cnt[i] = (unsigned char)(s->rows >> (8 * i)), cnt[4 + i] = (unsigned char)(s->k >> (8 * i));
    double risk[4] = {s->risk[0], s->risk[1], 0.5, 0.5}, aty[4] = {s->aty[0], s->aty[1], 0.5, 0.5};
    unsigned char tier[4] = {s->tier[0], s->tier[1], 0, 0};
    double low[4] = {s->low[0], s->low[1], 0.5, 0.5}, high[4] = {s->high[0], s->high[1], 0.5, 0.5};
    const void *frames[7] = {cnt, risk, aty, tier, s->json, low, high};
    size_t sizes[7] = {s->count_size, s->risk_size, s->aty_size, s->tier_size, strlen(s->json), s->low_size,
                       s->high_size};
    fake_script(fake, (size_t)s->n_frames, frames, sizes);
    fake_set_mode(fake, FAKE_SCRIPTED);
    readmit_records *r = NULL;
    readmit_records_new(2, &r);
    readmit_records_set_number(r, "age", 0, 70);
    *res = NULL;
    int rc = readmit_score_records(c, r, 2, s->options, res);
    readmit_records_free(r);
    fake_set_mode(fake, FAKE_VALID);
    return rc;
}

/* One malformed variant of the good script: READMIT_EPROTO naming `needle`, no result, and
 * the client goes on. */
static void expect_bad_records(readmit_client *c, script s, const char *needle, const char *what) {
    readmit_result *res = NULL;
    int rc = run_script(c, &s, &res);
    CHECK(rc == READMIT_EPROTO && res == NULL, "%s: got %d (%s: %s), want READMIT_EPROTO", what, rc,
          readmit_strerror(rc), readmit_errmsg(c));
    CHECK(strstr(readmit_errmsg(c), needle) != NULL, "%s: message '%s' should mention '%s'", what, readmit_errmsg(c),
          needle);
    readmit_result_free(res);
    CHECK_RC(c, score_rc(c, 1), READMIT_OK);
}

static void test_records_malformed_replies(void) {
    readmit_client *c = th_open(fake_endpoint(fake), 1000, 0);
    /* The good script is accepted, with its messages, the failed row and the explanations. */
    script g = good_script();
    readmit_result *res = NULL;
    CHECK_RC(c, run_script(c, &g, &res), READMIT_OK);
    int row = 0, severity = 0, err = 0;
    const char *field = "x", *code = NULL, *message = NULL;
    CHECK(readmit_result_n_messages(res) == 2, "2 messages");
    CHECK(readmit_result_message(res, 0, &row, &field, &severity, &code, &message) == READMIT_OK && row == -1 &&
              field == NULL && severity == READMIT_SEVERITY_WARNING && strcmp(code, "history_unknown") == 0,
          "request-level warning");
    CHECK(readmit_result_message(res, 1, &row, &field, &severity, &code, &message) == READMIT_OK && row == 1 &&
              field && strcmp(field, "age") == 0 && severity == READMIT_SEVERITY_ERROR &&
              strcmp(code, "bad_number") == 0 && strstr(message, "three"),
          "row error");
    double risk = 0;
    uint8_t tier = 0;
    CHECK(readmit_result_row(res, 1, &risk, NULL, &tier, &err) == READMIT_OK && err == 1 && isnan(risk) && tier == 255,
          "row 1 has an error");
    size_t n = 9;
    CHECK(readmit_result_n_explanations(res, 1, &n) == READMIT_OK && n == 0, "no explanations for a failed row");
    readmit_result_free(res);

    script s = g;
    s.json = "{\"messages\": [{\"row\": 1, \"severity\": \"error\", \"code\": \"x\", \"message\": \"y\"}]}";
    s.k = 0;
    CHECK_RC(c, run_script(c, &s, &res), READMIT_OK); /* k 0: "explanations" may be left out; "field" too */
    readmit_result_free(res);

    s = g, s.n_frames = 4;
    expect_bad_records(c, s, "4 frames", "JSON frame missing");
    s = g, s.count_size = 7;
    expect_bad_records(c, s, "count frame", "7-byte count frame");
    s = g, s.rows = 3;
    expect_bad_records(c, s, "3 rows", "row count differs from the request");
    s = g, s.k = 3;
    expect_bad_records(c, s, "k 3", "k over the request's");
    s = g, s.risk_size = 8;
    expect_bad_records(c, s, "risk frame", "risk frame one row short");
    s = g, s.aty_size = 24;
    expect_bad_records(c, s, "atypicality frame", "atypicality frame one row long");
    s = g, s.tier_size = 1;
    expect_bad_records(c, s, "tier frame", "tier frame one row short");
    s = g, s.tier[1] = 2;
    expect_bad_records(c, s, "row 1", "NaN risk with a tier");
    s = g, s.risk[1] = 0.5;
    expect_bad_records(c, s, "row 1", "tier 255 with a risk");
    s = g, s.risk[0] = 1.5;
    expect_bad_records(c, s, "row 0", "risk over 1");
    s = g, s.aty[0] = NAN;
    expect_bad_records(c, s, "row 0", "NaN atypicality for a scored row");
    s = g, s.json = "{\"messages\": [";
    expect_bad_records(c, s, "not JSON", "truncated JSON");
    s = g, s.json = "[]";
    expect_bad_records(c, s, "not an object", "JSON array");
    s = g, s.json = "{\"explanations\": [[], []]}";
    expect_bad_records(c, s, "\"messages\"", "no messages");
    s = g, s.json = "{\"messages\": [{\"row\": 2, \"field\": \"a\", \"severity\": \"warning\", \"code\": \"c\", \"message\": \"m\"}], \"explanations\": [[], []]}";
    expect_bad_records(c, s, "\"row\"", "message row out of range");
    s = g, s.json = "{\"messages\": [{\"row\": 0.5, \"field\": \"a\", \"severity\": \"warning\", \"code\": \"c\", \"message\": \"m\"}], \"explanations\": [[], []]}";
    expect_bad_records(c, s, "\"row\"", "fractional message row");
    s = g, s.json = "{\"messages\": [{\"row\": -2, \"field\": \"a\", \"severity\": \"warning\", \"code\": \"c\", \"message\": \"m\"}], \"explanations\": [[], []]}";
    expect_bad_records(c, s, "\"row\"", "message row -2");
    s = g, s.json = "{\"messages\": [{\"row\": 1, \"field\": \"a\", \"severity\": \"fatal\", \"code\": \"c\", \"message\": \"m\"}], \"explanations\": [[], []]}";
    expect_bad_records(c, s, "severity", "unknown severity");
    s = g, s.json = "{\"messages\": [{\"row\": 1, \"field\": 3, \"severity\": \"error\", \"code\": \"c\", \"message\": \"m\"}], \"explanations\": [[], []]}";
    expect_bad_records(c, s, "field", "numeric field");
    s = g, s.json = "{\"messages\": [{\"row\": 1, \"field\": \"a\", \"severity\": \"error\", \"message\": \"m\"}], \"explanations\": [[], []]}";
    expect_bad_records(c, s, "code", "message without a code");
    s = g, s.json = "{\"messages\": [\"oops\"], \"explanations\": [[], []]}";
    expect_bad_records(c, s, "not an object", "message that is a string");
    s = g, s.json = "{\"messages\": [], \"explanations\": [[], []]}";
    expect_bad_records(c, s, "no error message", "a failed row without an error message");
    s = g, s.tier[1] = 1, s.risk[1] = 0.2, s.aty[1] = 0.2;
    expect_bad_records(c, s, "was scored", "an error message for a scored row");
    s = g, s.json = "{\"messages\": [{\"row\": 1, \"field\": \"a\", \"severity\": \"error\", \"code\": \"c\", \"message\": \"m\"}], \"explanations\": [[]]}";
    expect_bad_records(c, s, "1 lists for 2 rows", "one explanation list short");
    s = g, s.json = "{\"messages\": [{\"row\": 1, \"field\": \"a\", \"severity\": \"error\", \"code\": \"c\", \"message\": \"m\"}]}";
    expect_bad_records(c, s, "\"explanations\"", "no explanations with k > 0");
    s = g, s.json = "{\"messages\": [{\"row\": 1, \"field\": \"a\", \"severity\": \"error\", \"code\": \"c\", \"message\": \"m\"}], \"explanations\": [["
                    "{\"feature\": \"a\", \"contribution\": 1, \"value\": 1}, {\"feature\": \"b\", \"contribution\": 1, \"value\": 1},"
                    "{\"feature\": \"c\", \"contribution\": 1, \"value\": 1}], []]}";
    expect_bad_records(c, s, "3 explanations", "more explanations than k");
    s = g, s.json = "{\"messages\": [{\"row\": 1, \"field\": \"a\", \"severity\": \"error\", \"code\": \"c\", \"message\": \"m\"}], \"explanations\": [[], ["
                    "{\"feature\": \"a\", \"contribution\": 1, \"value\": 1}]]}";
    expect_bad_records(c, s, "row 1 has an error but 1 explanations", "explanations for a failed row");
    s = g, s.json = "{\"messages\": [{\"row\": 1, \"field\": \"a\", \"severity\": \"error\", \"code\": \"c\", \"message\": \"m\"}], \"explanations\": [["
                    "{\"feature\": \"a\", \"contribution\": \"big\", \"value\": 1}], []]}";
    expect_bad_records(c, s, "contribution", "text contribution");
    s = g, s.json = "{\"messages\": [{\"row\": 1, \"field\": \"a\", \"severity\": \"error\", \"code\": \"c\", \"message\": \"m\"}], \"explanations\": [["
                    "{\"feature\": \"a\", \"contribution\": 1e999, \"value\": 1}], []]}";
    expect_bad_records(c, s, "contribution", "infinite contribution");
    s = g, s.json = "{\"messages\": [{\"row\": 1, \"field\": \"a\", \"severity\": \"error\", \"code\": \"c\", \"message\": \"m\"}], \"explanations\": [["
                    "{\"feature\": \"a\", \"contribution\": 1, \"value\": [1]}], []]}";
    expect_bad_records(c, s, "value", "array value");
    s = g, s.json = "{\"messages\": [{\"row\": 1, \"field\": \"a\", \"severity\": \"error\", \"code\": \"c\", \"message\": \"m\"}], \"explanations\": [["
                    "{\"contribution\": 1, \"value\": 1}], []]}";
    expect_bad_records(c, s, "feature", "explanation without a feature");
    s = g, s.json = "{\"messages\": [{\"row\": 1, \"field\": \"a\", \"severity\": \"error\", \"code\": \"c\", \"message\": \"m\"}], \"explanations\": [{}, []]}";
    expect_bad_records(c, s, "not an array", "explanation list that is an object");
    readmit_close(c);

    /* The generic defences apply to RECORDS too. */
    expect_rejected(FAKE_EXTRA_FRAMES, 7, READMIT_EPROTO, "extra frames after RECORDS");
    expect_rejected(FAKE_HUGE, 7, READMIT_ETOOBIG, "RECORDS reply over max_reply_bytes");
    expect_rejected(FAKE_WRONG_ID, 7, READMIT_EPROTO, "RECORDS wrong request id");
    expect_rejected(FAKE_WRONG_OP, 7, READMIT_EPROTO, "RECORDS reply with another op");
}

/* SCORE with intervals against the fake: the flag goes out, a good reply is copied, and each
 * malformed interval reply is READMIT_EPROTO with the outputs untouched by half-valid data. */
static void test_score_interval_replies(void) {
    fake_set_mode(fake, FAKE_VALID);
    readmit_client *c = th_open(fake_endpoint(fake), 1000, 0);
    double x[6] = {1, 0, 2, 1, NAN, NAN}, risk[3], low[3] = {-1, -1, -1}, high[3] = {-1, -1, -1};
    uint8_t tier[3];
    CHECK_RC(c, readmit_score_interval(c, x, 3, 2, risk, NULL, tier, low, high), READMIT_OK);
    CHECK(low[0] == 0.2 && high[2] == 0.3 && risk[1] == 0.25, "low %g high %g risk %g", low[0], high[2], risk[1]);
    size_t size = 0;
    const unsigned char *h = fake_last_frame(fake, 0, &size);
    CHECK(h && size == 16 && h[5] == 1 && h[6] == 0x2 && h[7] == 0, "SCORE header flags bit 1: %02x %02x",
          h ? h[6] : 0, h ? h[7] : 0);
    CHECK_RC(c, readmit_score_full(c, x, 3, 2, risk, NULL, NULL), READMIT_OK);
    h = fake_last_frame(fake, 0, &size);
    CHECK(h && h[6] == 0 && h[7] == 0, "plain SCORE sends no flag");
    CHECK_RC(c, readmit_score_interval(c, x, 3, 2, risk, NULL, NULL, NULL, high), READMIT_EINVAL);
    CHECK(strstr(readmit_errmsg(c), "low") != NULL, "%s", readmit_errmsg(c));
    CHECK_RC(c, readmit_score_interval(c, x, 3, 2, NULL, NULL, NULL, low, NULL), READMIT_EINVAL);
    CHECK_RC(c, readmit_score_interval(c, x, 0, 2, NULL, NULL, NULL, NULL, NULL), READMIT_OK);
    CHECK(readmit_score_interval(NULL, x, 1, 2, risk, NULL, NULL, low, high) == READMIT_EINVAL, "NULL client");

    /* Scripted replies for a 2-row request: count, risk, atypicality, tier, low, high. */
    struct {
        double low[2], high[2];
        size_t low_size, high_size, n_frames;
        const char *needle, *what;
    } bad[] = {
        {{0.1, 0.1}, {0.2, 0.2}, 16, 16, 4, "4 frames", "no interval frames"},
        {{0.1, 0.1}, {0.2, 0.2}, 16, 16, 5, "5 frames", "no high frame"},
        {{0.1, 0.1}, {0.2, 0.2}, 8, 16, 6, "interval frames", "low frame one row short"},
        {{0.1, 0.1}, {0.2, 0.2}, 16, 24, 6, "interval frames", "high frame one row long"},
        {{0.1, 0.3}, {0.2, 0.2}, 16, 16, 6, "row 1", "low over high"},
        {{0.1, 0.1}, {0.2, 1.5}, 16, 16, 6, "row 1", "high over 1"},
        {{-0.1, 0.1}, {0.2, 0.2}, 16, 16, 6, "row 0", "low under 0"},
        {{NAN, 0.1}, {0.2, 0.2}, 16, 16, 6, "row 0", "NaN low"},
        {{0.1, 0.1}, {0.2, NAN}, 16, 16, 6, "row 1", "NaN high"},
    };
    unsigned char cnt[8] = {2, 0, 0, 0, 0, 0, 0, 0};
    double r2[3] = {0.1, 0.9, 0.5};
    unsigned char t2[3] = {0, 2, 0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double lo[3] = {bad[i].low[0], bad[i].low[1], 0.1}, hi[3] = {bad[i].high[0], bad[i].high[1], 0.2};
        const void *frames[6] = {cnt, r2, r2, t2, lo, hi};
        size_t sizes[6] = {8, 16, 16, 2, bad[i].low_size, bad[i].high_size};
        fake_script(fake, bad[i].n_frames, frames, sizes);
        fake_set_mode(fake, FAKE_SCRIPTED);
        double out_low[2] = {-7, -7}, out_high[2] = {-7, -7};
        int rc = readmit_score_interval(c, x, 2, 2, NULL, NULL, NULL, out_low, out_high);
        CHECK(rc == READMIT_EPROTO, "%s: got %d (%s), want READMIT_EPROTO", bad[i].what, rc, readmit_errmsg(c));
        CHECK(strstr(readmit_errmsg(c), bad[i].needle) != NULL, "%s: '%s' should mention '%s'", bad[i].what,
              readmit_errmsg(c), bad[i].needle);
        CHECK(out_low[0] == -7 && out_high[1] == -7, "%s: nothing copied from a rejected reply", bad[i].what);
        fake_set_mode(fake, FAKE_VALID);
        CHECK_RC(c, score_rc(c, 1), READMIT_OK);
    }
    /* The same 6 frames without the flag asked: two frames too many. */
    double lo[2] = {0.1, 0.1}, hi[2] = {0.2, 0.2};
    const void *frames[6] = {cnt, r2, r2, t2, lo, hi};
    size_t sizes[6] = {8, 16, 16, 2, 16, 16};
    fake_script(fake, 6, frames, sizes);
    fake_set_mode(fake, FAKE_SCRIPTED);
    double risk2[2];
    CHECK_RC(c, readmit_score(c, x, 2, 2, risk2), READMIT_EPROTO);
    /* And the good one with the flag: copied. */
    double out_low[2], out_high[2];
    CHECK_RC(c, readmit_score_interval(c, x, 2, 2, NULL, NULL, NULL, out_low, out_high), READMIT_OK);
    CHECK(out_low[1] == 0.1 && out_high[0] == 0.2, "scripted interval copied: %g %g", out_low[1], out_high[0]);
    fake_set_mode(fake, FAKE_VALID);
    readmit_close(c);
}

/* RECORDS with intervals: the option bit goes out, the accessors, and every malformed interval
 * part of the reply is READMIT_EPROTO. */
static void test_records_interval_replies(void) {
    fake_set_mode(fake, FAKE_VALID);
    readmit_client *c = th_open(fake_endpoint(fake), 1000, 0);
    readmit_records *r = NULL;
    readmit_records_new(2, &r);
    readmit_records_set_number(r, "age", 0, 6);
    readmit_result *res = NULL;
    CHECK_RC(c, readmit_score_records(c, r, 0, READMIT_RECORDS_INTERVAL | READMIT_RECORDS_MISSING_FIELDS_OK, &res),
             READMIT_OK);
    size_t size = 0;
    const unsigned char *counts = fake_last_frame(fake, 1, &size);
    CHECK(counts && size == 16 && counts[12] == 0x5, "options frame %02x", counts ? counts[12] : 0);
    double low = -1, high = -1, lows[2] = {0}, highs[2] = {0};
    CHECK(readmit_result_has_interval(res) == 1, "has interval");
    CHECK(readmit_result_interval(res, 1, &low, &high) == READMIT_OK && low == 0.2 && high == 0.3, "[%g, %g]", low,
          high);
    CHECK(readmit_result_interval(res, 2, &low, &high) == READMIT_ENOTFOUND, "row 2 out of range");
    CHECK(readmit_result_intervals(res, lows, highs) == READMIT_OK && lows[0] == 0.2 && highs[1] == 0.3, "bulk");
    CHECK(readmit_result_intervals(res, NULL, highs) == READMIT_OK, "NULL output allowed");
    readmit_result_free(res);
    res = NULL;
    CHECK_RC(c, readmit_score_records(c, r, 0, 0, &res), READMIT_OK);
    low = high = -1;
    CHECK(readmit_result_has_interval(res) == 0, "no interval without the option");
    CHECK(readmit_result_interval(res, 0, &low, &high) == READMIT_EINVAL && low == -1 && high == -1,
          "asking the interval of a result made without the option is EINVAL, nothing written");
    CHECK(readmit_result_intervals(res, lows, highs) == READMIT_EINVAL, "bulk without the option");
    CHECK(readmit_result_interval(NULL, 0, &low, &high) == READMIT_EINVAL && readmit_result_has_interval(NULL) == 0,
          "NULL result");
    readmit_result_free(res);
    CHECK_RC(c, readmit_derive_history(c, r, READMIT_RECORDS_INTERVAL, NULL), READMIT_EINVAL);
    CHECK(strstr(readmit_errmsg(c), "INTERVAL") != NULL, "%s", readmit_errmsg(c));
    CHECK_RC(c, readmit_score_records(c, r, 0, 0x8, &res), READMIT_EINVAL);
    readmit_records_free(r);

    /* Scripted: the good script with intervals, then each broken part. */
    script g = interval_script();
    res = NULL;
    CHECK_RC(c, run_script(c, &g, &res), READMIT_OK);
    CHECK(readmit_result_interval(res, 0, &low, &high) == READMIT_OK && low == 0.05 && high == 0.2, "row 0");
    CHECK(readmit_result_interval(res, 1, &low, &high) == READMIT_OK && isnan(low) && isnan(high),
          "a failed row's interval is NaN");
    readmit_result_free(res);
    script s = g;
    s.n_frames = 5;
    expect_bad_records(c, s, "5 frames", "interval asked, none sent");
    s = g, s.n_frames = 6;
    expect_bad_records(c, s, "6 frames", "high frame missing");
    s = good_script(), s.n_frames = 7;
    expect_bad_records(c, s, "7 frames", "interval frames not asked for");
    s = g, s.low_size = 8;
    expect_bad_records(c, s, "low frame", "low frame one row short");
    s = g, s.high_size = 24;
    expect_bad_records(c, s, "high frame", "high frame one row long");
    s = g, s.low[0] = 0.3;
    expect_bad_records(c, s, "row 0", "low over high");
    s = g, s.high[0] = 1.01;
    expect_bad_records(c, s, "row 0", "high over 1");
    s = g, s.low[0] = NAN;
    expect_bad_records(c, s, "row 0", "NaN low for a scored row");
    s = g, s.low[1] = 0.1;
    expect_bad_records(c, s, "row 1", "a failed row with an interval");
    readmit_close(c);
}

static void test_raw_fields(void) {
    fake_set_mode(fake, FAKE_VALID);
    readmit_client *c = th_open(fake_endpoint(fake), 1000, 0);
    size_t n = 0, index = 99, levels = 0;
    CHECK_RC(c, readmit_n_raw_fields(c, &n), READMIT_OK);
    CHECK(n == 6, "6 raw fields, got %zu", n);
    char buf[64];
    CHECK_RC(c, readmit_raw_field_name(c, 1, buf, sizeof buf, NULL), READMIT_OK);
    CHECK(strcmp(buf, "race") == 0, "%s", buf);
    size_t need = 0;
    CHECK_RC(c, readmit_raw_field_name(c, 2, buf, 4, &need), READMIT_ERANGE);
    CHECK(need == strlen("prior_stays") + 1, "needed %zu", need);
    CHECK_RC(c, readmit_raw_field_index(c, "prior_stays", &index), READMIT_OK);
    CHECK(index == 2, "index %zu", index);
    CHECK_RC(c, readmit_raw_field_index(c, "Prior_stays", &index), READMIT_ENOTFOUND);
    CHECK(strstr(readmit_errmsg(c), "Prior_stays") != NULL, "%s", readmit_errmsg(c));
    int want_type[6] = {READMIT_FIELD_NUMBER, READMIT_FIELD_TEXT, READMIT_FIELD_NUMBER, READMIT_FIELD_TIMESTAMP,
                        READMIT_FIELD_DIAGNOSIS_CODE, READMIT_FIELD_OTHER};
    int want_required[6] = {1, 0, 0, 1, 0, 0}, want_history[6] = {0, 0, 1, 0, 0, 0};
    for (size_t i = 0; i < 6 && i < n; i++) {
        int type = -9, required = -9, history = -9;
        CHECK_RC(c, readmit_raw_field_type(c, i, &type), READMIT_OK);
        CHECK_RC(c, readmit_raw_field_required(c, i, &required), READMIT_OK);
        CHECK_RC(c, readmit_raw_field_history(c, i, &history), READMIT_OK);
        CHECK(type == want_type[i] && required == want_required[i] && history == want_history[i],
              "raw field %zu: type %d required %d history %d", i, type, required, history);
    }
    CHECK_RC(c, readmit_raw_field_n_levels(c, 1, &levels), READMIT_OK);
    CHECK(levels == 2, "race has 2 levels: %zu", levels);
    CHECK_RC(c, readmit_raw_field_level(c, 1, 1, buf, sizeof buf, NULL), READMIT_OK);
    CHECK(strcmp(buf, "B\xc3\xa9") == 0, "level 1: %s", buf);
    CHECK_RC(c, readmit_raw_field_level(c, 1, 2, buf, sizeof buf, NULL), READMIT_ENOTFOUND);
    CHECK_RC(c, readmit_raw_field_n_levels(c, 0, &levels), READMIT_OK);
    CHECK(levels == 0, "a number has no levels");
    CHECK_RC(c, readmit_raw_field_type(c, 6, &want_type[0]), READMIT_ENOTFOUND);
    CHECK_RC(c, readmit_raw_field_type(c, 0, NULL), READMIT_EINVAL);
    CHECK_RC(c, readmit_n_raw_fields(c, NULL), READMIT_EINVAL);
    CHECK_RC(c, readmit_raw_field_index(c, NULL, &index), READMIT_EINVAL);
    readmit_close(c);

    /* A malformed "raw_fields" fails the raw-field calls with a reason, not the feature schema. */
    static const struct { const char *raw, *needle; } bad[] = {
        {"", "no \"raw_fields\""},
        {",\"raw_fields\":{}", "not an array"},
        {",\"raw_fields\":[3]", "not an object"},
        {",\"raw_fields\":[{\"type\":\"number\",\"required\":true,\"history\":false}]", "\"name\""},
        {",\"raw_fields\":[{\"name\":\"\",\"type\":\"number\",\"required\":true,\"history\":false}]", "\"name\""},
        {",\"raw_fields\":[{\"name\":\"a\",\"required\":true,\"history\":false}]", "\"type\""},
        {",\"raw_fields\":[{\"name\":\"a\",\"type\":\"number\",\"required\":true}]", "\"history\""},
        {",\"raw_fields\":[{\"name\":\"a\",\"type\":\"number\",\"history\":false}]", "\"required\""},
        {",\"raw_fields\":[{\"name\":\"a\",\"type\":\"number\",\"history\":false,\"required\":1}]", "\"required\""},
        {",\"raw_fields\":[{\"name\":\"a\",\"type\":\"text\",\"required\":true,\"history\":false,\"levels\":\"A\"}]", "\"levels\""},
        {",\"raw_fields\":[{\"name\":\"a\",\"type\":\"text\",\"required\":true,\"history\":false,\"levels\":[\"A\",2]}]", "level"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char info[512];
        snprintf(info, sizeof info,
                 "{\"n_features\":1,\"features\":[{\"name\":\"age\",\"kind\":\"numeric\",\"source\":\"age\"}]%s}",
                 bad[i].raw);
        const void *frames[1] = {info};
        size_t sizes[1] = {strlen(info)};
        fake_script(fake, 1, frames, sizes);
        fake_set_mode(fake, FAKE_SCRIPTED);
        c = th_open(fake_endpoint(fake), 1000, 0);
        size_t nf = 0;
        CHECK_RC(c, readmit_n_features(c, &nf), READMIT_OK);
        CHECK(nf == 1, "feature schema kept");
        CHECK_RC(c, readmit_n_raw_fields(c, &n), READMIT_EPROTO);
        CHECK(strstr(readmit_errmsg(c), bad[i].needle) != NULL, "case %zu: '%s' should mention %s", i,
              readmit_errmsg(c), bad[i].needle);
        CHECK_RC(c, readmit_raw_field_type(c, 0, &want_type[0]), READMIT_EPROTO);
        fake_set_mode(fake, FAKE_VALID);
        CHECK_RC(c, readmit_n_raw_fields(c, &n), READMIT_OK); /* refreshed from a good INFO */
        readmit_close(c);
    }
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
    RUN(test_records_builder);
    RUN(test_records_request_bytes);
    RUN(test_records_integer_frames);
    RUN(test_records_names_and_texts_by_length);
    RUN(test_records_text_frames);
    RUN(test_records_text_frames_after_a_cell_changes);
    RUN(test_records_small_batches);
    RUN(test_records_move_keeps_memory_bounded);
    RUN(test_records_large);
    RUN(test_records_result);
    RUN(test_records_malformed_replies);
    RUN(test_score_interval_replies);
    RUN(test_records_interval_replies);
    RUN(test_raw_fields);
    fake_stop(fake);
    return th_finish("test_reply_validation");
}
