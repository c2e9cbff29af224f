"""The package knows no dataset: no file under src/ names a Diabetes 130 column in a string
literal (the daemon encodes raw fields with the model's own spec; no client re-implements it)."""
from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
COLUMNS = ("patient_nbr readmitted discharge_disposition_id admission_type_id admission_source_id time_in_hospital "
           "num_lab_procedures num_procedures num_medications number_outpatient number_emergency number_inpatient "
           "number_diagnoses medical_specialty payer_code max_glu_serum A1Cresult diabetesMed diag_1 diag_2 diag_3 "
           "metformin insulin").split()
NAMED = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, COLUMNS)) + r")(?![A-Za-z0-9_])")
# String literals of C (the shim copied into the package at build time): "..." with escapes.
C_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
STRING_TOKENS = {tokenize.STRING} | {getattr(tokenize, t) for t in ("FSTRING_MIDDLE",) if hasattr(tokenize, t)}


def source_files():
    for path in sorted(SRC.rglob("*")):
        if path.is_file() and "egg-info" not in str(path.relative_to(SRC)) and path.suffix in (".py", ".c", ".h"):
            yield path


def literals(path: Path):
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in STRING_TOKENS:
                yield tok.start[0], tok.string
    else:
        for m in C_STRING.finditer(text):
            yield text.count("\n", 0, m.start()) + 1, m.group()


def test_no_source_names_a_dataset_column():
    files = list(source_files())
    assert any(p.name == "client.py" for p in files)
    found = [f"{p.relative_to(SRC)}:{line}: {m.group(1)}"
             for p in files for line, literal in literals(p) for m in NAMED.finditer(literal)]
    assert not found, "string literals naming dataset columns:\n" + "\n".join(found)


def test_the_check_finds_a_named_column(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text('x = 1\nFIELDS = ["age", "A1Cresult"]\n"""doc about num_medications"""\nname = "diag_10"\n')
    found = [(line, m.group(1)) for line, literal in literals(path) for m in NAMED.finditer(literal)]
    assert found == [(2, "A1Cresult"), (3, "num_medications")]
