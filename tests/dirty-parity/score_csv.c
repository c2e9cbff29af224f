/*
 * score_csv: the C side of scripts/tests/45-dirty-parity.sh. Reads a CSV of raw records (the
 * CLI's rules: UTF-8, a byte-order mark at the start ignored, LF or CRLF, RFC 4180 quotes,
 * blank lines skipped), sends every column as texts through libreadmit's RECORDS, and writes
 * the normalized result: one line per row "row<TAB>risk %.17g<TAB>tier<TAB>messages" (the
 * row's messages "severity|field|code|message", sorted, joined by " || "), then a line for the
 * request's own messages.
 *
 *   score_csv ENDPOINT OPTIONS IN.csv OUT.tsv      (OPTIONS: the READMIT_RECORDS_* bits)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readmit.h"

static void die(const char *what) { fprintf(stderr, "score_csv: %s\n", what); exit(2); }

static void *xrealloc(void *p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (!p) die("out of memory");
    return p;
}

/* Splits `b[0..n)` into records of NUL-terminated fields (unescaped in place). */
typedef struct { char **fields; size_t n; } record;

static record *parse(char *b, size_t n, size_t *n_records) {
    record *rs = NULL;
    size_t nr = 0, i = 0;
    if (n >= 3 && (unsigned char)b[0] == 0xEF && (unsigned char)b[1] == 0xBB && (unsigned char)b[2] == 0xBF) i = 3;
    while (i < n) {
        record r = {NULL, 0};
        for (;;) {
            char *start = b + i, *w = b + i;
            if (i < n && b[i] == '"') {
                i++;
                start = w = b + i;
                for (;;) {
                    if (i >= n) die("quoted field is not closed");
                    if (b[i] == '"') {
                        if (i + 1 < n && b[i + 1] == '"') { *w++ = '"'; i += 2; continue; }
                        i++;
                        break;
                    }
                    *w++ = b[i++];
                }
            } else {
                while (i < n && b[i] != ',' && b[i] != '\n') *w++ = b[i++];
                if (w > start && w[-1] == '\r') w--;
            }
            char end = i < n ? b[i] : '\n';
            if (end == '\r' && i + 1 < n && b[i + 1] == '\n') i++, end = '\n';
            *w = '\0'; /* w <= b + i: the terminator never overwrites data not yet read */
            r.fields = xrealloc(r.fields, (r.n + 1) * sizeof *r.fields);
            r.fields[r.n++] = start;
            i++;
            if (end != ',') break;
        }
        if (r.n == 1 && r.fields[0][0] == '\0') { free(r.fields); continue; } /* blank line */
        rs = xrealloc(rs, (nr + 1) * sizeof *rs);
        rs[nr++] = r;
    }
    *n_records = nr;
    return rs;
}

static int by_text(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    static const char *tiers[] = {"low", "medium", "high"};
    if (argc != 5) die("usage: score_csv ENDPOINT OPTIONS IN.csv OUT.tsv");
    FILE *f = fopen(argv[3], "rb");
    if (!f) die("cannot open the input");
    char *b = NULL;
    size_t n = 0, got;
    char chunk[65536];
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) { b = xrealloc(b, n + got + 1); memcpy(b + n, chunk, got); n += got; }
    fclose(f);
    b = xrealloc(b, n + 1);
    size_t nr;
    record *rs = parse(b, n, &nr);
    if (nr < 1) die("no header");
    size_t rows = nr - 1, cols = rs[0].n;
    for (size_t r = 1; r < nr; r++)
        if (rs[r].n != cols) die("a row's field count differs from the header's");

    readmit_client *c = NULL;
    readmit_records *recs = NULL;
    readmit_result *res = NULL;
    int rc;
    const char **column = xrealloc(NULL, (rows + 1) * sizeof *column);
    if ((rc = readmit_open(argv[1], &c)) || (rc = readmit_records_new(rows, &recs))) goto fail;
    for (size_t j = 0; j < cols; j++) {
        for (size_t r = 0; r < rows; r++) column[r] = rs[r + 1].fields[j];
        if ((rc = readmit_records_set_texts(recs, rs[0].fields[j], column)) != READMIT_OK) goto fail;
    }
    if ((rc = readmit_score_records(c, recs, 0, (unsigned)strtoul(argv[2], NULL, 0), &res)) != READMIT_OK) goto fail;

    FILE *out = fopen(argv[4], "w");
    if (!out) die("cannot write the output");
    size_t nm = readmit_result_n_messages(res);
    char **texts = xrealloc(NULL, (nm + 1) * sizeof *texts);
    for (long r = 0; r <= (long)rows; r++) { /* the rows, then (r == rows) the request */
        size_t k = 0;
        for (size_t i = 0; i < nm; i++) {
            int row, severity;
            const char *field, *code, *message;
            readmit_result_message(res, i, &row, &field, &severity, &code, &message);
            if (r < (long)rows ? row != r : row >= 0) continue;
            size_t len = strlen(field ? field : "") + strlen(code) + strlen(message) + 16;
            texts[k] = xrealloc(NULL, len);
            snprintf(texts[k++], len, "%s|%s|%s|%s", severity == READMIT_SEVERITY_ERROR ? "error" : "warning",
                     field ? field : "", code, message);
        }
        qsort(texts, k, sizeof *texts, by_text);
        if (r < (long)rows) {
            double risk;
            uint8_t tier;
            int failed;
            readmit_result_row(res, (size_t)r, &risk, NULL, &tier, &failed);
            if (failed) fprintf(out, "%ld\t\t\t", r);
            else fprintf(out, "%ld\t%.17g\t%s\t", r, risk, tier < 3 ? tiers[tier] : "?");
        } else {
            fprintf(out, "request\t\t\t");
        }
        for (size_t i = 0; i < k; i++) { fprintf(out, "%s%s", i ? " || " : "", texts[i]); free(texts[i]); }
        fputc('\n', out);
    }
    free(texts);
    fclose(out);
    readmit_result_free(res);
    readmit_records_free(recs);
    readmit_close(c);
    return 0;
fail:
    fprintf(stderr, "score_csv: %s: %s%s\n", readmit_strerror(rc), readmit_errmsg(c), recs ? readmit_records_errmsg(recs) : "");
    return 1;
}
