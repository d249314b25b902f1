#!/usr/bin/env python3
"""The generator's send lag against the wire's, due second by due second.

usage: wire_compare.py PCAP SENT_TXT STAGES

PCAP: tcpdump of the first data packet of each request (scripts/wire-check.sh);
SENT_TXT: 'id sent_at_ns' per request, as the endpoint read it from the body
(scripts/wirecheck -serve); STAGES: the schedule, for:from:to,... (seconds or Go
durations such as 10s). The k-th request (id k+1) is due when the rate's integral
reaches k+1, as loadgen.StagePacer.Due says; the k-th packet on the wire is the
k-th write (the pacer writes in order). Each side's start is aligned on its
earliest send, the same way, so neither is favoured. Late = more than 1 ms after due.
Prints both per second and whether they agree: late counts within 10% or 5 sends,
worst lag within 1 ms."""
import math, struct, sys

def caps(path):
    with open(path, 'rb') as f:
        g = f.read(24)
        ns = struct.unpack('<I', g[:4])[0] == 0xa1b23c4d
        out = []
        while True:
            h = f.read(16)
            if len(h) < 16:
                break
            s, frac, il, _ = struct.unpack('<IIII', h)
            f.read(il)
            out.append(s + frac * (1e-9 if ns else 1e-6))
    return out

def dur(s):
    s = s.strip()
    for suf, m in (('ms', 1e-3), ('s', 1.0), ('m', 60.0)):
        if s.endswith(suf) and s[:-len(suf)].replace('.', '', 1).isdigit():
            return float(s[:-len(suf)]) * m
    return float(s)

def due_times(stages, n):
    out = []; t0 = 0.0; acc = 0.0; k = 0
    for d, a, c in stages:
        b = (c - a) / d
        H = a * d + b * d * d / 2
        while k < n and k + 1 <= acc + H + 1e-9:
            x = k + 1 - acc
            s = 2 * x / (a + math.sqrt(max(0.0, a * a + 2 * b * x))) if (a > 0 or b > 0) else 0
            out.append(t0 + min(max(s, 0), d)); k += 1
        acc += H; t0 += d
    return out

def per_second(due, sent):
    off = min(s - d for s, d in zip(sent, due))
    sec = {}
    for d, s in zip(due, sent):
        sec.setdefault(int(d), []).append(s - d - off)
    return sec

def main():
    pcap, sent_txt, spec = sys.argv[1:4]
    stages = [tuple([dur(p.split(':')[0]), float(p.split(':')[1]), float(p.split(':')[2])]) for p in spec.split(',')]
    wire = sorted(caps(pcap))
    gen = {}
    for line in open(sent_txt):
        i, t = line.split()
        gen[int(i)] = int(t) / 1e9
    n = len(gen)
    ids = sorted(gen)
    if ids != list(range(1, n + 1)):
        sys.exit('sent ids are not 1..%d' % n)
    if len(wire) != n:
        sys.exit('the capture has %d request packets for %d requests: filter or capture lost some' % (len(wire), n))
    due = due_times(stages, n)
    g = per_second(due, [gen[i] for i in ids])
    w = per_second(due, wire)
    print('due s | generator late>1ms  worst ms | wire late>1ms  worst ms | agree')
    bad = 0; gl = wl = 0; gw = ww = 0.0
    for s in sorted(w):
        G, W = g[s], w[s]
        lg, lw = sum(x > 1e-3 for x in G), sum(x > 1e-3 for x in W)
        mg, mw = max(G) * 1e3, max(W) * 1e3
        gl += lg; wl += lw; gw = max(gw, mg); ww = max(ww, mw)
        ok = abs(lg - lw) <= max(5, 0.1 * lw) and abs(mg - mw) <= 1.0
        bad += not ok
        if lg or lw or not ok:
            print('%5d | %18d  %8.2f | %13d  %8.2f | %s' % (s, lg, mg, lw, mw, 'yes' if ok else 'NO'))
    print('all   | %18d  %8.2f | %13d  %8.2f | %d of %d seconds disagree' % (gl, gw, wl, ww, bad, len(w)))
    sys.exit(1 if bad else 0)

main()
