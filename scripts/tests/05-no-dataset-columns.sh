#!/usr/bin/env bash
# The Swift sources and the bindings know no data set: every Diabetes 130 column name comes
# from the dataset spec (data/diabetes130/dataset.yaml, docs/DATASET_SPEC.md), never from code.
# Fails, listing file:line for each hit, when one of the names below appears as a quoted string
# literal ("time_in_hospital" or 'time_in_hospital') in Sources/ or the bindings' own sources.
# Lines that are only a comment (//, ///, #) are not checked. Needs bash and awk only.
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
# The Swift sources, and the bindings' own sources (not the C shim copies they compile, which
# are checked as the shim's; nor the bindings' tests, examples and docs).
shim_copies=$(sed 's|^|bindings/r/src/|' bindings/r/tools/shim-files.txt 2>/dev/null || true)
mapfile -t files < <({ find Sources -type f -name '*.swift'
                       find bindings/python/src -type f -name '*.py' -not -path '*/_shim/*' -not -path '*.egg-info/*'
                       find bindings/r/R -type f -name '*.R'
                       find bindings/r/src -type f \( -name '*.c' -o -name '*.h' \) | grep -vxF "$shim_copies"
                     } | LC_ALL=C sort)
[ "${#files[@]}" -gt 0 ] || { echo "05-no-dataset-columns: no source file found" >&2; exit 1; }

# One output line per (file, line, name): file:line: "name"; the last line is "count files".
result=$(awk -v names="${columns[*]}" '
  BEGIN { n = split(names, col, " "); hits = 0 }
  FNR == 1 { seen = 0 }
  /^[[:space:]]*(\/\/|#)/ { next }
  {
    for (i = 1; i <= n; i++) {
      if (index($0, "\"" col[i] "\"") > 0 || index($0, "\047" col[i] "\047") > 0) {
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
  echo "05-no-dataset-columns: FAIL: $hits Diabetes 130 column name literal(s) in $hit_files of ${#files[@]} source files (the names belong in the dataset spec)" >&2
  exit 1
fi
echo "05-no-dataset-columns: ok: none of ${#columns[@]} Diabetes 130 column names appears as a string literal in ${#files[@]} source files (Sources/, bindings/python/src, bindings/r/R and src)"
