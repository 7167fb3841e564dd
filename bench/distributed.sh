#!/usr/bin/env bash
# Benchmarks the distributed topology on this machine: deploy/local/start (Kafka, Postgres, osprey-writer,
# osprey-ingest, osprey-query on free loopback ports, in a temp state dir), then osprey-loadgen (OTLP/gRPC,
# ~1.7 KB LLM spans, 50 spans/request):
#   1. max rate for --duration s;
#   2. the sustained rate: fixed offered rates for --duration s each, stepping up from phase 1's end-to-end rate
#      by 15 % while a step is sustained (or down while it is not): a step is sustained when >= 99 % of the
#      offered spans were acknowledged and Postgres held every acknowledged one within 2 s of the last request
#      (the backlog did not grow). The highest sustained step is the end-to-end rate the topology keeps up with;
#   3. half of that rate for --duration s (ack latency at half load);
#   4. a raw server-side COPY of phase 1's span rows into a copy of the spans table (same columns, indexes).
# Prints per phase: acked spans/s, ack latency p50/p99, end-to-end spans/s (acked AND visible in Postgres:
# acked spans / time from the first request until the last acked span is committed), the check
# acked = stored, ingest RSS (max sampled, and peak); then the raw COPY rate and the ratio.
#
#   bench/distributed.sh [--duration 30] [--concurrency 8] [--spans-per-request 50] [--half-rate N]
#                        [--writers 1] [--build-dir build/release]
#
# --writers N runs N osprey-writer processes in the one consumer group (OSPREY_LOCAL_WRITERS).
#
# OSPREY_BENCH_KEEP=1 keeps the state dir (logs, configs, data).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${OSPREY_BENCH_BUILD_DIR:-${root}/build/release}"
duration=30
concurrency=8
spans_per_request=50
half_rate=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --concurrency) concurrency="$2"; shift 2 ;;
    --spans-per-request) spans_per_request="$2"; shift 2 ;;
    --half-rate) half_rate="$2"; shift 2 ;;
    --writers) export OSPREY_LOCAL_WRITERS="$2"; shift 2 ;;
    --build-dir) build="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "distributed.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ $build == /* ]] || build="${root}/${build}"
log() { echo "[bench] $*" >&2; }

if [[ ! -f "${build}/build.ninja" ]]; then
  log "configuring ${build}"
  cmake -S "${root}" -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
log "building the osprey binaries and osprey-loadgen in ${build}"
cmake --build "${build}" --target osprey osprey-ingest osprey-writer osprey-query osprey-prompt-registry osprey-loadgen -j2 >/dev/null
loadgen="${build}/bench/loadgen/osprey-loadgen"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
state="$(mktemp -d /tmp/osprey-bench-dist.XXXXXX)"
chmod 755 "${state}"
export OSPREY_BUILD_DIR="${build}"
export OSPREY_LOCAL_GRPC_PORT="$(free_port)" OSPREY_LOCAL_HTTP_PORT="$(free_port)" OSPREY_LOCAL_QUERY_PORT="$(free_port)"
export OSPREY_LOCAL_KAFKA_PORT="$(free_port)" OSPREY_LOCAL_PG_PORT="$(free_port)"
cleanup() {
  "${root}/deploy/local/stop" "${state}" >/dev/null 2>&1 || true
  if [[ "${OSPREY_BENCH_KEEP:-0}" == 1 ]]; then log "kept ${state}"; else rm -rf "${state}"; fi
}
trap cleanup EXIT
"${root}/deploy/local/start" "${state}" >/dev/null
ingest_pid="$(cat "${state}/ingest.pid")"

psql_() {
  local args=(/usr/lib/postgresql/15/bin/psql --host=127.0.0.1 --port="${OSPREY_LOCAL_PG_PORT}" --username=postgres
    --dbname=osprey --no-psqlrc --tuples-only --no-align --quiet --set=ON_ERROR_STOP=1)
  if [[ $(id -u) -eq 0 ]]; then (cd / && runuser -u postgres -- "${args[@]}" "$@"); else "${args[@]}" "$@"; fi
}
# Stored spans of a project: its span_count rollup, committed in the same transaction as the spans (polling
# count(*) over spans took Postgres CPU from the writer being waited for); checked against count(*) once.
stored() { psql_ --command="SELECT coalesce((SELECT span_count FROM projects WHERE name = '$1'), 0)"; }
counted() { psql_ --command="SELECT count(*) FROM spans s JOIN projects p ON p.id = s.project_id WHERE p.name = '$1'"; }
# CPU seconds per process group (from /proc), sampled around each phase: what a stored span costs each part.
cpu_groups=(ingest writer kafka postgres query)
group_pids() {
  case $1 in
    kafka) cat "${state}/kafka/kafka.pid" ;;
    postgres) local pm; pm=$(head -1 "${state}/postgres/data/postmaster.pid"); echo "${pm}"; pgrep -P "${pm}" || true ;;
    writer) cat "${state}"/writer*.pid ;;
    *) cat "${state}/$1.pid" ;;
  esac
}
group_ticks() {
  local total=0 p
  for p in $(group_pids "$1"); do
    [[ -r /proc/${p}/stat ]] && total=$((total + $(awk '{print $14 + $15}' "/proc/${p}/stat" 2>/dev/null || echo 0)))
  done
  echo "${total}"
}
cpu_snapshot() { local g; for g in "${cpu_groups[@]}"; do echo -n "$(group_ticks "${g}") "; done; }
cpu_rows=()
rss_mib() { awk -v key="$1:" '$1 == key {printf "%.0f\n", $2 / 1024}' "/proc/${ingest_pid}/status"; }

results=()
run_phase() {
  local name="$1" rate="$2" project="bench-$1"
  log "phase ${name}: rate=${rate} (0 = max) for ${duration}s, concurrency ${concurrency}"
  local t0 t1 acked count max_rss=0 sampler
  ( while sleep 0.5; do rss_mib VmRSS; done ) >"${state}/${name}.rss" 2>/dev/null &
  sampler=$!
  local cpu0; cpu0=$(cpu_snapshot)
  t0=$(date +%s.%N)
  python3 -c 'import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
u = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write(str(u.ru_utime + u.ru_stime))
sys.exit(rc)' "${state}/${name}.loadgen-cpu" "${loadgen}" --target "127.0.0.1:${OSPREY_LOCAL_GRPC_PORT}" --rate "${rate}" --duration "${duration}" \
    --concurrency "${concurrency}" --spans-per-request "${spans_per_request}" --project "${project}" --json \
    >"${state}/${name}.json"
  t_sent=$(date +%s.%N)
  acked=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["spans"]["acked"])' "${state}/${name}.json")
  # End to end: until Postgres holds every acknowledged span (bounded: 300 s).
  for _ in $(seq 1 3000); do
    count=$(stored "${project}")
    ((count >= acked)) && break
    sleep 0.1
  done
  t1=$(date +%s.%N)
  cpu_rows+=("$(python3 - "${name}" "${acked}" "${t0}" "${t1}" "$(getconf CLK_TCK)" "$(cat "${state}/${name}.loadgen-cpu")" "${cpu0}" "$(cpu_snapshot)" <<'PY'
import sys
name, acked, t0, t1, hz, loadgen = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
before, after = [int(x) for x in sys.argv[7].split()], [int(x) for x in sys.argv[8].split()]
secs = [(a - b) / hz for a, b in zip(after, before)] + [loadgen]
per_k = [1000 * 1000 * s / max(acked, 1) for s in secs]  # CPU ms per 1k acknowledged spans
print(f"{name:<6} " + " ".join(f"{v:>8.1f}" for v in per_k) + f" {sum(per_k):>8.1f} {sum(secs) / (t1 - t0):>6.2f}")
PY
)")
  count=$(counted "${project}")
  kill "${sampler}" 2>/dev/null || true
  wait "${sampler}" 2>/dev/null || true
  max_rss=$(sort -n "${state}/${name}.rss" | tail -1)
  results+=("$(python3 - "${state}/${name}.json" "${name}" "${t0}" "${t1}" "${count}" "${max_rss:-0}" "$(rss_mib VmHWM)" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
name, t0, t1, stored, rss, hwm = sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), sys.argv[6], sys.argv[7]
lat, acked = r["ack_latency_ms"], r["spans"]["acked"]
rate = "max" if r["rate"] == 0 else f'{r["rate"]:.0f}'
ok = "OK" if stored == acked else "MISMATCH"
print(f'{name:<6} {rate:>7} {r["spans_per_second"]:>9.0f} {lat["p50"]:>7.1f} {lat["p99"]:>7.1f} {acked / (t1 - t0):>9.0f} '
      f'{acked:>9} {r["spans"]["failed"]:>6} {stored:>9} {ok:>8} {rss:>8} {hwm:>8}   errors: {r["errors"] or "none"}')
PY
)")
  e2e_last=$(python3 -c 'import sys; print(int(int(sys.argv[1]) / (float(sys.argv[3]) - float(sys.argv[2]))))' "${acked}" "${t0}" "${t1}")
  # Sustained: >= 99 % of the offered spans acknowledged, all of them stored within 2 s of the last request.
  sustained_last=$(python3 -c 'import sys; rate, dur, acked, settle = map(float, sys.argv[1:]); print(int(rate > 0 and acked >= 0.99 * rate * dur and settle <= 2.0))' \
    "${rate}" "${duration}" "${acked}" "$(python3 -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' "${t_sent}" "${t1}")")
}

run_phase max 0
max_e2e="${e2e_last}"

# Sustained rate: step up by 15 % from phase 1's end-to-end rate while sustained, down while not (5 steps at most).
step_rate=$(( max_e2e / 100 * 100 ))
sustained_rate=0
failed_rate=0
for step in 1 2 3 4 5; do
  run_phase "s${step_rate}" "${step_rate}"
  results[${#results[@]}-1]+="   sustained: $([[ ${sustained_last} == 1 ]] && echo yes || echo no)"
  if [[ ${sustained_last} == 1 ]]; then
    sustained_rate=${step_rate}
    (( failed_rate > 0 )) && break
    step_rate=$(( step_rate * 115 / 100 / 100 * 100 ))
  else
    failed_rate=${step_rate}
    (( sustained_rate > 0 )) && break
    step_rate=$(( step_rate * 85 / 100 / 100 * 100 ))
  fi
done
run_phase half "${half_rate:-$(( (sustained_rate > 0 ? sustained_rate : max_e2e) / 2 ))}"

# Raw COPY of phase 1's rows into a same-shape table (columns, defaults, indexes and constraints but the
# foreign keys: LIKE ... INCLUDING ALL), server-side from a binary file, as one statement.
log "raw COPY of phase 1's spans"
dump="${state}/postgres/spans.copy"
psql_ --command="COPY (SELECT s.* FROM spans s JOIN projects p ON p.id = s.project_id WHERE p.name = 'bench-max') TO '${dump}' (FORMAT binary)"
psql_ --command="CREATE TABLE spans_rawcopy (LIKE spans INCLUDING ALL)"
copy_out=$(psql_ --command='\timing on' --command="COPY spans_rawcopy FROM '${dump}' (FORMAT binary)")
copy_ms=$(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' <<<"${copy_out}" | tail -1)
copy_rows=$(psql_ --command="SELECT count(*) FROM spans_rawcopy")
copy_rate=$(python3 -c 'import sys; print(int(int(sys.argv[1]) / (float(sys.argv[2]) / 1000)))' "${copy_rows}" "${copy_ms}")
avg_bytes=$(psql_ --command="SELECT round(avg(pg_column_size(s.*))) FROM spans s JOIN projects p ON p.id = s.project_id WHERE p.name = 'bench-max'")

echo
echo "osprey distributed benchmark: ${duration}s per phase, ${concurrency} connections, ${spans_per_request} spans/request, ${OSPREY_LOCAL_WRITERS:-1} writer(s), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %7s %9s %7s %7s %9s %9s %6s %9s %8s %8s %8s\n' phase rate 'acked/s' 'p50 ms' 'p99 ms' 'e2e/s' acked failed stored check 'RSS MiB' 'peak'
for line in "${results[@]}"; do echo "${line}"; done
echo "raw server-side COPY of ${copy_rows} span rows (avg row ${avg_bytes} B in Postgres): ${copy_ms} ms = ${copy_rate} spans/s"
echo "sustained end-to-end rate: ${sustained_rate} spans/s (highest sustained step; lowest step not sustained: ${failed_rate})"
python3 -c 'import sys; print(f"end-to-end max / raw COPY = {int(sys.argv[1]) / int(sys.argv[3]):.2f}; sustained / raw COPY = {int(sys.argv[2]) / int(sys.argv[3]):.2f}")' "${max_e2e}" "${sustained_rate}" "${copy_rate}"
echo "ingest RSS: columns above (max sampled every 0.5 s during the phase; peak = VmHWM since start)"
echo
echo "CPU ms per 1k acknowledged spans, from the phase's first request until Postgres held its last span (cores = CPU s / wall s):"
printf '%-6s %8s %8s %8s %8s %8s %8s %8s %6s\n' phase ingest writer kafka postgres query loadgen total cores
for line in "${cpu_rows[@]}"; do echo "${line}"; done
