/*
 * rm_records.c: a batch of raw encounters (readmit_records), the RECORDS request built from it
 * (docs/PROTOCOL.md, "Raw records") and the HISTORY request that sets its history fields
 * ("History").
 *
 * A column is stored the way it goes on the wire, so scoring sends it with little work:
 *   - numbers: the whole values frame, a type byte (1) then n_rows little-endian float64 (NaN =
 *     missing), sent as is (without a copy when large), or as 8-, 16- or 32-bit integers (type
 *     byte 5, 6 or 7) when every value is missing or a whole number that fits (a count, a code:
 *     most of an EHR's number columns), a frame an eighth to a half the size;
 *   - texts: dictionary-encoded as they are set (each distinct text stored once, found again
 *     through a hash table; one int32 code per row, -1 = missing). The values frame is built at
 *     request time with only the texts some row uses, in the order of their first row, and the
 *     narrowest codes they allow (8, 16 or 32 bits: type byte 3, 4 or 2), so the same cells
 *     always give the same bytes whatever the order they were set in.
 * Column names are found through a hash table too, so setting cells one by one costs O(1) each.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rm_internal.h"

#if defined(__SSE2__)
#include <emmintrin.h> /* rm_narrow_codes, rm_number_width: SSE2 is in every x86-64 CPU */
#endif

#define RM_COLUMN_NUMBERS 1 /* the protocol's type bytes */
#define RM_COLUMN_TEXTS 2
#define RM_COLUMN_TEXTS_U8 3  /* the values frame of texts with 8-bit codes (PROTOCOL.md) */
#define RM_COLUMN_TEXTS_U16 4 /* ... with 16-bit codes */
#define RM_COLUMN_INT8 5      /* numbers as 8-bit integers (-128 missing) */
#define RM_COLUMN_INT16 6     /* ... 16-bit (-32768 missing) */
#define RM_COLUMN_INT32 7     /* ... 32-bit (-2^31 missing) */
#define RM_FIELD_NAME_MAX 256

/* ---- a small open-addressing hash table of strings held elsewhere ---- */

typedef struct {
    uint64_t hash;
    size_t index; /* index + 1 of the string in its owner's array; 0 = empty slot */
} rm_slot;

typedef struct {
    rm_slot *slots;
    size_t cap; /* a power of two, or 0 */
    size_t count;
} rm_strtab;

/* A word-at-a-time multiplicative hash (FxHash's step with a final mix so that the low bits,
 * which pick the slot, depend on every byte). A byte-at-a-time FNV-1a cost about 4 cycles per
 * byte in a multiply chain: most of the cost of interning a 100,000-row text column. The hash
 * only places strings in this process's tables (never sent, never stored). */
static uint64_t rm_hash(const char *s, size_t len) {
    const uint64_t k = 0x517cc1b727220a95ull;
    uint64_t h = (uint64_t)len * k;
    const unsigned char *p = (const unsigned char *)s;
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (((h << 5) | (h >> 59)) ^ w) * k;
    }
    if (len > 0) {
        uint64_t w = 0;
        for (size_t i = 0; i < len; i++) w |= (uint64_t)p[i] << (8 * i);
        h = (((h << 5) | (h >> 59)) ^ w) * k;
    }
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    return h ^ (h >> 32);
}

/* The string at `index` of the table's owner. */
typedef const char *(*rm_key_fn)(const void *owner, size_t index, size_t *len);

/* The index of `s` in the owner's array, or SIZE_MAX. */
static size_t rm_strtab_find(const rm_strtab *t, const void *owner, rm_key_fn key, const char *s, size_t len,
                             uint64_t h) {
    if (t->cap == 0) return SIZE_MAX;
    for (size_t i = (size_t)h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        const rm_slot *slot = &t->slots[i];
        if (slot->index == 0) return SIZE_MAX;
        if (slot->hash == h) {
            size_t klen;
            const char *k = key(owner, slot->index - 1, &klen);
            if (klen == len && memcmp(k, s, len) == 0) return slot->index - 1;
        }
    }
}

static void rm_strtab_put(rm_strtab *t, uint64_t h, size_t index) {
    size_t i = (size_t)h & (t->cap - 1);
    while (t->slots[i].index != 0) i = (i + 1) & (t->cap - 1);
    t->slots[i].hash = h;
    t->slots[i].index = index + 1;
    t->count++;
}

/* Moves the table's strings into `cap` slots (a power of two, more than twice its count).
 * 0: out of memory (the table is unchanged). */
static int rm_strtab_resize(rm_strtab *t, size_t cap) {
    if (cap > SIZE_MAX / sizeof(rm_slot)) return 0;
    rm_slot *slots = calloc(cap, sizeof *slots);
    if (!slots) return 0;
    rm_strtab grown = {slots, cap, 0};
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].index != 0) rm_strtab_put(&grown, t->slots[i].hash, t->slots[i].index - 1);
    free(t->slots);
    *t = grown;
    return 1;
}

/* Adds string `index` (hash h), growing the table to stay at most half full (first to
 * `first_cap` slots, a power of two). 0: out of memory. */
static int rm_strtab_add(rm_strtab *t, uint64_t h, size_t index, size_t first_cap) {
    if ((t->count + 1) * 2 > t->cap && !rm_strtab_resize(t, t->cap ? t->cap * 2 : first_cap)) return 0;
    rm_strtab_put(t, h, index);
    return 1;
}

/* Grows the table so that `total` strings fit at most half full, so that adding up to that
 * many never allocates. 0: out of memory (the table is unchanged). */
static int rm_strtab_reserve(rm_strtab *t, size_t total, size_t first_cap) {
    size_t cap = t->cap ? t->cap : first_cap;
    while (total > SIZE_MAX / 2 || total * 2 > cap) {
        if (cap > SIZE_MAX / 2 / sizeof(rm_slot)) return 0;
        cap *= 2;
    }
    return cap == t->cap || rm_strtab_resize(t, cap);
}

static void rm_strtab_clear(rm_strtab *t) {
    free(t->slots);
    t->slots = NULL;
    t->cap = t->count = 0;
}

/* ---- an arena: many small buffers from a few blocks, freed together ---- */

/* A one-row encounter of 54 fields asked for about 400 mallocs, reallocs and frees between its
 * setters and its request (a code and a dictionary a text field, a values frame a column):
 * over two fifths of the client's instructions for the call. Those buffers live as long as the
 * batch or the request, so they are carved from blocks and freed with them. */
typedef struct rm_block {
    struct rm_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} rm_block;

typedef struct {
    rm_block *head; /* the block being filled; older ones follow */
} rm_arena;

#define RM_ARENA_BLOCK 4096

