#!/usr/bin/env bash
# wire-check.sh — the generator's send lag against a packet capture's.
#
#   scripts/wire-check.sh                                      # ramp-stall: 200 -> 1,400 rps, 1.4 s endpoint
#   DELAY=50ms STAGES=40s:0:20000 scripts/wire-check.sh        # calibrate --ramp's schedule, 50 ms endpoint
#
# Starts scripts/wirecheck's endpoint (its own process, on loopback; it logs the
# send time the generator stamped in each body), captures each request's first
# data packet with tcpdump (installed from Debian when missing, as root), runs
# the attack, and sets both against the schedule (scripts/wire_compare.py).
# Exit 1 when a second disagrees (late counts beyond 10% or 5, worst lag beyond 1 ms).
set -euo pipefail
cd "$(dirname "$0")/.."
DELAY=${DELAY:-1400ms}
STAGES=${STAGES:-10s:200:200,5s:200:1400,15s:1400:1400}
command -v tcpdump >/dev/null || { [ "$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tcpdump >/dev/null; } || { echo "wire-check: needs tcpdump" >&2; exit 2; }
dir=$(mktemp -d)
go build -o "$dir/wirecheck" ./scripts/wirecheck
srv= td=
cleanup() { [ -n "$td" ] && kill "$td" 2>/dev/null; [ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
"$dir/wirecheck" -serve -delay "$DELAY" -log "$dir/sent.txt" > "$dir/url" & srv=$!
for _ in $(seq 50); do [ -s "$dir/url" ] && break; sleep 0.1; done
url=$(head -1 "$dir/url")
tcpdump -i lo -nn -s 96 -B 65536 -w "$dir/wire.pcap" "tcp dst port ${url##*:} and (tcp[tcpflags] & tcp-push != 0)" 2>"$dir/td.log" & td=$!
sleep 1
"$dir/wirecheck" -target "$url" -stages "$STAGES"
sleep 1
kill -INT "$td"; wait "$td" 2>/dev/null || true; td=
grep -i "dropped by kernel" "$dir/td.log" || true
kill "$srv"; wait "$srv" 2>/dev/null || true; srv=
python3 scripts/wire_compare.py "$dir/wire.pcap" "$dir/sent.txt" "$STAGES"
