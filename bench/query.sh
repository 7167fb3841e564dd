#!/usr/bin/env bash
# Query latency benchmark (issue #4): fills a store with --spans LLM-shaped spans directly through
# store::WriteSpans (bench/query/populate.cpp: 10 spans per trace, 4 models, costs, sessions, one day of
# traces), starts osprey on it (all-in-one, in-process bus; the store is SQLite or a private Postgres from
# deploy/postgres) and times the read queries over the REST API with bench/query/measure.py (one keep-alive
# connection, sequential requests). Prints per store and query: n, p50, p99, max (ms), the p99 target.
#
#   bench/query.sh [--spans 1000000] [--store sqlite|postgres|both] [--repetitions 200] [--seconds 30]
#                  [--only q1,q2] [--sqlite-analyze] [--build-dir build/qbench] [--osprey PATH]
#
# --sqlite-analyze runs SQLite's ANALYZE on the database after the load (osprey itself never does: without
# statistics SQLite plans `spans?trace_id=` as a scan of the project's spans).
# --osprey runs that osprey binary instead of the one in --build-dir. OSPREY_BENCH_KEEP=1 keeps the temp dir.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${root}/build/qbench"
spans=1000000
stores=both
repetitions=200
seconds=30
only=""
osprey=""
sqlite_analyze=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --spans) spans="$2"; shift 2 ;;
    --store) stores="$2"; shift 2 ;;
    --repetitions) repetitions="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --sqlite-analyze) sqlite_analyze=1; shift ;;
    --build-dir) build="$2"; shift 2 ;;
    --osprey) osprey="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "query.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "${stores}" in
  sqlite|postgres) ;;
  both) stores="sqlite postgres" ;;
  *) echo "query.sh: --store must be sqlite, postgres or both" >&2; exit 2 ;;
esac
[[ $build == /* ]] || build="${root}/${build}"
log() { echo "[query-bench] $(date +%T) $*" >&2; }

if [[ ! -f "${build}/build.ninja" ]]; then
  log "configuring ${build}"
  cmake -S "${root}" -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
targets=(osprey-query-populate)
[[ -n ${osprey} ]] || targets+=(osprey)
log "building ${targets[*]} in ${build}"
cmake --build "${build}" --target "${targets[@]}" -j2 >/dev/null
populate="${build}/bench/query/osprey-query-populate"
osprey="${osprey:-${build}/apps/osprey/osprey}"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
state="$(mktemp -d /tmp/osprey-bench-query.XXXXXX)"
chmod 755 "${state}"
osprey_pid=""
pg_dir=""
cleanup() {
  if [[ -n ${osprey_pid} ]]; then kill "${osprey_pid}" 2>/dev/null || true; wait "${osprey_pid}" 2>/dev/null || true; fi
  if [[ -n ${pg_dir} ]]; then "${root}/deploy/postgres/stop" "${pg_dir}" >/dev/null 2>&1 || true; fi
  if [[ "${OSPREY_BENCH_KEEP:-0}" == 1 ]]; then log "kept ${state}"; else rm -rf "${state}"; fi
}
trap cleanup EXIT

run_store() {
  local kind="$1" dir="${state}/$1" store_yaml populate_target
  mkdir -p "${dir}/data"
  if [[ ${kind} == sqlite ]]; then
    populate_target=(--sqlite "${dir}/data/osprey.db")
    store_yaml="store: {kind: sqlite, sqlite: {path: \"${dir}/data/osprey.db\"}}"
  else
    pg_dir="${dir}/postgres"
    local dsn pg_port
    pg_port=$(free_port)
    dsn=$("${root}/deploy/postgres/start" "${pg_dir}" "${pg_port}")
    populate_target=(--dsn "${dsn}")
    store_yaml="store: {kind: postgres, postgres: {dsn: \"${dsn}\"}}"
  fi
  log "${kind}: writing ${spans} spans"
  "${populate}" --spans "${spans}" "${populate_target[@]}" >"${dir}/populate.json"
  log "${kind}: populated $(cat "${dir}/populate.json")"
  if [[ ${kind} == sqlite && ${sqlite_analyze} == 1 ]]; then
    log "sqlite: ANALYZE"
    sqlite3 "${dir}/data/osprey.db" ANALYZE
  fi
  if [[ ${kind} == postgres ]]; then
    # What autovacuum would do after a bulk load; without it the planner has no statistics yet.
    (cd / && runuser -u postgres -- /usr/lib/postgresql/15/bin/psql --host=127.0.0.1 --port="${pg_port}" \
      --username=postgres --dbname=osprey --no-psqlrc --quiet --command="VACUUM ANALYZE")
  fi
  cat >"${dir}/osprey.yaml" <<YAML
data_dir: "${dir}/data"
log: {level: warn}
bus: {kind: inprocess}
${store_yaml}
ingest: {grpc_listen: "127.0.0.1:0", http_listen: "127.0.0.1:0"}
query: {listen: "127.0.0.1:0"}
writer: {admin_listen: "127.0.0.1:0"}
YAML
  "${osprey}" --config="${dir}/osprey.yaml" --ports-file="${dir}/ports.json" >"${dir}/osprey.log" 2>&1 &
  osprey_pid=$!
  for _ in $(seq 1 600); do [[ -f "${dir}/ports.json" ]] && break; sleep 0.1; done
  [[ -f "${dir}/ports.json" ]] || { tail -20 "${dir}/osprey.log" >&2; log "osprey did not start"; exit 1; }
  local port
  port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["query_http"])' "${dir}/ports.json")
  log "${kind}: osprey on 127.0.0.1:${port}; load: $(cut -d' ' -f1-3 /proc/loadavg)"
  read -r traces first last < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]));
print(r["traces"], r["first_start_ns"], r["last_start_ns"])' "${dir}/populate.json")
  python3 "${root}/bench/query/measure.py" --port "${port}" --traces "${traces}" --first-start-ns "${first}" \
    --last-start-ns "${last}" --repetitions "${repetitions}" --seconds "${seconds}" --only "${only}" \
    >"${dir}/measure.json"
  log "${kind}: done; load: $(cut -d' ' -f1-3 /proc/loadavg); osprey RSS $(awk '/VmHWM/ {print $2 / 1024 " MiB peak"}' /proc/${osprey_pid}/status)"
  kill "${osprey_pid}"; wait "${osprey_pid}" 2>/dev/null || true; osprey_pid=""
  if [[ -n ${pg_dir} ]]; then "${root}/deploy/postgres/stop" "${pg_dir}" >/dev/null 2>&1 || true; pg_dir=""; fi
  du -sh "${dir}" | awk -v k="${kind}" '{print "[query-bench] " k ": data on disk " $1}' >&2
}

for kind in ${stores}; do run_store "${kind}"; done

python3 - "${state}" ${stores} <<'PY'
import json, sys
state, stores = sys.argv[1], sys.argv[2:]
print(f'{"store":<9} {"query":<24} {"n":>5} {"p50 ms":>8} {"p99 ms":>8} {"max ms":>8} {"target":>7}  ok')
for kind in stores:
    spans = json.load(open(f"{state}/{kind}/populate.json"))["spans"]
    for name, r in json.load(open(f"{state}/{kind}/measure.json")).items():
        ok = "yes" if r["p99_ms"] < r["target_p99_ms"] else "NO"
        print(f'{kind:<9} {name:<24} {r["n"]:>5} {r["p50_ms"]:>8.2f} {r["p99_ms"]:>8.2f} {r["max_ms"]:>8.2f} '
              f'{"<" + str(r["target_p99_ms"]):>7}  {ok}')
    print(f"({kind}: {spans} spans)")
PY
