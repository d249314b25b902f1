#!/usr/bin/env bash
# vegeta-compare.sh — the instrument's cost beside the Vegeta CLI's and
# Kafka's own producer, in one sitting:
#
#  1. against ONE null endpoint (commbench calibrate --serve-null, its own
#     process, on loopback): commbench calibrate (each client in CLIENTS) and
#     the Vegeta CLI v12.13.0 driven the same way (floor at 1,000 rps, CPU
#     per request at 5,000 rps, doubling then bisecting to the ceiling);
#     then the ratios: ceiling, floor p50/p99, CPU per request;
#  2. on one local Apache Kafka broker (commbench broker up): the async
#     pattern's API p50/p99 at 400 rps (the ci profile's services, 20 s at
#     400 rps) beside Kafka's ProducerPerformance (acks=all, 100-byte
#     records, 500/s, linger.ms=0 like commbench's producer) from the cached
#     Kafka jars, and beside scripts/ProducerProbe.java: Kafka's Java producer
#     paced open-loop at the same 400/s (acks=all, 100 B, linger.ms=0, not
#     idempotent, 1000 rotating keys, on an 8-partition topic like the ci
#     profile's), latency from the intended send time in microseconds.
#     ProducerPerformance prints whole milliseconds ("0 ms 50th"), so the
#     goal line (p50 ≤ Kafka's p50 + 0.5 ms, p99 ≤ Kafka's p99) is decided
#     on the probe's figures; ProducerPerformance's stay as the coarse
#     reference.
#
#   scripts/vegeta-compare.sh
#   STEP=3s BUDGET=60s MAX_RATE=64000 CLIENTS="fasthttp net/http" ASYNC=0 scripts/vegeta-compare.sh
#
# The Vegeta CLI is installed with `go install` into GOBIN (go env GOBIN, or
# GOPATH/bin) unless a v12.13.0 binary is already there. Run it on a quiet
# machine: the tools share its cores with the endpoint (and the broker).
# It needs go, python3, and for the Kafka half java and the Kafka jars
# (commbench broker fetch resolves them with Maven once).
set -euo pipefail
cd "$(dirname "$0")/.."
STEP=${STEP:-3s}
BUDGET=${BUDGET:-60s}
MAX_RATE=${MAX_RATE:-64000}
CLIENTS=${CLIENTS:-"fasthttp net/http"}
ASYNC=${ASYNC:-1}
BIN=bin/commbench
go build -o "$BIN" ./cmd/commbench

gobin=$(go env GOBIN)
gobin=${gobin:-$(go env GOPATH)/bin}
VEG="$gobin/vegeta"
if ! go version -m "$VEG" 2>/dev/null | grep -qE 'mod[[:space:]]+github.com/tsenart/vegeta/v12[[:space:]]+v12\.13\.0'; then
  echo "installing the Vegeta CLI v12.13.0 into $gobin"
  GOBIN="$gobin" go install github.com/tsenart/vegeta/v12@v12.13.0
fi

