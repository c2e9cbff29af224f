/*
 * rm_schema.c: the feature schema a client caches from the daemon's INFO JSON, so callers can
 * ask for feature names, sources and category levels, and for the raw fields of an encounter
 * (INFO "raw_fields", for RECORDS), without parsing JSON themselves.
 */
#include <stdlib.h>
#include <string.h>

#include "rm_internal.h"

static char *rm_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static void rm_raw_fields_free(rm_raw_field *fields, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(fields[i].name);
        for (size_t j = 0; j < fields[i].n_levels; j++) free(fields[i].levels[j]);
        free(fields[i].levels);
    }
    free(fields);
}

void rm_schema_free(rm_schema *schema) {
    if (!schema) return;
    rm_raw_fields_free(schema->raw_fields, schema->n_raw_fields);
    for (size_t i = 0; i < schema->n_features; i++) {
        rm_feature *f = &schema->features[i];
        free(f->name);
        free(f->source);
        for (size_t j = 0; j < f->n_levels; j++) free(f->levels[j]);
        free(f->levels);
    }
    free(schema->features);
    free(schema);
}

static uint64_t rm_parse_hex64(const char *s, int *ok) {
    uint64_t v = 0;
    size_t n = strlen(s);
    *ok = n > 0 && n <= 16;
    for (size_t i = 0; *ok && i < n; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9') d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') d = (unsigned)(c - 'A' + 10);
        else { *ok = 0; break; }
        v = (v << 4) | d;
    }
    return v;
}

static int rm_raw_type(const char *type) {
    static const struct { const char *name; int type; } types[] = {
        {"number", READMIT_FIELD_NUMBER},       {"text", READMIT_FIELD_TEXT},
        {"timestamp", READMIT_FIELD_TIMESTAMP}, {"diagnosis_code", READMIT_FIELD_DIAGNOSIS_CODE},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(type, types[i].name) == 0) return types[i].type;
    return READMIT_FIELD_OTHER;
}

/* Reads INFO's "raw_fields" into the schema. Returns READMIT_OK, READMIT_ENOMEM, or
 * READMIT_EPROTO with the reason in *err (the caller keeps the feature schema and records the
 * reason for the raw-field calls). */
static int rm_raw_fields_from_info(const rm_json *root, rm_schema *s, const char **err) {
    const rm_json *raw = rm_json_get(root, "raw_fields");
    if (!raw) { *err = "INFO JSON has no \"raw_fields\" (a daemon without raw records)"; return READMIT_EPROTO; }
    if (raw->type != RM_JSON_ARRAY) { *err = "INFO JSON \"raw_fields\" is not an array"; return READMIT_EPROTO; }
    if (raw->length == 0) return READMIT_OK;
    rm_raw_field *fields = calloc(raw->length, sizeof *fields);
    if (!fields) { *err = "out of memory"; return READMIT_ENOMEM; }
    size_t n = 0;
    int rc = READMIT_EPROTO;
    for (size_t i = 0; i < raw->length; i++) {
        const rm_json *f = raw->items[i];
        const rm_json *name = rm_json_get(f, "name");
        const rm_json *type = rm_json_get(f, "type");
        const rm_json *required = rm_json_get(f, "required");
        const rm_json *history = rm_json_get(f, "history");
        const rm_json *levels = rm_json_get(f, "levels");
        if (f->type != RM_JSON_OBJECT) { *err = "INFO JSON raw field is not an object"; goto fail; }
        if (!name || name->type != RM_JSON_STRING || name->string[0] == '\0') {
            *err = "INFO JSON raw field without a non-empty string \"name\"";
            goto fail;
        }
        if (!type || type->type != RM_JSON_STRING) { *err = "INFO JSON raw field without a string \"type\""; goto fail; }
        if (!history || history->type != RM_JSON_BOOL) {
            *err = "INFO JSON raw field without a boolean \"history\"";
            goto fail;
        }
        if (!required || required->type != RM_JSON_BOOL) {
            *err = "INFO JSON raw field without a boolean \"required\"";
            goto fail;
        }
        if (levels && levels->type != RM_JSON_ARRAY) { *err = "INFO JSON raw field \"levels\" is not an array"; goto fail; }
        rm_raw_field *dst = &fields[n++];
        dst->type = rm_raw_type(type->string);
        dst->required = required->boolean;
        dst->history = history->boolean;
        dst->name = rm_strdup(name->string);
        if (!dst->name) goto oom;
        if (levels && levels->length > 0) {
            dst->levels = calloc(levels->length, sizeof *dst->levels);
            if (!dst->levels) goto oom;
            for (size_t j = 0; j < levels->length; j++) {
                if (levels->items[j]->type != RM_JSON_STRING) {
                    *err = "INFO JSON raw field level is not a string";
                    goto fail;
                }
                dst->levels[j] = rm_strdup(levels->items[j]->string);
                if (!dst->levels[j]) goto oom;
                dst->n_levels = j + 1;
            }
        }
    }
    s->raw_fields = fields;
    s->n_raw_fields = n;
    return READMIT_OK;
oom:
    rc = READMIT_ENOMEM;
    *err = "out of memory";
fail:
    rm_raw_fields_free(fields, n);
    return rc;
}

