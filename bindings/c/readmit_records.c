/*
 * readmit_records: scores one encounter given as raw EHR fields (RECORDS). The daemon encodes
 * them with its model's own dataset spec; the field list comes from the daemon (INFO
 * raw_fields), so nothing here names a field.
 *
 *   readmit_records                        list the model's raw fields ("name type [history]")
 *   readmit_records FIELD=VALUE ...        score; prints risk and tier, messages, top 3 reasons
 *
 * READMIT_ENDPOINT sets the daemon (default tcp://127.0.0.1:5555). Values are sent as the texts
 * typed, as an EHR holds them (the daemon reads a number field's text as a number and reports
 * one that is not, such as "three"); a field not given is sent as missing. With the Diabetes
 * 130 model, list the fields first, then give a few, e.g. a number field, the age bracket
 * ('age=[70-80)') and a diagnosis code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readmit.h"

int main(int argc, char **argv) {
    static const char *types[] = {"number", "text", "timestamp", "diagnosis_code", "other"};
    static const char *tiers[] = {"low", "medium", "high"};
    const char *endpoint = getenv("READMIT_ENDPOINT") ? getenv("READMIT_ENDPOINT") : "tcp://127.0.0.1:5555";
    readmit_client *c = NULL;
    readmit_records *r = NULL;
    readmit_result *res = NULL;
    size_t n = 0, used = 0;
    int rc, failed = 0;
    if ((rc = readmit_open(endpoint, &c)) || (rc = readmit_n_raw_fields(c, &n)) || (rc = readmit_records_new(1, &r)))
        goto out;
    for (size_t i = 0; i < n && rc == READMIT_OK; i++) { /* every raw field INFO lists */
        char name[257];
        int type, history;
        const char *value = NULL; /* FIELD=VALUE from the command line, else missing */
        readmit_raw_field_name(c, i, name, sizeof name, NULL);
        readmit_raw_field_type(c, i, &type);
        readmit_raw_field_history(c, i, &history);
        if (argc == 1) printf("%s %s%s\n", name, types[type], history ? " history" : "");
        for (int a = 1; a < argc; a++)
            if (!strncmp(argv[a], name, strlen(name)) && argv[a][strlen(name)] == '=') value = argv[a] + strlen(name) + 1, used++;
        rc = readmit_records_set_text(r, name, 0, value);
    }
    if (rc != READMIT_OK || argc == 1) goto out;
    if (used != (size_t)argc - 1) {
        fprintf(stderr, "readmit_records: an argument is not FIELD=VALUE of a listed field\n");
        failed = 1;
        goto out;
    }
    if ((rc = readmit_score_records(c, r, 3, 0, &res)) != READMIT_OK) goto out;
    double risk, atypicality, contribution;
    uint8_t tier;
    const char *field, *code, *text, *feature, *value;
    readmit_result_row(res, 0, &risk, &atypicality, &tier, &failed);
    if (!failed) printf("risk %.4f, tier %s, atypicality %.3f\n", risk, tier < 3 ? tiers[tier] : "?", atypicality);
    for (size_t i = 0; readmit_result_message(res, i, NULL, &field, NULL, &code, &text) == READMIT_OK; i++)
        printf("%s: %s: %s\n", field ? field : "request", code, text);
    for (size_t j = 0; readmit_result_explanation(res, 0, j, &feature, &contribution, &value) == READMIT_OK; j++)
        printf("reason %zu: %s = %s (%+.3f log-odds)\n", j + 1, feature, value ? value : "missing", contribution);
out:
    if (rc != READMIT_OK)
        fprintf(stderr, "readmit_records: %s: %s%s\n", readmit_strerror(rc), readmit_errmsg(c), r ? readmit_records_errmsg(r) : "");
    readmit_result_free(res);
    readmit_records_free(r);
    readmit_close(c);
    return rc != READMIT_OK || failed;
}
