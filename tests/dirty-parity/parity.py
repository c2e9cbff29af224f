"""Dirty-data parity of the four interfaces (scripts/tests/45-dirty-parity.sh).

Builds one dirty CSV of raw records from a few rows of the fixture flat records, with a CRLF
copy, a byte-order-mark copy and a one-row file, and scores each through the CLI (`readmit
score --records`, in process), the C program (tests/dirty-parity/score_csv.c), Python
(read_records + score_records) and R (readmit_read_records + readmit_score_records) against
ONE readmitd, with default options and with bad values read as missing (missing fields are
allowed in both). Every interface's result is normalized to the same text (row, risk as
%.17g, tier, sorted "severity|field|code|message") and the texts must be equal byte for byte.
No column is named here: the fields are chosen by type from the daemon's INFO.

Also row independence in the four interfaces: random subsets of the test split's records
(`readmit history --test-split`), each row the same alone, in a subset and in the batch
(row_independence).

    python3 parity.py --endpoint E --model M --cli READMIT --c SCORE_CSV --rscript Rscript --flat FLAT.csv \
        --test-flat TEST_FLAT.csv --work DIR [--seed S]
"""
import argparse
import csv
import io
import os
import random
import subprocess
import sys
from pathlib import Path

import readmit

MISSING_FIELDS_OK, BAD_VALUES_MISSING = 1, 2


def normalize(rows, request):
    """rows: [(risk or None, tier or None, [message texts])]; request: [message texts]."""
    lines = []
    for r, (risk, tier, texts) in enumerate(rows):
        lines.append(f"{r}\t{'' if risk is None else '%.17g' % risk}\t{tier or ''}\t{' || '.join(sorted(texts))}")
    lines.append(f"request\t\t\t{' || '.join(sorted(request))}")
    return "\n".join(lines) + "\n"


def message_text(severity, field, code, message):
    return f"{severity}|{field or ''}|{code}|{message}"


