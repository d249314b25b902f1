#!/usr/bin/env bash
# vegeta-compare.sh — commbench calibrate's ceiling against the Vegeta CLI's,
# in one sitting, against one null endpoint (its own process, on loopback).
#
#   scripts/vegeta-compare.sh   # 3 s steps; RATES="8000 16000" to choose; ORDER=cli-first
#
# The Vegeta CLI (the same v12.13.0 commbench is built on) is installed into a
# temporary folder with `go install` and removed afterwards; nothing of it is
# kept in the repository. Run it on a quiet machine: both tools share its cores
# with the endpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
STEP=${STEP:-3s}
RATES=${RATES:-"8000 12000 16000 20000 24000"}
BIN=bin/commbench
go build -o "$BIN" ./cmd/commbench

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
GOBIN="$tmp" go install github.com/tsenart/vegeta/v12@v12.13.0
VEG="$tmp/vegeta"

# A fresh null endpoint for each tool: an endpoint that has just been
# overloaded serves the next tool worse, whichever it is.
endpoint() { # endpoint NAME: starts one, sets URL
  mkfifo "$tmp/in-$1"
  "$BIN" calibrate --serve-null < "$tmp/in-$1" > "$tmp/url-$1" &
  exec {fd}>"$tmp/in-$1" # the endpoint lives while this is open
  fds+=("$fd")
  for _ in $(seq 50); do [ -s "$tmp/url-$1" ] && break; sleep 0.1; done
  URL=$(head -1 "$tmp/url-$1")
  echo "null endpoint $URL"
}
fds=()
settle() { # let the sockets of the previous load leave TIME-WAIT
  for _ in $(seq 40); do [ "$(ss -tan state time-wait | wc -l)" -lt 1000 ] && break; sleep 2; done
}

vegeta_cli() {
  endpoint cli
  echo "== Vegeta CLI v12.13.0, $STEP per rate, its defaults"
  echo '{"id":1,"user":"u1","post":"p1","author":"a1","kind":"like","sent_at":1767225600000000000}' > "$tmp/body.json"
  secs=${STEP%s}
  for R in $RATES; do
    settle
    echo "POST $URL/v1/reactions" | "$VEG" attack -rate "$R" -duration "$STEP" -body "$tmp/body.json" \
      -header 'Content-Type: application/json' | "$VEG" report -type=json |
      python3 -c "
import json, sys
r = json.load(sys.stdin); got = r['requests'] * r['success'] / $secs
print(f'rate $R: achieved {got:.0f}/s ({got / $R * 100:.1f}%), p50 {r[\"latencies\"][\"50th\"] / 1e6:.2f} ms, p99 {r[\"latencies\"][\"99th\"] / 1e6:.2f} ms,', 'ok' if got >= 0.99 * $R else 'below 99%')"
  done
}

commbench_calibrate() {
  endpoint calibrate
  settle
  echo "== commbench calibrate, $STEP steps"
  COMMBENCH_CACHE="$tmp/cache" "$BIN" calibrate --target "$URL" --step-duration "$STEP" --out "$tmp/cal.json"
}

# ORDER=cli-first runs the CLI first; the default runs calibrate first.
if [ "${ORDER:-}" = cli-first ]; then
  vegeta_cli; commbench_calibrate
else
  commbench_calibrate; vegeta_cli
fi
for fd in "${fds[@]}"; do exec {fd}>&-; done
