/*
 * readmit_score: scores a CSV file of feature vectors with a running readmitd and prints one
 * line per row: "row,risk,atypicality,tier".
 *
 *   readmit_score [-e ENDPOINT] [-t TIMEOUT_MS] FILE.csv      (FILE "-" reads standard input)
 *
 * Each line of the CSV is one feature vector in the model's schema order (`readmit_score -s`
 * lists it); an empty field or "NaN" is a missing value; categorical features are given as
 * level indices. A first line that is not numeric is taken as a header and skipped. Rows are
 * sent in batches of 10,000.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "readmit.h"

#define BATCH_ROWS 10000

static void usage(FILE *to) {
    fprintf(to, "usage: readmit_score [-e ENDPOINT] [-t TIMEOUT_MS] [-s] FILE.csv\n"
                "  -e ENDPOINT   readmitd endpoint (default tcp://127.0.0.1:5555)\n"
                "  -t MS         per-request timeout in milliseconds (default 5000)\n"
                "  -s            print the feature schema (index,name,kind,levels) and exit\n");
}

/* Parses one CSV line into `row` (n_cols values). Returns 1 on success, 0 with a message. */
static int parse_line(char *line, double *row, size_t n_cols, size_t line_no) {
    size_t col = 0;
    char *p = line;
    for (;;) {
        char *end = p + strcspn(p, ",\r\n");
        char saved = *end;
        *end = '\0';
        while (*p == ' ') p++;
        if (col >= n_cols) {
            fprintf(stderr, "readmit_score: line %zu has more than %zu fields\n", line_no, n_cols);
            return 0;
        }
        if (*p == '\0' || strcmp(p, "NaN") == 0 || strcmp(p, "nan") == 0 || strcmp(p, "NA") == 0) {
            row[col] = NAN;
        } else {
            char *stop;
            errno = 0;
            row[col] = strtod(p, &stop);
            while (*stop == ' ') stop++;
            if (*stop != '\0' || errno == ERANGE) {
                fprintf(stderr, "readmit_score: line %zu, field %zu is not a number\n", line_no, col + 1);
                return 0;
            }
        }
        col++;
        if (saved != ',') break;
        p = end + 1;
    }
    if (col != n_cols) {
        fprintf(stderr, "readmit_score: line %zu has %zu fields, the model has %zu features\n", line_no, col,
                n_cols);
        return 0;
    }
    return 1;
}

/* A first line with a field that is neither a number nor a missing marker is a header. */
static int looks_like_header(const char *line) {
    const char *p = line;
    for (;;) {
        size_t len = strcspn(p, ",\r\n");
        char field[128];
        size_t n = len < sizeof field - 1 ? len : sizeof field - 1;
        memcpy(field, p, n);
        field[n] = '\0';
        char *stop;
        strtod(field, &stop);
        if (n > 0 && stop == field && strcmp(field, "NaN") != 0 && strcmp(field, "nan") != 0 &&
            strcmp(field, "NA") != 0)
            return 1;
        if (p[len] != ',') return 0;
        p += len + 1;
    }
}

static int score_batch(readmit_client *c, const double *x, size_t rows, size_t n_cols, size_t first_row) {
    double *risk = malloc(rows * sizeof *risk);
    double *aty = malloc(rows * sizeof *aty);
    uint8_t *tier = malloc(rows);
    int rc = (risk && aty && tier) ? readmit_score_full(c, x, rows, n_cols, risk, aty, tier) : READMIT_ENOMEM;
    if (rc == READMIT_OK) {
        static const char *names[] = {"low", "medium", "high"};
        for (size_t i = 0; i < rows; i++)
            printf("%zu,%.17g,%.17g,%s\n", first_row + i, risk[i], aty[i], tier[i] < 3 ? names[tier[i]] : "?");
    } else if (rc == READMIT_EBADVALUE || rc == READMIT_EBADCATEGORY) {
        /* The daemon names the row within the batch; report it within the file. */
        fprintf(stderr, "readmit_score: %s (data row %zu of the file)\n", readmit_errmsg(c),
                first_row + (size_t)readmit_error_row(c));
    } else {
        fprintf(stderr, "readmit_score: %s: %s\n", readmit_strerror(rc), readmit_errmsg(c));
    }
    free(risk);
    free(aty);
    free(tier);
    return rc;
}

