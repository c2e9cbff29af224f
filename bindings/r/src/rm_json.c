/*
 * rm_json.c: a small strict JSON reader (RFC 8259) for the daemon's INFO and HEALTH replies.
 *
 * It never reads past `len` bytes, bounds nesting depth (no stack exhaustion on hostile input)
 * and decodes \uXXXX escapes (with surrogate pairs) to UTF-8.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rm_internal.h"

#define RM_JSON_MAX_DEPTH 64

typedef struct {
    const char *p;
    const char *end;
    const char *err;
    int depth;
} rm_parser;

static rm_json *rm_parse_value(rm_parser *ps);

static void rm_skip_ws(rm_parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static rm_json *rm_new(rm_json_type type) {
    rm_json *v = calloc(1, sizeof *v);
    if (v) v->type = type;
    return v;
}

void rm_json_free(rm_json *v) {
    if (!v) return;
    for (size_t i = 0; i < v->length; i++) {
        if (v->items) rm_json_free(v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->string);
    free(v);
}

static int rm_hex4(const char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

static size_t rm_utf8_encode(unsigned cp, char *out) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Parses a string starting at the opening quote; returns a malloc'd NUL-terminated copy. */
static char *rm_parse_string_raw(rm_parser *ps) {
    if (ps->p >= ps->end || *ps->p != '"') { ps->err = "expected a string"; return NULL; }
    ps->p++;
    /* The decoded string is never longer than the encoded one. */
    const char *start = ps->p;
    size_t cap = 1;
    for (const char *q = start; q < ps->end && *q != '"'; q++) {
        cap++;
        if (*q == '\\' && q + 1 < ps->end) { q++; cap++; }
    }
    char *out = malloc(cap);
    if (!out) { ps->err = "out of memory"; return NULL; }
    size_t n = 0;
    while (ps->p < ps->end) {
        unsigned char c = (unsigned char)*ps->p++;
        if (c == '"') { out[n] = '\0'; return out; }
        if (c < 0x20) { ps->err = "control character in a string"; break; }
        if (c != '\\') { out[n++] = (char)c; continue; }
        if (ps->p >= ps->end) break;
        char e = *ps->p++;
        switch (e) {
        case '"': out[n++] = '"'; break;
        case '\\': out[n++] = '\\'; break;
        case '/': out[n++] = '/'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'u': {
            unsigned cp;
            if (ps->end - ps->p < 4 || !rm_hex4(ps->p, &cp)) { ps->err = "bad \\u escape"; goto fail; }
            ps->p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' ||
                    !rm_hex4(ps->p + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
                    ps->err = "unpaired surrogate";
                    goto fail;
                }
                ps->p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                ps->err = "unpaired surrogate";
                goto fail;
            }
            /* \uXXXX is 6 input bytes and at most 3 output bytes; a pair is 12 -> 4. */
            n += rm_utf8_encode(cp, out + n);
            break;
        }
        default: ps->err = "bad escape"; goto fail;
        }
    }
    if (!ps->err) ps->err = "unterminated string";
fail:
    free(out);
    return NULL;
}

static rm_json *rm_parse_number(rm_parser *ps) {
    const char *s = ps->p;
    const char *q = s;
    if (q < ps->end && *q == '-') q++;
    if (q >= ps->end) { ps->err = "bad number"; return NULL; }
    if (*q == '0') q++;
    else if (*q >= '1' && *q <= '9') while (q < ps->end && *q >= '0' && *q <= '9') q++;
    else { ps->err = "bad number"; return NULL; }
    if (q < ps->end && *q == '.') {
        q++;
        if (q >= ps->end || *q < '0' || *q > '9') { ps->err = "bad number"; return NULL; }
        while (q < ps->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < ps->end && (*q == '+' || *q == '-')) q++;
        if (q >= ps->end || *q < '0' || *q > '9') { ps->err = "bad number"; return NULL; }
        while (q < ps->end && *q >= '0' && *q <= '9') q++;
    }
    size_t len = (size_t)(q - s);
    char buf[64];
    if (len >= sizeof buf) { ps->err = "number too long"; return NULL; }
    memcpy(buf, s, len);
    buf[len] = '\0';
    rm_json *v = rm_new(RM_JSON_NUMBER);
    if (!v) { ps->err = "out of memory"; return NULL; }
    v->number = strtod(buf, NULL);
    ps->p = q;
    return v;
}

