/* libFuzzer target: the C client's JSON parser and the readers over it, on any bytes.
 *
 * The input is a JSON text (not NUL-terminated, as a reply frame). It goes to rm_json_parse
 * (the tree is then walked whole), rm_schema_from_info (INFO's schema and raw fields) and
 * rm_result_from_messages (the messages of a HISTORY or RECORDS reply, for 8 rows).
 * Deterministic; writes no file. */
#include "readmit.h"
#include "rm_internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

static void walk(const rm_json *v, int depth) {
    if (depth > 10000) abort(); /* the parser must bound nesting long before this */
    switch (v->type) {
    case RM_JSON_STRING: sink += strlen(v->string); break;
    case RM_JSON_ARRAY:
        for (size_t i = 0; i < v->length; i++) walk(v->items[i], depth + 1);
        break;
    case RM_JSON_OBJECT:
        for (size_t i = 0; i < v->length; i++) {
            sink += strlen(v->keys[i]);
            if (rm_json_get(v, v->keys[i]) == NULL) abort(); /* every key is found */
            walk(v->items[i], depth + 1);
        }
        break;
    default: sink += (size_t)v->boolean; break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data, *err = NULL;
    rm_json *root = rm_json_parse(text, size, &err);
    if (root) {
        walk(root, 0);
        rm_json_free(root);
    } else if (!err) {
        abort(); /* a failure always says why */
    }

    rm_schema *schema = NULL;
    if (rm_schema_from_info(text, size, &schema, &err) == READMIT_OK) {
        for (size_t f = 0; f < schema->n_features; f++) {
            sink += strlen(schema->features[f].name);
            for (size_t l = 0; l < schema->features[f].n_levels; l++) sink += strlen(schema->features[f].levels[l]);
        }
        for (size_t f = 0; f < schema->n_raw_fields; f++) sink += strlen(schema->raw_fields[f].name);
        rm_schema_free(schema);
    }

    readmit_client *client = calloc(1, sizeof *client);
    if (!client) return 0;
    static const char *const fields[] = {"a", "b"};
    static const size_t lens[] = {1, 1};
    readmit_result *res = NULL;
    if (rm_result_from_messages(client, text, size, 8, 1, fields, lens, 2, &res) == READMIT_OK) {
        int row, severity;
        const char *field, *code, *message;
        for (size_t i = 0; readmit_result_message(res, i, &row, &field, &severity, &code, &message) == READMIT_OK; i++)
            sink += strlen(code) + strlen(message) + (field ? strlen(field) : 0);
    }
    readmit_result_free(res);
    free(client);
    return 0;
}