static int print_schema(readmit_client *c, size_t n) {
    char buf[4096];
    for (size_t i = 0; i < n; i++) {
        int kind;
        size_t levels;
        if (readmit_feature_name(c, i, buf, sizeof buf, NULL) != READMIT_OK ||
            readmit_feature_kind(c, i, &kind) != READMIT_OK || readmit_feature_n_levels(c, i, &levels) != READMIT_OK) {
            fprintf(stderr, "readmit_score: %s\n", readmit_errmsg(c));
            return 1;
        }
        printf("%zu,%s,%s,%zu\n", i, buf, kind == READMIT_FEATURE_CATEGORICAL ? "categorical" : "numeric", levels);
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *endpoint = "tcp://127.0.0.1:5555";
    int timeout_ms = READMIT_DEFAULT_TIMEOUT_MS, schema_only = 0, opt;
    while ((opt = getopt(argc, argv, "e:t:sh")) != -1) {
        switch (opt) {
        case 'e': endpoint = optarg; break;
        case 't': timeout_ms = atoi(optarg); break;
        case 's': schema_only = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!schema_only && optind != argc - 1) { usage(stderr); return 2; }

    readmit_options *o = NULL;
    readmit_client *c = NULL;
    int rc = readmit_options_new(&o);
    if (rc == READMIT_OK) rc = readmit_options_set_timeout_ms(o, timeout_ms);
    if (rc == READMIT_OK) rc = readmit_open_ex(endpoint, o, &c);
    readmit_options_free(o);
    if (rc != READMIT_OK) {
        fprintf(stderr, "readmit_score: cannot open %s: %s\n", endpoint, readmit_strerror(rc));
        return 1;
    }
    size_t n_cols = 0;
    if ((rc = readmit_n_features(c, &n_cols)) != READMIT_OK) {
        fprintf(stderr, "readmit_score: %s: %s\n", readmit_strerror(rc), readmit_errmsg(c));
        readmit_close(c);
        return 1;
    }
    if (schema_only) {
        int r = print_schema(c, n_cols);
        readmit_close(c);
        return r;
    }

    FILE *in = strcmp(argv[optind], "-") == 0 ? stdin : fopen(argv[optind], "r");
    if (!in) {
        fprintf(stderr, "readmit_score: cannot open %s: %s\n", argv[optind], strerror(errno));
        readmit_close(c);
        return 1;
    }
    double *x = malloc((size_t)BATCH_ROWS * n_cols * sizeof *x);
    char *line = NULL;
    size_t cap = 0, rows = 0, line_no = 0, first_row = 0;
    int status = x ? 0 : 1;
    printf("row,risk,atypicality,tier\n");
    while (status == 0 && getline(&line, &cap, in) != -1) {
        line_no++;
        if (line[strspn(line, " \r\n")] == '\0') continue; /* blank line */
        if (line_no == 1 && looks_like_header(line)) continue;
        if (!parse_line(line, x + rows * n_cols, n_cols, line_no)) { status = 1; break; }
        if (++rows == BATCH_ROWS) {
            if (score_batch(c, x, rows, n_cols, first_row) != READMIT_OK) status = 1;
            first_row += rows;
            rows = 0;
        }
    }
    if (status == 0 && rows > 0 && score_batch(c, x, rows, n_cols, first_row) != READMIT_OK) status = 1;
    free(line);
    free(x);
    if (in != stdin) fclose(in);
    readmit_close(c);
    return status;
}