static int rm_literal(rm_parser *ps, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) return 0;
    ps->p += n;
    return 1;
}

/* Appends to a growing array/object; returns 0 on out of memory. */
static int rm_append(rm_json *v, size_t *cap, rm_json *item, char *key) {
    if (v->length == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        rm_json **items = realloc(v->items, nc * sizeof *items);
        if (!items) return 0;
        v->items = items;
        if (v->type == RM_JSON_OBJECT) {
            char **keys = realloc(v->keys, nc * sizeof *keys);
            if (!keys) return 0;
            v->keys = keys;
        }
        *cap = nc;
    }
    v->items[v->length] = item;
    if (v->type == RM_JSON_OBJECT) v->keys[v->length] = key;
    v->length++;
    return 1;
}

static rm_json *rm_parse_container(rm_parser *ps, int object) {
    if (++ps->depth > RM_JSON_MAX_DEPTH) { ps->err = "nesting too deep"; return NULL; }
    ps->p++; /* '[' or '{' */
    rm_json *v = rm_new(object ? RM_JSON_OBJECT : RM_JSON_ARRAY);
    if (!v) { ps->err = "out of memory"; return NULL; }
    size_t cap = 0;
    char close = object ? '}' : ']';
    rm_skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) { ps->p++; ps->depth--; return v; }
    for (;;) {
        char *key = NULL;
        rm_skip_ws(ps);
        if (object) {
            key = rm_parse_string_raw(ps);
            if (!key) goto fail;
            rm_skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') { free(key); ps->err = "expected ':'"; goto fail; }
            ps->p++;
        }
        rm_json *item = rm_parse_value(ps);
        if (!item) { free(key); goto fail; }
        if (!rm_append(v, &cap, item, key)) {
            rm_json_free(item);
            free(key);
            ps->err = "out of memory";
            goto fail;
        }
        rm_skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
        if (ps->p < ps->end && *ps->p == close) { ps->p++; break; }
        ps->err = object ? "expected ',' or '}'" : "expected ',' or ']'";
        goto fail;
    }
    ps->depth--;
    return v;
fail:
    rm_json_free(v);
    return NULL;
}

static rm_json *rm_parse_value(rm_parser *ps) {
    rm_skip_ws(ps);
    if (ps->p >= ps->end) { ps->err = "unexpected end of JSON"; return NULL; }
    char c = *ps->p;
    if (c == '{') return rm_parse_container(ps, 1);
    if (c == '[') return rm_parse_container(ps, 0);
    if (c == '"') {
        char *s = rm_parse_string_raw(ps);
        if (!s) return NULL;
        rm_json *v = rm_new(RM_JSON_STRING);
        if (!v) { free(s); ps->err = "out of memory"; return NULL; }
        v->string = s;
        return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return rm_parse_number(ps);
    rm_json *v = NULL;
    if (rm_literal(ps, "true")) { v = rm_new(RM_JSON_BOOL); if (v) v->boolean = 1; }
    else if (rm_literal(ps, "false")) v = rm_new(RM_JSON_BOOL);
    else if (rm_literal(ps, "null")) v = rm_new(RM_JSON_NULL);
    else { ps->err = "unexpected character"; return NULL; }
    if (!v) ps->err = "out of memory";
    return v;
}

rm_json *rm_json_parse(const char *text, size_t len, const char **err) {
    rm_parser ps = {text, text + len, NULL, 0};
    rm_json *v = rm_parse_value(&ps);
    if (v) {
        rm_skip_ws(&ps);
        if (ps.p != ps.end) {
            ps.err = "trailing characters after JSON";
            rm_json_free(v);
            v = NULL;
        }
    }
    if (!v && err) *err = ps.err ? ps.err : "malformed JSON";
    return v;
}

const rm_json *rm_json_get(const rm_json *object, const char *key) {
    if (!object || object->type != RM_JSON_OBJECT) return NULL;
    for (size_t i = 0; i < object->length; i++)
        if (strcmp(object->keys[i], key) == 0) return object->items[i];
    return NULL;
}
