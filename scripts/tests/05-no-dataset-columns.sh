#!/usr/bin/env bash
# The Swift sources know no data set: every Diabetes 130 column name comes from the dataset spec
# (data/diabetes130/dataset.yaml, docs/DATASET_SPEC.md), never from code. Fails, listing
# file:line for each hit, when one of the names below appears in Sources/ as a quoted string
# literal (e.g. "time_in_hospital"). Lines that are only a comment (// or ///) are not code and
# are not checked. Needs bash and awk only (no build).
set -euo pipefail
cd "${READMIT_ROOT:-$(dirname "$0")/../..}"

# encounter_id is left out: it is also a key of the spec grammar (encounters.encounter_id) and the
# name of a role in INFO, which the code must spell.
columns=(
  patient_nbr readmitted discharge_disposition_id admission_type_id
  admission_source_id time_in_hospital num_lab_procedures num_procedures num_medications
  number_outpatient number_emergency number_inpatient number_diagnoses medical_specialty
  payer_code max_glu_serum A1Cresult diabetesMed diag_1 diag_2 diag_3 metformin insulin
)

[ -d Sources ] || { echo "05-no-dataset-columns: no Sources/ folder in $PWD" >&2; exit 1; }
mapfile -t files < <(find Sources -type f -name '*.swift' | LC_ALL=C sort)
[ "${#files[@]}" -gt 0 ] || { echo "05-no-dataset-columns: no Swift file under Sources/" >&2; exit 1; }

# One output line per (file, line, name): file:line: "name"; the last line is "count files".
result=$(awk -v names="${columns[*]}" '
  BEGIN { n = split(names, col, " "); hits = 0 }
  FNR == 1 { seen = 0 }
  /^[[:space:]]*\/\// { next }
  {
    for (i = 1; i <= n; i++) {
      if (index($0, "\"" col[i] "\"") > 0) {
        printf "%s:%d: \"%s\"\n", FILENAME, FNR, col[i]
        hits++
        if (!seen) { seen = 1; nfiles++ }
      }
    }
  }
  END { printf "%d %d\n", hits, nfiles + 0 }
' "${files[@]}")

summary=${result##*$'\n'}
hits=${summary% *}
hit_files=${summary#* }
if [ "$hits" -gt 0 ]; then
  printf '%s\n' "${result%$'\n'*}" >&2
  echo "05-no-dataset-columns: FAIL: $hits Diabetes 130 column name literal(s) in $hit_files of ${#files[@]} Swift files under Sources/ (the names belong in the dataset spec)" >&2
  exit 1
fi
echo "05-no-dataset-columns: ok: none of ${#columns[@]} Diabetes 130 column names appears as a string literal in ${#files[@]} Swift files under Sources/"
