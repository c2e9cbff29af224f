/* A small, strict JSON reader that builds R values, so the package needs no JSON package.
 *
 * Mapping: object -> named list; array of only strings / only numbers / only booleans
 * -> character / double / logical vector; any other array -> list; null -> NULL.
 * Used for the daemon's INFO and HEALTH replies (a few tens of kilobytes at most). */
#include <stdlib.h>
#include <string.h>
#include <R.h>
#include <Rinternals.h>
#include "rreadmit.h"

#define JSON_MAX_DEPTH 256

typedef struct {
    const char *s;   /* the text */
    size_t n;        /* its length */
    size_t i;        /* read position */
    int depth;
} json_parser;

static void json_fail(const json_parser *p, const char *what) {
    Rf_error("invalid JSON at byte %lu: %s", (unsigned long)p->i, what);
}

static void skip_ws(json_parser *p) {
    while (p->i < p->n) {
        char c = p->s[p->i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') p->i++; else break;
    }
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static unsigned read_hex4(json_parser *p) {
    if (p->n - p->i < 4) json_fail(p, "truncated \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(p->s[p->i + k]);
        if (h < 0) json_fail(p, "bad \\u escape");
        v = (v << 4) | (unsigned)h;
    }
    p->i += 4;
    return v;
}

static size_t put_utf8(char *out, unsigned cp) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12)); out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F)); return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18)); out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F)); return 4;
}

