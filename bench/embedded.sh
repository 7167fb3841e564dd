#!/usr/bin/env bash
# Benchmarks the embedded mode (one osprey process: SQLite, in-process bus) with osprey-loadgen:
#   1. at max rate, 2. at a fixed rate; each for --duration seconds, into its own project.
# Prints acked spans/s, ack latency p50/p99/p99.9, osprey's RSS after each phase, and how many spans
# the REST API shows afterwards (acknowledged vs stored: they must be equal).
#
#   bench/embedded.sh [--duration 30] [--fixed-rate 10000] [--concurrency 8] [--spans-per-request 50]
#                     [--large-every 0] [--large-bytes 262144] [--build-dir build/release]
#
# Everything runs on 127.0.0.1 with ports chosen by osprey (port 0 + ports file), in a temp dir that
# is removed at the end (OSPREY_BENCH_KEEP=1 keeps it). Results: printed, and the loadgen JSON of each
# phase under the temp dir.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${OSPREY_BENCH_BUILD_DIR:-${root}/build/release}"
duration=30
fixed_rate=10000
concurrency=8
spans_per_request=50
large_every=0
large_bytes=262144

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --fixed-rate) fixed_rate="$2"; shift 2 ;;
    --concurrency) concurrency="$2"; shift 2 ;;
    --spans-per-request) spans_per_request="$2"; shift 2 ;;
    --large-every) large_every="$2"; shift 2 ;;
    --large-bytes) large_bytes="$2"; shift 2 ;;
    --build-dir) build="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "embedded.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

log() { echo "[bench] $*" >&2; }

if [[ ! -f "${build}/build.ninja" ]]; then
  log "configuring ${build}"
  cmake -S "${root}" -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
log "building osprey and osprey-loadgen in ${build}"
cmake --build "${build}" --target osprey osprey-loadgen -j2 >/dev/null
osprey="$(find "${build}/apps/osprey" -maxdepth 1 -type f -name osprey -perm -u+x | head -1)"
loadgen="${build}/bench/loadgen/osprey-loadgen"
[[ -x "${osprey}" && -x "${loadgen}" ]] || { echo "embedded.sh: binaries not found in ${build}" >&2; exit 1; }

tmp="$(mktemp -d /tmp/osprey-bench.XXXXXX)"
pid=""
cleanup() {
  if [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null; then
    kill -TERM "${pid}" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "${pid}" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "${pid}" 2>/dev/null || true
  fi
  if [[ "${OSPREY_BENCH_KEEP:-0}" == 1 ]]; then log "kept ${tmp}"; else rm -rf "${tmp}"; fi
}
trap cleanup EXIT

cat >"${tmp}/config.yaml" <<YAML
data_dir: ${tmp}/data
log: {level: warn}
ingest: {grpc_listen: "127.0.0.1:0", http_listen: "127.0.0.1:0", max_request_bytes: 67108864, inflight_bytes: 268435456}
query: {listen: "127.0.0.1:0"}
store: {kind: sqlite, sqlite: {synchronous: normal}}
bus: {kind: inprocess}
YAML

"${osprey}" --target=all --config="${tmp}/config.yaml" --data-dir="${tmp}/data" --ports-file="${tmp}/ports.json" \
  >"${tmp}/osprey.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
  [[ -f "${tmp}/ports.json" ]] && break
  kill -0 "${pid}" 2>/dev/null || { echo "osprey exited:"; tail -20 "${tmp}/osprey.log"; exit 1; }
  sleep 0.1
done
[[ -f "${tmp}/ports.json" ]] || { echo "osprey wrote no ports file in 30 s" >&2; exit 1; }
port() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "${tmp}/ports.json" "$1"; }
grpc_port="$(port ingest_grpc)"
query_port="$(port query_http)"
for _ in $(seq 1 300); do
  python3 - "${query_port}" <<'PY' && break
import sys, urllib.request
try:
    sys.exit(0 if urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/readyz", timeout=2).status == 200 else 1)
except Exception:
    sys.exit(1)
PY
  sleep 0.1
done
log "osprey pid ${pid}: gRPC 127.0.0.1:${grpc_port}, REST 127.0.0.1:${query_port}, data ${tmp}/data"

# Walks GET /v1/projects/{p}/spans to the end and prints how many spans it lists (and how many distinct).
count_spans() {
  python3 - "${query_port}" "$1" <<'PY'
import json, sys, urllib.parse, urllib.request
port, project = sys.argv[1], sys.argv[2]
base = f"http://127.0.0.1:{port}/v1/projects/{urllib.parse.quote(project, safe='')}/spans"
cursor, total, ids = None, 0, set()
while True:
    query = {"limit": 1000}
    if cursor:
        query["cursor"] = cursor
    try:
        with urllib.request.urlopen(base + "?" + urllib.parse.urlencode(query), timeout=120) as response:
            page = json.load(response)
    except urllib.error.HTTPError as exc:
        if exc.code == 404 and cursor is None:
            break
        raise
    total += len(page["data"])
    ids.update(s["context"]["span_id"] for s in page["data"])
    cursor = page.get("next_cursor")
    if not cursor:
        break
print(total, len(ids))
PY
}

rss_kib() { awk -v key="$1:" '$1 == key {print $2}' "/proc/${pid}/status"; }

results=()
run_phase() {
  local name="$1" rate="$2"
  log "phase ${name}: rate=${rate} (0 = max) for ${duration}s, concurrency ${concurrency}"
  "${loadgen}" --target "127.0.0.1:${grpc_port}" --rate "${rate}" --duration "${duration}" \
    --concurrency "${concurrency}" --spans-per-request "${spans_per_request}" --project "bench-${name}" \
    --large-every "${large_every}" --large-bytes "${large_bytes}" --json >"${tmp}/${name}.json"
  local rss hwm visible started ended
  rss="$(rss_kib VmRSS)"
  hwm="$(rss_kib VmHWM)"
  started=$(date +%s.%N)
  visible="$(count_spans "bench-${name}")"
  ended=$(date +%s.%N)
  results+=("$(python3 - "${tmp}/${name}.json" "${name}" "${rss}" "${hwm}" ${visible} "${started}" "${ended}" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
name, rss, hwm, listed, distinct, t0, t1 = sys.argv[2:9]
lat = r["ack_latency_ms"]
rate = "max" if r["rate"] == 0 else f'{r["rate"]:.0f}'
ok = "OK" if int(distinct) == r["spans"]["acked"] and int(listed) == int(distinct) else "MISMATCH"
print(f'{name:<6} {rate:>7} {r["spans_per_second"]:>10.0f} {lat["p50"]:>8.2f} {lat["p99"]:>8.2f} {lat["p999"]:>8.2f} '
      f'{r["spans"]["acked"]:>10} {r["spans"]["failed"]:>7} {listed:>10} {ok:>8} {int(rss)/1024:>8.0f} {int(hwm)/1024:>8.0f}'
      f'   (REST walk {float(t1)-float(t0):.1f}s; errors {r["errors"] or "none"})')
PY
)")
}

run_phase max 0
run_phase fixed "${fixed_rate}"

echo
echo "osprey embedded benchmark: ${duration}s per phase, ${concurrency} connections, ${spans_per_request} spans/request, $(nproc) cores"
printf '%-6s %7s %10s %8s %8s %8s %10s %7s %10s %8s %8s %8s\n' phase rate 'spans/s' 'p50 ms' 'p99 ms' 'p99.9' acked failed stored check 'RSS MiB' 'peak'
for line in "${results[@]}"; do echo "${line}"; done
echo "data dir size: $(du -sh "${tmp}/data" | cut -f1)"
