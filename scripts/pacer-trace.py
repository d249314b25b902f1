#!/usr/bin/env python3
"""What the pacer waited for, out of a Go execution trace.

    go tool trace -d=parsed reports/latest/trace.out | scripts/pacer-trace.py

(record one with `commbench run --trace` or `commbench calibrate --ramp
--trace FILE`). It finds the pacer's goroutine (the one that leaves the
running state in loadgen.pace), counts each way it stopped running (a
system call, a preemption by the runtime, a voluntary yield, a wait) and
how long it then waited to run again: p50, p99, max, and how many waits
were over 1 ms, the generator's tolerance for a late send.
"""
import collections
import re
import sys

EV = re.compile(r'^M=(-?\d+) P=(-?\d+) G=(-?\d+) StateTransition Time=(\d+) '
                r'GoID=(\d+) (\w+)->(\w+) Reason="([^"]*)"')


def events(lines):
    """(time ns, goroutine, from, to, reason, first frames) per transition."""
    cur = None
    for line in lines:
        m = EV.match(line)
        if m:
            if cur:
                yield cur
            cur = (int(m[4]), int(m[5]), m[6], m[7], m[8], [])
        elif line.startswith('M='):
            if cur:
                yield cur
            cur = None
        elif cur and line.startswith('\t') and not line.startswith('\t\t'):
            cur[5].append(line.strip())
    if cur:
        yield cur


def main():
    evs = list(events(sys.stdin))
    pacer = next((g for _, g, a, _, _, st in evs
                  if a == 'Running' and st and 'loadgen.pace' in st[0]), None)
    if pacer is None:
        sys.exit('pacer-trace: no pacer goroutine (none left running in loadgen.pace)')
    left, waits = collections.Counter(), collections.defaultdict(list)
    out = why = None
    t0 = t1 = None
    for t, g, a, b, r, st in evs:
        if g != pacer:
            continue
        t0, t1 = t0 or t, t
        if a == 'Running' and b != 'Running':
            out, why = t, (b, r, (st[0].split(' @')[0] if st else ''))
            left[why] += 1
        elif b == 'Running' and out is not None:
            waits[why].append((t - out) / 1e6)
            out = None
    print(f'pacer goroutine {pacer}, {(t1 - t0) / 1e9:.1f} s traced')
    print(f'{"times":>7} {"left running as":<28} {"at":<44} {"wait p50":>9} {"p99":>7} {"max":>7} {">1ms":>5}')
    for why, n in left.most_common():
        w = sorted(waits[why])
        if not w:
            continue
        state = why[0] + (f' ({why[1]})' if why[1] else '')
        print(f'{n:7d} {state:<28} {why[2][-44:]:<44} {w[len(w) // 2]:9.3f} '
              f'{w[min(len(w) - 1, int(len(w) * .99))]:7.3f} {w[-1]:7.3f} {sum(x > 1 for x in w):5d}')


if __name__ == '__main__':
    main()