tmp=$(mktemp -d)
endpoint_fd=
broker_up=
cleanup() {
  [ -n "$endpoint_fd" ] && exec {endpoint_fd}>&-
  [ -n "$broker_up" ] && "$BIN" broker down --state "$tmp/broker.json" >/dev/null 2>&1 || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The null endpoint: one child for the whole sitting; it ends when the fifo
# held open here closes.
mkfifo "$tmp/in"
"$BIN" calibrate --serve-null < "$tmp/in" > "$tmp/url" &
endpoint_pid=$!
exec {endpoint_fd}>"$tmp/in"
for _ in $(seq 50); do [ -s "$tmp/url" ] && break; sleep 0.1; done
URL=$(head -1 "$tmp/url")
case "$URL" in http://127.0.0.1:*) ;; *) echo "the null endpoint did not start" >&2; exit 1 ;; esac
echo "null endpoint $URL; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"

settle() { # let the sockets of the previous load leave TIME-WAIT; the endpoint must still serve
  for _ in $(seq 40); do [ "$(ss -tan state time-wait | wc -l)" -lt 1000 ] && break; sleep 2; done
  kill -0 "$endpoint_pid" 2>/dev/null || { echo "the null endpoint died: the figures after it are void" >&2; exit 1; }
}

# The endpoint's CPU time (user + system, clock ticks) while each tool ran:
# beside the generator's, it says how much of the machine a step took.
ticks() { awk '{print $14 + $15}' "/proc/$endpoint_pid/stat"; }

for c in $CLIENTS; do
  settle
  echo; echo "== commbench calibrate --client $c"
  t0=$(ticks)
  COMMBENCH_CACHE="$tmp/cache" "$BIN" calibrate --target "$URL" --client "$c" --step-duration "$STEP" \
    --budget "$BUDGET" --max-rate "$MAX_RATE" --out "$tmp/cal-${c//\//}.json"
  echo "$t0 $(ticks)" > "$tmp/ep-${c//\//}.ticks"
done

settle
echo; echo "== Vegeta CLI v12.13.0, its defaults, the same steps"
t0=$(ticks)
python3 scripts/vegeta-steps.py "$VEG" "$URL" "$STEP" "$BUDGET" "$MAX_RATE" "$tmp" > "$tmp/veg.json"
echo "$t0 $(ticks)" > "$tmp/ep-cli.ticks"
settle

echo; echo "== side by side (commbench's latency from the intended send time; the CLI's from the actual send)"
python3 - "$tmp" "$(getconf CLK_TCK)" $CLIENTS <<'EOF'
import json, sys
tmp, hz, clients = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
def endpoint_us(name, steps):
    t0, t1 = map(float, open(f"{tmp}/ep-{name}.ticks").read().split())
    return (t1 - t0) / hz * 1e6 / max(sum(s["sent"] for s in steps), 1)
v = json.load(open(f"{tmp}/veg.json"))
def ceil(c):
    return ("≥ " if c["capped"] else "") + f"{c['ceiling_rps']:.0f}"
rows = [
    ("ceiling, rps (≥99% achieved, ≤1% late)", lambda c: c["ceiling_rps"], v["ceiling_rps"], ceil, "≥ 3×", lambda r: r >= 3),
    ("floor p50 at 1,000 rps, ms", lambda c: c["floor_ms"]["p50"], v["floor_p50_ms"], None, "≤ 1.2×", lambda r: r <= 1.2),
    ("floor p99 at 1,000 rps, ms", lambda c: c["floor_ms"]["p99"], v["floor_p99_ms"], None, "", None),
    ("CPU per request at 5,000 rps, µs", lambda c: c["cpu_us_per_request"], v["cpu_us_per_request"], None, "≤ 40 µs", None),
]
cals = {c: json.load(open(f"{tmp}/cal-{c.replace('/', '')}.json")) for c in clients}
head = f"{'measure':34} {'Vegeta CLI':>11}" + "".join(f" {c:>12} {'ratio':>7}" for c in clients) + "  goal"
print(head)
for name, get, cli, fmt, goal, ok in rows:
    line = f"{name:34} {cli:>11.3f}"
    for c in clients:
        val = get(cals[c])
        shown = fmt(cals[c]) if fmt else f"{val:.3f}"
        ratio = val / cli if cli else float("nan")
        mark = "" if ok is None else (" ok" if ok(ratio) else " NO")
        line += f" {shown:>12} {ratio:>6.2f}×"
        if c == clients[0]:
            line += mark
    if name.startswith("CPU"):
        line += f"  {goal} ({'ok' if get(cals[clients[0]]) <= 40 else 'NO'} for {clients[0]})"
    else:
        line += f"  {goal}"
    print(line)
cli_ep = endpoint_us("cli", v["steps"])
line = f"{'null endpoint CPU per request, µs':34} {cli_ep:>11.3f}"
for c in clients:
    ep = endpoint_us(c.replace("/", ""), cals[c]["steps"])
    line += f" {ep:>12.3f} {ep / cli_ep:>6.2f}×"
print(line + "  (all steps; the machine's other share)")
EOF

[ "$ASYNC" = 1 ] || exit 0

echo; echo "== async API at 400 rps beside Kafka's ProducerPerformance and ProducerProbe, one local broker"
jars=$("$BIN" broker fetch 2>&1 | sed -n 's/^broker: Apache Kafka [^ ]* jars in \(.*\) (.*$/\1/p')
[ -d "$jars/libs" ] || { echo "no Kafka jars (commbench broker fetch said nothing usable)" >&2; exit 1; }
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
"$BIN" broker up --kind local --state "$tmp/broker.json" > "$tmp/broker.out"
broker_up=1
BROKERS=$(sed -n 's/^KAFKA_BROKERS=//p' "$tmp/broker.out")
echo "broker $BROKERS"

# The ci profile's services, one stage at 400 rps.
python3 - profiles/ci.yaml > "$tmp/async400.yaml" <<'EOF'
import re, sys
s = open(sys.argv[1]).read()
s = re.sub(r"(?ms)^stages:\n(  - .*?\n)+", "stages:\n  - {for: 20s, rate: 400}\n", s)
print(s.replace("name: ci", "name: async400", 1), end="")
EOF
"$BIN" run --profile "$tmp/async400.yaml" --patterns async --brokers "$BROKERS" --out "$tmp/runs" > "$tmp/run.out" 2>&1 ||
  { tail -20 "$tmp/run.out"; exit 1; }

"$JAVA" -cp "$jars/libs/*" org.apache.kafka.tools.TopicCommand --bootstrap-server "$BROKERS" --create \
  --topic commbench-pp --partitions 8 --replication-factor 1 > /dev/null
"$JAVA" -cp "$jars/libs/*" org.apache.kafka.tools.ProducerPerformance --topic commbench-pp \
  --num-records 10000 --record-size 100 --throughput 500 --print-metrics \
  --producer-props bootstrap.servers="$BROKERS" acks=all linger.ms=0 > "$tmp/pp.out" 2>&1 ||
  { tail -20 "$tmp/pp.out"; exit 1; }

# Kafka's Java producer at commbench's rate, open-loop, in microseconds: the
# reference the goal is decided on (scripts/ProducerProbe.java says what it
# matches of commbench's producer). 5 s of warm-up at 400/s are left out
# (the run above warms up 5 s at 100 rps), then 20 s measured, as the run
# above. The order favours the probe: commbench's run meets the broker
# first, the probe a broker warmed by three loads.
"$JAVA" -cp "$jars/libs/*" org.apache.kafka.tools.TopicCommand --bootstrap-server "$BROKERS" --create \
  --topic commbench-probe --partitions 8 --replication-factor 1 > /dev/null
"$JAVA" -cp "$jars/libs/*" scripts/ProducerProbe.java --bootstrap "$BROKERS" --topic commbench-probe \
  --rate 400 --seconds 20 --warmup 5 --size 100 --acks all > "$tmp/probe.out" 2>&1 ||
  { tail -20 "$tmp/probe.out"; exit 1; }

python3 - "$tmp" <<'EOF'
import glob, json, re, sys
tmp = sys.argv[1]
r = json.load(open(glob.glob(f"{tmp}/runs/*/results.json")[0]))
api = r["patterns"]["async"]["summary"]["api_ms"]
pp = open(f"{tmp}/pp.out").read()
final = [l for l in pp.splitlines() if "records sent" in l and "50th" in l][-1]
m = re.search(r"([\d.]+) ms avg latency.*?(\d+) ms 50th.*?(\d+) ms 99th", final)
avg = re.search(r"producer-metrics:request-latency-avg:\{[^}]*\}\s*:\s*([\d.]+)", pp)
print(f"commbench async API at 400 rps (from the intended send): p50 {api['p50']:.3f} ms, p99 {api['p99']:.3f} ms")
print(f"ProducerPerformance acks=all 100 B 500/s linger.ms=0:       p50 {m.group(2)} ms, p99 {m.group(3)} ms (whole ms), "
      f"avg {m.group(1)} ms; request-latency-avg {avg.group(1) if avg else '?'} ms")
print("  its line:", final)
probe = open(f"{tmp}/probe.out").read()
pl = re.search(r"^probe: n=(\d+) p50_us=(\d+) p90_us=\d+ p99_us=(\d+) .*?late_sends=(\d+)", probe, re.M)
if not pl:
    sys.exit("ProducerProbe printed no result line:\n" + probe[-2000:])
n, p50, p99, late = int(pl.group(1)), int(pl.group(2)) / 1e3, int(pl.group(3)) / 1e3, int(pl.group(4))
print(f"ProducerProbe acks=all 100 B 400/s linger.ms=0 (intended send): p50 {p50:.3f} ms, p99 {p99:.3f} ms "
      f"({n} records, {late} sends over 1 ms late)")
validity = r["patterns"]["async"]["summary"].get("validity", "ok")
if late > 0.01 * n or validity != "ok":
    # A reference or a run the machine slowed decides nothing (docs/calibration.md, Validity).
    print(f"goal: undecided: the probe sent {late} of {n} records over 1 ms late, commbench's async run was {validity!r}; "
          "run again on a quieter machine")
else:
    print(f"goal, on the probe's figures: p50 ≤ probe p50 + 0.5 ms = {p50 + 0.5:.3f} ms "
          f"({'ok' if api['p50'] <= p50 + 0.5 else 'NO'}), p99 ≤ probe p99 = {p99:.3f} ms "
          f"({'ok' if api['p99'] <= p99 else 'NO'})")
print(f"  (whole-ms ProducerPerformance: p50 ≤ {float(m.group(2)) + 0.5:g} ms "
      f"{'ok' if api['p50'] <= float(m.group(2)) + 0.5 else 'NO'}, p99 ≤ {m.group(3)} ms "
      f"{'ok' if api['p99'] <= float(m.group(3)) else 'NO'}; coarse, not the decision)")
EOF