/* Reads a string after its opening quote; returns an unprotected CHARSXP. */
static SEXP parse_string_chars(json_parser *p) {
    size_t start = p->i;
    /* Fast path: no escapes. */
    while (p->i < p->n && p->s[p->i] != '"' && p->s[p->i] != '\\') {
        if ((unsigned char)p->s[p->i] < 0x20) json_fail(p, "control character in string");
        p->i++;
    }
    if (p->i >= p->n) json_fail(p, "unterminated string");
    if (p->s[p->i] == '"') {
        size_t len = p->i - start;
        p->i++;
        return Rf_mkCharLenCE(p->s + start, (int)len, CE_UTF8);
    }
    /* Escapes: decoded text is never longer than the source text. */
    size_t end = p->i;
    while (end < p->n && p->s[end] != '"') end += (p->s[end] == '\\') ? 2 : 1;
    if (end >= p->n) json_fail(p, "unterminated string");
    char *buf = R_alloc(end - start + 1, 1);
    size_t o = p->i - start;
    memcpy(buf, p->s + start, o);
    while (p->i < p->n && p->s[p->i] != '"') {
        char c = p->s[p->i++];
        if ((unsigned char)c < 0x20) json_fail(p, "control character in string");
        if (c != '\\') { buf[o++] = c; continue; }
        if (p->i >= p->n) json_fail(p, "unterminated escape");
        char e = p->s[p->i++];
        switch (e) {
        case '"': buf[o++] = '"'; break;
        case '\\': buf[o++] = '\\'; break;
        case '/': buf[o++] = '/'; break;
        case 'b': buf[o++] = '\b'; break;
        case 'f': buf[o++] = '\f'; break;
        case 'n': buf[o++] = '\n'; break;
        case 'r': buf[o++] = '\r'; break;
        case 't': buf[o++] = '\t'; break;
        case 'u': {
            unsigned cp = read_hex4(p);
            if (cp >= 0xD800 && cp < 0xDC00) {          /* surrogate pair */
                if (p->n - p->i < 6 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u')
                    json_fail(p, "unpaired surrogate");
                p->i += 2;
                unsigned lo = read_hex4(p);
                if (lo < 0xDC00 || lo > 0xDFFF) json_fail(p, "bad surrogate pair");
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp < 0xE000) {
                json_fail(p, "unpaired surrogate");
            }
            if (cp == 0) json_fail(p, "NUL character in string");
            o += put_utf8(buf + o, cp);   /* 6 source bytes give at most 4 */
            break;
        }
        default: json_fail(p, "bad escape");
        }
    }
    if (p->i >= p->n) json_fail(p, "unterminated string");
    p->i++;
    return Rf_mkCharLenCE(buf, (int)o, CE_UTF8);
}

static int match_literal(json_parser *p, const char *lit) {
    size_t len = strlen(lit);
    if (p->n - p->i >= len && memcmp(p->s + p->i, lit, len) == 0) { p->i += len; return 1; }
    return 0;
}

static double parse_number(json_parser *p) {
    size_t start = p->i;
    if (p->i < p->n && p->s[p->i] == '-') p->i++;
    if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9') json_fail(p, "bad number");
    while (p->i < p->n && strchr("0123456789+-.eE", p->s[p->i]) != NULL) p->i++;
    size_t len = p->i - start;
    char tmp[64];
    if (len >= sizeof tmp) json_fail(p, "number too long");
    memcpy(tmp, p->s + start, len);
    tmp[len] = '\0';
    char *endp = NULL;
    double v = R_strtod(tmp, &endp);
    if (endp != tmp + len) json_fail(p, "bad number");
    return v;
}

static SEXP parse_value(json_parser *p);

/* Turns a list of scalars of one type into an atomic vector; returns x otherwise. */
static SEXP simplify(SEXP x) {
    R_xlen_t n = XLENGTH(x);
    if (n == 0) return x;
    SEXPTYPE t = TYPEOF(VECTOR_ELT(x, 0));
    if (t != STRSXP && t != REALSXP && t != LGLSXP) return x;
    for (R_xlen_t k = 0; k < n; k++) {
        SEXP e = VECTOR_ELT(x, k);
        if (TYPEOF(e) != t || XLENGTH(e) != 1 || ATTRIB(e) != R_NilValue) return x;
    }
    SEXP out = PROTECT(Rf_allocVector(t, n));
    for (R_xlen_t k = 0; k < n; k++) {
        SEXP e = VECTOR_ELT(x, k);
        if (t == STRSXP) SET_STRING_ELT(out, k, STRING_ELT(e, 0));
        else if (t == REALSXP) REAL(out)[k] = REAL(e)[0];
        else LOGICAL(out)[k] = LOGICAL(e)[0];
    }
    UNPROTECT(1);
    return out;
}

/* Parses an array or object after its opening bracket; returns an unprotected list. */
static SEXP parse_container(json_parser *p, int is_object) {
    if (++p->depth > JSON_MAX_DEPTH) json_fail(p, "nesting too deep");
    char close = is_object ? '}' : ']';
    R_xlen_t cap = 8, len = 0;
    PROTECT_INDEX vi, ni;
    SEXP vals = Rf_allocVector(VECSXP, cap);
    PROTECT_WITH_INDEX(vals, &vi);
    SEXP names = is_object ? Rf_allocVector(STRSXP, cap) : R_NilValue;
    PROTECT_WITH_INDEX(names, &ni);
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == close) {
        p->i++;
    } else {
        for (;;) {
            skip_ws(p);
            SEXP key = R_NilValue;
            if (is_object) {
                if (p->i >= p->n || p->s[p->i] != '"') json_fail(p, "expected a key");
                p->i++;
                key = PROTECT(parse_string_chars(p));
                skip_ws(p);
                if (p->i >= p->n || p->s[p->i] != ':') json_fail(p, "expected ':'");
                p->i++;
            } else {
                PROTECT(key);
            }
            SEXP v = PROTECT(parse_value(p));
            if (len == cap) {
                cap *= 2;
                REPROTECT(vals = Rf_xlengthgets(vals, cap), vi);
                if (is_object) REPROTECT(names = Rf_xlengthgets(names, cap), ni);
            }
            SET_VECTOR_ELT(vals, len, v);
            if (is_object) SET_STRING_ELT(names, len, key);
            len++;
            UNPROTECT(2);
            skip_ws(p);
            if (p->i < p->n && p->s[p->i] == ',') { p->i++; continue; }
            if (p->i < p->n && p->s[p->i] == close) { p->i++; break; }
            json_fail(p, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    REPROTECT(vals = Rf_xlengthgets(vals, len), vi);
    if (is_object) {
        REPROTECT(names = Rf_xlengthgets(names, len), ni);
        Rf_setAttrib(vals, R_NamesSymbol, names);
    } else {
        REPROTECT(vals = simplify(vals), vi);
    }
    p->depth--;
    UNPROTECT(2);
    return vals;
}

static SEXP parse_value(json_parser *p) {
    skip_ws(p);
    if (p->i >= p->n) json_fail(p, "unexpected end of text");
    char c = p->s[p->i];
    if (c == '{') { p->i++; return parse_container(p, 1); }
    if (c == '[') { p->i++; return parse_container(p, 0); }
    if (c == '"') {
        p->i++;
        SEXP ch = PROTECT(parse_string_chars(p));
        SEXP out = Rf_ScalarString(ch);
        UNPROTECT(1);
        return out;
    }
    if (match_literal(p, "true")) return Rf_ScalarLogical(1);
    if (match_literal(p, "false")) return Rf_ScalarLogical(0);
    if (match_literal(p, "null")) return R_NilValue;
    if (c == '-' || (c >= '0' && c <= '9')) return Rf_ScalarReal(parse_number(p));
    json_fail(p, "unexpected character");
    return R_NilValue; /* not reached */
}

SEXP rreadmit_json_parse(SEXP text) {
    if (TYPEOF(text) != STRSXP || XLENGTH(text) != 1 || STRING_ELT(text, 0) == NA_STRING)
        Rf_error("'text' must be a single string");
    SEXP ch = STRING_ELT(text, 0);
    json_parser p = { CHAR(ch), (size_t)XLENGTH(ch), 0, 0 };
    SEXP out = PROTECT(parse_value(&p));
    skip_ws(&p);
    if (p.i != p.n) json_fail(&p, "trailing text");
    UNPROTECT(1);
    return out;
}
