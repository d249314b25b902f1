#!/usr/bin/env python3
"""Drive the Vegeta CLI through commbench calibrate --ramp's schedule; print JSON.

    vegeta-ramp.py VEGETA URL MAX_RATE DURATION_S ENDPOINT_DELAY_MS TMPDIR > veg.json

The Vegeta CLI (v12.13.0) has only constant rates, so the ramp 0 -> MAX_RATE
over DURATION_S is one `vegeta attack -rate R -duration 1s` per second, R
the ramp's mean rate in that second ((i - 0.5) / DURATION_S * MAX_RATE):
the same hits per second as commbench's linear ramp. Each attack has the
CLI's defaults and a 100-byte reaction. Its CPU is the attack process's own
(user + system, from getrusage of the waited child); cpu_cores is that over
the attack's wall time (which includes the process's start and waiting for
the last answers, so the CLI is not charged for the gaps between steps).
Late sends and send lag are read from its results after all steps (not
between them): hit seq n was due at (first hit's timestamp) + n/rate, so
lag = timestamp - due, the first hit counting as on time. The CLI reports
no workers or connections: they are 0. The output has commbench's ramp
schema (results.Ramp), so commbench calibrate --ramp --beside draws it.
"""
import csv
import io
import json
import resource
import subprocess
import sys
import time
from datetime import datetime, timezone

BODY = b'{"id":1,"user":"u1","post":"p1","author":"a1","kind":"like","sent_at":1767225600000000000}'


def child_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def quantile(sorted_vals, q):
    if not sorted_vals:
        return 0.0
    i = min(len(sorted_vals) - 1, max(0, int(q * len(sorted_vals) + 0.5) - 1))
    return sorted_vals[i]


def lags(veg, out, rate):
    """Send lag of every hit, ms, from vegeta's CSV: timestamp (unix ns) is
    column 0, seq column 8."""
    enc = subprocess.run([veg, "encode", "--to", "csv", out], check=True, capture_output=True, timeout=300).stdout
    rows = sorted((int(r[8]), int(r[0])) for r in csv.reader(io.StringIO(enc.decode())) if len(r) > 8)
    if not rows:
        return []
    t0 = rows[0][1] - rows[0][0] * 1e9 / rate
    return sorted(max(0.0, (ts - (t0 + seq * 1e9 / rate)) / 1e6) for seq, ts in rows)


def main():
    veg, url, max_rate, dur, delay_ms, tmp = sys.argv[1:7]
    max_rate, dur, delay_ms = float(max_rate), int(float(dur)), float(delay_ms)
    with open(f"{tmp}/body.json", "wb") as f:
        f.write(BODY)
    at = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    runs = []
    began = time.monotonic()
    for i in range(1, dur + 1):
        rate = max(1.0, (i - 0.5) / dur * max_rate)
        out = f"{tmp}/vr-{i}.bin"
        cpu0, w0 = child_cpu(), time.monotonic()
        subprocess.run(
            [veg, "attack", "-rate", f"{rate:.0f}", "-duration", "1s", "-body", f"{tmp}/body.json",
             "-header", "Content-Type: application/json", "-output", out],
            input=f"POST {url}/v1/reactions\n".encode(), check=True, timeout=60)
        runs.append((i, round(rate), out, child_cpu() - cpu0, time.monotonic() - w0))
    print(f"vegeta ramp: {dur} attacks in {time.monotonic() - began:.1f} s", file=sys.stderr)
    seconds = []
    for i, rate, out, cpu, wall in runs:
        rep = json.loads(subprocess.run([veg, "report", "-type=json", out], check=True,
                                        capture_output=True, timeout=120).stdout)
        lg = lags(veg, out, rate)
        s = {
            "t": float(i),
            "offered_rps": float(rate),
            "sent_rps": float(rep["requests"]),
            "achieved_rps": rep["requests"] * rep["success"],
            "late_sends": sum(1 for x in lg if x > 1.0),
            "send_lag_p50_ms": quantile(lg, 0.50),
            "send_lag_p99_ms": quantile(lg, 0.99),
            "send_lag_max_ms": lg[-1] if lg else 0.0,
            "cpu_cores": cpu / wall,
            "cpu_s": cpu,
            "workers": 0,
            "conns": 0,
        }
        seconds.append(s)
        print(f"t {i:3d}: rate {rate:6d}, achieved {s['achieved_rps']:7.0f}, late {s['late_sends']:6d}, "
              f"lag p99 {s['send_lag_p99_ms']:.3f} max {s['send_lag_max_ms']:.3f} ms, {s['cpu_cores']:.2f} cores",
              file=sys.stderr)
    slack = max_rate / dur * delay_ms / 1000 + 1
    held = 0.0
    for s in seconds:
        if s["late_sends"] > 0.01 * max(s["sent_rps"], 1) or s["achieved_rps"] < 0.99 * s["offered_rps"] - slack:
            break
        held = s["offered_rps"]
    top = [s for s in seconds if s["offered_rps"] >= 0.9 * max_rate * (1 - 1e-3)]
    cpu_us = sum(s["cpu_s"] for s in top) * 1e6 / max(sum(s["sent_rps"] for s in top), 1)
    json.dump({
        "tool": "vegeta CLI v12.13.0",
        "max_rate": max_rate,
        "duration_s": float(dur),
        "endpoint_delay_ms": delay_ms,
        "at": at,
        "ramp": seconds,
        "held_rps": held,
        "cpu_us_per_request_at_max": cpu_us,
    }, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
