/*
 * fake_daemon.c: see fake_daemon.h. A ROUTER socket in a thread that answers each request
 * according to the current mode; it speaks just enough of docs/PROTOCOL.md to be wrong in one
 * controlled way at a time.
 */
#include "fake_daemon.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

typedef struct {
    size_t n;
    unsigned char **data;
    size_t *size;
} frames;

struct fake_daemon {
    void *ctx;
    void *sock;
    pthread_t thread;
    atomic_int mode;
    atomic_int stop;
    atomic_int requests;
    char endpoint[64];
    pthread_mutex_t lock; /* guards script and last */
    frames script;        /* FAKE_SCRIPTED's frames after the header */
    frames last;          /* the last request's frames after the delimiter */
};

static void frames_clear(frames *fr) {
    for (size_t i = 0; i < fr->n; i++) free(fr->data[i]);
    free(fr->data);
    free(fr->size);
    fr->n = 0;
    fr->data = NULL;
    fr->size = NULL;
}

static void frames_set(frames *fr, size_t n, const void *const *data, const size_t *size) {
    frames_clear(fr);
    fr->data = calloc(n + 1, sizeof *fr->data);
    fr->size = calloc(n + 1, sizeof *fr->size);
    for (size_t i = 0; i < n; i++) {
        fr->data[i] = malloc(size[i] + 1);
        if (size[i]) memcpy(fr->data[i], data[i], size[i]);
        fr->size[i] = size[i];
    }
    fr->n = n;
}

static const char *k_info =
    "{\"protocol_version\":2,\"model_id\":\"00000000000000ff\",\"model_version\":\"00000000000000ff\","
    "\"n_features\":2,\"features\":[{\"index\":0,\"name\":\"age\",\"kind\":\"numeric\",\"source\":\"age\"},"
    "{\"index\":1,\"name\":\"race\",\"kind\":\"categorical\",\"levels\":[\"A\",\"B\\u00e9\"],\"source\":\"race\"}],"
    "\"raw_fields\":[{\"name\":\"age\",\"type\":\"number\",\"required\":true,\"history\":false,\"table\":\"encounters\"},"
    "{\"name\":\"race\",\"type\":\"text\",\"required\":false,\"history\":false,\"levels\":[\"A\",\"B\\u00e9\"]},"
    "{\"name\":\"prior_stays\",\"type\":\"number\",\"required\":false,\"history\":true,\"table\":\"history\"},"
    "{\"name\":\"admitted\",\"type\":\"timestamp\",\"history\":false,\"required\":true,\"format\":\"%Y\"},"
    "{\"name\":\"dx\",\"type\":\"diagnosis_code\",\"required\":false,\"history\":false,\"system\":\"icd10\"},"
    "{\"name\":\"future\",\"type\":\"hologram\",\"required\":false,\"history\":false}]}";

static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void send_frame(void *s, const void *data, size_t n, int more) {
    zmq_send(s, data, n, more ? ZMQ_SNDMORE : 0);
}