/* `bytes` (rounded up to 16) from the arena; NULL when out of memory. */
static void *rm_arena_alloc(rm_arena *a, size_t bytes) {
    if (bytes > SIZE_MAX - 15) return NULL;
    bytes = (bytes + 15) & ~(size_t)15;
    rm_block *b = a->head;
    if (!b || b->cap - b->used < bytes) {
        size_t cap = bytes > RM_ARENA_BLOCK ? bytes : RM_ARENA_BLOCK;
        if (cap > SIZE_MAX - sizeof *b || !(b = malloc(sizeof *b + cap))) return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += bytes;
    return p;
}

/* Gives back `bytes` at p when they are the arena's last allocation (else they stay until the
 * arena is emptied). */
static void rm_arena_pop(rm_arena *a, const void *p, size_t bytes) {
    rm_block *b = a->head;
    bytes = (bytes + 15) & ~(size_t)15;
    if (b && b->used >= bytes && (const unsigned char *)p == b->data + b->used - bytes) b->used -= bytes;
}

/* 1 when p was carved from the arena. */
static int rm_arena_owns(const rm_arena *a, const void *p) {
    const unsigned char *q = p;
    for (const rm_block *b = a->head; b; b = b->next)
        if (q >= b->data && q < b->data + b->cap) return 1;
    return 0;
}

/* Frees every block but the newest, which is emptied for reuse (keep = 1), or all (keep = 0). */
static void rm_arena_reset(rm_arena *a, int keep) {
    rm_block *b = a->head, *rest = b ? b->next : NULL;
    if (!keep) {
        rest = b;
        a->head = NULL;
    } else if (b) {
        b->used = 0;
        b->next = NULL;
    }
    while (rest) {
        rm_block *next = rest->next;
        free(rest);
        rest = next;
    }
}

/* ---- the batch ---- */

/* One distinct text of a column: a short one (a level, a code, an id: nearly all) is held in
 * the entry itself, a longer one in its own allocation. One allocation a text, plus two arrays
 * a column, made a one-row batch cost three mallocs per field. */
typedef struct {
    size_t len;
    char *heap;     /* the text when it is RM_TEXT_SHORT bytes or more (NUL-terminated), else NULL */
    char short_[16]; /* ... else the text, NUL-terminated */
} rm_text;

#define RM_TEXT_SHORT sizeof(((rm_text *)0)->short_)

/* A distinct text's bytes (NUL-terminated). */
static const char *rm_text_bytes(const rm_text *t) { return t->heap ? t->heap : t->short_; }

typedef struct {
    char *name;             /* a name of RM_NAME_SHORT bytes or more (malloc'd), else NULL ... */
    char name_short[32];    /* ... and the name is here: no allocation for a usual field name */
    size_t name_len;
    int kind;               /* RM_COLUMN_NUMBERS or RM_COLUMN_TEXTS */
    unsigned char *numbers; /* numbers: the values frame (1 + 8 * n_rows bytes) */
    unsigned char *integers; /* numbers of a large batch set whole (readmit_records_set_numbers) that
                              * fit in integers: their values frame as sent (type 5, 6 or 7, built
                              * on the setter's thread), else NULL; a buffer of numbers' size */
    size_t integers_size;    /* its bytes */
    int32_t *codes;         /* texts: n_rows codes into dict, -1 = missing */
    rm_text *dict;          /* texts: the distinct texts set so far */
    size_t n_dict, cap_dict;
    rm_strtab dict_index;
    int ordered;            /* texts: every text is used, and codes 0, 1, 2... first appear in that
                             * order (a whole-column setter interned them row by row): a frame of
                             * every row is the column as it is (rm_text_frame) */
    rm_arena *arena;        /* a small batch's arena, for this column's first dictionary; NULL once
                             * that dictionary is left (so a column takes at most one from it) */
    int dict_in_arena;      /* dict was carved from `arena`: never freed or reallocated itself */
} rm_column;

/* Row-sized buffers of the fields removed by readmit_records_clear, for the fields set next:
 * every one is n_rows long (a numbers frame, or n_rows codes), so any serves any field. */
typedef struct {
    void **buffers;
    size_t count, cap;
} rm_spares;

struct readmit_records {
    size_t n_rows;
    rm_column *columns;
    size_t n_columns, cap_columns;
    rm_strtab column_index;
    rm_spares spare_numbers, spare_codes;
    rm_arena arena; /* a batch of at most RM_ARENA_ROWS rows: its row-sized buffers and first
                     * dictionaries (all of them freed by readmit_records_clear and _free) */
    char errmsg[512];
};

/* Batches of at most this many rows (an encounter or a few) take their columns' buffers from
 * their arena; larger ones from malloc, where a column's buffer is large anyway. */
#define RM_ARENA_ROWS 16
/* The first dictionary of a small batch's text column: room for this many texts. */
#define RM_ARENA_DICT 2

#define RM_NAME_SHORT sizeof(((rm_column *)0)->name_short)
/* The column index's first size: a whole encounter's fields (Diabetes 130 sends 54) without
 * growing it (from 16 slots, three more callocs and rehashes a batch). */
#define RM_COLUMN_SLOTS 128

/* A column's name (NUL-terminated). */
static const char *rm_column_name(const rm_column *c) { return c->name ? c->name : c->name_short; }

static const char *rm_column_key(const void *owner, size_t index, size_t *len) {
    const rm_column *c = &((const readmit_records *)owner)->columns[index];
    *len = c->name_len;
    return rm_column_name(c);
}

static const char *rm_dict_key(const void *owner, size_t index, size_t *len) {
    const rm_column *c = owner;
    *len = c->dict[index].len;
    return rm_text_bytes(&c->dict[index]);
}

static int rm_records_fail(readmit_records *r, int code, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int rm_records_fail(readmit_records *r, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->errmsg, sizeof r->errmsg, fmt, ap);
    va_end(ap);
    return code;
}

static int rm_records_ok(readmit_records *r) {
    r->errmsg[0] = '\0';
    return READMIT_OK;
}

/* 1 when s[0..len) is well-formed UTF-8 (no overlong forms, surrogates or code points over
 * U+10FFFF). */
static int rm_utf8_valid(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    /* ASCII (nearly every field name, level and code) eight bytes at a time: the byte loop took
     * about 100 instructions a field name, and a raw encounter checks 54 names and 54 texts. The
     * first word holding a byte past ASCII goes to the byte loop from its start, a character
     * boundary, as every byte before it is ASCII. */
    while ((size_t)(end - p) >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        if (word & 0x8080808080808080ull) break;
        p += 8;
    }
    while (p < end) {
        unsigned c = *p++;
        if (c < 0x80) continue;
        size_t more;
        unsigned cp, min;
        if (c >= 0xC2 && c <= 0xDF) { more = 1; cp = c & 0x1F; min = 0x80; }
        else if (c >= 0xE0 && c <= 0xEF) { more = 2; cp = c & 0x0F; min = 0x800; }
        else if (c >= 0xF0 && c <= 0xF4) { more = 3; cp = c & 0x07; min = 0x10000; }
        else return 0;
        if ((size_t)(end - p) < more) return 0;
        for (size_t i = 0; i < more; i++) {
            if ((p[i] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        p += more;
    }
    return 1;
}

int readmit_records_new(size_t n_rows, readmit_records **out) {
    if (!out) return READMIT_EINVAL;
    *out = NULL;
    /* n_rows goes on the wire as a u32; a values frame of 1 + 8 * n_rows bytes must fit. */
    if (n_rows > UINT32_MAX || n_rows > (SIZE_MAX - 16) / 8) return READMIT_EINVAL;
    readmit_records *r = calloc(1, sizeof *r);
    if (!r) return READMIT_ENOMEM;
    r->n_rows = n_rows;
    *out = r;
    return READMIT_OK;
}

/* Drops the column's texts. A dictionary from the arena is kept, emptied, for the next ones. */
static void rm_column_clear_texts(rm_column *c) {
    for (size_t i = 0; i < c->n_dict; i++) free(c->dict[i].heap);
    if (!c->dict_in_arena) {
        free(c->dict);
        c->dict = NULL;
        c->cap_dict = 0;
    }
    c->n_dict = 0;
    c->ordered = 0;
    rm_strtab_clear(&c->dict_index);
}

/* Drops the texts of a column that was never added to the batch (a setter that failed). */
static void rm_column_discard_texts(rm_column *c) {
    rm_column_clear_texts(c); /* keeps a dictionary from the arena: given back here */
    if (c->dict_in_arena) {
        rm_arena_pop(c->arena, c->dict, c->cap_dict * sizeof *c->dict);
        c->dict = NULL;
        c->cap_dict = 0;
        c->dict_in_arena = 0;
    }
}

/* Gives the column `texts`' dictionary (interned into a column of their own), dropping its own. */
static void rm_column_take_texts(rm_column *c, const rm_column *texts) {
    rm_column_clear_texts(c);
    if (c->dict_in_arena) c->arena = NULL; /* its arena dictionary is left: never another */
    c->dict = texts->dict;
    c->n_dict = texts->n_dict;
    c->cap_dict = texts->cap_dict;
    c->dict_in_arena = texts->dict_in_arena;
    if (c->dict_in_arena) c->arena = texts->arena; /* the arena it came from, to give it back */
    c->dict_index = texts->dict_index;
}

/* A spare row-sized buffer, or a new one of `bytes` (NULL when out of memory): from the arena
 * for a small batch. */
static void *rm_spare_take(readmit_records *r, rm_spares *s, size_t bytes) {
    if (s->count > 0) return s->buffers[--s->count];
    return r->n_rows <= RM_ARENA_ROWS ? rm_arena_alloc(&r->arena, bytes) : malloc(bytes);
}

/* Frees a row-sized buffer unless the arena holds it. */
static void rm_rows_free(readmit_records *r, void *buffer) {
    if (buffer && !rm_arena_owns(&r->arena, buffer)) free(buffer);
}

/* Keeps `buffer` (NULL: nothing) for a field set later, or frees it when it cannot be kept. */
static void rm_spare_keep(readmit_records *r, rm_spares *s, void *buffer) {
    if (!buffer) return;
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        void **grown = cap <= SIZE_MAX / sizeof *grown ? realloc(s->buffers, cap * sizeof *grown) : NULL;
        if (!grown) {
            rm_rows_free(r, buffer);
            return;
        }
        s->buffers = grown;
        s->cap = cap;
    }
    s->buffers[s->count++] = buffer;
}

/* Empties the spares (keep_lists = 0: frees their lists too). */
static void rm_spares_free(readmit_records *r, rm_spares *s, int keep_list) {
    for (size_t i = 0; i < s->count; i++) rm_rows_free(r, s->buffers[i]);
    s->count = 0;
    if (!keep_list) {
        free(s->buffers);
        s->buffers = NULL;
        s->cap = 0;
    }
}

void readmit_records_free(readmit_records *records) {
    if (!records) return;
    for (size_t i = 0; i < records->n_columns; i++) {
        rm_column *c = &records->columns[i];
        free(c->name);
        rm_rows_free(records, c->numbers);
        rm_rows_free(records, c->integers);
        rm_rows_free(records, c->codes);
        rm_column_clear_texts(c);
    }
    free(records->columns);
    rm_strtab_clear(&records->column_index);
    rm_spares_free(records, &records->spare_numbers, 0);
    rm_spares_free(records, &records->spare_codes, 0);
    rm_arena_reset(&records->arena, 0);
    free(records);
}

/* Frees the oldest spares beyond the `keep` newest. */
static void rm_spares_trim(readmit_records *r, rm_spares *s, size_t keep) {
    if (s->count <= keep) return;
    size_t surplus = s->count - keep;
    for (size_t i = 0; i < surplus; i++) rm_rows_free(r, s->buffers[i]);
    memmove(s->buffers, s->buffers + surplus, keep * sizeof *s->buffers);
    s->count = keep;
}

int readmit_records_clear(readmit_records *records) {
    if (!records) return READMIT_EINVAL;
    int small = records->n_rows <= RM_ARENA_ROWS;
    size_t n_numbers = 0, n_codes = 0; /* buffers the fields held */
    for (size_t i = 0; i < records->n_columns; i++) {
        rm_column *c = &records->columns[i];
        free(c->name);
        rm_column_clear_texts(c);
        if (small) continue; /* the arena is emptied below */
        n_numbers += (c->numbers != NULL) + (c->integers != NULL);
        n_codes += c->codes != NULL;
        rm_spare_keep(records, &records->spare_numbers, c->numbers);
        rm_spare_keep(records, &records->spare_numbers, c->integers);
        rm_spare_keep(records, &records->spare_codes, c->codes);
    }
    /* The batch keeps as many buffers as its fields just held, no more: spares it did not use
     * (a batch that took fields from another through readmit_records_move, and so set fewer
     * itself) would otherwise pile up from one frame to the next. */
    if (!small) {
        rm_spares_trim(records, &records->spare_numbers, n_numbers);
        rm_spares_trim(records, &records->spare_codes, n_codes);
    }
    records->n_columns = 0;
    rm_strtab_clear(&records->column_index);
    if (small) { /* every buffer of the batch came from the arena: it is reused from the start */
        rm_spares_free(records, &records->spare_numbers, 1);
        rm_spares_free(records, &records->spare_codes, 1);
        rm_arena_reset(&records->arena, 1);
    }
    return rm_records_ok(records);
}

const char *readmit_records_errmsg(const readmit_records *records) {
    if (!records) return "no records (NULL; readmit_records_new failed or was not called)";
    return records->errmsg;
}

/* Checks a field name argument (the message names the problem). */
static int rm_check_field(readmit_records *r, const char *field, size_t *len) {
    if (!field) return rm_records_fail(r, READMIT_EINVAL, "field is NULL");
    *len = strlen(field);
    if (*len == 0 || *len > RM_FIELD_NAME_MAX)
        return rm_records_fail(r, READMIT_EINVAL, "field name '%.40s%s' is %zu bytes; it must be 1 to %d", field,
                               *len > 40 ? "..." : "", *len, RM_FIELD_NAME_MAX);
    if (!rm_utf8_valid(field, *len))
        return rm_records_fail(r, READMIT_EINVAL, "field name '%s' is not valid UTF-8", field);
    return READMIT_OK;
}

/* Writes `value` as little-endian float64 at p. */
static void rm_put_f64(unsigned char *p, double value) { rm_copy_f64_le(p, &value, 1); }

/* Finds column `field` (checked by rm_check_field, `len` bytes) of kind `kind`, creating it if
 * new. *col is its index. */
/* As rm_column_get; a new text column takes `codes` (n_rows codes, malloc'd) when not NULL
 * instead of a fresh all-missing array, so a whole-column setter does not fill one to free it.
 * The caller sees that it was taken by comparing the column's codes with it. With `unset`, a
 * new column's values are left unwritten (no NaN or -1 fill): for a setter that writes every
 * row of the column before it returns, whatever happens. */
static int rm_column_get_taking(readmit_records *r, const char *field, size_t len, int kind, int32_t *codes,
                                int unset, size_t *col) {
    uint64_t h = rm_hash(field, len);
    size_t i = rm_strtab_find(&r->column_index, r, rm_column_key, field, len, h);
    if (i != SIZE_MAX) {
        if (r->columns[i].kind != kind)
            return rm_records_fail(r, READMIT_EINVAL,
                                   "field '%s' holds %s: cannot set a %s (a column's kind is fixed by its first "
                                   "setter)",
                                   field, kind == RM_COLUMN_TEXTS ? "numbers" : "texts",
                                   kind == RM_COLUMN_TEXTS ? "text" : "number");
        *col = i;
        return READMIT_OK;
    }
    if (r->n_columns >= UINT32_MAX / 2) return rm_records_fail(r, READMIT_EINVAL, "too many fields");
    if (r->n_columns == r->cap_columns) {
        /* Room for a whole encounter's fields at once (Diabetes 130 sends 54): growing from 16
         * cost three reallocs, each copying the columns, per batch. */
        size_t cap = r->cap_columns ? r->cap_columns * 2 : 64;
        rm_column *cols = realloc(r->columns, cap * sizeof *cols);
        if (!cols) return rm_records_fail(r, READMIT_ENOMEM, "out of memory adding field '%s'", field);
        r->columns = cols;
        r->cap_columns = cap;
    }
    rm_column c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.name_len = len;
    if (len >= RM_NAME_SHORT) c.name = malloc(len + 1);
    size_t n = r->n_rows;
    if (kind == RM_COLUMN_NUMBERS) {
        c.numbers = rm_spare_take(r, &r->spare_numbers, 1 + 8 * n);
        if (c.numbers) c.numbers[0] = RM_COLUMN_NUMBERS;
        if (c.numbers && !unset) {
            /* NaN's wire bytes once, then a fixed 8-byte copy per row (a plain store): a call
             * per row made a 100,000-row column cost about 1 ms to create. */
            unsigned char nan_le[8];
            rm_put_f64(nan_le, (double)NAN);
            for (size_t row = 0; row < n; row++) memcpy(c.numbers + 1 + 8 * row, nan_le, 8);
        }
    } else if (codes) {
        c.codes = codes;
    } else {
        c.codes = rm_spare_take(r, &r->spare_codes, n ? 4 * n : 1);
        if (c.codes && !unset)
            for (size_t row = 0; row < n; row++) c.codes[row] = -1;
    }
    if ((len >= RM_NAME_SHORT && !c.name) || (kind == RM_COLUMN_NUMBERS ? !c.numbers : !c.codes) ||
        !rm_strtab_add(&r->column_index, h, r->n_columns, RM_COLUMN_SLOTS)) {
        free(c.name);
        rm_spare_keep(r, &r->spare_numbers, c.numbers);
        if (c.codes != codes) rm_spare_keep(r, &r->spare_codes, c.codes);
        return rm_records_fail(r, READMIT_ENOMEM, "out of memory adding field '%s'", field);
    }
    memcpy(c.name ? c.name : c.name_short, field, len + 1);
    if (n <= RM_ARENA_ROWS) c.arena = &r->arena;
    r->columns[r->n_columns] = c;
    *col = r->n_columns++;
    return READMIT_OK;
}

/* The index of column `field` (`len` bytes) of `kind`, adding it (all missing) if new. */
static int rm_column_get(readmit_records *r, const char *field, size_t len, int kind, size_t *col) {
    return rm_column_get_taking(r, field, len, kind, NULL, 0, col);
}

/* As rm_column_get, a new column's values left unwritten: the caller writes every row. */
static int rm_column_get_unset(readmit_records *r, const char *field, size_t len, int kind, size_t *col) {
    return rm_column_get_taking(r, field, len, kind, NULL, 1, col);
}

/* Checks a text argument: valid UTF-8, at most 2^32-1 bytes. */
static int rm_check_text(readmit_records *r, const char *field, size_t row, const char *text, size_t *len) {
    *len = strlen(text);
    if (*len > UINT32_MAX)
        return rm_records_fail(r, READMIT_EINVAL, "field '%s', row %zu: text of %zu bytes is too long", field, row,
                               *len);
    if (!rm_utf8_valid(text, *len))
        return rm_records_fail(r, READMIT_EINVAL, "field '%s', row %zu: text is not valid UTF-8", field, row);
    return READMIT_OK;
}

/* A dictionary of at most this many texts is searched by a scan of lengths and bytes; its hash
 * table is built when it grows past them. A one-row batch has one text a column: the table
 * (a zeroed allocation of 16 slots) and the hash were most of the cost of setting it. */
#define RM_DICT_SCAN 8

/* The code of `text` in the column's dictionary, adding it if new. -1 on out of memory. */
static int32_t rm_intern(rm_column *c, const char *text, size_t len) {
    uint64_t h = 0;
    if (c->dict_index.cap == 0 && c->n_dict <= RM_DICT_SCAN) {
        for (size_t i = 0; i < c->n_dict; i++)
            if (c->dict[i].len == len && memcmp(rm_text_bytes(&c->dict[i]), text, len) == 0) return (int32_t)i;
        if (c->n_dict == RM_DICT_SCAN) { /* the text is new and the scan is full: index them all */
            for (size_t i = 0; i < c->n_dict; i++)
                if (!rm_strtab_add(&c->dict_index, rm_hash(rm_text_bytes(&c->dict[i]), c->dict[i].len), i, 32)) {
                    rm_strtab_clear(&c->dict_index);
                    return -1;
                }
        }
    } else {
        h = rm_hash(text, len);
        size_t i = rm_strtab_find(&c->dict_index, c, rm_dict_key, text, len, h);
        if (i != SIZE_MAX) return (int32_t)i;
    }
    if (c->n_dict >= INT32_MAX) return -1;
    if (c->n_dict == c->cap_dict) {
        size_t cap;
        rm_text *dict;
        if (c->cap_dict == 0 && c->arena) { /* a small batch's first texts */
            cap = RM_ARENA_DICT;
            if (!(dict = rm_arena_alloc(c->arena, cap * sizeof *dict))) return -1;
            c->dict_in_arena = 1;
        } else {
            cap = c->cap_dict ? c->cap_dict * 2 : 8;
            if (cap > SIZE_MAX / sizeof(rm_text)) return -1;
            if (c->dict_in_arena) { /* outgrown: moved to the heap, and the arena is not asked again */
                if (!(dict = malloc(cap * sizeof *dict))) return -1;
                memcpy(dict, c->dict, c->n_dict * sizeof *dict);
                rm_arena_pop(c->arena, c->dict, c->cap_dict * sizeof *c->dict); /* when it was the last */
                c->dict_in_arena = 0;
                c->arena = NULL;
            } else if (!(dict = realloc(c->dict, cap * sizeof *dict))) {
                return -1;
            }
        }
        c->dict = dict;
        c->cap_dict = cap;
    }
    rm_text *entry = &c->dict[c->n_dict];
    entry->len = len;
    entry->heap = NULL;
    char *copy = entry->short_;
    if (len >= RM_TEXT_SHORT && !(copy = entry->heap = malloc(len + 1))) return -1;
    memcpy(copy, text, len); /* `text` need not end at len (readmit_records_set_text_buffer) */
    copy[len] = '\0';
    if (c->dict_index.cap != 0 && !rm_strtab_add(&c->dict_index, h ? h : rm_hash(text, len), c->n_dict, 32)) {
        free(entry->heap);
        return -1;
    }
    return (int32_t)c->n_dict++;
}

/* Checks the field name and the row of a one-cell setter. */
static int rm_check_cell(readmit_records *r, const char *field, size_t row, size_t *len) {
    int rc = rm_check_field(r, field, len);
    if (rc != READMIT_OK) return rc;
    if (row >= r->n_rows)
        return rm_records_fail(r, READMIT_ENOTFOUND, "field '%s': row %zu is out of range (%zu rows)", field, row,
                               r->n_rows);
    return READMIT_OK;
}

/* Folds rows from .. to - 1 of n_rows numbers (little-endian float64 on a little-endian host,
 * not 8-aligned) into *low and *high, NaN (missing) left out; 0 when one is neither NaN nor a
 * whole number of 32 bits above -2^31, or is -0. */
static int rm_integer_rows(const unsigned char *le, size_t from, size_t to, double *low, double *high) {
    for (size_t row = from; row < to; row++) {
        double v;
        memcpy(&v, le + 8 * row, sizeof v);
        if (v != v) continue;
        /* The range is checked first, so the conversion is defined. */
        if (!(v >= -2147483647.0 && v <= 2147483647.0) || (double)(int32_t)v != v || (v == 0 && signbit(v))) return 0;
        *low = v < *low ? v : *low;
        *high = v > *high ? v : *high;
    }
    return 1;
}

#if defined(__SSE2__)
/* Two rows of rm_number_width: `flags` takes the sign bit of a lane that is neither NaN nor
 * whole (x + 1.5 * 2^52 - 1.5 * 2^52 is x rounded to a whole number for |x| < 2^51, x itself
 * when whole in any rounding mode; a larger or infinite x fails the range check on low and
 * high instead) and of a -0 (x & (x == 0) keeps only its sign bit); low and high the
 * extremes, NaN left out (minpd and maxpd return their second operand when the first is NaN). */
#define RM_INTEGER_STEP(x, low, high, flags)                                                       \
    do {                                                                                           \
        __m128d whole_ = _mm_sub_pd(_mm_add_pd(x, magic), magic);                                  \
        __m128d fraction_ = _mm_and_pd(_mm_cmpord_pd(x, x), _mm_cmpneq_pd(whole_, x));             \
        flags = _mm_or_pd(flags, _mm_or_pd(fraction_, _mm_and_pd(_mm_cmpeq_pd(x, zero), x)));     \
        low = _mm_min_pd(x, low);                                                                  \
        high = _mm_max_pd(x, high);                                                                \
    } while (0)
#endif

/* Bytes a row n_rows numbers (little-endian float64, as a numbers column stores them, on a
 * little-endian host) take on the wire: 1, 2 or 4 (value types 5, 6 and 7) when every one is
 * NaN (missing) or a whole number above the type's minimum (its missing value) and at most
 * its maximum, and none is -0 (the integer would lose its sign: "-0" and "0" are different
 * texts in a text field); 8 (type 1, float64) otherwise. A 100,000-row column of counts then
 * goes in 100 KB, not 800 KB: such columns took the kernel and the daemon about 10 ms more a
 * 100,000-row frame of read_csv's dtypes to carry and copy as float64
 * (benchmarks/bindings/README_python.md). The daemon decodes each integer to exactly that
 * number, so the reply is the same.
 *
 * With SSE2 (every x86-64 CPU), two rows a vector, four a step, and a look at the flags every
 * 4,096 rows (a column of fractions stops there): about 70 us for 100,000 rows where the
 * scalar loop took about 290 (a branch per test, a conversion per row). */
static size_t rm_number_width(const unsigned char *le, size_t n_rows) {
    double low = 0, high = 0;
    size_t row = 0;
#if defined(__SSE2__)
    const __m128d zero = _mm_setzero_pd(), magic = _mm_set1_pd(6755399441055744.0);
    __m128d low0 = zero, high0 = zero, low1 = zero, high1 = zero;
    while (n_rows - row >= 4) {
        size_t end = row + ((n_rows - row >= 4096 ? 4096 : n_rows - row) & ~(size_t)3);
        __m128d flags0 = zero, flags1 = zero;
        for (; row < end; row += 4) {
            __m128d a = _mm_loadu_pd((const double *)(const void *)(le + 8 * row));
            __m128d b = _mm_loadu_pd((const double *)(const void *)(le + 8 * row + 16));
            RM_INTEGER_STEP(a, low0, high0, flags0);
            RM_INTEGER_STEP(b, low1, high1, flags1);
        }
        if (_mm_movemask_pd(_mm_or_pd(flags0, flags1))) return 8;
    }
    double l[2], h[2];
    _mm_storeu_pd(l, _mm_min_pd(low0, low1));
    _mm_storeu_pd(h, _mm_max_pd(high0, high1));
    low = l[0] < l[1] ? l[0] : l[1];
    high = h[0] > h[1] ? h[0] : h[1];
#endif
    if (!rm_integer_rows(le, row, n_rows, &low, &high) || !(low >= -2147483647.0 && high <= 2147483647.0)) return 8;
    if (low >= -127 && high <= 127) return 1;
    if (low >= -32767 && high <= 32767) return 2;
    return 4;
}

/* Writes the values frame of n_rows numbers (as rm_number_width reads them) as integers of
 * `width` bytes (1, 2 or 4, as rm_number_width found they fit; NaN as the type's minimum),
 * little-endian (this runs on little-endian hosts only). With SSE2, eight rows a step:
 * cvttpd2dq gives NaN as INT32_MIN, and the saturating packs to 16 and 8 bits make it -32768
 * and -128, each width's missing value, so no row needs a test. */
static void rm_integer_frame(unsigned char *frame, const unsigned char *le, size_t n_rows, size_t width) {
    frame[0] = width == 1 ? RM_COLUMN_INT8 : (width == 2 ? RM_COLUMN_INT16 : RM_COLUMN_INT32);
    unsigned char *p = frame + 1;
    size_t row = 0;
#if defined(__SSE2__)
#define RM_LOAD_INT32(r) _mm_cvttpd_epi32(_mm_loadu_pd((const double *)(const void *)(le + 8 * (r))))
    for (; row + 8 <= n_rows; row += 8) {
        __m128i low = _mm_unpacklo_epi64(RM_LOAD_INT32(row), RM_LOAD_INT32(row + 2));
        __m128i high = _mm_unpacklo_epi64(RM_LOAD_INT32(row + 4), RM_LOAD_INT32(row + 6));
        if (width == 4) {
            _mm_storeu_si128((__m128i *)(void *)(p + 4 * row), low);
            _mm_storeu_si128((__m128i *)(void *)(p + 4 * row + 16), high);
            continue;
        }
        __m128i halves = _mm_packs_epi32(low, high);
        if (width == 2)
            _mm_storeu_si128((__m128i *)(void *)(p + 2 * row), halves);
        else
            _mm_storel_epi64((__m128i *)(void *)(p + row), _mm_packs_epi16(halves, halves));
    }
#undef RM_LOAD_INT32
#endif
    for (; row < n_rows; row++) {
        double x;
        memcpy(&x, le + 8 * row, sizeof x);
        int32_t i = x != x ? (width == 1 ? INT8_MIN : (width == 2 ? INT16_MIN : INT32_MIN)) : (int32_t)x;
        if (width == 1) {
            p[row] = (unsigned char)(uint8_t)(int8_t)i;
        } else if (width == 2) {
            rm_put_u16(p + 2 * row, (uint16_t)(int16_t)i);
        } else {
            rm_put_u32(p + 4 * row, (uint32_t)i);
        }
    }
}

/* Forgets column c's integer frame (its numbers are about to change), keeping the buffer. */
static void rm_column_drop_integers(readmit_records *r, rm_column *c) {
    rm_spare_keep(r, &r->spare_numbers, c->integers);
    c->integers = NULL;
    c->integers_size = 0;
}

int readmit_records_set_number(readmit_records *records, const char *field, size_t row, double value) {
    if (!records) return READMIT_EINVAL;
    size_t len, col;
    int rc = rm_check_cell(records, field, row, &len);
    if (rc == READMIT_OK) rc = rm_column_get(records, field, len, RM_COLUMN_NUMBERS, &col);
    if (rc != READMIT_OK) return rc;
    rm_column_drop_integers(records, &records->columns[col]);
    rm_put_f64(records->columns[col].numbers + 1 + 8 * row, value);
    return rm_records_ok(records);
}

int readmit_records_set_numbers(readmit_records *records, const char *field, const double *values) {
    if (!records) return READMIT_EINVAL;
    size_t len, col;
    int rc = rm_check_field(records, field, &len);
    if (rc != READMIT_OK) return rc;
    if (!values && records->n_rows > 0)
        return rm_records_fail(records, READMIT_EINVAL, "field '%s': values is NULL", field);
    rc = rm_column_get_unset(records, field, len, RM_COLUMN_NUMBERS, &col); /* every row written below */
    if (rc != READMIT_OK) return rc;
    rm_column *c = &records->columns[col];
    rm_column_drop_integers(records, c);
    size_t n = records->n_rows;
    if (n > 0) rm_copy_f64_le(c->numbers + 1, values, n);
    /* A large column's integer frame is built here, on the setter's thread (a frame filled on
     * several threads: readmit_records_move), not while the request is built on one thread; a
     * small batch's (an encounter's) when it is sent. Out of memory: float64 is sent instead. */
    size_t width = n > RM_ARENA_ROWS && rm_host_is_little_endian() ? rm_number_width(c->numbers + 1, n) : 8;
    if (width < 8 && (c->integers = rm_spare_take(records, &records->spare_numbers, 1 + 8 * n)) != NULL) {
        rm_integer_frame(c->integers, c->numbers + 1, n, width);
        c->integers_size = 1 + width * n;
    }
    return rm_records_ok(records);
}

int readmit_records_set_text(readmit_records *records, const char *field, size_t row, const char *text) {
    if (!records) return READMIT_EINVAL;
    size_t name_len, len = 0, col;
    int rc = rm_check_cell(records, field, row, &name_len);
    if (rc == READMIT_OK && text) rc = rm_check_text(records, field, row, text, &len);
    if (rc == READMIT_OK) rc = rm_column_get(records, field, name_len, RM_COLUMN_TEXTS, &col);
    if (rc != READMIT_OK) return rc;
    rm_column *c = &records->columns[col];
    int32_t code = -1;
    if (text && (code = rm_intern(c, text, len)) < 0)
        return rm_records_fail(records, READMIT_ENOMEM, "out of memory setting field '%s'", field);
    c->codes[row] = code;
    c->ordered = 0; /* a cell replaced: a text may be unused, or first appear out of order */
    return rm_records_ok(records);
}

int readmit_records_set_texts(readmit_records *records, const char *field, const char *const *texts) {
    if (!records) return READMIT_EINVAL;
    size_t n = records->n_rows, name_len, len, col;
    int rc = rm_check_field(records, field, &name_len);
    if (rc != READMIT_OK) return rc;
    if (!texts && n > 0) return rm_records_fail(records, READMIT_EINVAL, "field '%s': texts is NULL", field);
    for (size_t row = 0; row < n; row++) {
        rc = texts[row] ? rm_check_text(records, field, row, texts[row], &len) : READMIT_OK;
        if (rc != READMIT_OK) return rc;
    }
    rc = rm_column_get_unset(records, field, name_len, RM_COLUMN_TEXTS, &col); /* every row written below */
    if (rc != READMIT_OK) return rc;
    rm_column *c = &records->columns[col];
    rm_column_clear_texts(c); /* the whole column is replaced: drop the old texts */
    for (size_t row = 0; row < n; row++) c->codes[row] = -1;
    for (size_t row = 0; row < n; row++) {
        if (!texts[row]) continue;
        int32_t code = rm_intern(c, texts[row], strlen(texts[row]));
        if (code < 0) return rm_records_fail(records, READMIT_ENOMEM, "out of memory setting field '%s'", field);
        c->codes[row] = code;
    }
    c->ordered = 1; /* interned row by row */
    return rm_records_ok(records);
}

/* Texts of at most 16 bytes (nearly every cell of a coded EHR field: levels, ICD codes, ids)
 * are looked up in a direct-mapped cache keyed by their bytes as two words, zero past the
 * text, and their length: equal keys are equal texts, so a hit needs no hash of the bytes and
 * no memcmp. A miss goes through the column's dictionary (rm_intern) and takes the slot. About
 * 5 ns a row against 20 for the dictionary's hash and compare, on a 100,000-row column. The
 * words are read in memory order, which the masks below assume: little-endian only. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define RM_SHORT_TEXTS 1
#define RM_SHORT_SLOTS 1024u /* a few hundred distinct texts (ICD codes) without thrashing */
#define RM_SHORT_MIN_ROWS 256u /* below this, filling the cache costs more than it saves */
typedef struct {
    uint64_t lo, hi;
    uint32_t len; /* UINT32_MAX: an empty slot */
    int32_t code;
} rm_short_slot;

/* Per length (0 to 16), the bytes of each word that belong to a text: a table, not a branch on
 * the length (a column of texts of mixed lengths mispredicted it about one row in two). */
static const uint64_t rm_keep_lo[17] = {0, 0xFFull, 0xFFFFull, 0xFFFFFFull, 0xFFFFFFFFull, 0xFFFFFFFFFFull,
                                        0xFFFFFFFFFFFFull, 0xFFFFFFFFFFFFFFull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull,
                                        ~0ull, ~0ull, ~0ull, ~0ull};
static const uint64_t rm_keep_hi[17] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFFull, 0xFFFFull, 0xFFFFFFull, 0xFFFFFFFFull,
                                        0xFFFFFFFFFFull, 0xFFFFFFFFFFFFull, 0xFFFFFFFFFFFFFFull, ~0ull};

/* The key of the `len` (<= 16) bytes at data + start; reads 16 bytes when they lie inside the
 * buffer, else copies the text alone. */
static inline void rm_short_key(const char *data, size_t data_len, size_t start, size_t len, uint64_t *lo,
                                uint64_t *hi) {
    uint64_t w[2] = {0, 0};
    if (data_len - start >= 16) {
        memcpy(w, data + start, 16);
        w[0] &= rm_keep_lo[len];
        w[1] &= rm_keep_hi[len];
    } else if (len > 0) {
        memcpy(w, data + start, len);
    }
    *lo = w[0];
    *hi = w[1];
}

static inline size_t rm_short_slot_of(uint64_t lo, uint64_t hi, size_t len) {
    uint64_t h = (lo ^ (hi * 0x9E3779B97F4A7C15ull) ^ (uint64_t)len) * 0xd6e8feb86659fd93ull;
    return (size_t)(h >> 54); /* 1024 slots */
}

/* From `row` on, the codes of the rows whose text is already in the cache (or missing);
 * returns the first row it cannot do (a text not in the cache, longer than 16 bytes or in the
 * buffer's last 16 bytes, or offsets that are not a range, which the caller reports). The
 * common case, a row of a text seen before, is this loop alone: in the setter's own loop the
 * compiler kept the key and the row's state on the stack (about 10 cycles a row). */
static size_t rm_short_hits(const rm_short_slot *cache, const char *data, size_t data_len, const int64_t *offsets,
                            const uint8_t *valid, size_t row, size_t n, int32_t *codes) {
    for (; row < n; row++) {
        const int64_t start = offsets[row], end = offsets[row + 1];
        if (end < start || (uint64_t)end > data_len) break;
        if (valid && !valid[row]) {
            codes[row] = -1;
            continue;
        }
        const size_t len = (size_t)(end - start);
        if (len > 16 || data_len - (size_t)start < 16) break;
        uint64_t lo, hi;
        memcpy(&lo, data + start, 8);
        memcpy(&hi, data + start + 8, 8);
        lo &= rm_keep_lo[len];
        hi &= rm_keep_hi[len];
        const rm_short_slot *slot = &cache[rm_short_slot_of(lo, hi, len)];
        if (slot->len != len || slot->lo != lo || slot->hi != hi) break;
        codes[row] = slot->code;
    }
    return row;
}
#else
#define RM_SHORT_TEXTS 0
#endif

/* One Arrow chunk of a text column: its `rows` rows (data, data_len, rows + 1 offsets, valid or
 * NULL) become fresh's codes from `base` on. `cache` (or NULL) is the column's short-text cache,
 * shared by its chunks. `chunk` names the chunk in messages (SIZE_MAX: the column is one
 * buffer, readmit_records_set_text_buffer). Returns READMIT_OK, or the failure (with the batch's
 * message naming the field and the batch's row), leaving fresh for the caller to discard. */
static int rm_text_chunk(readmit_records *records, const char *field, size_t chunk, rm_column *fresh,
                         void *cache_slots, size_t base, size_t rows, const char *data, size_t data_len,
                         const int64_t *offsets, const uint8_t *valid) {
    char where[48] = "";
    if (chunk != SIZE_MAX) snprintf(where, sizeof where, ", chunk %zu", chunk);
    if (!offsets) return rm_records_fail(records, READMIT_EINVAL, "field '%s'%s: offsets is NULL", field, where);
    if (!data && data_len > 0) return rm_records_fail(records, READMIT_EINVAL, "field '%s'%s: data is NULL", field, where);
    /* Offsets are checked before any text is read: non-decreasing, within the buffer. */
    if (offsets[0] < 0 || (uint64_t)offsets[0] > data_len)
        return rm_records_fail(records, READMIT_EINVAL, "field '%s'%s: offset 0 (%lld) is outside the %zu-byte buffer",
                               field, where, (long long)offsets[0], data_len);
    /* Every later offset is checked in the loop below, before its row's text is read: a row's
     * end at or after its start (so, from offset 0, never negative) and inside the buffer. A
     * pass of its own cost a tenth of the column's time: a 64-bit compare does not vectorise
     * on baseline x86-64 (SSE2). */
    int32_t *codes = fresh->codes + base;
    const char *previous = NULL; /* the last row's text: runs of one text skip the hash */
    size_t previous_len = 0;
    int32_t previous_code = -1;
#if RM_SHORT_TEXTS
    rm_short_slot *cache = data ? cache_slots : NULL;
#else
    (void)cache_slots;
#endif
    for (size_t row = 0; row < rows; row++) {
#if RM_SHORT_TEXTS
        if (cache && (row = rm_short_hits(cache, data, data_len, offsets, valid, row, rows, codes)) == rows) break;
#endif
        if (offsets[row + 1] < offsets[row] || (uint64_t)offsets[row + 1] > data_len)
            return rm_records_fail(records, READMIT_EINVAL,
                                   "field '%s', row %zu: offsets %lld to %lld are not a range of the %zu-byte buffer%s",
                                   field, base + row, (long long)offsets[row], (long long)offsets[row + 1], data_len,
                                   where);
        if (valid && !valid[row]) {
            codes[row] = -1;
            continue;
        }
        const char *text = data ? data + offsets[row] : "";
        size_t len = (size_t)(offsets[row + 1] - offsets[row]);
#if RM_SHORT_TEXTS
        rm_short_slot *slot = NULL;
        uint64_t lo = 0, hi = 0;
        if (cache && len <= 16) {
            rm_short_key(data, data_len, (size_t)offsets[row], len, &lo, &hi);
            slot = &cache[rm_short_slot_of(lo, hi, len)];
            if (slot->len == len && slot->lo == lo && slot->hi == hi) {
                codes[row] = slot->code;
                continue;
            }
        } else
#endif
        if (previous && len == previous_len && memcmp(text, previous, len) == 0) {
            codes[row] = previous_code;
            continue;
        }
        size_t before = fresh->n_dict;
        int32_t code = len > UINT32_MAX ? -2 : rm_intern(fresh, text, len);
        if (code >= 0 && fresh->n_dict > before && (memchr(text, '\0', len) || !rm_utf8_valid(text, len)))
            code = -3;
        if (code < 0) {
            if (code == -1) return rm_records_fail(records, READMIT_ENOMEM, "out of memory setting field '%s'", field);
            return rm_records_fail(records, READMIT_EINVAL, "field '%s', row %zu: %s", field, base + row,
                                   code == -2 ? "text is too long" : memchr(text, '\0', len) ? "text holds a NUL byte"
                                                                                              : "text is not valid UTF-8");
        }
        codes[row] = code;
#if RM_SHORT_TEXTS
        if (slot) {
            slot->lo = lo, slot->hi = hi, slot->len = (uint32_t)len, slot->code = code;
            continue;
        }
#endif
        previous = text;
        previous_len = len;
        previous_code = code;
    }
    return READMIT_OK;
}

/* readmit_records_set_text_chunks; readmit_records_set_text_buffer is one chunk (chunk_names 0). */
static int rm_set_text_chunks(readmit_records *records, const char *field, size_t n_chunks, const size_t *chunk_rows,
                              const char *const *data, const size_t *data_len, const int64_t *const *offsets,
                              const uint8_t *const *valid, int chunk_names) {
    if (!records) return READMIT_EINVAL;
    size_t n = records->n_rows, name_len, col;
    int rc = rm_check_field(records, field, &name_len);
    if (rc != READMIT_OK) return rc;
    if (n_chunks > 0 && (!chunk_rows || !data || !data_len || !offsets))
        return rm_records_fail(records, READMIT_EINVAL, "field '%s': chunk_rows, data, data_len or offsets is NULL", field);
    size_t total = 0;
    for (size_t j = 0; j < n_chunks; j++) {
        if (chunk_rows[j] > n - total)
            return rm_records_fail(records, READMIT_EINVAL, "field '%s': the chunks hold more than the batch's %zu rows",
                                   field, n);
        total += chunk_rows[j];
    }
    if (total != n)
        return rm_records_fail(records, READMIT_EINVAL, "field '%s': the chunks hold %zu rows, the batch %zu", field, total, n);
    /* The texts are interned into a column of their own, and each new distinct text is checked
     * (UTF-8, no NUL, length) as it is added: once per distinct text, not per row. On a bad
     * text nothing of the batch changes; on success the column takes the new texts. */
    rm_column fresh;
    memset(&fresh, 0, sizeof fresh);
    /* A new column of a small batch takes its one dictionary from the arena (an existing one
     * has had its own, and a column takes at most one). */
    if (n <= RM_ARENA_ROWS && rm_strtab_find(&records->column_index, records, rm_column_key, field, name_len,
                                             rm_hash(field, name_len)) == SIZE_MAX)
        fresh.arena = &records->arena;
    fresh.codes = rm_spare_take(records, &records->spare_codes, n ? 4 * n : 1);
    if (!fresh.codes) return rm_records_fail(records, READMIT_ENOMEM, "out of memory setting field '%s'", field);
    void *cache = NULL;
#if RM_SHORT_TEXTS
    if (n >= RM_SHORT_MIN_ROWS && (cache = malloc(RM_SHORT_SLOTS * sizeof(rm_short_slot))) != NULL)
        for (size_t i = 0; i < RM_SHORT_SLOTS; i++) ((rm_short_slot *)cache)[i].len = UINT32_MAX;
#endif
    rc = READMIT_OK;
    for (size_t j = 0, base = 0; j < n_chunks && rc == READMIT_OK; base += chunk_rows[j], j++)
        rc = rm_text_chunk(records, field, chunk_names ? j : SIZE_MAX, &fresh, cache, base, chunk_rows[j], data[j],
                           data_len[j], offsets[j], valid ? valid[j] : NULL);
    free(cache);
    if (rc == READMIT_OK) rc = rm_column_get_taking(records, field, name_len, RM_COLUMN_TEXTS, fresh.codes, 0, &col);
    if (rc != READMIT_OK) {
        rm_spare_keep(records, &records->spare_codes, fresh.codes);
        rm_column_discard_texts(&fresh);
        return rc;
    }
    rm_column *c = &records->columns[col];
    if (c->codes != fresh.codes) rm_spare_keep(records, &records->spare_codes, c->codes); /* an existing column's codes are replaced */
    c->codes = fresh.codes;
    rm_column_take_texts(c, &fresh);
    c->ordered = 1; /* interned row by row */
    return rm_records_ok(records);
}

int readmit_records_set_text_buffer(readmit_records *records, const char *field, const char *data, size_t data_len,
                                    const int64_t *offsets, const uint8_t *valid) {
    if (!records) return READMIT_EINVAL;
    size_t rows = records->n_rows;
    return rm_set_text_chunks(records, field, 1, &rows, &data, &data_len, &offsets, &valid, 0);
}

int readmit_records_set_text_chunks(readmit_records *records, const char *field, size_t n_chunks, const size_t *chunk_rows,
                                    const char *const *data, const size_t *data_len, const int64_t *const *offsets,
                                    const uint8_t *const *valid) {
    return rm_set_text_chunks(records, field, n_chunks, chunk_rows, data, data_len, offsets, valid, 1);
}

/* The largest (uint32_t)codes[row] + 1 over n rows (0 for none). Eight running maxima, row
 * by row in blocks of eight: a fixed-size block that compilers vectorise at -O2 (GCC 12 kept
 * one running maximum scalar, a chain of dependent cmovs about 1.5 cycles a row), and eight
 * chains where they do not. */
static uint32_t rm_codes_max_shifted(const int32_t *codes, size_t n) {
    uint32_t m[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t row = 0;
    for (; row + 8 <= n; row += 8)
        for (size_t j = 0; j < 8; j++) {
            uint32_t shifted = (uint32_t)codes[row + j] + 1u;
            m[j] = shifted > m[j] ? shifted : m[j];
        }
    for (size_t j = 0; row < n; row++, j++) {
        uint32_t shifted = (uint32_t)codes[row] + 1u;
        m[j] = shifted > m[j] ? shifted : m[j];
    }
    uint32_t worst = 0;
    for (size_t j = 0; j < 8; j++) worst = m[j] > worst ? m[j] : worst;
    return worst;
}

int readmit_records_set_codes(readmit_records *records, const char *field, size_t n_levels,
                              const char *const *levels, const int32_t *codes) {
    if (!records) return READMIT_EINVAL;
    size_t n = records->n_rows, name_len, col;
    int rc = rm_check_field(records, field, &name_len);
    if (rc != READMIT_OK) return rc;
    if (n_levels > INT32_MAX) return rm_records_fail(records, READMIT_EINVAL, "field '%s': %zu levels is too many", field, n_levels);
    if (!levels && n_levels > 0) return rm_records_fail(records, READMIT_EINVAL, "field '%s': levels is NULL", field);
    if (!codes && n > 0) return rm_records_fail(records, READMIT_EINVAL, "field '%s': codes is NULL", field);
    /* Everything is checked before the column changes: each level once, each code's range. */
    for (size_t i = 0; i < n_levels; i++) {
        if (!levels[i]) return rm_records_fail(records, READMIT_EINVAL, "field '%s': level %zu is NULL", field, i);
        if (strlen(levels[i]) > UINT32_MAX || !rm_utf8_valid(levels[i], strlen(levels[i])))
            return rm_records_fail(records, READMIT_EINVAL, "field '%s': level %zu is not valid UTF-8", field, i);
    }
    /* code + 1 is 0 (missing) to n_levels for a valid code, as unsigned; larger otherwise. One
     * branch-free pass over the rows; the failing row is found only on failure. */
    if ((size_t)rm_codes_max_shifted(codes, n) > n_levels)
        for (size_t row = 0; row < n; row++)
            if (codes[row] < -1 || (codes[row] >= 0 && (size_t)codes[row] >= n_levels))
                return rm_records_fail(records, READMIT_EINVAL, "field '%s', row %zu: code %d is not -1 or a level (0 to %zu)",
                                       field, row, (int)codes[row], n_levels);
    /* Every row of the column is written below, also on failure (then all missing). */
    rc = rm_column_get_unset(records, field, name_len, RM_COLUMN_TEXTS, &col);
    if (rc != READMIT_OK) return rc;
    rm_column *c = &records->columns[col];
    rm_column_clear_texts(c);
    /* remap[code + 1] is the column's code of the caller's code (remap[0] = -1: missing; -2: a
     * level not met yet). Levels are interned in the order of their first rows, so the column's
     * codes first appear in order (0, 1, 2, ...) and every text is used: the request's frame is
     * then the codes narrowed, in one pass that vectorises (rm_text_frame), instead of a scan for
     * the order of first rows and a table read per row there. Equal levels share one code. */
    int32_t *remap = malloc((n_levels + 1) * sizeof *remap);
    if (!remap) {
        for (size_t row = 0; row < n; row++) c->codes[row] = -1;
        return rm_records_fail(records, READMIT_ENOMEM, "out of memory setting field '%s'", field);
    }
    remap[0] = -1;
    for (size_t i = 0; i < n_levels; i++) remap[i + 1] = -2;
    /* The first rows of the levels: a scan that stops once every level has been met (a column
     * of a few levels, within its first rows; one with an unused level, all of them). */
    size_t met = 0;
    for (size_t row = 0; row < n && met < n_levels; row++) {
        int32_t code = codes[row];
        if (code < 0 || remap[code + 1] != -2) continue;
        remap[code + 1] = rm_intern(c, levels[code], strlen(levels[code]));
        if (remap[code + 1] < 0) {
            free(remap);
            for (size_t r = 0; r < n; r++) c->codes[r] = -1;
            rm_column_clear_texts(c);
            return rm_records_fail(records, READMIT_ENOMEM, "out of memory setting field '%s'", field);
        }
        met++;
    }
    /* Every code of the rows is now mapped (a level still -2 is in no row). */
    int identity = met == n_levels;
    for (size_t i = 0; i < n_levels && identity; i++) identity = remap[i + 1] == (int32_t)i;
    if (identity) { /* levels distinct, all used, in the order of their first rows: the caller's codes */
        if (n > 0) memcpy(c->codes, codes, n * sizeof *codes);
    } else {
        for (size_t row = 0; row < n; row++) c->codes[row] = remap[codes[row] + 1];
    }
    free(remap);
    c->ordered = 1;
    return rm_records_ok(records);
}

/* Frees what rm_records_move_copy gave column d of `into` (never added to it). */
static void rm_column_discard(readmit_records *into, rm_column *d) {
    free(d->name);
    rm_spare_keep(into, &into->spare_numbers, d->numbers);
    rm_spare_keep(into, &into->spare_numbers, d->integers);
    rm_spare_keep(into, &into->spare_codes, d->codes);
    rm_column_discard_texts(d);
}

/* Makes d (zeroed, not yet in `into`) a copy of column c of a small batch, its buffers taken
 * as `into`'s own columns take theirs. READMIT_OK or READMIT_ENOMEM (d then discarded). */
static int rm_records_move_copy(readmit_records *into, const rm_column *c, rm_column *d) {
    size_t n = into->n_rows;
    d->kind = c->kind;
    d->name_len = c->name_len;
    if (c->name_len >= RM_NAME_SHORT && !(d->name = malloc(c->name_len + 1))) return READMIT_ENOMEM;
    memcpy(d->name ? d->name : d->name_short, rm_column_name(c), c->name_len + 1);
    if (n <= RM_ARENA_ROWS) d->arena = &into->arena;
    if (c->kind == RM_COLUMN_NUMBERS) {
        if (!(d->numbers = rm_spare_take(into, &into->spare_numbers, 1 + 8 * n))) goto fail;
        memcpy(d->numbers, c->numbers, 1 + 8 * n);
        return READMIT_OK;
    }
    if (!(d->codes = rm_spare_take(into, &into->spare_codes, n ? 4 * n : 1))) goto fail;
    if (n > 0) memcpy(d->codes, c->codes, n * sizeof *c->codes);
    for (size_t i = 0; i < c->n_dict; i++) /* distinct texts, interned in their order */
        if (rm_intern(d, rm_text_bytes(&c->dict[i]), c->dict[i].len) != (int32_t)i) goto fail;
    d->ordered = c->ordered;
    return READMIT_OK;
fail:
    rm_column_discard(into, d);
    return READMIT_ENOMEM;
}

int readmit_records_move(readmit_records *into, readmit_records *from) {
    if (!into || !from) return READMIT_EINVAL;
    if (into == from) return rm_records_fail(into, READMIT_EINVAL, "readmit_records_move: the same batch twice");
    if (into->n_rows != from->n_rows)
        return rm_records_fail(into, READMIT_EINVAL, "readmit_records_move: the batches hold %zu and %zu rows",
                               into->n_rows, from->n_rows);
    size_t n = from->n_columns, base = into->n_columns;
    for (size_t j = 0; j < n; j++) { /* everything is checked before either batch changes */
        const rm_column *c = &from->columns[j];
        if (rm_strtab_find(&into->column_index, into, rm_column_key, rm_column_name(c), c->name_len,
                           rm_hash(rm_column_name(c), c->name_len)) != SIZE_MAX)
            return rm_records_fail(into, READMIT_EINVAL, "readmit_records_move: field '%s' is in both batches",
                                   rm_column_name(c));
    }
    if (n == 0) return rm_records_ok(into);
    if (base > UINT32_MAX / 2 - n) return rm_records_fail(into, READMIT_EINVAL, "too many fields");
    /* Room for the columns and their names first, so that nothing fails once they move. */
    if (base + n > into->cap_columns) {
        size_t cap = base + n;
        rm_column *cols = cap <= SIZE_MAX / sizeof *cols ? realloc(into->columns, cap * sizeof *cols) : NULL;
        if (!cols) return rm_records_fail(into, READMIT_ENOMEM, "out of memory moving %zu fields", n);
        into->columns = cols;
        into->cap_columns = cap;
    }
    if (!rm_strtab_reserve(&into->column_index, base + n, RM_COLUMN_SLOTS))
        return rm_records_fail(into, READMIT_ENOMEM, "out of memory moving %zu fields", n);
    if (from->n_rows <= RM_ARENA_ROWS) {
        /* A small batch's values and first dictionaries lie in its arena, which stays with it:
         * each column is copied (a few rows) into the slots after `into`'s columns, which
         * count only once every copy is made. */
        for (size_t j = 0; j < n; j++) {
            rm_column *d = &into->columns[base + j];
            memset(d, 0, sizeof *d);
            if (rm_records_move_copy(into, &from->columns[j], d) != READMIT_OK) {
                for (size_t i = 0; i < j; i++) rm_column_discard(into, &into->columns[base + i]);
                return rm_records_fail(into, READMIT_ENOMEM, "out of memory moving field '%s'",
                                       rm_column_name(&from->columns[j]));
            }
        }
        readmit_records_clear(from);
    } else {
        /* A large batch's buffers are its own allocations: the columns move as they are, and
         * `from` takes a spare buffer of `into` (if it has one) for each it gave, so that the
         * next fill of `from` reuses memory as the next of `into` does. A caller that fills two
         * batches for every frame and joins them (the Python package) otherwise saw `into`
         * keep every buffer when cleared, and `from` take fresh memory, page by page, each time
         * (about 13 MB a call for 100,000 rows of read_csv's dtypes before
         * readmit_records_clear kept no more than it held). */
        memcpy(into->columns + base, from->columns, n * sizeof *from->columns);
        from->n_columns = 0;
        rm_strtab_clear(&from->column_index);
        for (size_t j = 0; j < n; j++) {
            const rm_column *c = &into->columns[base + j];
            size_t numbers = (c->numbers != NULL) + (c->integers != NULL), codes = c->codes != NULL;
            for (; numbers > 0 && into->spare_numbers.count > 0; numbers--) {
                void *b = into->spare_numbers.buffers[--into->spare_numbers.count];
                rm_spare_keep(from, &from->spare_numbers, b);
            }
            for (; codes > 0 && into->spare_codes.count > 0; codes--) {
                void *b = into->spare_codes.buffers[--into->spare_codes.count];
                rm_spare_keep(from, &from->spare_codes, b);
            }
        }
    }
    for (size_t j = 0; j < n; j++) {
        const rm_column *c = &into->columns[base + j];
        rm_strtab_put(&into->column_index, rm_hash(rm_column_name(c), c->name_len), base + j);
    }
    into->n_columns = base + n;
    return rm_records_ok(into);
}

/* ---- the RECORDS request ---- */

/* p[row] = the low byte of codes[row] (-1, missing, becomes 0xFF), for codes -1 to 254: the
 * codes of a column of fewer than 255 texts narrowed to the wire's u8 codes. GCC 12 at -O2 left
 * the plain loop scalar (five instructions a row, 5.4 million rows for a 54-column
 * 100,000-row batch); with SSE2, sixteen rows take a dozen instructions. */
static void rm_narrow_codes(unsigned char *p, const int32_t *codes, size_t n) {
    size_t row = 0;
#if defined(__SSE2__)
    const __m128i low = _mm_set1_epi32(0xFF);
    for (; row + 16 <= n; row += 16) {
        /* Masked to 0-255 first, so both packs are exact (no saturation). */
        __m128i a = _mm_and_si128(_mm_loadu_si128((const __m128i *)(const void *)(codes + row)), low);
        __m128i b = _mm_and_si128(_mm_loadu_si128((const __m128i *)(const void *)(codes + row + 4)), low);
        __m128i c = _mm_and_si128(_mm_loadu_si128((const __m128i *)(const void *)(codes + row + 8)), low);
        __m128i d = _mm_and_si128(_mm_loadu_si128((const __m128i *)(const void *)(codes + row + 12)), low);
        _mm_storeu_si128((__m128i *)(void *)(p + row), _mm_packus_epi16(_mm_packs_epi32(a, b), _mm_packs_epi32(c, d)));
    }
#endif
    for (; row < n; row++) p[row] = (unsigned char)codes[row];
}

/* Builds the values frame of a text column for rows first .. first + n_rows - 1: a type byte,
 * u32 n_distinct, each distinct text used by those rows (u32 length + bytes) in the order of its
 * first row, then n_rows codes: u8 (type 3, 255 missing) below 255 texts, u16 (type 4, 65535
 * missing) below 65,535, else i32 (type 2, -1 missing).
 *
 * The order of first rows is found by a scan that stops once every text of the column has been
 * seen (a column of a few levels: within its first rows, not all 100,000). When that order is
 * the column's own (codes 0, 1, 2... first appear in that order: the usual case for codes set by
 * readmit_records_set_codes from a factorize), the codes go as they are, one memcpy on a
 * little-endian host; otherwise each goes through one table read without a branch
 * (remap[code + 1], remap[0] = -1 for missing). The bytes are the same either way. */
static unsigned char *rm_text_frame(const rm_column *c, size_t first, size_t n_rows, int whole, rm_arena *arena,
                                    size_t *size) {
    size_t n_dict = c->n_dict;
    if (n_rows == 1 && !(whole && c->ordered)) {
        /* One row (every column of a raw encounter): the scan below finds its one text, or
         * none; the same bytes without its tables (about 180 instructions a column). */
        int32_t code = c->codes[first];
        size_t len = code >= 0 ? c->dict[code].len : 0, bytes = code >= 0 ? 1 + 4 + 4 + len + 1 : 1 + 4 + 1;
        if (code >= 0 && len > SIZE_MAX - 10) return NULL;
        unsigned char *frame = arena ? rm_arena_alloc(arena, bytes) : malloc(bytes);
        if (!frame) return NULL;
        frame[0] = RM_COLUMN_TEXTS_U8;
        rm_put_u32(frame + 1, code >= 0 ? 1u : 0u);
        if (code >= 0) {
            rm_put_u32(frame + 5, (uint32_t)len);
            memcpy(frame + 9, rm_text_bytes(&c->dict[code]), len);
        }
        frame[bytes - 1] = code >= 0 ? 0 : 0xFF;
        *size = bytes;
        return frame;
    }
    /* A column of a few texts (every column of a one-row batch) uses the stack for its tables. */
    int32_t small_remap[RM_DICT_SCAN + 1];
    size_t small_order[RM_DICT_SCAN];
    int small = n_dict <= RM_DICT_SCAN;
    int32_t *remap = small ? small_remap : malloc((n_dict + 1) * sizeof *remap);
    size_t *order = small ? small_order : malloc((n_dict ? n_dict : 1) * sizeof *order);
    const int32_t *codes = c->codes + first;
    unsigned char *frame = NULL;
    if (!remap || !order) goto done;
    for (size_t i = 0; i <= n_dict; i++) remap[i] = -1;
    size_t n_used = 0, bytes = 1 + 4;
    int identity = 1; /* the i-th text to appear is code i, so far */
    if (whole && c->ordered) { /* every text, in its own order: no scan */
        for (; n_used < n_dict; n_used++) {
            order[n_used] = n_used;
            remap[n_used + 1] = (int32_t)n_used;
            if (bytes > SIZE_MAX - 4 - c->dict[n_used].len) goto done;
            bytes += 4 + c->dict[n_used].len;
        }
    }
    for (size_t row = 0; row < n_rows && n_used < n_dict; row++) {
        int32_t code = codes[row];
        if (code >= 0 && remap[code + 1] < 0) {
            identity &= (size_t)code == n_used;
            remap[code + 1] = (int32_t)n_used;
            order[n_used++] = (size_t)code;
            if (bytes > SIZE_MAX - 4 - c->dict[code].len) goto done;
            bytes += 4 + c->dict[code].len;
        }
    }
    /* The narrowest codes the used texts allow (types 3 and 4: a column of a few levels takes a
     * byte a row, not four; the all-ones code is missing); n_rows * 4 was allocated, so fits. */
    size_t width = n_used < 0xFF ? 1 : (n_used < 0xFFFF ? 2 : 4);
    if (bytes > SIZE_MAX - width * n_rows) goto done;
    bytes += width * n_rows;
    frame = arena ? rm_arena_alloc(arena, bytes) : malloc(bytes);
    if (!frame) goto done;
    unsigned char *p = frame;
    *p++ = width == 1 ? RM_COLUMN_TEXTS_U8 : (width == 2 ? RM_COLUMN_TEXTS_U16 : RM_COLUMN_TEXTS);
    rm_put_u32(p, (uint32_t)n_used);
    p += 4;
    for (size_t i = 0; i < n_used; i++) {
        size_t len = c->dict[order[i]].len;
        rm_put_u32(p, (uint32_t)len);
        memcpy(p + 4, rm_text_bytes(&c->dict[order[i]]), len);
        p += 4 + len;
    }
    if (width == 1 && identity) {
        /* Each code is its own frame code, narrowed (-1 truncates to 0xFF, missing): no table
         * read per row. */
        rm_narrow_codes(p, codes, n_rows);
    } else if (width == 1) {
        for (size_t row = 0; row < n_rows; row++) p[row] = (unsigned char)remap[codes[row] + 1]; /* -1: 0xFF */
    } else if (width == 2) {
        for (size_t row = 0; row < n_rows; row++) {
            uint16_t code = (uint16_t)(identity ? codes[row] : remap[codes[row] + 1]); /* -1: 0xFFFF */
            p[2 * row] = (unsigned char)code;
            p[2 * row + 1] = (unsigned char)(code >> 8);
        }
    } else if (!rm_host_is_little_endian()) {
        for (size_t row = 0; row < n_rows; row++) rm_put_u32(p + 4 * row, (uint32_t)remap[codes[row] + 1]);
    } else if (identity) {
        if (n_rows > 0) memcpy(p, codes, 4 * n_rows);
    } else {
        for (size_t row = 0; row < n_rows; row++) {
            int32_t code = remap[codes[row] + 1];
            memcpy(p + 4 * row, &code, 4);
        }
    }
    *size = bytes;
done:
    if (!small) {
        free(remap);
        free(order);
    }
    return frame;
}

unsigned char *rm_records_text_frame(const readmit_records *records, const char *field, size_t first, size_t n_rows,
                                     size_t *size) {
    size_t len = strlen(field);
    size_t i = rm_strtab_find(&records->column_index, records, rm_column_key, field, len, rm_hash(field, len));
    if (i == SIZE_MAX || records->columns[i].kind != RM_COLUMN_TEXTS || first > records->n_rows ||
        n_rows > records->n_rows - first)
        return NULL;
    return rm_text_frame(&records->columns[i], first, n_rows, first == 0 && n_rows == records->n_rows, NULL, size);
}

/* A RECORDS or HISTORY request for rows first .. first + n_rows - 1 of a batch, and what its
 * frames point into. */
typedef struct {
    rm_request req;
    const void **parts;
    size_t *sizes;
    rm_arena arena; /* the parts and sizes, and the frames built for the request */
    unsigned char counts[16];
} rm_records_req;

static void rm_records_req_free(rm_records_req *r) { rm_arena_reset(&r->arena, 0); }

/* Checks the options of a RECORDS or HISTORY request. */
static int rm_records_check(readmit_client *client, uint8_t op, size_t k, unsigned options) {
    unsigned known = READMIT_RECORDS_MISSING_FIELDS_OK | READMIT_RECORDS_BAD_VALUES_MISSING;
    if (op == RM_OP_HISTORY && (options & READMIT_RECORDS_INTERVAL))
        return rm_fail(client, READMIT_EINVAL, "READMIT_RECORDS_INTERVAL is for scoring: history has no risks");
    if (op == RM_OP_RECORDS) known |= READMIT_RECORDS_INTERVAL;
    if (options & ~known)
        return rm_fail(client, READMIT_EINVAL, "unknown option bits 0x%x (known: READMIT_RECORDS_*)", options & ~known);
    if (k > UINT32_MAX) return rm_fail(client, READMIT_EINVAL, "k (%zu) must fit in 32 bits", k);
    return READMIT_OK;
}

/* Builds the request for rows first .. first + n_rows - 1 into *r (the whole batch: 0, n_rows;
 * its number columns are then sent from the batch itself). */
static int rm_records_build(readmit_client *client, const readmit_records *records, uint8_t op, size_t k,
                            unsigned options, size_t first, size_t n_rows, rm_records_req *r) {
    size_t n_cols = records->n_columns, n_parts = 1 + 2 * n_cols;
    int whole = first == 0 && n_rows == records->n_rows;
    memset(r, 0, sizeof *r);
    if (n_parts > SIZE_MAX / 2 / sizeof *r->parts)
        return rm_fail(client, READMIT_ENOMEM, "a request of %zu fields is too large", n_cols);
    r->parts = rm_arena_alloc(&r->arena, n_parts * sizeof *r->parts);
    r->sizes = r->parts ? rm_arena_alloc(&r->arena, n_parts * sizeof *r->sizes) : NULL;
    if (!r->parts || !r->sizes) {
        rm_records_req_free(r);
        return rm_fail(client, READMIT_ENOMEM, "out of memory building a request of %zu fields", n_cols);
    }
    rm_put_u32(r->counts, (uint32_t)n_rows);
    rm_put_u32(r->counts + 4, (uint32_t)n_cols);
    rm_put_u32(r->counts + 8, (uint32_t)k);
    rm_put_u32(r->counts + 12, options);
    r->parts[0] = r->counts;
    r->sizes[0] = sizeof r->counts;
    for (size_t i = 0; i < n_cols; i++) {
        const rm_column *c = &records->columns[i];
        r->parts[1 + 2 * i] = rm_column_name(c);
        r->sizes[1 + 2 * i] = c->name_len;
        /* Integers where they fit (rm_number_width), on a little-endian host (elsewhere float64,
         * which every daemon reads the same). */
        if (c->integers && whole) { /* built by readmit_records_set_numbers */
            r->parts[2 + 2 * i] = c->integers;
            r->sizes[2 + 2 * i] = c->integers_size;
            continue;
        }
        const unsigned char *values = c->kind == RM_COLUMN_NUMBERS ? c->numbers + 1 + 8 * first : NULL;
        size_t width = !values ? 0 : rm_host_is_little_endian() ? rm_number_width(values, n_rows) : 8;
        r->sizes[2 + 2 * i] = 1 + width * n_rows; /* n_rows * 8 fits: the column holds it */
        if (width == 8 && whole) {
            r->parts[2 + 2 * i] = c->numbers;
            continue;
        }
        unsigned char *frame;
        if (c->kind == RM_COLUMN_NUMBERS) {
            frame = rm_arena_alloc(&r->arena, 1 + width * n_rows);
            if (frame && width < 8) {
                rm_integer_frame(frame, values, n_rows, width);
            } else if (frame) {
                frame[0] = c->numbers[0];
                memcpy(frame + 1, c->numbers + 1 + 8 * first, 8 * n_rows);
            }
        } else {
            frame = rm_text_frame(c, first, n_rows, whole, &r->arena, &r->sizes[2 + 2 * i]);
        }
        if (!frame) {
            int rc = rm_fail(client, READMIT_ENOMEM, "out of memory encoding field '%s'", rm_column_name(c));
            rm_records_req_free(r);
            return rc;
        }
        r->parts[2 + 2 * i] = frame;
    }
    rm_request q = {op, 0, n_parts, r->parts, r->sizes, !whole};
    r->req = q;
    return READMIT_OK;
}

/* Sends `records` as a RECORDS or HISTORY request (the same layout) and receives the reply.
 * On READMIT_OK the caller owns `reply` (rm_reply_close). */
static int rm_records_call(readmit_client *client, const readmit_records *records, uint8_t op, size_t k,
                           unsigned options, rm_reply *reply) {
    int rc = rm_records_check(client, op, k, options);
    if (rc != READMIT_OK) return rc;
    rm_records_req r;
    rc = rm_records_build(client, records, op, k, options, 0, records->n_rows, &r);
    if (rc != READMIT_OK) return rc;
    rc = rm_transport_call(client, &r.req, reply);
    rm_records_req_free(&r);
    return rc;
}

/* A RECORDS batch cut into chunks of chunk_rows rows (rm_transport_split). */
typedef struct {
    const readmit_records *records;
    size_t k, chunk_rows;
    unsigned options;
    readmit_result **parts; /* one result per chunk */
} rm_records_chunks;

static size_t rm_chunk_rows(const rm_records_chunks *s, size_t chunk) {
    size_t first = chunk * s->chunk_rows, left = s->records->n_rows - first;
    return left < s->chunk_rows ? left : s->chunk_rows;
}

static int rm_records_chunk_build(readmit_client *client, void *ctx, size_t chunk, rm_request *req, void **owned) {
    rm_records_chunks *s = ctx;
    rm_records_req *r = malloc(sizeof *r);
    if (!r) return rm_fail(client, READMIT_ENOMEM, "out of memory for a chunk");
    int rc = rm_records_build(client, s->records, RM_OP_RECORDS, s->k, s->options, chunk * s->chunk_rows,
                              rm_chunk_rows(s, chunk), r);
    if (rc != READMIT_OK) {
        free(r);
        return rc;
    }
    *req = r->req;
    *owned = r;
    return READMIT_OK;
}

static void rm_records_chunk_release(void *owned) {
    if (!owned) return;
    rm_records_req_free(owned);
    free(owned);
}

static int rm_records_chunk_take(readmit_client *client, void *ctx, size_t chunk, const rm_reply *reply) {
    rm_records_chunks *s = ctx;
    readmit_result_free(s->parts[chunk]);
    s->parts[chunk] = NULL;
    return rm_result_from_reply(client, reply, rm_chunk_rows(s, chunk), s->k,
                                (s->options & READMIT_RECORDS_INTERVAL) != 0, &s->parts[chunk]);
}

/* readmit_score_records over several daemons: RM_SPLIT_WHOLE when the batch must go whole. */
static int rm_score_records_split(readmit_client *client, const readmit_records *records, size_t k,
                                  unsigned options, readmit_result **out) {
    size_t n_chunks = (records->n_rows + client->split_rows - 1) / client->split_rows;
    rm_records_chunks s = {records, k, client->split_rows, options, calloc(n_chunks, sizeof(readmit_result *))};
    if (!s.parts) return rm_fail(client, READMIT_ENOMEM, "out of memory for %zu chunks", n_chunks);
    rm_split_job job = {n_chunks, &s, rm_records_chunk_build, rm_records_chunk_release, rm_records_chunk_take};
    int rc = rm_transport_split(client, RM_OP_RECORDS, &job);
    if (rc == READMIT_OK) rc = rm_result_concat(client, s.parts, n_chunks, out);
    for (size_t i = 0; i < n_chunks; i++) readmit_result_free(s.parts[i]);
    free(s.parts);
    return rc;
}

int readmit_score_records(readmit_client *client, const readmit_records *records, size_t k, unsigned options,
                          readmit_result **out) {
    if (!client) return READMIT_EINVAL;
    if (!out) return rm_fail(client, READMIT_EINVAL, "out is NULL");
    *out = NULL;
    if (!records) return rm_fail(client, READMIT_EINVAL, "records is NULL");
    int rc = rm_records_check(client, RM_OP_RECORDS, k, options);
    if (rc != READMIT_OK) return rc;
    if (rm_split_wanted(client, records->n_rows)) {
        rc = rm_score_records_split(client, records, k, options, out);
        if (rc != RM_SPLIT_WHOLE) return rc;
    }
    rm_reply reply;
    rc = rm_records_call(client, records, RM_OP_RECORDS, k, options, &reply);
    client->deadline_cap = 0; /* used by that call, unless it failed before sending */
    if (rc == READMIT_OK) {
        rc = rm_result_from_reply(client, &reply, records->n_rows, k, (options & READMIT_RECORDS_INTERVAL) != 0, out);
        rm_reply_close(&reply);
    }
    return rc;
}

/* ---- the HISTORY request ---- */

/* Sets column `name` (len bytes) to the numbers of a values frame (type byte 1, then n_rows
 * little-endian float64: the layout a numbers column is stored in), replacing a text column of
 * that name. */
static int rm_column_put_frame(readmit_records *r, const char *name, size_t len, const unsigned char *frame) {
    size_t bytes = 1 + 8 * r->n_rows;
    uint64_t h = rm_hash(name, len);
    size_t i = rm_strtab_find(&r->column_index, r, rm_column_key, name, len, h);
    if (i != SIZE_MAX && r->columns[i].kind == RM_COLUMN_TEXTS) {
        unsigned char *numbers = rm_spare_take(r, &r->spare_numbers, bytes);
        if (!numbers) return READMIT_ENOMEM;
        rm_column *c = &r->columns[i];
        rm_column_clear_texts(c);
        rm_spare_keep(r, &r->spare_codes, c->codes);
        c->codes = NULL;
        c->numbers = numbers;
        c->kind = RM_COLUMN_NUMBERS;
    } else if (i == SIZE_MAX) {
        int rc = rm_column_get_unset(r, name, len, RM_COLUMN_NUMBERS, &i); /* the whole frame is copied below */
        if (rc != READMIT_OK) return rc;
    }
    rm_column_drop_integers(r, &r->columns[i]);
    memcpy(r->columns[i].numbers, frame, bytes);
    return READMIT_OK;
}

#define RM_BAD_HISTORY(...)                                                                        \
    do {                                                                                           \
        rc = rm_fail(client, READMIT_EPROTO, "malformed HISTORY reply: " __VA_ARGS__);             \
        goto done;                                                                                 \
    } while (0)

int rm_history_from_reply(readmit_client *client, const rm_reply *reply, size_t n_rows, size_t *n_fields_out,
                          const char **names, size_t *name_lens, const unsigned char **values,
                          readmit_result **messages) {
    int rc = READMIT_OK;
    size_t n_fields = 0;
    *messages = NULL;
    *n_fields_out = 0;
    /* zmq_msg_data/size take a non-const message; they do not change it. */
    zmq_msg_t *frames = (zmq_msg_t *)reply->frames;
    if (reply->n_frames < 2 || zmq_msg_size(&frames[1]) != 8)
        RM_BAD_HISTORY("%zu frames, or no 8-byte counts frame", reply->n_frames);
    const unsigned char *counts = zmq_msg_data(&frames[1]);
    if (rm_get_u32(counts) != n_rows) RM_BAD_HISTORY("%u rows for a request of %zu", rm_get_u32(counts), n_rows);
    n_fields = rm_get_u32(counts + 4);
    if (n_fields > RM_MAX_HISTORY_FIELDS || reply->n_frames != 2 + 2 * n_fields)
        RM_BAD_HISTORY("%zu history fields in %zu frames (at most %d fields, 2 frames each)", n_fields,
                       reply->n_frames, RM_MAX_HISTORY_FIELDS);
    for (size_t f = 0; f < n_fields; f++) {
        names[f] = zmq_msg_data(&frames[2 + 2 * f]);
        name_lens[f] = zmq_msg_size(&frames[2 + 2 * f]);
        values[f] = zmq_msg_data(&frames[3 + 2 * f]);
        if (name_lens[f] == 0 || name_lens[f] > RM_FIELD_NAME_MAX || memchr(names[f], '\0', name_lens[f]) ||
            !rm_utf8_valid(names[f], name_lens[f]))
            RM_BAD_HISTORY("field %zu: the name is not 1 to %d bytes of UTF-8 without NUL", f, RM_FIELD_NAME_MAX);
        for (size_t g = 0; g < f; g++)
            if (name_lens[g] == name_lens[f] && memcmp(names[g], names[f], name_lens[f]) == 0)
                RM_BAD_HISTORY("field %zu: the name '%.*s' comes twice", f, (int)name_lens[f], names[f]);
        if (zmq_msg_size(&frames[3 + 2 * f]) != 1 + 8 * n_rows || values[f][0] != RM_COLUMN_NUMBERS)
            RM_BAD_HISTORY("field '%.*s': the values frame is not type 1 and %zu float64", (int)name_lens[f],
                           names[f], n_rows);
    }
    rc = rm_result_from_messages(client, zmq_msg_data(&frames[reply->n_frames]),
                                 zmq_msg_size(&frames[reply->n_frames]), n_rows, reply->model_version, names,
                                 name_lens, n_fields, messages);
    if (rc == READMIT_OK) *n_fields_out = n_fields;
done:
    return rc;
}

int readmit_derive_history(readmit_client *client, readmit_records *records, unsigned options,
                           readmit_result **messages) {
    if (!client) return READMIT_EINVAL;
    if (messages) *messages = NULL;
    if (!records) return rm_fail(client, READMIT_EINVAL, "records is NULL");
    rm_reply reply;
    int rc = rm_records_call(client, records, RM_OP_HISTORY, 0, options, &reply);
    if (rc != READMIT_OK) return rc;
    size_t n_fields = 0;
    const char *names[RM_MAX_HISTORY_FIELDS];
    size_t name_lens[RM_MAX_HISTORY_FIELDS];
    const unsigned char *values[RM_MAX_HISTORY_FIELDS];
    readmit_result *result = NULL;
    /* The whole reply is checked before the records change. */
    rc = rm_history_from_reply(client, &reply, records->n_rows, &n_fields, names, name_lens, values, &result);
    if (rc != READMIT_OK) goto done;
    for (size_t f = 0; f < n_fields; f++) {
        rc = rm_column_put_frame(records, names[f], name_lens[f], values[f]);
        if (rc != READMIT_OK) {
            rc = rm_fail(client, rc, "cannot set history field '%.*s': %s", (int)name_lens[f], names[f],
                         records->errmsg[0] ? records->errmsg : "out of memory");
            goto done;
        }
    }
    rm_records_ok(records);
    if (messages) {
        *messages = result;
        result = NULL;
    }
done:
    readmit_result_free(result);
    rm_reply_close(&reply);
    return rc;
}

int readmit_records_get_numbers(const readmit_records *records, const char *field, double *values) {
    if (!records || !field) return READMIT_EINVAL;
    size_t len = strlen(field);
    size_t i = rm_strtab_find(&records->column_index, records, rm_column_key, field, len, rm_hash(field, len));
    if (i == SIZE_MAX) return READMIT_ENOTFOUND;
    if (records->columns[i].kind != RM_COLUMN_NUMBERS) return READMIT_EINVAL;
    if (!values && records->n_rows > 0) return READMIT_EINVAL;
    if (records->n_rows > 0) rm_copy_f64_le(values, records->columns[i].numbers + 1, records->n_rows);
    return READMIT_OK;
}
