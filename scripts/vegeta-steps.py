#!/usr/bin/env python3
"""Drive the Vegeta CLI through commbench calibrate's steps; print JSON.

    vegeta-steps.py VEGETA URL STEP BUDGET MAX_RATE TMPDIR > veg.json

The steps are calibrate's (harness/calibrate.go): the floor at 1,000 rps,
the CPU per request at 5,000 rps, then the rate doubled from 1,000 until a
rate fails (below 99% achieved, or over 1% late: below) or MAX_RATE passes,
then bisected to 5% of the
ceiling in round hundreds, no step starting that would end after BUDGET.
Each step is one `vegeta attack` with its defaults and a 100-byte reaction;
its CPU is the attack process's own (user + system, from getrusage of the
waited child), per request sent. A step passes as in calibrate: at least
99% of the rate achieved AND at most 1% of the sends more than 1 ms late.
The CLI does not record lateness; it is read from its results: hit seq n
was due at (first hit's timestamp) + n/rate (vegeta's constant pacer), so
late = timestamp - due; the first hit counts as on time, which can only
under-count. Rows go to stderr as they come.
"""
import csv
import io
import json
import resource
import subprocess
import sys
import time

BODY = b'{"id":1,"user":"u1","post":"p1","author":"a1","kind":"like","sent_at":1767225600000000000}'


def seconds(d):
    return float(d[:-2]) / 1000 if d.endswith("ms") else float(d.rstrip("s"))


def child_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def step(veg, url, rate, dur, tmp):
    out = f"{tmp}/veg-{rate:.0f}.bin"
    with open(f"{tmp}/body.json", "wb") as f:
        f.write(BODY)
    cpu0 = child_cpu()
    subprocess.run(
        [veg, "attack", "-rate", f"{rate:.0f}", "-duration", dur, "-body", f"{tmp}/body.json",
         "-header", "Content-Type: application/json", "-output", out],
        input=f"POST {url}/v1/reactions\n".encode(), check=True, timeout=seconds(dur) + 60)
    cpu = child_cpu() - cpu0
    rep = json.loads(subprocess.run([veg, "report", "-type=json", out], check=True,
                                    capture_output=True, timeout=120).stdout)
    achieved = rep["requests"] * rep["success"] / seconds(dur)
    late = late_sends(veg, out, rate)
    s = {
        "rate_rps": rate,
        "achieved_rps": achieved,
        "sent": rep["requests"],
        "p50_ms": rep["latencies"]["50th"] / 1e6,
        "p99_ms": rep["latencies"]["99th"] / 1e6,
        "cpu_us_per_request": cpu * 1e6 / max(rep["requests"], 1),
        "late": late,
        "pass": achieved >= 0.99 * rate and late <= 0.01 * max(rep["requests"], 1),
    }
    verdict = "ok" if s["pass"] else "below 99%" if achieved < 0.99 * rate else "late > 1%"
    print(f"rate {rate:6.0f}: achieved {achieved:7.0f}/s, late {late:7d}, p50 {s['p50_ms']:.3f} ms, p99 {s['p99_ms']:.3f} ms, "
          f"cpu {s['cpu_us_per_request']:.1f} µs/req, {verdict}", file=sys.stderr)
    time.sleep(0.25)
    return s


def late_sends(veg, out, rate):
    """Hits sent more than 1 ms after their due time, from vegeta's CSV:
    timestamp (unix ns) is column 0, seq column 8."""
    enc = subprocess.run([veg, "encode", "--to", "csv", out], check=True, capture_output=True, timeout=300).stdout
    rows = [(int(r[8]), int(r[0])) for r in csv.reader(io.StringIO(enc.decode())) if len(r) > 8]
    if not rows:
        return 0
    rows.sort()
    t0 = rows[0][1] - rows[0][0] * 1e9 / rate
    return sum(1 for seq, ts in rows if ts - (t0 + seq * 1e9 / rate) > 1e6)


def main():
    veg, url, dur, budget, max_rate, tmp = sys.argv[1:7]
    d, budget, max_rate = seconds(dur), seconds(budget), float(max_rate)
    began = time.monotonic()

    def fits():
        return time.monotonic() - began + d + 0.25 <= budget

    steps = []
    floor = step(veg, url, 1000, dur, tmp)
    cpu = step(veg, url, min(5000, max_rate), dur, tmp)
    steps += [floor, cpu]
    ok, fail = (1000.0, 0.0) if floor["pass"] else (0.0, 1000.0)
    rate = min(2 * ok, max_rate)
    while ok and ok < max_rate and fits():
        s = step(veg, url, rate, dur, tmp)
        steps.append(s)
        if not s["pass"]:
            fail = rate
            break
        ok, rate = rate, min(2 * rate, max_rate)
    while fail and fail - ok > 0.05 * max(ok, 1000) and fits():
        rate = float(int((ok + fail) / 2 / 100) * 100)
        if rate <= ok:
            break
        s = step(veg, url, rate, dur, tmp)
        steps.append(s)
        ok, fail = (rate, fail) if s["pass"] else (ok, rate)
    json.dump({
        "ceiling_rps": ok,
        "capped": ok >= max_rate,
        "floor_p50_ms": floor["p50_ms"],
        "floor_p99_ms": floor["p99_ms"],
        "cpu_rate_rps": cpu["rate_rps"],
        "cpu_us_per_request": cpu["cpu_us_per_request"],
        "steps": steps,
    }, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
