#!/usr/bin/env python3
"""Times Osprey's read queries over its REST API (see bench/query.sh, which populates the store and starts
osprey). One keep-alive HTTP/1.1 connection, requests one after the other; each query runs --warmup times
unmeasured, then up to --repetitions times or until --seconds have passed, whichever comes first. Every
answer must be 200 with a non-empty result, else the run fails (a fast error is not a measurement).
Prints one JSON object: per query, the count, p50, p99, max (ms) and the target.

  measure.py --port P --project bench --traces N --first-start-ns T --last-start-ns T
             [--repetitions 200] [--seconds 30] [--warmup 5] [--seed 1]
"""
import argparse
import http.client
import json
import random
import sys
import time
import urllib.parse

MASK = (1 << 64) - 1
HOUR_NS = 3600 * 10**9


def splitmix(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def trace_id_hex(trace: int) -> str:
    """The trace id osprey-query-populate gives trace number `trace` (0-based)."""
    return f"{splitmix(trace + 1):016x}{splitmix((~(trace + 1)) & MASK):016x}"


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, int(round(q * len(sorted_values) + 0.5)) - 1))
    return sorted_values[index]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--project", default="bench")
    ap.add_argument("--traces", type=int, required=True)
    ap.add_argument("--first-start-ns", type=int, required=True)
    ap.add_argument("--last-start-ns", type=int, required=True)
    ap.add_argument("--repetitions", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", default="", help="comma-separated query names")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=120)
    p = urllib.parse.quote(args.project)

    def window():
        """A random one-hour window inside the populated day."""
        start = rng.randint(args.first_start_ns, max(args.first_start_ns, args.last_start_ns - HOUR_NS))
        return start, start + HOUR_NS

    def iso(ns: int) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + f".{(ns // 1000) % 10**6:06d}Z"

    def get(path, params):
        return "GET", path + "?" + urllib.parse.urlencode(params, doseq=True), None

    def dsl(condition):
        body = json.dumps({"queries": [{"filter": {"condition": condition}}], "limit": 100})
        return "POST", f"/v1/spans?project_name={p}", body

    def spans_filtered():
        start, end = window()
        return get(f"/v1/projects/{p}/spans", {"span_kind": "LLM", "attribute": "llm.model_name:gpt-4o",
                                                "start_time": iso(start), "end_time": iso(end), "limit": 100})

    # name -> (request factory, check of the decoded answer, target p99 ms)
    queries = {
        "trace_list": (lambda: get(f"/v1/projects/{p}/traces", {"limit": 50}),
                       lambda body: len(json.loads(body)["data"]) == 50, 20),
        "trace_detail_ui": (lambda: ("GET", f"/osprey/v1/projects/{p}/traces/"
                                     f"{trace_id_hex(rng.randrange(args.traces))}/spans", None),
                            lambda body: len(json.loads(body)["data"]) == 10, 20),
        "trace_spans_v1": (lambda: get(f"/v1/projects/{p}/spans",
                                       {"trace_id": trace_id_hex(rng.randrange(args.traces)), "limit": 100}),
                           lambda body: len(json.loads(body)["data"]) == 10, 20),
        "spans_kind": (lambda: get(f"/v1/projects/{p}/spans", {"span_kind": "LLM", "limit": 100}),
                       lambda body: len(json.loads(body)["data"]) == 100, 100),
        "spans_kind_model_window": (spans_filtered, lambda body: len(json.loads(body)["data"]) > 0, 100),
        "dsl_span_kind": (lambda: dsl("span_kind == 'LLM'"), lambda body: len(body) > 1000, 100),
        "dsl_model_name": (lambda: dsl("llm.model_name == 'gpt-4o'"), lambda body: len(body) > 1000, 100),
        "project_totals": (lambda: ("GET", "/osprey/v1/project_summaries", None),
                           lambda body: any(d.get("name") == args.project for d in json.loads(body)["data"]), 200),
    }
    only = [q for q in args.only.split(",") if q]
    results = {}
    for name, (make, check, target) in queries.items():
        if only and name not in only:
            continue
        samples = []
        deadline = None
        for i in range(args.warmup + args.repetitions):
            method, path, body = make()
            headers = {"accept": "application/json"}
            if body is not None:
                headers["content-type"] = "application/json"
            t0 = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            elapsed = (time.perf_counter() - t0) * 1000
            if response.status != 200 or not check(data):
                print(f"measure: {name}: {method} {path} -> {response.status}: {data[:300]!r}", file=sys.stderr)
                return 1
            if i == args.warmup:
                deadline = time.monotonic() + args.seconds
            if i >= args.warmup:
                samples.append(elapsed)
                if time.monotonic() > deadline:
                    break
        samples.sort()
        results[name] = {"n": len(samples), "p50_ms": round(percentile(samples, 0.50), 2),
                         "p99_ms": round(percentile(samples, 0.99), 2), "max_ms": round(samples[-1], 2),
                         "target_p99_ms": target}
        print(f"[measure] {name}: {results[name]}", file=sys.stderr)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
