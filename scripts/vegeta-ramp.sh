#!/usr/bin/env bash
# vegeta-ramp.sh — commbench calibrate --ramp beside Vegeta's same ramp, in
# one sitting, against ONE null endpoint (commbench calibrate --serve-null,
# its own process, on loopback):
#
#  1. Vegeta's attacker (its lib, the version in go.mod, with the CLI's
#     defaults), the ramp 0 → MAX_RATE over DURATION in one attack
#     (scripts/vegeta-ramp/main.go says why not one CLI run per second);
#  2. commbench calibrate --ramp, the same schedule, drawn beside it:
#     OUT's .html has both ramps' charts, and the line of the ratio of CPU
#     per request at ≥ 90% of MAX_RATE is printed.
#
#   scripts/vegeta-ramp.sh
#   MAX_RATE=20000 DURATION=40 DELAY=50ms OUT=/tmp/ramp.json scripts/vegeta-ramp.sh
#
# Run it on a quiet machine: the tools share its cores with the endpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
MAX_RATE=${MAX_RATE:-20000}
DURATION=${DURATION:-40}
DELAY=${DELAY:-0s}
OUT=${OUT:-ramp.json}
BIN=bin/commbench
go build -o "$BIN" ./cmd/commbench
go build -o bin/vegeta-ramp ./scripts/vegeta-ramp

tmp=$(mktemp -d)
endpoint_fd=
cleanup() {
  [ -n "$endpoint_fd" ] && exec {endpoint_fd}>&-
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkfifo "$tmp/in"
"$BIN" calibrate --serve-null --endpoint-delay "$DELAY" < "$tmp/in" > "$tmp/url" &
exec {endpoint_fd}>"$tmp/in"
for _ in $(seq 50); do [ -s "$tmp/url" ] && break; sleep 0.1; done
URL=$(head -1 "$tmp/url")
case "$URL" in http://127.0.0.1:*) ;; *) echo "the null endpoint did not start" >&2; exit 1 ;; esac
echo "null endpoint $URL (answers after $DELAY); $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"

settle() { # let the sockets of the previous load leave TIME-WAIT
  for _ in $(seq 40); do [ "$(ss -tan state time-wait | wc -l)" -lt 1000 ] && break; sleep 2; done
}

echo; echo "== Vegeta's attacker (lib v12.13.0, the CLI's defaults): 0 → $MAX_RATE rps over ${DURATION}s"
bin/vegeta-ramp --target "$URL" --max-rate "$MAX_RATE" --duration "${DURATION}s" --endpoint-delay "$DELAY" > "$tmp/veg.json"
cp "$tmp/veg.json" "${OUT%.*}-vegeta.json"
settle
echo; echo "== commbench calibrate --ramp, the same schedule"
COMMBENCH_CACHE="$tmp/cache" "$BIN" calibrate --ramp --target "$URL" --endpoint-delay "$DELAY" \
  --max-rate "$MAX_RATE" --ramp-duration "${DURATION}s" --beside "$tmp/veg.json" --out "$OUT"