int rm_schema_from_info(const char *json, size_t len, rm_schema **out, const char **err) {
    *out = NULL;
    const char *perr = NULL;
    rm_json *root = rm_json_parse(json, len, &perr);
    if (!root) { *err = perr; return READMIT_EPROTO; }
    int rc = READMIT_EPROTO;
    rm_schema *s = NULL;
    const rm_json *features = rm_json_get(root, "features");
    if (root->type != RM_JSON_OBJECT || !features || features->type != RM_JSON_ARRAY) {
        *err = "INFO JSON has no \"features\" array";
        goto done;
    }
    s = calloc(1, sizeof *s);
    if (!s) { rc = READMIT_ENOMEM; *err = "out of memory"; goto done; }
    const rm_json *mv = rm_json_get(root, "model_version");
    if (mv && mv->type == RM_JSON_STRING) {
        int ok;
        uint64_t v = rm_parse_hex64(mv->string, &ok);
        if (ok) s->model_version = v;
    }
    if (features->length > 0) {
        s->features = calloc(features->length, sizeof *s->features);
        if (!s->features) { rc = READMIT_ENOMEM; *err = "out of memory"; goto done; }
    }
    for (size_t i = 0; i < features->length; i++) {
        const rm_json *f = features->items[i];
        const rm_json *name = rm_json_get(f, "name");
        const rm_json *kind = rm_json_get(f, "kind");
        const rm_json *source = rm_json_get(f, "source");
        const rm_json *levels = rm_json_get(f, "levels");
        if (!name || name->type != RM_JSON_STRING || !kind || kind->type != RM_JSON_STRING) {
            *err = "INFO JSON feature without a string \"name\" and \"kind\"";
            goto done;
        }
        rm_feature *dst = &s->features[i];
        s->n_features = i + 1; /* so rm_schema_free frees what is filled so far */
        if (strcmp(kind->string, "numeric") == 0) dst->kind = READMIT_FEATURE_NUMERIC;
        else if (strcmp(kind->string, "categorical") == 0) dst->kind = READMIT_FEATURE_CATEGORICAL;
        else { *err = "INFO JSON feature kind is neither \"numeric\" nor \"categorical\""; goto done; }
        dst->name = rm_strdup(name->string);
        dst->source = rm_strdup(source && source->type == RM_JSON_STRING ? source->string : "");
        if (!dst->name || !dst->source) { rc = READMIT_ENOMEM; *err = "out of memory"; goto done; }
        if (levels && levels->type == RM_JSON_ARRAY && levels->length > 0) {
            dst->levels = calloc(levels->length, sizeof *dst->levels);
            if (!dst->levels) { rc = READMIT_ENOMEM; *err = "out of memory"; goto done; }
            for (size_t j = 0; j < levels->length; j++) {
                if (levels->items[j]->type != RM_JSON_STRING) {
                    *err = "INFO JSON level is not a string";
                    goto done;
                }
                dst->levels[j] = rm_strdup(levels->items[j]->string);
                dst->n_levels = j + 1;
                if (!dst->levels[j]) { rc = READMIT_ENOMEM; *err = "out of memory"; goto done; }
            }
        }
    }
    const rm_json *nf = rm_json_get(root, "n_features");
    if (nf && (nf->type != RM_JSON_NUMBER || nf->number != (double)features->length)) {
        *err = "INFO JSON \"n_features\" differs from the length of \"features\"";
        goto done;
    }
    /* "interval": an object, or null (also absent: a daemon older than intervals); anything
     * else fails readmit_has_interval only. */
    const rm_json *interval = rm_json_get(root, "interval");
    s->has_interval = !interval || interval->type == RM_JSON_NULL ? 0 : interval->type == RM_JSON_OBJECT ? 1 : -1;
    const char *raw_err = NULL;
    rc = rm_raw_fields_from_info(root, s, &raw_err);
    if (rc == READMIT_ENOMEM) { *err = raw_err; goto done; }
    s->raw_error = rc == READMIT_OK ? NULL : raw_err;
    rc = READMIT_OK;
    *out = s;
    s = NULL;
done:
    rm_schema_free(s);
    rm_json_free(root);
    return rc;
}
