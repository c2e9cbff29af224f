/* libFuzzer target: the C client's reply handling, on frames built in memory (no socket).
 *
 * Input: byte 0 the request's op, byte 1 its n_rows (mod 16), byte 2 its k (mod 8; bit 3: the
 * request asked for risk intervals), then the reply's frames, each a little-endian u16 length
 * and that many bytes (a length past the end takes what is left). The reply goes through
 * rm_reply_validate (header, op, request id 1, error replies), then the parser of its op: SCORE
 * (rm_score_from_reply), RECORDS (rm_result_from_reply and the result accessors), HISTORY
 * (rm_history_from_reply), INFO (rm_schema_from_info).
 * Deterministic; writes no file. */
#include "readmit.h"
#include "rm_internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads land here so that the compiler keeps them. */
static volatile size_t sink;

static void touch_result(const readmit_result *res) {
    size_t n = readmit_result_n_rows(res);
    for (size_t r = 0; r < n; r++) {
        double risk, aty;
        uint8_t tier;
        int has_error;
        size_t ne = 0;
        if (readmit_result_row(res, r, &risk, &aty, &tier, &has_error) == READMIT_OK) sink += tier + (size_t)has_error;
        double low, high;
        if (readmit_result_interval(res, r, &low, &high) == READMIT_OK) {
            /* The oracle of the validation: a scored row's interval is ordered within [0, 1]. */
            if (!has_error && !(low >= 0 && low <= high && high <= 1)) abort();
            sink += low <= high;
        }
        if (readmit_result_n_explanations(res, r, &ne) == READMIT_OK)
            for (size_t i = 0; i < ne; i++) {
                const char *feature = NULL, *value = NULL;
                double contribution;
                if (readmit_result_explanation(res, r, i, &feature, &contribution, &value) == READMIT_OK)
                    sink += strlen(feature) + (value ? strlen(value) : 0);
            }
    }
    int row;
    const char *field, *code, *message;
    int severity;
    for (size_t i = 0; readmit_result_message(res, i, &row, &field, &severity, &code, &message) == READMIT_OK; i++)
        sink += strlen(code) + strlen(message) + (field ? strlen(field) : 0) + (size_t)row + (size_t)severity;
    for (size_t i = 0; readmit_result_history_field(res, i); i++) sink += strlen(readmit_result_history_field(res, i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3) return 0;
    uint8_t op = data[0];
    size_t n_rows = data[1] % 16, k = data[2] % 8;
    int interval = (data[2] >> 3) & 1;
    data += 3;
    size -= 3;
    readmit_client *client = calloc(1, sizeof *client);
    if (!client) return 0;
    rm_reply reply;
    memset(&reply, 0, sizeof reply);
    size_t n = 0;
    while (size > 0 && n < RM_MAX_FRAMES) {
        size_t len = size >= 2 ? (size_t)data[0] | (size_t)data[1] << 8 : 0;
        size_t skip = size >= 2 ? 2 : size;
        data += skip;
        size -= skip;
        if (len > size) len = size;
        if (zmq_msg_init_size(&reply.frames[n], len) != 0) break;
        if (len) memcpy(zmq_msg_data(&reply.frames[n]), data, len);
        reply.held = (int)++n;
        data += len;
        size -= len;
    }
    if (n == 0) {
        free(client);
        return 0;
    }
    reply.n_frames = n - 1;
    if (rm_reply_validate(client, op, 1, &reply) == READMIT_OK) {
        if (op == RM_OP_SCORE) {
            double risk[16], aty[16], low[16], high[16];
            uint8_t tier[16];
            if (rm_score_from_reply(client, &reply, n_rows, interval, risk, aty, tier, low, high) == READMIT_OK)
                for (size_t r = 0; interval && r < n_rows; r++)
                    if (!(low[r] >= 0 && low[r] <= high[r] && high[r] <= 1)) abort();
        } else if (op == RM_OP_RECORDS) {
            readmit_result *res = NULL;
            if (rm_result_from_reply(client, &reply, n_rows, k, interval, &res) == READMIT_OK) touch_result(res);
            readmit_result_free(res);
        } else if (op == RM_OP_HISTORY) {
            const char *names[RM_MAX_HISTORY_FIELDS];
            size_t lens[RM_MAX_HISTORY_FIELDS], n_fields = 0;
            const unsigned char *values[RM_MAX_HISTORY_FIELDS];
            readmit_result *res = NULL;
            if (rm_history_from_reply(client, &reply, n_rows, &n_fields, names, lens, values, &res) == READMIT_OK) {
                /* The pointers must cover the whole values frame and name (ASan checks these reads). */
                for (size_t f = 0; f < n_fields; f++) sink += values[f][8 * n_rows] + (size_t)names[f][lens[f] - 1];
                touch_result(res);
            }
            readmit_result_free(res);
        } else if (op == RM_OP_INFO && reply.n_frames == 1) {
            rm_schema *schema = NULL;
            const char *err = NULL;
            if (rm_schema_from_info(zmq_msg_data(&reply.frames[1]), zmq_msg_size(&reply.frames[1]), &schema, &err) ==
                READMIT_OK)
                rm_schema_free(schema);
        }
        rm_reply_close(&reply);
    }
    /* Every path must leave the reply closed (rm_reply_validate closes it on failure). */
    if (reply.held != 0) abort();
    rm_schema_free(client->schema);
    free(client);
    return 0;
}