/* The valid RECORDS reply frames after the header (see fake_daemon.h). */
static void send_records(fake_daemon *f, uint32_t rows, uint32_t k, int interval, int more) {
    uint32_t kk = k > 3 ? 3 : k;
    unsigned char cnt[8];
    put32(cnt, rows);
    put32(cnt + 4, kk);
    double *risk = calloc(rows + 1, sizeof *risk), *aty = calloc(rows + 1, sizeof *aty);
    unsigned char *tier = calloc(rows + 1, 1);
    for (uint32_t i = 0; i < rows; i++) risk[i] = 0.25, aty[i] = 0.5, tier[i] = 1;
    static const char *entries[3] = {"{\"feature\":\"age\",\"contribution\":-0.5,\"value\":10}",
                                     "{\"feature\":\"race\",\"contribution\":0.25,\"value\":\"B\\u00e9\"}",
                                     "{\"feature\":\"x\",\"contribution\":0.125,\"value\":null}"};
    size_t cap = 64 + (size_t)rows * 200, len = 0;
    char *json = malloc(cap);
    len += (size_t)snprintf(json + len, cap - len, "{\"messages\": [], \"explanations\": [");
    for (uint32_t r = 0; kk > 0 && r < rows; r++) {
        len += (size_t)snprintf(json + len, cap - len, "%s[", r ? "," : "");
        for (uint32_t j = 0; j < kk; j++) len += (size_t)snprintf(json + len, cap - len, "%s%s", j ? "," : "", entries[j]);
        len += (size_t)snprintf(json + len, cap - len, "]");
    }
    len += (size_t)snprintf(json + len, cap - len, "]}");
    send_frame(f->sock, cnt, 8, 1);
    send_frame(f->sock, risk, (size_t)rows * 8, 1);
    send_frame(f->sock, aty, (size_t)rows * 8, 1);
    send_frame(f->sock, tier, rows, 1);
    send_frame(f->sock, json, len, more || interval);
    if (interval) { /* [0.2, 0.3] per row */
        for (uint32_t i = 0; i < rows; i++) risk[i] = 0.2, aty[i] = 0.3;
        send_frame(f->sock, risk, (size_t)rows * 8, 1);
        send_frame(f->sock, aty, (size_t)rows * 8, more);
    }
    free(risk), free(aty), free(tier), free(json);
}

