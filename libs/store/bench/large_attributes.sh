#!/usr/bin/env bash
# Large attribute text in Postgres: inline jsonb with lz4 TOAST compression (what the schema does), inline
# with pglz, or a hand-made side table (spans keep '{}', a second table keyed by span id holds the jsonb).
# Starts a private Postgres 15 (deploy/postgres/start, free port, temp dir), applies Osprey's Postgres
# migrations, builds N span rows with ~8 KB of prose-like attributes (a 10-word vocabulary, like
# store_postgres_write_bench --prompt-bytes 8000), exports them once to binary COPY files, then for each
# variant, interleaved over ROUNDS rounds: a fresh same-shape table (LIKE spans INCLUDING ALL), a server-side
# COPY of the rows (the side table: both COPYs in one transaction), the tables' total size, and two reads of
# 100 spans' attributes as text (newest 100 by id; 100 by a start_time range). Not a test.
#
#   libs/store/bench/large_attributes.sh [N=20000] [ROUNDS=3]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
n=${1:-20000}
rounds=${2:-3}
dir=$(mktemp -d /tmp/osprey-large-attrs.XXXXXX)
chmod 777 "$dir"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
trap '"$root/deploy/postgres/stop" "$dir/pg" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
"$root/deploy/postgres/start" "$dir/pg" "$port" >/dev/null
q() {
  local args=(/usr/lib/postgresql/15/bin/psql -h 127.0.0.1 -p "$port" -U postgres -d osprey -tAq -v ON_ERROR_STOP=1)
  if [[ $(id -u) -eq 0 ]]; then (cd / && runuser -u postgres -- "${args[@]}" "$@"); else "${args[@]}" "$@"; fi
}
ms() { sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | awk '{s += $1} END {printf "%.0f", s}'; }
for f in "$root"/libs/store/migrations/postgres/*.sql; do q -f "$f" >/dev/null; done

cols="trace_rowid, project_id, span_id, parent_id, name, span_kind, start_time, end_time, status_code, status_message,
  session_id, user_id, llm_model_name, llm_token_count_prompt, llm_token_count_completion, llm_token_count_total,
  input_preview, output_preview, attributes, events, cost_prompt, cost_completion, cost_total, cost_details"
row="1::bigint, 1::bigint, span_id, NULL::text, 'llm', 'LLM', n::bigint, n::bigint + 5, 'OK', '', NULL::text, NULL::text,
  'gpt-4o-mini', 10::bigint, 5::bigint, 15::bigint, NULL::text, NULL::text"
q -c "CREATE TABLE src AS SELECT g AS n, lpad(to_hex(g), 16, '0') AS span_id,
  jsonb_build_object('llm', jsonb_build_object('model_name', 'gpt-4o-mini', 'input_messages',
    jsonb_build_array(jsonb_build_object('message', jsonb_build_object('role', 'user', 'content',
      (SELECT string_agg((ARRAY['the ', 'model ', 'answers ', 'a ', 'question ', 'about ', 'tracing ', 'spans ', 'in ',
                                'json '])[1 + ((g * 7919 + i * 104729) % 10)], '') FROM generate_series(1, 1300) i))))),
    'output', repeat('c', 500), 'n', g) AS attributes
  FROM generate_series(1, $n) g" \
  -c "COPY (SELECT $row, attributes, '[]'::jsonb, NULL::float8, NULL::float8, NULL::float8, NULL::text FROM src) TO '$dir/inline.copy' (FORMAT binary)" \
  -c "COPY (SELECT $row, '{}'::jsonb, '[]'::jsonb, NULL::float8, NULL::float8, NULL::float8, NULL::text FROM src) TO '$dir/slim.copy' (FORMAT binary)" \
  -c "COPY (SELECT span_id, attributes FROM src) TO '$dir/side.copy' (FORMAT binary)"
echo "$n spans, attributes $(q -c "SELECT round(avg(length(attributes::text))) FROM src") B of JSON text each; $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"

for ((round = 1; round <= rounds; round++)); do
  for v in lz4 pglz side; do
    q -c "DROP TABLE IF EXISTS t_$v, t_${v}_attrs" 2>/dev/null
    q -c "CREATE TABLE t_$v (LIKE spans INCLUDING ALL)"
    if [[ $v == side ]]; then
      q -c "CREATE TABLE t_side_attrs (span_id text COLLATE \"C\" PRIMARY KEY, attributes jsonb COMPRESSION lz4 NOT NULL)"
      write=$(q -c '\timing on' -c "BEGIN" -c "COPY t_side ($cols) FROM '$dir/slim.copy' (FORMAT binary)" \
        -c "COPY t_side_attrs FROM '$dir/side.copy' (FORMAT binary)" -c "COMMIT" | ms)
      size=$(q -c "SELECT pg_total_relation_size('t_side') + pg_total_relation_size('t_side_attrs')")
      from="t_side s JOIN t_side_attrs a USING (span_id)" attrs="a.attributes"
    else
      q -c "ALTER TABLE t_$v ALTER COLUMN attributes SET COMPRESSION $v"
      write=$(q -c '\timing on' -c "COPY t_$v ($cols) FROM '$dir/inline.copy' (FORMAT binary)" | ms)
      size=$(q -c "SELECT pg_total_relation_size('t_$v')")
      from="t_$v s" attrs="s.attributes"
    fi
    read=$(q -c '\timing on' \
      -c "SELECT sum(length(x)) FROM (SELECT $attrs::text AS x FROM $from ORDER BY s.id DESC LIMIT 100) z" \
      -c "SELECT sum(length(x)) FROM (SELECT $attrs::text AS x FROM $from WHERE s.start_time BETWEEN 5000 AND 5099) z" | ms)
    printf 'round %d %-5s write %6d ms = %6d spans/s   size %5d MiB   2 reads of 100 spans %4d ms\n' \
      "$round" "$v" "$write" $((n * 1000 / (write > 0 ? write : 1))) $((size / 1048576)) "$read"
  done
done
