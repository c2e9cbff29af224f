/* libFuzzer target: readmit_records_set_text_buffer (texts from one buffer with offsets, the
 * layout of Arrow string columns) against readmit_records_set_texts (one C string per row) on
 * the same cells, and readmit_records_set_text_chunks (the same buffer cut in two chunks)
 * against readmit_records_set_text_buffer.
 *
 * The input's first byte picks the row count (256 or more, where the short-text cache and its
 * loop of hits run, or a few rows) and what may go wrong (an offset out of order or past the
 * buffer, missing rows); the rest is the text buffer, and each row's length is read from it
 * (0 to 20 bytes: either side of the 8- and 16-byte words the cache keys on, and texts that end
 * in the buffer's last 16 bytes). Then:
 *   - bad offsets: set_text_buffer fails with READMIT_EINVAL;
 *   - a NUL inside a text: it fails with READMIT_EINVAL (set_texts cannot be given one);
 *   - with good offsets, the two chunks give set_text_buffer's result code and frames;
 *   - otherwise both setters give the same result code (bad UTF-8 fails both), and when both
 *     succeed, the same frames (every row, and two slices) and the frames of a batch set the
 *     one way and then the other way.
 * Deterministic; writes no file. */
#include "readmit.h"
#include "rm_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_frames(readmit_records *a, readmit_records *b, size_t first, size_t n) {
    size_t sa = 0, sb = 0;
    unsigned char *fa = rm_records_text_frame(a, "t", first, n, &sa);
    unsigned char *fb = rm_records_text_frame(b, "t", first, n, &sb);
    int same = fa && fb && sa == sb && memcmp(fa, fb, sa) == 0;
    free(fa);
    free(fb);
    return same;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const uint8_t mode = data[0];
    const char *buffer = (const char *)data + 1;
    const size_t len = size - 1;
    const size_t n = (mode & 0x80) ? (size_t)(mode & 7) + 1 : 256 + (size_t)(mode & 0x3F) * 8;
    const int with_valid = (mode & 0x40) != 0, bad_order = (mode & 0x18) == 0x18, past_end = (mode & 0x18) == 0x10;
    int64_t *offsets = malloc((n + 1) * sizeof *offsets);
    uint8_t *valid = malloc(n);
    const char **texts = calloc(n, sizeof *texts);
    char *copies = malloc(n * 21);
    if (!offsets || !valid || !texts || !copies) abort();
    /* Each row's length is the buffer's byte at the row's start (mod 21), wrapping to the start
     * of the buffer when the row would run past its end (offsets stay in order). */
    int64_t at = 0;
    offsets[0] = 0;
    for (size_t row = 0; row < n; row++) {
        size_t want = len ? (size_t)(unsigned char)buffer[(size_t)at % len] % 21 : 0;
        if ((size_t)at + want > len) want = len - (size_t)at;
        offsets[row + 1] = at + (int64_t)want;
        at = offsets[row + 1];
        valid[row] = (uint8_t)(!with_valid || (row * 7 + mode) % 5 != 0); /* a fifth missing */
    }
    size_t bad_row = n;
    if (bad_order && n > 1) {
        bad_row = n - 1 - (size_t)(mode & 1);
        offsets[bad_row + 1] = offsets[bad_row] - 1; /* before its row's start: out of order */
    } else if (past_end) {
        bad_row = n - 1;
        offsets[n] = (int64_t)len + 1;
    }
    readmit_records *a = NULL, *b = NULL;
    if (readmit_records_new(n, &a) != READMIT_OK || readmit_records_new(n, &b) != READMIT_OK) abort();
    int ra = readmit_records_set_text_buffer(a, "t", len ? buffer : NULL, len, offsets, with_valid ? valid : NULL);
    int nul = 0;
    if (bad_row < n) {
        if (ra != READMIT_EINVAL) abort();
    } else {
        for (size_t row = 0; row < n; row++) {
            if (with_valid && !valid[row]) continue;
            size_t l = (size_t)(offsets[row + 1] - offsets[row]);
            memcpy(copies + 21 * row, buffer + offsets[row], l);
            copies[21 * row + l] = '\0';
            if (memchr(buffer + offsets[row], '\0', l)) nul = 1;
            texts[row] = copies + 21 * row;
        }
        /* The same cells as two Arrow chunks (readmit_records_set_text_chunks), cut at a row the
         * input picks, each chunk in a buffer of its own exact size (a read past a chunk is a
         * sanitizer report): the same result code, and the same frames. */
        size_t cut = len ? (size_t)(unsigned char)buffer[len / 2] % (n + 1) : n / 2;
        size_t rows[2] = {cut, n - cut}, lens[2] = {(size_t)offsets[cut], (size_t)(offsets[n] - offsets[cut])};
        char *own[2] = {malloc(lens[0] + 1), malloc(lens[1] + 1)};
        int64_t *second = malloc((n - cut + 1) * sizeof *second);
        if (!own[0] || !own[1] || !second) abort();
        memcpy(own[0], buffer, lens[0]);
        memcpy(own[1], buffer + offsets[cut], lens[1]);
        for (size_t row = 0; row <= n - cut; row++) second[row] = offsets[cut + row] - offsets[cut];
        const char *chunk_data[2] = {lens[0] ? own[0] : NULL, lens[1] ? own[1] : NULL};
        const int64_t *chunk_offsets[2] = {offsets, second};
        const uint8_t *chunk_valid[2] = {valid, valid + cut};
        readmit_records *c = NULL;
        if (readmit_records_new(n, &c) != READMIT_OK) abort();
        int rc = readmit_records_set_text_chunks(c, "t", 2, rows, chunk_data, lens, chunk_offsets,
                                                 with_valid ? chunk_valid : NULL);
        if (rc != ra || (ra == READMIT_OK && !same_frames(a, c, 0, n))) abort();
        readmit_records_free(c);
        free(own[0]);
        free(own[1]);
        free(second);
        if (nul) {
            if (ra != READMIT_EINVAL) abort();
        } else {
            int rb = readmit_records_set_texts(b, "t", texts);
            if (ra != rb) abort();
            if (ra == READMIT_OK) {
                if (!same_frames(a, b, 0, n) || !same_frames(a, b, 0, n / 2) || !same_frames(a, b, n / 3, n - n / 3)) abort();
                /* Set again the other way on the same batches: the columns are replaced whole. */
                if (readmit_records_set_texts(a, "t", texts) != READMIT_OK) abort();
                if (readmit_records_set_text_buffer(b, "t", len ? buffer : NULL, len, offsets, with_valid ? valid : NULL) !=
                    READMIT_OK)
                    abort();
                if (!same_frames(a, b, 0, n)) abort();
            }
        }
    }
    readmit_records_free(a);
    readmit_records_free(b);
    free(offsets);
    free(valid);
    free(texts);
    free(copies);
    return 0;
}
