#!/usr/bin/env bash
# bench.sh — the front door to commbench. Run ./bench.sh help.
set -euo pipefail

cd "$(dirname "$0")"
ROOT=$(pwd)
BIN="$ROOT/bin/commbench"

die() { echo "bench.sh: $*" >&2; exit 2; }
say() { echo "bench.sh: $*" >&2; }

usage() {
  cat <<'USAGE'
usage: ./bench.sh <verb> [args]

  <profile>   run a benchmark with profiles/<profile>.yaml, e.g. ./bench.sh surge
              (extra args go to 'commbench run', e.g. --patterns sync,async;
              --compose first: Kafka from docker-compose.bench.yml); it runs with
              --calibrate auto: the harness calibration is reused when fresh (this
              build, this machine, under a day old), else a short one runs first (≤ 30 s)
  test        install what is missing, then run every test (what CI runs): vet, gofmt,
              the tests, the race detector over the services, the load generator
              and the harness (-short), and every fuzz target for FUZZ_SECONDS each
              (default 3; 0: the seeds only)
  fuzz [time] run every fuzz target for time each (default 1m, e.g. 30s, 10m);
              a failing input is written to the package's testdata/fuzz/: commit it
  setup       install what is missing (Go modules, Java and Maven, Kafka jars, the interop
              tests' clients: kcat, confluent-kafka into .cache/python), idempotently
  build       build bin/commbench
  gate        the regression gate: build the merge base with the default branch,
              run the ci profile with it and with this tree interleaved on one Kafka,
              and compare (commbench gate --against); with a committed
              reports/baseline.json, compare one ci run with it instead. Exit 0 pass,
              1 regression, 2 usage, 3 inconclusive. Extra args go to 'commbench
              gate', e.g. --repeats 3, --against REF, --self-test
  baseline    run the ci profile and save its results as reports/baseline.json
              (extra args go to 'commbench run', e.g. --broker local)
  claims      run the claims profiles one after another: claims-surge, claims-outage,
              claims-scale and claims-chain (those that exist), then every claim's
              verdict across them ('commbench claims'); each report's Claims
              section says why (extra args go to every 'commbench run')
  campaign    the fault campaign with its ledger check, REPS times (default 5): async and
              hybrid through a provider outage, a black-holed link, a notification kill,
              restart and pause, and a broker kill; fails when an accepted reaction is
              neither delivered nor dead-lettered (./bench.sh test runs it once, shortened)
  capacity    each pattern's capacity under an SLO (commbench capacity --calibrate auto):
              surge's services, default SLO api p99 100 ms, drops 0.1%, notify p99 5 s,
              lag not growing; extra args go to 'commbench capacity', e.g.
              --patterns sync,async --slo api_p99=150ms --scale 1,2,4 --peak 5000 --for 60s
  help        this text

Profiles: PROFILES
USAGE
}

profiles() { (cd profiles && ls *.yaml 2>/dev/null | sed 's/\.yaml$//' | tr '\n' ' '); }

# apt_install installs Debian packages (as root), updating the package
# lists once per bench.sh run.
APT_UPDATED=
apt_install() {
  [ "$(id -u)" = 0 ] || die "missing: the Debian package(s) $*; install them (needs root) and run again"
  say "installing $*"
  if [ -z "$APT_UPDATED" ]; then apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# need_apt installs the Debian packages when command is missing.
need_apt() { # need_apt <command> <package...>
  local cmd=$1; shift
  command -v "$cmd" >/dev/null 2>&1 || apt_install "$@"
}

java_major() {
  java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1
}

setup() {
  command -v go >/dev/null 2>&1 || die "Go is missing: install Go 1.26 (https://go.dev/dl) and run again"
  go mod download
  # Real Kafka needs Java 17+ and Maven to fetch its jars from Maven Central.
  if ! command -v java >/dev/null 2>&1 || [ "$(java_major)" -lt 17 ]; then
    apt_install openjdk-17-jre-headless
  fi
  need_apt mvn maven
  # The race detector (go test -race, in ./bench.sh test) needs cgo, so a C
  # compiler.
  need_apt gcc gcc libc6-dev
  # The report's browser test (go test ./reports) draws it in headless Chromium.
  need_apt chromium chromium
  # The interop tests (broker/interop) read the secured Kafka with clients
  # commbench does not ship: Kafka's Java tools (the cached jars), Debian's
  # kcat, and librdkafka >= 2.6.1 from the confluent-kafka wheel.
  need_apt kcat kcat
  python_libs
  # Scale-out puts the notification replicas behind nginx, which the run
  # starts itself (Debian's package: nginx-light is only a transitional
  # name for it since bookworm). /usr/sbin is not on every user's PATH.
  if [ ! -x /usr/sbin/nginx ]; then
    need_apt nginx nginx
    # The package may start its default server on port 80; commbench starts
    # its own nginx per run on loopback, so stop that one.
    /usr/sbin/nginx -s quit >/dev/null 2>&1 || true
  fi
  # The Kubernetes overlays' test builds them with kustomize v4+: kubectl
  # 1.21+ carries it; otherwise build kustomize itself into bin/ (once).
  if ! kubectl_kustomize_ok && [ ! -x "$ROOT/bin/kustomize" ]; then
    say "installing kustomize v5.5.0 into bin/ (for the Kubernetes overlays' test)"
    GOBIN="$ROOT/bin" go install sigs.k8s.io/kustomize/kustomize/v5@v5.5.0
  fi
  build
  # Resolve the Kafka jars into the cache now, so that the first test or run
  # does not pay for it (a no-op when the cache is complete).
  "$BIN" broker fetch
}

# python_libs installs the confluent-kafka wheel (it carries librdkafka)
# with pip into .cache/python (git-ignored; COMMBENCH_PYTHONPATH for the
# tests), once per pinned version and Python: a re-run installs nothing.
CONFLUENT_KAFKA=2.16.1
PYLIBS="$ROOT/.cache/python"
python_libs() {
  need_apt python3 python3
  local want
  want="confluent-kafka==$CONFLUENT_KAFKA $(python3 --version 2>&1)"
  [ "$(cat "$PYLIBS/.installed" 2>/dev/null)" = "$want" ] && return 0
  python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
  say "installing confluent-kafka $CONFLUENT_KAFKA into .cache/python (librdkafka for the interop tests)"
  rm -rf "$PYLIBS"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    --target "$PYLIBS" "confluent-kafka==$CONFLUENT_KAFKA"
  echo "$want" >"$PYLIBS/.installed"
}

# kubectl_kustomize_ok: kubectl is installed and carries kustomize v4 or later.
kubectl_kustomize_ok() {
  command -v kubectl >/dev/null 2>&1 || return 1
  local v
  v=$(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\([0-9]*\).*/\1/p')
  [ -n "$v" ] && [ "$v" -ge 4 ]
}

build() {
  mkdir -p "$ROOT/bin"
  go build -o "$BIN" ./cmd/commbench
}

run_tests() {
  setup
  say "go vet"
  go vet ./...
  local unformatted
  unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
  [ -z "$unformatted" ] || die "gofmt would change: $unformatted"
  say "go test (real Kafka, embedded kfake, loopback services)"
  # -p 1: one package at a time. Several packages start a real Kafka and
  # drive real load; run side by side on a small machine they would stall
  # each other and measure the contention instead of the code.
  # COMMBENCH_INTEROP=require: a client the interop tests need and setup
  # did not install fails them instead of skipping them.
  COMMBENCH_BIN="$BIN" COMMBENCH_INTEROP=require COMMBENCH_PYTHONPATH="$PYLIBS" \
    go test -p 1 -count=1 -timeout 30m ./...
  run_race
  # go test above ran every fuzz target's seeds; this fuzzes each a little
  # (FUZZ_SECONDS=0: not at all).
  if [ "${FUZZ_SECONDS:-3}" != 0 ]; then
    [[ ${FUZZ_SECONDS:-3} =~ ^[0-9]+$ ]] || die "FUZZ_SECONDS '$FUZZ_SECONDS': want whole seconds, e.g. 3"
    run_fuzz "${FUZZ_SECONDS:-3}s"
  fi
}

# RACE_PACKAGES are the packages the race detector runs over: the services
# (unit and in-process loopback tests), the load generator, and the
# harness without real Kafka (-short: its runs on embedded Kafka and
# loopback, merge, faults; the real-Kafka runs are skipped). The services
# the harness starts run from a -race build too, and write any race they
# see to a file (GORACE log_path) that is checked after: a service's
# stderr goes to a run folder's log, which no test reads.
RACE_PACKAGES="./targets/... ./loadgen/... ./harness/..."
run_race() {
  # -race needs cgo, whatever CGO_ENABLED the caller has, and so a C compiler.
  command -v "$(go env CC)" >/dev/null 2>&1 ||
    die "go test -race needs cgo and its C compiler, $(go env CC): ./bench.sh setup installs gcc"
  local logs rc=0
  logs=$(mktemp -d)
  say "go test -race -short: $RACE_PACKAGES (services from a -race build)"
  CGO_ENABLED=1 go build -race -o "$ROOT/bin/commbench-race" ./cmd/commbench
  # -p 1 as above: the harness's runs measure, and must not share the CPU
  # with another package's.
  CGO_ENABLED=1 GORACE="log_path=$logs/race" COMMBENCH_BIN="$ROOT/bin/commbench-race" \
    go test -race -short -p 1 -count=1 -timeout 20m $RACE_PACKAGES || rc=$?
  if compgen -G "$logs/race.*" >/dev/null; then
    cat "$logs"/race.* >&2
    rm -rf "$logs"
    die "the race detector found data races (above; race.<pid> per process)"
  fi
  rm -rf "$logs"
  [ "$rc" -eq 0 ] || die "go test -race failed (exit $rc)"
}

# fuzz_targets lists every fuzz target as "<package folder> <FuzzName>".
fuzz_targets() {
  grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . |
    sed 's#^\./\(.*\)/[^/]*:func \(.*\)#\1 \2#' | sort -u
}

# fuzz_one fuzzes one target. Go 1.26's fuzz coordinator can end a run
# that found nothing with "context deadline exceeded" when -fuzztime
# runs out while a worker is busy (go.dev/issue/75804, fixed in 1.27):
# such a run wrote no input, and it is run once more; a second such end,
# or any failure that wrote an input, fails.
fuzz_one() { # fuzz_one <package folder> <FuzzName> <duration>
  local pkg=$1 name=$2 dur=$3 out try before
  for try in 1 2; do
    out=$(mktemp)
    before=$(find "$pkg/testdata/fuzz/$name" -type f 2>/dev/null | wc -l || true)
    # A new input is minimized for at most 20 runs: minimizing a
    # results.json for the default 60 s would take the whole budget.
    if go test -short -run='^$' -fuzz="^$name\$" -fuzztime="$dur" -fuzzminimizetime=20x "./$pkg" 2>&1 | tee "$out"; then
      rm -f "$out"
      return 0
    fi
    if [ "$try" = 1 ] && grep -q '^    context deadline exceeded$' "$out" &&
      [ "$(find "$pkg/testdata/fuzz/$name" -type f 2>/dev/null | wc -l)" = "$before" ]; then
      say "fuzz $pkg $name: ended by go.dev/issue/75804 with no failing input; once more"
      rm -f "$out"
      continue
    fi
    rm -f "$out"
    return 1
  done
  return 1
}

# run_fuzz runs every fuzz target for the given time (go test's -fuzztime),
# one after the other: go test fuzzes one target at a time.
run_fuzz() { # run_fuzz <duration>
  local dur=$1 pkg name n=0 failed=()
  while read -r pkg name; do
    n=$((n + 1))
    say "fuzz $pkg $name for $dur"
    fuzz_one "$pkg" "$name" "$dur" || failed+=("$pkg $name")
  done < <(fuzz_targets)
  [ "$n" -gt 0 ] || die "no fuzz target found"
  [ ${#failed[@]} -eq 0 ] || die "fuzzing failed: ${failed[*]} (the failing input is in the package's testdata/fuzz/; fix the parser, and commit the input as a regression seed)"
  say "fuzz: $n targets, $dur each, no failure"
}

# run_claims runs every claims profile there is, one after another, and
# says which ran, where their reports are, and which failed or are missing.
CLAIMS_PROFILES="claims-surge claims-outage claims-scale claims-chain"
run_claims() {
  build
  local name rc=0 ran=() failed=() missing=() dirs=()
  for name in $CLAIMS_PROFILES; do
    if [ ! -f "profiles/$name.yaml" ]; then
      missing+=("$name"); continue
    fi
    say "claims: running $name"
    if "$BIN" run --calibrate auto --profile "profiles/$name.yaml" "$@"; then
      local latest
      latest=$(readlink reports/latest 2>/dev/null || true)
      ran+=("$name${latest:+: $ROOT/reports/$latest/index.html}")
      [ -z "$latest" ] || dirs+=("reports/$latest")
    else
      rc=$?
      failed+=("$name (exit $rc)")
    fi
  done
  local line
  for line in "${ran[@]}"; do say "claims: ran $line"; done
  for line in "${failed[@]}"; do say "claims: FAILED $line"; done
  [ ${#missing[@]} -eq 0 ] || say "claims: not run (no profile yet): ${missing[*]}"
  if [ ${#dirs[@]} -gt 0 ]; then
    say "claims: every claim, across these runs"
    "$BIN" claims "${dirs[@]}"
  fi
  [ ${#failed[@]} -eq 0 ] || exit 1
  [ ${#ran[@]} -gt 0 ] || die "no claims profile found in profiles/"
}

# run_gate builds this tree and calls commbench gate, which picks the mode:
# with a committed reports/baseline.json (and no --against), a ci run
# compared with it; otherwise this tree against the merge base with the
# default branch, side by side. Exit 0 pass, 1 regression, 2 usage, 3
# inconclusive (the head does not build, a run failed, a pattern was not
# valid).
run_gate() {
  build || { say "inconclusive: the head does not build (see above); nothing was compared"; exit 3; }
  exec "$BIN" gate "$@"
}

verb=${1:-help}
shift || true
case "$verb" in
  help|-h|--help) usage | sed "s/PROFILES/$(profiles)/" ;;
  test) run_tests ;;
  fuzz)
    [ $# -le 1 ] || die "fuzz takes one duration, e.g. ./bench.sh fuzz 5m"
    dur=${1:-1m}
    [[ $dur =~ ^[0-9]+(s|m|h)$ ]] || die "fuzz: duration '$dur': want a number and s, m or h, e.g. 30s or 10m"
    command -v go >/dev/null 2>&1 || die "Go is missing: install Go 1.26 (https://go.dev/dl) and run again"
    go mod download
    run_fuzz "$dur"
    ;;
  claims) run_claims "$@" ;;
  capacity)
    build
    "$BIN" capacity --calibrate auto "$@" ;;
  campaign)
    setup
    COMMBENCH_BIN="$BIN" COMMBENCH_CAMPAIGN_REPS="${REPS:-5}" \
      go test -count=1 -timeout 60m -run '^TestFaultCampaign$' -v ./harness ;;
  setup) setup ;;
  build) build ;;
  gate) run_gate "$@" ;;
  baseline)
    build
    "$BIN" run --profile ci "$@"
    cp reports/latest/results.json reports/baseline.json
    say "wrote reports/baseline.json from $(readlink reports/latest); commit it (git add reports/baseline.json) so that ./bench.sh gate and CI compare with it"
    ;;
  *)
    [ -f "profiles/$verb.yaml" ] || { usage | sed "s/PROFILES/$(profiles)/" >&2; die "unknown verb or profile '$verb'"; }
    build
    rc=0
    if [ "${1:-}" = --compose ]; then
      # Kafka from docker-compose.bench.yml instead of the local jars.
      shift
      command -v docker >/dev/null 2>&1 || die "--compose needs Docker with the compose plugin"
      docker compose -f docker-compose.bench.yml up -d --wait kafka
      trap 'docker compose -f docker-compose.bench.yml down -v' EXIT
      KAFKA_BROKERS=localhost:9092 "$BIN" run --calibrate auto --broker external --profile "profiles/$verb.yaml" "$@" || rc=$?
    else
      "$BIN" run --calibrate auto --profile "profiles/$verb.yaml" "$@" || rc=$?
    fi
    page="$ROOT/reports/latest/index.html"
    if [ -f "$page" ]; then
      say "report: $page"
      # Open it where a desktop is there to show it.
      if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && command -v xdg-open >/dev/null 2>&1; then
        xdg-open "$page" >/dev/null 2>&1 || true
      elif [ "$(uname)" = Darwin ]; then
        open "$page" || true
      fi
    fi
    exit "$rc"
    ;;
esac
