#!/usr/bin/env python3
"""A/B of two Osprey query servers on one store and one data set (issue #6): the same request goes to both,
one after the other, alternating which goes first, over one keep-alive HTTP/1.1 connection per server, so
the machine's noise falls on both alike. Each round times --requests requests per query on each side and
prints p50 / p99 / max (ms) of each side and the ratio B/A; answers must be 200 and byte-identical (a
difference is counted and reported, since a faster wrong answer is not a result). With --a-pid/--b-pid it also
prints each server's CPU time per request (user + system, from /proc), which the machine's load disturbs far
less than latency.

  ab.py --a PORT --b PORT --traces N [--project bench-query] [--rounds 3] [--requests 200] [--warmup 20]
        [--only trace_list,trace_spans,spans_kind] [--seed 1] [--a-pid PID --b-pid PID]

Trace ids are those osprey-query-populate writes (measure.py's trace_id_hex). Prints one JSON object last.
"""
import argparse
import http.client
import json
import os
import random
import sys
import time
import urllib.parse

from measure import percentile, trace_id_hex


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", type=int, required=True, help="port of server A (the baseline)")
    ap.add_argument("--b", type=int, required=True, help="port of server B (the change)")
    ap.add_argument("--project", default="bench-query")
    ap.add_argument("--traces", type=int, required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--only", default="trace_list,trace_spans,spans_kind")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--a-pid", type=int, default=0)
    ap.add_argument("--b-pid", type=int, default=0)
    args = ap.parse_args()
    pids = {"A": args.a_pid, "B": args.b_pid}
    ticks = os.sysconf("SC_CLK_TCK")

    def cpu_ms(side):
        """User + system CPU of a server process so far, in ms (0 without a pid)."""
        if not pids[side]:
            return 0.0
        with open(f"/proc/{pids[side]}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / ticks
    rng = random.Random(args.seed)
    p = urllib.parse.quote(args.project)
    queries = {
        "trace_list": lambda: f"/v1/projects/{p}/traces?limit=50",
        "trace_spans": lambda: f"/v1/projects/{p}/spans?trace_id={trace_id_hex(rng.randrange(args.traces))}&limit=100",
        "spans_kind": lambda: f"/v1/projects/{p}/spans?span_kind=LLM&limit=100",
        "spans_attribute": lambda: f"/v1/projects/{p}/spans?attribute=llm.model_name:gpt-4o&limit=100",
    }
    conns = {side: http.client.HTTPConnection("127.0.0.1", port, timeout=60)
             for side, port in (("A", args.a), ("B", args.b))}

    def get(side, path):
        t0 = time.perf_counter()
        conns[side].request("GET", path, headers={"accept": "application/json"})
        response = conns[side].getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - t0) * 1000
        if response.status != 200:
            raise SystemExit(f"ab: {side} {path} -> {response.status}: {body[:300]!r}")
        return elapsed, body

    results = {}
    for name in [q for q in args.only.split(",") if q]:
        make = queries[name]
        for _ in range(args.warmup):
            path = make()
            get("A", path)
            get("B", path)
        rounds = []
        for r in range(args.rounds):
            samples = {"A": [], "B": []}
            differ = 0
            cpu_before = {side: cpu_ms(side) for side in samples}
            for i in range(args.requests):
                path = make()
                order = ("A", "B") if (i + r) % 2 == 0 else ("B", "A")
                bodies = {}
                for side in order:
                    elapsed, bodies[side] = get(side, path)
                    samples[side].append(elapsed)
                differ += bodies["A"] != bodies["B"]
            stats = {}
            for side in ("A", "B"):
                stats[f"{side}_cpu_ms"] = round((cpu_ms(side) - cpu_before[side]) / args.requests, 3)
                s = sorted(samples[side])
                stats[side] = {"p50": round(percentile(s, 0.5), 2), "p99": round(percentile(s, 0.99), 2),
                               "max": round(s[-1], 2)}
            stats["p50_ratio"] = round(stats["B"]["p50"] / stats["A"]["p50"], 2)
            stats["p99_ratio"] = round(stats["B"]["p99"] / stats["A"]["p99"], 2)
            stats["differ"] = differ
            rounds.append(stats)
            print(f"[ab] {name} round {r + 1}: A {stats['A']['p50']} / {stats['A']['p99']} ms, "
                  f"B {stats['B']['p50']} / {stats['B']['p99']} ms, B/A p50 {stats['p50_ratio']} "
                  f"p99 {stats['p99_ratio']}, CPU/request A {stats['A_cpu_ms']} B {stats['B_cpu_ms']} ms, differ {differ}; load {open('/proc/loadavg').read().split()[0]}",
                  file=sys.stderr)
        results[name] = rounds
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
