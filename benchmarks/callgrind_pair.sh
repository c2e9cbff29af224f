# Sourced by the *_instructions.sh benchmarks: runs readmitd and an echo server, each under
# valgrind's callgrind, on free loopback ports, and waits until both serve. After sourcing:
#   callgrind_pair_start OUT_DIR READMITD MODEL ECHO_SERVER   # sets dport, eport, dpid, epid
#   callgrind_pair_zero; <drive both>; callgrind_pair_dump    # dumps OUT_DIR/callgrind.{daemon,echo}.1
# valgrind cannot read the DWARF 5 that Swift writes: READMITD should be a copy without debug
# sections (`strip -g`; the symbol table stays, so functions are still named).
callgrind_pair_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
callgrind_pair_listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

callgrind_pair_start() {
  local out=$1 daemon=$2 model=$3 echo_server=$4
  dport=$(callgrind_pair_port); eport=$(callgrind_pair_port)
  rm -f "$out"/callgrind.daemon.* "$out"/callgrind.echo.*
  valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.daemon" "$daemon" --model "$model" \
    --endpoint "tcp://127.0.0.1:$dport" >"$out/callgrind.daemon.log" 2>&1 &
  dpid=$!
  valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.echo" "$echo_server" "tcp://127.0.0.1:$eport" \
    >"$out/callgrind.echo.log" 2>&1 &
  epid=$!
  trap 'kill $dpid $epid 2>/dev/null || true; wait $dpid $epid 2>/dev/null || true' EXIT
  for _ in $(seq 240); do  # bounded: 120 s for both to start under valgrind
    if grep -q "readmitd serving" "$out/callgrind.daemon.log" && callgrind_pair_listening "$eport"; then break; fi
    sleep 0.5
  done
  grep -q "readmitd serving" "$out/callgrind.daemon.log" || { cat "$out/callgrind.daemon.log" >&2; exit 1; }
}

callgrind_pair_zero() {
  callgrind_control -z "$dpid" >/dev/null 2>&1
  callgrind_control -z "$epid" >/dev/null 2>&1
}

callgrind_pair_dump() {
  callgrind_control -d "$dpid" >/dev/null 2>&1
  callgrind_control -d "$epid" >/dev/null 2>&1
}