static void answer(fake_daemon *f, zmq_msg_t *parts, int n) {
    fake_mode mode = (fake_mode)atomic_load(&f->mode);
    if (mode == FAKE_SILENT || n < 3 || zmq_msg_size(&parts[2]) != 16) return;
    if (mode == FAKE_SLOW) {
        struct timespec ts = {1, 500000000};
        nanosleep(&ts, NULL);
    }
    const unsigned char *req = zmq_msg_data(&parts[2]);
    unsigned op = req[5];
    uint64_t id = get64(req + 8);
    uint32_t rows = 0, k = 0;
    int interval = 0; /* SCORE flag bit 1, RECORDS option bit 2 */
    if (op == 1) interval = (req[6] & 0x2) != 0;
    if (op == 7 && n >= 4 && zmq_msg_size(&parts[3]) >= 16)
        interval = (get32((const unsigned char *)zmq_msg_data(&parts[3]) + 12) & 0x4) != 0;
    if ((op == 1 || op == 2) && n >= 4 && zmq_msg_size(&parts[3]) >= 8) rows = get32(zmq_msg_data(&parts[3]));
    if ((op == 2 || op == 7) && n >= 4 && zmq_msg_size(&parts[3]) >= 12)
        k = get32((const unsigned char *)zmq_msg_data(&parts[3]) + 8);
    if (op == 7 && n >= 4 && zmq_msg_size(&parts[3]) >= 4) rows = get32(zmq_msg_data(&parts[3]));

    unsigned char h[24];
    memcpy(h, mode == FAKE_BAD_MAGIC ? "XDMT" : "RDMT", 4);
    h[4] = mode == FAKE_BAD_VERSION ? 9 : 2; /* READMIT_PROTOCOL_VERSION */
    h[5] = (unsigned char)(mode == FAKE_WRONG_OP ? (op == 3 ? 4 : 3) : op);
    uint16_t status = mode == FAKE_UNKNOWN_STATUS ? 99 : mode == FAKE_ERROR_NO_MESSAGE ? 7 : 0;
    h[6] = (unsigned char)(status & 0xff);
    h[7] = (unsigned char)(status >> 8);
    put64(h + 8, mode == FAKE_WRONG_ID ? id + 1 : id);
    put64(h + 16, 0xff);

    send_frame(f->sock, zmq_msg_data(&parts[0]), zmq_msg_size(&parts[0]), 1); /* identity */
    send_frame(f->sock, "", 0, 1);                                             /* delimiter */
    int tail = mode == FAKE_EXTRA_FRAMES || mode == FAKE_HUGE || mode == FAKE_HUGE_FRAME;
    send_frame(f->sock, h, mode == FAKE_SHORT_HEADER ? 23 : 24, 1);
    if (mode == FAKE_SCRIPTED) {
        pthread_mutex_lock(&f->lock);
        for (size_t i = 0; i < f->script.n; i++)
            send_frame(f->sock, f->script.data[i], f->script.size[i], i + 1 < f->script.n);
        if (f->script.n == 0) send_frame(f->sock, "", 0, 0);
        pthread_mutex_unlock(&f->lock);
    } else if (status != 0) {
        unsigned char loc[8];
        put32(loc, 3);
        put32(loc + 4, 1);
        send_frame(f->sock, loc, 8, status == 99 || tail);
        if (status == 99) send_frame(f->sock, "made-up failure", 15, tail);
    } else if (op == 1) {
        uint32_t claimed = mode == FAKE_WRONG_ROWS ? rows + 1 : rows;
        size_t nr = mode == FAKE_SHORT_RISK ? (rows ? rows - 1 : 0) : mode == FAKE_LONG_RISK ? rows + 1 : rows;
        unsigned char cnt[8];
        put32(cnt, claimed);
        put32(cnt + 4, 0);
        double *risk = calloc(nr + 1, sizeof *risk);
        unsigned char *tier = calloc(rows + 1, 1);
        for (size_t i = 0; i < nr; i++) risk[i] = 0.25;
        send_frame(f->sock, cnt, 8, 1);
        send_frame(f->sock, risk, nr * 8, 1);
        send_frame(f->sock, risk, rows * 8 > nr * 8 ? nr * 8 : rows * 8, mode != FAKE_MISSING_FRAME || tail || interval);
        if (mode != FAKE_MISSING_FRAME) send_frame(f->sock, tier, rows, tail || interval);
        if (interval) { /* [0.2, 0.3] per row */
            for (size_t i = 0; i < nr; i++) risk[i] = 0.2;
            send_frame(f->sock, risk, nr * 8, 1);
            for (size_t i = 0; i < nr; i++) risk[i] = 0.3;
            send_frame(f->sock, risk, nr * 8, tail);
        }
        free(risk);
        free(tier);
    } else if (op == 2) {
        uint32_t kk = mode == FAKE_EXPLAIN_BIG_K ? k + 1 : k;
        unsigned char cnt[8];
        put32(cnt, rows);
        put32(cnt + 4, kk);
        size_t cells = (size_t)rows * kk;
        void *buf = calloc(cells + 1, 8);
        send_frame(f->sock, cnt, 8, 1);
        send_frame(f->sock, buf, cells * 4, 1);
        send_frame(f->sock, buf, cells * 8, tail);
        free(buf);
    } else if (op == 7) {
        send_records(f, rows, k, interval, tail);
    } else if (op == 3 || op == 4) {
        const char *text = mode == FAKE_BAD_JSON ? "{\"features\": [" :
                           op == 3 ? k_info : "{\"live\": true, \"ready\": true, \"model_version\": \"ff\"}";
        send_frame(f->sock, text, strlen(text), tail);
    } else {
        send_frame(f->sock, "{}", 2, tail);
    }
    if (mode == FAKE_EXTRA_FRAMES)
        for (int i = 0; i < 20; i++) send_frame(f->sock, "", 0, i < 19);
    if (mode == FAKE_HUGE || mode == FAKE_HUGE_FRAME) {
        size_t big = (size_t)4 << 20;
        int pieces = mode == FAKE_HUGE ? 8 : 1;
        void *buf = calloc(1, big);
        for (int i = 0; i < pieces; i++) send_frame(f->sock, buf, big / (size_t)pieces, i + 1 < pieces);
        free(buf);
    }
}

