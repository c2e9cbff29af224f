/*
 * rm_json.c: a small strict JSON reader (RFC 8259) for the daemon's INFO and HEALTH replies.
 *
 * It never reads past `len` bytes, bounds nesting depth (no stack exhaustion on hostile input)
 * and decodes \uXXXX escapes (with surrogate pairs) to UTF-8.
 *
 * Every node, key and string of a tree is carved from a few large blocks freed together: a
 * RECORDS reply's messages (a 100,000-row batch with 2,426 of them, 550 KB of JSON) took about
 * 17 malloc and free calls each, most of the 34 million instructions the client spent reading
 * the reply (benchmarks/bindings, the client's instructions under callgrind).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "rm_internal.h"

#define RM_JSON_MAX_DEPTH 64

/* A block of the tree's memory; blocks are chained from the newest. */
typedef struct rm_json_block {
    struct rm_json_block *next;
    size_t used, cap;
    max_align_t data[]; /* cap bytes */
} rm_json_block;

#define RM_JSON_BLOCK_BYTES 65536u

typedef struct {
    const char *p;
    const char *end;
    const char *err;
    int depth;
    rm_json_block *blocks;
} rm_parser;

static rm_json *rm_parse_value(rm_parser *ps);

static void rm_skip_ws(rm_parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static void rm_blocks_free(rm_json_block *b) {
    while (b) {
        rm_json_block *next = b->next;
        free(b);
        b = next;
    }
}

/* `bytes` from the parser's blocks, aligned for any type; NULL (ps->err set) when out of memory. */
static void *rm_json_alloc(rm_parser *ps, size_t bytes) {
    const size_t align = sizeof(max_align_t);
    if (bytes > SIZE_MAX - 2 * align - sizeof(rm_json_block)) {
        ps->err = "out of memory";
        return NULL;
    }
    bytes = (bytes + align - 1) / align * align;
    rm_json_block *b = ps->blocks;
    if (!b || b->cap - b->used < bytes) {
        size_t cap = bytes > RM_JSON_BLOCK_BYTES ? bytes : RM_JSON_BLOCK_BYTES;
        rm_json_block *fresh = malloc(sizeof *fresh + cap);
        if (!fresh) {
            ps->err = "out of memory";
            return NULL;
        }
        fresh->used = 0;
        fresh->cap = cap;
        fresh->next = b;
        ps->blocks = b = fresh;
    }
    void *p = (unsigned char *)b->data + b->used;
    b->used += bytes;
    return p;
}

static rm_json *rm_new(rm_parser *ps, rm_json_type type) {
    rm_json *v = rm_json_alloc(ps, sizeof *v);
    if (v) {
        memset(v, 0, sizeof *v);
        v->type = type;
    }
    return v;
}

void rm_json_free(rm_json *root) {
    if (root) rm_blocks_free(root->arena);
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

/* Parses a string starting at the opening quote; returns a NUL-terminated copy in the parser's
 * blocks. A string without escapes (every string of a reply but a message quoting a value) is
 * found in one pass and copied whole. */
static char *rm_parse_string_raw(rm_parser *ps) {
    if (ps->p >= ps->end || *ps->p != '"') { ps->err = "expected a string"; return NULL; }
    ps->p++;
    const char *start = ps->p, *q = start;
    int escaped = 0;
    /* The end of the string: the first quote not escaped (an escaped byte is checked below). */
    while (q < ps->end && *q != '"') {
        if ((unsigned char)*q < 0x20) { ps->err = "control character in a string"; return NULL; }
        if (*q == '\\') {
            escaped = 1;
            if (++q == ps->end) break;
        }
        q++;
    }
    if (q >= ps->end) { ps->err = "unterminated string"; return NULL; }
    /* The decoded string is never longer than the encoded one. */
    char *out = rm_json_alloc(ps, (size_t)(q - start) + 1);
    if (!out) return NULL;
    if (!escaped) {
        memcpy(out, start, (size_t)(q - start));
        out[q - start] = '\0';
        ps->p = q + 1;
        return out;
    }
    size_t n = 0;
    while (ps->p < q) {
        unsigned char c = (unsigned char)*ps->p++;
        if (c != '\\') { out[n++] = (char)c; continue; }
        char e = *ps->p++; /* a backslash is never the last byte before q (see the scan) */
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
            if (q - ps->p < 4 || !rm_hex4(ps->p, &cp)) { ps->err = "bad \\u escape"; return NULL; }
            ps->p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (q - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' ||
                    !rm_hex4(ps->p + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
                    ps->err = "unpaired surrogate";
                    return NULL;
                }
                ps->p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                ps->err = "unpaired surrogate";
                return NULL;
            }
            /* \uXXXX is 6 input bytes and at most 3 output bytes; a pair is 12 -> 4. */
            n += rm_utf8_encode(cp, out + n);
            break;
        }
        default: ps->err = "bad escape"; return NULL;
        }
    }
    out[n] = '\0';
    ps->p = q + 1;
    return out;
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
    rm_json *v = rm_new(ps, RM_JSON_NUMBER);
    if (!v) return NULL;
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

/* Appends to a growing array/object (doubling within the parser's blocks; the old arrays stay
 * there until the tree is freed, at most as much again); returns 0 on out of memory. */
static int rm_append(rm_parser *ps, rm_json *v, size_t *cap, rm_json *item, char *key) {
    if (v->length == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        if (nc > SIZE_MAX / sizeof(rm_json *)) { ps->err = "out of memory"; return 0; }
        rm_json **items = rm_json_alloc(ps, nc * sizeof *items);
        if (!items) return 0;
        if (v->length) memcpy(items, v->items, v->length * sizeof *items);
        v->items = items;
        if (v->type == RM_JSON_OBJECT) {
            char **keys = rm_json_alloc(ps, nc * sizeof *keys);
            if (!keys) return 0;
            if (v->length) memcpy(keys, v->keys, v->length * sizeof *keys);
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
    rm_json *v = rm_new(ps, object ? RM_JSON_OBJECT : RM_JSON_ARRAY);
    if (!v) return NULL;
    size_t cap = 0;
    char close = object ? '}' : ']';
    rm_skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) { ps->p++; ps->depth--; return v; }
    for (;;) {
        char *key = NULL;
        rm_skip_ws(ps);
        if (object) {
            key = rm_parse_string_raw(ps);
            if (!key) return NULL;
            rm_skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') { ps->err = "expected ':'"; return NULL; }
            ps->p++;
        }
        rm_json *item = rm_parse_value(ps);
        if (!item || !rm_append(ps, v, &cap, item, key)) return NULL;
        rm_skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
        if (ps->p < ps->end && *ps->p == close) { ps->p++; break; }
        ps->err = object ? "expected ',' or '}'" : "expected ',' or ']'";
        return NULL;
    }
    ps->depth--;
    return v;
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
        rm_json *v = rm_new(ps, RM_JSON_STRING);
        if (v) v->string = s;
        return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return rm_parse_number(ps);
    rm_json *v = NULL;
    if (rm_literal(ps, "true")) { v = rm_new(ps, RM_JSON_BOOL); if (v) v->boolean = 1; }
    else if (rm_literal(ps, "false")) v = rm_new(ps, RM_JSON_BOOL);
    else if (rm_literal(ps, "null")) v = rm_new(ps, RM_JSON_NULL);
    else { ps->err = "unexpected character"; return NULL; }
    return v;
}

rm_json *rm_json_parse(const char *text, size_t len, const char **err) {
    rm_parser ps = {text, text + len, NULL, 0, NULL};
    rm_json *v = rm_parse_value(&ps);
    if (v) {
        rm_skip_ws(&ps);
        if (ps.p != ps.end) {
            ps.err = "trailing characters after JSON";
            v = NULL;
        }
    }
    if (!v) {
        rm_blocks_free(ps.blocks);
        if (err) *err = ps.err ? ps.err : "malformed JSON";
        return NULL;
    }
    v->arena = ps.blocks;
    return v;
}

const rm_json *rm_json_get(const rm_json *object, const char *key) {
    if (!object || object->type != RM_JSON_OBJECT) return NULL;
    for (size_t i = 0; i < object->length; i++)
        if (strcmp(object->keys[i], key) == 0) return object->items[i];
    return NULL;
}
