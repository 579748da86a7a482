#!/bin/bash
# demo.sh - the README's demo: a fresh network namespace made with unshare,
# slirpnetd configuring it, and a TCP transfer from inside to the host's loopback.
set -euo pipefail
BIN=$(realpath "${1:-build/src/slirpnetd}")
WORK=$(mktemp -d)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

# The "container": a process alone in new user and network namespaces.
unshare --user --map-root-user --net --fork sleep 600 &
PIDS+=($!)
until CPID=$(pgrep -P $! -x sleep); do sleep 0.05; done
# unshare --fork does not pass SIGTERM on: stop the container itself too
PIDS+=("$CPID")
echo "== container PID $CPID, before slirpnetd:"
nsenter -t "$CPID" -n ip -brief addr

# slirpnetd -c configures tap0; -r writes "1" to a fifo once it is ready.
mkfifo "$WORK/ready"
"$BIN" -c -r 3 -a "$WORK/api.sock" "$CPID" 3>"$WORK/ready" >"$WORK/log" 2>&1 &
PIDS+=($!)
head -c1 "$WORK/ready" >/dev/null
echo "== after slirpnetd -c $CPID:"
nsenter -t "$CPID" -n ip -brief addr
nsenter -t "$CPID" -n ip route

# A listener on the host's 127.0.0.1, reached from inside as 10.0.2.2.
PORT=$(( 20000 + RANDOM % 20000 ))
ncat -l 127.0.0.1 "$PORT" >"$WORK/received" &
LISTENER=$!
PIDS+=($LISTENER)
# wait until it listens (30 s at most), not for a guessed while
for _ in $(seq 600); do
	ss -Htln "sport = :$PORT" | grep -q . && break
	sleep 0.05
done
head -c 8M /dev/urandom >"$WORK/sent"
nsenter -t "$CPID" -n ncat --send-only 10.0.2.2 "$PORT" <"$WORK/sent"
timeout 60 tail --pid="$LISTENER" -f /dev/null
echo "== sent 8 MiB from the namespace to 127.0.0.1:$PORT via 10.0.2.2:"
sha256sum "$WORK/sent" "$WORK/received" | awk '{print $1}' | uniq -c
cmp -s "$WORK/sent" "$WORK/received" && echo "== demo OK: received byte-exact"