static void *serve(void *arg) {
    fake_daemon *f = arg;
    while (!atomic_load(&f->stop)) {
        zmq_pollitem_t item = {f->sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 20) <= 0) continue;
        zmq_msg_t *parts = NULL;
        int n = 0, more = 1;
        while (more) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, f->sock, 0) < 0) { zmq_msg_close(&m); break; }
            more = zmq_msg_more(&m);
            parts = realloc(parts, (size_t)(n + 1) * sizeof *parts);
            zmq_msg_init(&parts[n]);
            zmq_msg_move(&parts[n], &m);
            n++;
            zmq_msg_close(&m);
        }
        /* Keep a copy of the frames after the identity and the delimiter. */
        size_t kept = n > 2 ? (size_t)n - 2 : 0;
        const void **data = calloc(kept + 1, sizeof *data);
        size_t *size = calloc(kept + 1, sizeof *size);
        for (size_t i = 0; i < kept; i++) {
            data[i] = zmq_msg_data(&parts[i + 2]);
            size[i] = zmq_msg_size(&parts[i + 2]);
        }
        pthread_mutex_lock(&f->lock);
        frames_set(&f->last, kept, data, size);
        pthread_mutex_unlock(&f->lock);
        free(data);
        free(size);
        atomic_fetch_add(&f->requests, 1);
        answer(f, parts, n);
        for (int i = 0; i < n; i++) zmq_msg_close(&parts[i]);
        free(parts);
    }
    return NULL;
}

fake_daemon *fake_start(void) {
    fake_daemon *f = calloc(1, sizeof *f);
    f->ctx = zmq_ctx_new();
    f->sock = zmq_socket(f->ctx, ZMQ_ROUTER);
    int linger = 0;
    zmq_setsockopt(f->sock, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(f->sock, "tcp://127.0.0.1:*") != 0) {
        fprintf(stderr, "fake_start: bind failed: %s\n", zmq_strerror(zmq_errno()));
        exit(2);
    }
    size_t len = sizeof f->endpoint;
    zmq_getsockopt(f->sock, ZMQ_LAST_ENDPOINT, f->endpoint, &len);
    atomic_init(&f->mode, FAKE_VALID);
    atomic_init(&f->stop, 0);
    atomic_init(&f->requests, 0);
    pthread_mutex_init(&f->lock, NULL);
    pthread_create(&f->thread, NULL, serve, f);
    return f;
}

const char *fake_endpoint(const fake_daemon *f) { return f->endpoint; }

void fake_set_mode(fake_daemon *f, fake_mode mode) { atomic_store(&f->mode, (int)mode); }

int fake_requests(const fake_daemon *f) { return atomic_load(&((fake_daemon *)f)->requests); }

void fake_script(fake_daemon *f, size_t n, const void *const *data, const size_t *size) {
    pthread_mutex_lock(&f->lock);
    frames_set(&f->script, n, data, size);
    pthread_mutex_unlock(&f->lock);
}

size_t fake_last_n_frames(fake_daemon *f) {
    pthread_mutex_lock(&f->lock);
    size_t n = f->last.n;
    pthread_mutex_unlock(&f->lock);
    return n;
}

const unsigned char *fake_last_frame(fake_daemon *f, size_t i, size_t *size) {
    pthread_mutex_lock(&f->lock);
    const unsigned char *d = i < f->last.n ? f->last.data[i] : NULL;
    if (size) *size = i < f->last.n ? f->last.size[i] : 0;
    pthread_mutex_unlock(&f->lock);
    return d;
}

void fake_stop(fake_daemon *f) {
    atomic_store(&f->stop, 1);
    pthread_join(f->thread, NULL);
    frames_clear(&f->script);
    frames_clear(&f->last);
    pthread_mutex_destroy(&f->lock);
    zmq_close(f->sock);
    zmq_ctx_term(f->ctx);
    free(f);
}
