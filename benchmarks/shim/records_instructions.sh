#!/usr/bin/env bash
# Benchmark: the instructions the daemon executes per raw encounter (RECORDS of one row sent
# through libreadmit), against those a raw libzmq echo server executes per echo of the same
# request bytes, both counted by valgrind's callgrind in one run. Instruction counts do not
# move with the load of a shared machine, so this compares two builds where the wall-clock
# ratio of run_records.sh cannot (it stays the figure the target is stated in). Reproduce from
# the repository root (after scripts/tests/00-build.sh):
#   bash benchmarks/shim/records_instructions.sh [--calls N]
# READMITD_BIN=... compares another build; MODEL=... another model. Needs valgrind.
set -euo pipefail
cd "$(dirname "$0")/../.."
READMITD_BIN=${READMITD_BIN:-.build/release/readmitd}
READMIT_BIN=${READMIT_BIN:-.build/release/readmit}
MODEL=${MODEL:-${READMIT_TEST_MODEL:-.build/fixtures/model.readmit}}
WORK=${BENCH_OUT:-output/bench-records}
CALLS=300
while [ $# -gt 0 ]; do
  case "$1" in
    --calls) CALLS=$2; shift 2 ;;
    *) echo "usage: records_instructions.sh [--calls N]" >&2; exit 2 ;;
  esac
done
command -v valgrind >/dev/null || { echo "records_instructions.sh: valgrind is needed (scripts/setup.sh installs it)" >&2; exit 1; }
bash benchmarks/shim/prepare.sh "$READMIT_BIN" "$MODEL" "$WORK"
# valgrind cannot read the DWARF 5 that Swift writes: count a copy without debug sections (the
# symbol table stays, so callgrind_annotate still names functions).
strip -g -o "$WORK/readmitd.counted" "$READMITD_BIN"
source benchmarks/callgrind_pair.sh
callgrind_pair_start "$WORK" "$WORK/readmitd.counted" "$MODEL" build/echo_server
callgrind_pair_zero
# One pair of CALLS calls each side after CALLS warm-up calls each: the daemon answers
# 2 * CALLS + 2 requests (one shim and one hand-built request are compared first), the echo
# server 2 * CALLS.
build/records_latency "tcp://127.0.0.1:$dport" "tcp://127.0.0.1:$eport" "$WORK/row.tsv" --pairs 1 --calls "$CALLS" | head -1
callgrind_pair_dump
total() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }'; }
daemon=$(total "$WORK/callgrind.daemon.1"); echo_ir=$(total "$WORK/callgrind.echo.1")
python3 - "$daemon" "$echo_ir" "$CALLS" "$READMITD_BIN" "$WORK/callgrind.daemon.1" <<'PY'
import collections, re, sys
daemon, echo, calls, binary = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
requests = 2 * calls + 2
per_daemon, per_echo = daemon / requests, echo / (2 * calls)
print(f"readmitd ({binary}): {per_daemon:,.0f} instructions per raw encounter (all threads)")
print(f"raw libzmq echo server: {per_echo:,.0f} instructions per echo of the same request bytes")
print(f"ratio: {per_daemon / per_echo:.2f}x")
# Calls into the Swift runtime's reference counting (each an atomic read-modify-write unless
# the object is immortal) and allocator, per request: the callgrind file's `calls=` lines,
# by callee (names are compressed as "(id) name" on first use, "(id)" after).
names, counts, callee = {}, collections.Counter(), None
for line in open(sys.argv[5], errors="replace"):
    if line.startswith("cfn="):
        m = re.match(r"\((\d+)\)(?: (.*))?", line[4:].strip())
        if m and m.group(2): names[m.group(1)] = m.group(2)
        callee = names.get(m.group(1)) if m else line[4:].strip()
    elif line.startswith("calls=") and callee:
        counts[callee.split("'")[0]] += int(line.split()[0][6:])
retains = counts["swift_retain"]
releases = counts["swift_release"]
print(f"per raw encounter: {retains / requests:,.0f} swift_retain, {releases / requests:,.0f} swift_release, "
      f"{counts['swift_allocObject'] / requests:,.0f} swift_allocObject calls")
PY