def via_cli(a, path, options, out):
    scores, messages = out.with_suffix(".scores.csv"), out.with_suffix(".messages.csv")
    cmd = [a.cli, "score", "--model", a.model, "--records", str(path), "--out", str(scores), "--messages", str(messages),
           "--log-level", "error"]
    if options & MISSING_FIELDS_OK:
        cmd.append("--missing-fields-ok")
    if options & BAD_VALUES_MISSING:
        cmd.append("--bad-values-missing")
    subprocess.run(cmd, check=True)
    with open(scores, newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    with open(messages, newline="", encoding="utf-8") as f:
        msgs = list(csv.DictReader(f))
    rows = [(float(t["risk"]) if t["risk"] else None, t["tier"] or None, []) for t in table]
    request = []
    for m in msgs:
        text = message_text(m["severity"], m["field"], m["code"], m["message"])
        (request if m["row"] == "" else rows[int(m["row"])][2]).append(text)
    out.write_text(normalize(rows, request), encoding="utf-8")


def via_python(a, path, options, out):
    frame = readmit.read_records(path)
    with readmit.Client(a.endpoint, timeout_ms=20000) as cl:
        res = cl.score_records(frame, bad_values="missing" if options & BAD_VALUES_MISSING else "error",
                               missing_fields="missing" if options & MISSING_FIELDS_OK else "error", warn=False)
    rows = [(None, None, []) if res["error"].iloc[i] is not None else (float(res["risk"].iloc[i]), str(res["tier"].iloc[i]), [])
            for i in range(len(res))]
    request = []
    for m in res.attrs["messages"]:
        text = message_text(m["severity"], m["field"], m["code"], m["message"])
        (request if m["row"] is None else rows[m["row"]][2]).append(text)
    out.write_text(normalize(rows, request), encoding="utf-8")


def via_c(a, path, options, out):
    subprocess.run([a.c, a.endpoint, str(options), str(path), str(out)], check=True)


def via_r(a, path, options, out):
    subprocess.run([a.rscript, str(Path(__file__).with_name("score.R")), a.endpoint, str(options), str(path), str(out)],
                   check=True)


def _lines(text):
    """The normalized output's lines: split at LF only (a message may quote a lone carriage
    return, which str.splitlines would take for a line break)."""
    return text[:-1].split("\n") if text.endswith("\n") else text.split("\n")


def dirty_files(a, work):
    """Whether a row is a stay the cohort excludes, and the dirty CSV (LF), its CRLF and BOM+CRLF
    copies, and a one-row file. Row 11 holds a lone carriage return, unquoted: data to the CLI,
    which the csv module and read.csv would have taken for a line break."""
    with readmit.Client(a.endpoint, timeout_ms=20000) as cl:
        fields = cl.raw_fields()
        info = cl.info()
        exclusions = info["dataset"].get("exclusions", [])
        sums = [f["columns"] for f in info["features"] if f.get("derive") == "sum_of"]
    with open(a.flat, newline="", encoding="utf-8") as f:
        records = list(csv.reader(f))
    header, rows = records[0], [list(r) for r in records[1:13]]
    col = {name: k for k, name in enumerate(header)}
    numbers = [f["name"] for f in fields if f["type"] == "number" and not f["history"] and f["name"] in col]
    texts = [f for f in fields if f["type"] == "text" and f["levels"] and f["name"] in col]
    cased = next(f for f in texts if any(l != l.lower() and l.lower() not in f["levels"] for l in f["levels"]))
    level = next(l for l in cased["levels"] if l != l.lower() and l.lower() not in cased["levels"])
    with_none = next((f for f in texts if "None" in f["levels"]), texts[-1])
    assert len(numbers) >= 3 and len(texts) >= 2, (numbers, texts)

    def put(r, name, value):
        rows[r][col[name]] = value

    put(1, cased["name"], "Martian")                 # unknown level
    put(2, cased["name"], level.lower())             # a learned level in the wrong case ("female")
    put(3, numbers[0], "three")                      # not a number
    put(4, numbers[1], "2008-01-01")                 # a date in a number field
    put(5, numbers[0], "inf")                        # infinite
    put(6, with_none["name"], "None")                # a level that reads like a missing value
    put(6, numbers[2], "?")                          # the spec's missing token
    put(7, numbers[1], "-inf")
    put(7, numbers[2], "1e400")                      # overflows to infinity
    put(8, numbers[0], " 5")                         # a space before a number
    put(8, numbers[1], "NaN")
    put(9, texts[0]["name"], "Mar,tian \"x\"")       # quoted: a comma and quotes in a level
    put(10, texts[0]["name"], "Café")                # non-ASCII unknown level
    put(10, numbers[1], "")                          # empty: missing
    put(11, numbers[2], "0x10")                      # hexadecimal: not a decimal number
    put(11, texts[1]["name"], "Cau\rcasian")          # a lone carriage return (unquoted below): data
    # Terms whose sum_of overflows (1e308 + 1e308): a not_finite error of that row alone (it
    # failed the whole batch before), the others' scores unchanged.
    if sums and all(c in col for c in sums[0][:2]):
        put(0, sums[0][0], "1e308")
        put(0, sums[0][1], "1e308")
    # A stay the spec's cohort excludes (a death): an `excluded` error, and no warning about
    # the row's unknown level (row 9's quoted one) in any interface.
    excluded = next((e for e in exclusions if e["column"] in col), None)
    assert excluded or not exclusions, exclusions
    if excluded:
        put(9, excluded["column"], excluded["values"][0])
    # A required text field absent from the file (missing_fields_ok makes it missing everywhere).
    dropped = next(f["name"] for f in fields if f["required"] and f["type"] == "text" and f["name"] in col
                   and f["name"] not in (cased["name"], with_none["name"], texts[0]["name"]))
    keep = [k for k, name in enumerate(header) if name != dropped]
    table = [[r[k] for k in keep] for r in [header] + rows]

    def write(name, lines, ending, bom=False):
        buf = io.StringIO()
        csv.writer(buf, lineterminator=ending).writerows(lines)
        path = work / name
        # The csv module quotes the lone carriage return; the readers must take it unquoted too.
        data = buf.getvalue().encode("utf-8").replace(b'"Cau\rcasian"', b"Cau\rcasian")
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
        return path

    return excluded is not None, {
        "lf": write("dirty-lf.csv", table, "\n"),
        "crlf": write("dirty-crlf.csv", table, "\r\n"),
        "bom-crlf": write("dirty-bom-crlf.csv", table, "\r\n", bom=True),
        "one-row": write("dirty-one-row.csv", [table[0], table[4]], "\r\n", bom=True),
    }


def row_independence(a, work, interfaces, seed):
    """Row independence in every interface, over random subsets of the test split: a batch of
    random test-split rows (`readmit history --test-split`: the eligible stays of test
    patients, their history derived from the whole table), a random subset of that batch in
    another order, and single rows of it, each scored through every interface. A row's line
    (risk %.17g, tier, messages) must be the same in each file it is in, and every interface's
    the CLI's. Returns the number of mismatches."""
    rng = random.Random(seed)
    with open(a.test_flat, newline="", encoding="utf-8") as f:
        records = list(csv.reader(f))
    header, rows = records[0], records[1:]
    batch = rng.sample(range(len(rows)), min(300, len(rows)))  # random rows, in random order
    subset = rng.sample(range(len(batch)), min(45, len(batch)))  # positions in the batch
    singles = rng.sample(range(len(batch)), min(8, len(batch)))
    files = {"batch": list(range(len(batch))), "subset": subset}
    files.update({f"row-{i}": [i] for i in singles})
    failures = 0
    for name, positions in files.items():
        path = work / f"independence-{name}.csv"
        with open(path, "w", newline="", encoding="utf-8") as f:
            csv.writer(f, lineterminator="\n").writerows([header] + [rows[batch[i]] for i in positions])
        outputs = {}
        for interface, run in interfaces.items():
            out = work / f"independence-{name}-{interface}.tsv"
            run(a, path, 0, out)
            outputs[interface] = [l.split("\t", 1)[1] for l in _lines(out.read_bytes().decode("utf-8"))[:-1]]
            if len(outputs[interface]) != len(positions):
                sys.exit(f"45-dirty-parity: {interface} gave {len(outputs[interface])} rows for {len(positions)} in {path}")
        if name == "batch":
            reference = outputs
        for interface, lines in outputs.items():
            for k, i in enumerate(positions):
                if lines[k] != reference[interface][i]:
                    failures += 1
                    print(f"MISMATCH row independence (seed {seed}), {interface}: test-split row {batch[i] + 1} "
                          f"gives {lines[k]!r} in {name} and {reference[interface][i]!r} in the batch", file=sys.stderr)
            if lines != outputs["cli"]:
                failures += 1
                print(f"MISMATCH row independence (seed {seed}), {name}: {interface} differs from the CLI", file=sys.stderr)
    scored = sum(1 for l in reference["cli"] if l.split("\t")[0])
    print(f"45-dirty-parity: row independence on the test split (seed {seed}): {len(batch)} random test-split rows "
          f"of {len(rows)} ({scored} scored), a subset of {len(subset)} and {len(singles)} rows alone: "
          f"{len(interfaces)} interfaces agree, every row as in the batch" if not failures else "")
    return failures


def main():
    p = argparse.ArgumentParser()
    for name in ("endpoint", "model", "cli", "c", "rscript", "flat", "test-flat", "work"):
        p.add_argument("--" + name, required=True)
    p.add_argument("--seed", type=int, default=None,
                   help="seed of the row-independence subsets (default: a new one, printed)")
    a = p.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    excluded, files = dirty_files(a, work)
    interfaces = {"cli": via_cli, "c": via_c, "python": via_python, "r": via_r}
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(2**32)
    failures = row_independence(a, work, interfaces, seed)
    for options in (MISSING_FIELDS_OK, MISSING_FIELDS_OK | BAD_VALUES_MISSING):
        reference = None
        for variant, path in files.items():
            outputs = {}
            for name, run in interfaces.items():
                out = work / f"{variant}-{options}-{name}.tsv"
                run(a, path, options, out)
                outputs[name] = out.read_bytes().decode("utf-8")  # read_text would turn a lone CR into LF
            base = outputs["cli"]
            for name, text in outputs.items():
                if text != base:
                    failures += 1
                    print(f"MISMATCH options={options} {variant}: {name} differs from the CLI", file=sys.stderr)
                    subprocess.run(["diff", str(work / f"{variant}-{options}-cli.tsv"), str(work / f"{variant}-{options}-{name}.tsv")])
            if variant == "lf":
                reference = base
            elif variant != "one-row" and base != reference:
                failures += 1
                print(f"MISMATCH options={options}: {variant} differs from lf", file=sys.stderr)
            if variant == "one-row":
                # The one-row file holds row 3 of the dirty file: the same outcome, alone.
                row3 = next(l for l in _lines(reference) if l.startswith("3\t")).split("\t", 1)[1]
                if _lines(base)[0].split("\t", 1)[1] != row3:
                    failures += 1
                    print(f"MISMATCH options={options}: the one-row file differs from its row in the dirty file", file=sys.stderr)
        lines = _lines(reference)
        errors = sum(1 for l in lines[:-1] if l.split("\t")[1] == "")
        codes = sorted({t.split("|")[2] for l in lines for t in l.split("\t")[3].split(" || ") if t})
        print(f"45-dirty-parity: options={options}: {len(lines) - 1} rows, {errors} row errors, codes {codes}: "
              f"{len(interfaces)} interfaces x {len(files)} files agree" if not failures else "")
        # The dirty rows must be dirty: errors without the option, none with it but the
        # excluded stay's (an error under every option).
        excluded_errors = sum(1 for l in lines[:-1] if "|excluded|" in l.split("\t")[3])
        assert excluded_errors == (1 if excluded else 0), reference
        if options & BAD_VALUES_MISSING:
            assert errors == excluded_errors, reference
        else:
            assert errors >= 4 + excluded_errors, reference
    if failures:
        sys.exit(f"45-dirty-parity: {failures} mismatches (outputs in {work})")


if __name__ == "__main__":
    main()
