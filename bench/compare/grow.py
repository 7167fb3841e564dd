"""Grows the query data set inside each system's own database (issue #6).

Each system first ingests a seed through OTLP (bench/compare/compare.py). Then the seed's rows are cloned
k - 1 times with SQL in the system's own schema, so every system holds the same k * seed logical spans without
sending a million spans through Phoenix's OTLP endpoint (it stores ~50-500 spans/s on the bench machine):

  * copy c (1 <= c < k) of an OTel id X is the first len(X) hex digits of md5("X:c") (clone_id below; the same
    function in every database: a Python function registered in SQLite, md5() in Postgres), for span ids,
    parent ids, trace ids and root span ids alike, so every copy is a tree of the same shape;
  * copy c is shifted SHIFT_SECONDS * c earlier in time (spans, traces and, for Phoenix, span costs);
  * everything else is copied as stored: names, kinds, attributes, events (the load generator sends none, so no
    event times need shifting), token counts, costs. Session ids are
    kept, so the copies of a trace join its session (the session then has k times its traces), and the
    session rollups are recomputed from their traces afterwards — what ingesting the copies would have done;
  * copies are inserted oldest first (c = k - 1 down to 1), each in its own transaction, so row ids grow
    with time as they would have under ingest (only the seed itself, ingested first, is out of order).

Osprey: traces (all rollup columns copied from the seed's trace: span_count, error_count, tokens, cost;
root_span_id rewritten), spans, sessions (trace_count, tokens, start/end recomputed), projects.last_span_at and
the project's rollups (migration 0007: trace, span and error-trace counts, tokens, cost; recomputed).
Phoenix: traces, spans (the cumulative_* columns are per subtree, so copied), span_costs, span_cost_details,
project_sessions (start/end recomputed). The column lists come from the database, so a column added later is
copied as is.

`mismatches()` recomputes every rollup from the rows beneath it (spans -> traces -> sessions, Osprey's projects) with the rules
the systems' writers use (Osprey's libs/store, Phoenix's phoenix/db/insertion/span.py) and counts the rows
that differ: it must be 0 on the ingested seed (the rules are the writers') and on the grown set.
"""
import functools
import hashlib
import os

from db import Sqlite

SHIFT_SECONDS = 3600  # copy c of the seed lies c hours before it
# Postgres growths adding at least this many spans rebuild the spans indexes instead of maintaining them (grow()).
REBUILD_MIN_ROWS = int(os.environ.get("OSPREY_GROW_REBUILD_MIN_ROWS", 2_000_000))


def clone_id(hex_id, copy):
    """Copy `copy` of an OTel id (lowercase hex): the first len(id) hex digits of md5("<id>:<copy>")."""
    if hex_id is None or copy == 0:
        return hex_id
    return hashlib.md5(f"{hex_id}:{copy}".encode()).hexdigest()[:len(hex_id)]


def sqlite(path):
    """A SQLite file opened for the growth, with clone_id as an SQL function."""
    return Sqlite(path, functions=[("clone_id", 2, clone_id)])


class Digest:
    """An order-independent digest of a set of spans: the count and the sum (mod 2^128) of SHA-256 over each
    span's "span_id trace_id parent_id". A database streams its rows in any order; the expected value is
    computed from the REST-listed seed without holding ten million rows."""

    def __init__(self):
        self.count, self.total = 0, 0

    def add(self, span_id, trace_id, parent_id):
        h = hashlib.sha256(f"{span_id} {trace_id} {parent_id or '-'}".encode()).digest()
        self.total = (self.total + int.from_bytes(h[:16], "big")) & ((1 << 128) - 1)
        self.count += 1

    def value(self):
        return f"{self.count}:{self.total:032x}"[:len(str(self.count)) + 17]


@functools.lru_cache(maxsize=4)
def expected_digest(seed_spans, copies):
    """The digest of copies 0..copies-1 of seed_spans, a sorted tuple of (span_id, trace_id, parent_id)
    (remembered: every system that stored the whole seed expects the same)."""
    d = Digest()
    for c in range(copies):
        for span_id, trace_id, parent_id in seed_spans:
            d.add(clone_id(span_id, c), clone_id(trace_id, c), clone_id(parent_id, c))
    return d.value()


class Growth:
    """Clones one project's seed in one database (bench/compare/db.py: Sqlite or Postgres)."""
    seed_sql = ""  # -> project rowid, first/last seed trace rowid, first/last seed span rowid, spans, cost
    digest_sql = ""  # -> span_id, trace_id, parent_id of every span of the project

    def __init__(self, db, project):
        self.db, self.project = db, project
        self.seed = None
        self._columns = {}

    # -- dialect
    def cid(self, expr, c):
        if self.db.dialect == "sqlite":
            return f"clone_id({expr}, {c})"
        return f"substr(md5({expr} || ':{c}'), 1, length({expr}))"

    def distinct(self):
        return "IS NOT" if self.db.dialect == "sqlite" else "IS DISTINCT FROM"

    def copy_into(self, table, alias, overrides, rest):
        """INSERT INTO table (every column but id) SELECT alias.column or its override ... rest."""
        if table not in self._columns:
            self._columns[table] = [c for c in self.db.columns(table) if c != "id"]
        cols = self._columns[table]
        values = ", ".join(overrides.get(c, f"{alias}.{c}") for c in cols)
        return f"INSERT INTO {table} ({', '.join(cols)}) SELECT {values} {rest}"

    def seed_traces(self):
        """The seed's traces, by row id range (`+` keeps SQLite off the project index, which would walk every
        copy made so far: the seed is found by an index range scan in every database)."""
        s = self.seed
        return (f"FROM traces t WHERE +t.{self.trace_project} = {s['project']} "
                f"AND t.id BETWEEN {s['trace_first']} AND {s['trace_last']}")

    def copy_traces(self, c, overrides):
        """Copy c of the seed's traces, then grow_traces: seed trace row id -> its copy's row id."""
        return self.map_table("grow_traces") + [
            self.copy_into("traces", "t", {"trace_id": self.cid("t.trace_id", c), **overrides},
                           self.seed_traces() + " ORDER BY t.id"),
            "INSERT INTO grow_traces (old, new) SELECT t.id, n.id " + self.seed_traces().replace(
                "FROM traces t", f"FROM traces t JOIN traces n ON n.trace_id = {self.cid('t.trace_id', c)}"),
        ]

    def map_table(self, name):
        return [f"CREATE TEMP TABLE IF NOT EXISTS {name} (old BIGINT PRIMARY KEY, new BIGINT NOT NULL)",
                f"DELETE FROM {name}"]

    # -- the steps
    def read_seed(self):
        """The seed: the project's rows before any copy (called once, before the first grow)."""
        row = self.db.rows(self.seed_sql.format(project=self.project))[0]
        if row[0] is None or row[1] is None:
            raise RuntimeError(f"no project {self.project!r} with traces to grow")
        keys = ("project", "trace_first", "trace_last", "span_first", "span_last", "spans", "cost", "cost_first",
                "cost_last")
        self.seed = dict(zip(keys, [int(v) for v in row[:6]] + [float(row[6] or 0)] +
                             [int(v or 0) for v in row[7:]]))
        return self.seed

    def grow(self, first, last):
        """Adds copies first..last-1 (oldest first, one transaction each), then recomputes the rollups. On Postgres,
        a growth of at least REBUILD_MIN_ROWS spans (the full run's 10M) drops the spans table's non-unique indexes
        for the copies and builds them again before the rollups, which read through them: the 10M growth with
        every index kept had written 19 GB in 16 minutes when it was stopped (docs/benchmarks.md)."""
        transactions = [self.copy_statements(c) for c in range(last - 1, first - 1, -1)]
        if self.db.dialect == "postgres" and (last - first) * self.seed["spans"] >= REBUILD_MIN_ROWS:
            self.db.run_transactions(transactions, rebuild_indexes_of="spans")
            self.db.run_transactions([self.rollup_statements()])
            return
        transactions.append(self.rollup_statements())
        self.db.run_transactions(transactions)

    def analyze(self):
        self.db.analyze()

    def digest(self):
        d = Digest()
        for span_id, trace_id, parent_id in self.db.stream(self.digest_sql.format(**self.seed)):
            d.add(span_id, trace_id, parent_id)
        return d.value()

    def mismatches(self):
        return {what: int(self.db.rows(sql.format(ne=self.distinct(), **self.seed))[0][0])
                for what, sql in self.check_sql.items()}


class OspreyGrowth(Growth):
    trace_project = "project_id"
    seed_sql = ("SELECT p.id, min(t.id), max(t.id), (SELECT min(id) FROM spans WHERE project_id = p.id), "
                "(SELECT max(id) FROM spans WHERE project_id = p.id), sum(t.span_count), sum(t.cost_total) "
                "FROM projects p JOIN traces t ON t.project_id = p.id WHERE p.name = '{project}' GROUP BY p.id")
    digest_sql = ("SELECT s.span_id, t.trace_id, s.parent_id FROM spans s JOIN traces t ON t.id = s.trace_rowid "
                  "WHERE s.project_id = {project}")
    check_sql = {
        # A trace's rollup columns against its spans (libs/store: counts and sums over the trace's spans, the
        # earliest start and latest end, the lowest span id without a parent as the root).
        "traces": "SELECT count(*) FROM traces t LEFT JOIN (SELECT trace_rowid, count(*) AS n, "
                  "sum(CASE WHEN status_code = 'ERROR' THEN 1 ELSE 0 END) AS e, sum(llm_token_count_prompt) AS p, "
                  "sum(llm_token_count_completion) AS c, sum(llm_token_count_total) AS tt, "
                  "sum(coalesce(cost_total, 0)) AS cost, min(start_time) AS lo, max(end_time) AS hi, "
                  "min(CASE WHEN parent_id IS NULL THEN span_id END) AS root FROM spans WHERE project_id = {project} "
                  "GROUP BY trace_rowid) a ON a.trace_rowid = t.id WHERE t.project_id = {project} AND (a.n IS NULL "
                  "OR t.span_count <> a.n OR t.error_count <> a.e OR t.token_count_prompt <> a.p OR "
                  "t.token_count_completion <> a.c OR t.token_count_total <> a.tt OR "
                  "abs(t.cost_total - a.cost) > 1e-9 OR t.start_time <> a.lo OR t.end_time <> a.hi OR "
                  "t.root_span_id {ne} a.root)",
        # A session's rollup columns against its traces (any project's: a trace joins a session by its id).
        "sessions": "SELECT count(*) FROM sessions s LEFT JOIN (SELECT session_rowid, count(*) AS n, "
                    "sum(token_count_prompt) AS p, sum(token_count_completion) AS c, sum(token_count_total) AS tt, "
                    "min(start_time) AS lo, max(end_time) AS hi FROM traces WHERE session_rowid IS NOT NULL "
                    "GROUP BY session_rowid) a ON a.session_rowid = s.id WHERE s.project_id = {project} AND "
                    "(a.n IS NULL OR s.trace_count <> a.n OR s.token_count_prompt <> a.p OR "
                    "s.token_count_completion <> a.c OR s.token_count_total <> a.tt OR s.start_time <> a.lo OR "
                    "s.end_time <> a.hi)",
        # The project's rollup columns (migration 0007) against its traces.
        "projects": "SELECT count(*) FROM projects p LEFT JOIN (SELECT project_id, count(*) AS n, "
                    "sum(span_count) AS sc, sum(CASE WHEN error_count > 0 THEN 1 ELSE 0 END) AS e, "
                    "sum(token_count_prompt) AS p, sum(token_count_completion) AS c, sum(token_count_total) AS tt, "
                    "sum(cost_total) AS cost FROM traces WHERE project_id = {project} GROUP BY project_id) a "
                    "ON a.project_id = p.id WHERE p.id = {project} AND (p.trace_count <> coalesce(a.n, 0) OR "
                    "p.span_count <> coalesce(a.sc, 0) OR p.error_trace_count <> coalesce(a.e, 0) OR "
                    "p.token_count_prompt <> coalesce(a.p, 0) OR p.token_count_completion <> coalesce(a.c, 0) OR "
                    "p.token_count_total <> coalesce(a.tt, 0) OR abs(p.cost_total - coalesce(a.cost, 0)) > "
                    "1e-9 * (1 + abs(p.cost_total)))",
    }

    def copy_statements(self, c):
        s, shift = self.seed, f" - {c * SHIFT_SECONDS * 1_000_000_000}"
        return self.copy_traces(c, {"start_time": "t.start_time" + shift, "end_time": "t.end_time" + shift,
                                    "root_span_id": self.cid("t.root_span_id", c)}) + [
            self.copy_into("spans", "s", {"trace_rowid": "m.new", "span_id": self.cid("s.span_id", c),
                                          "parent_id": self.cid("s.parent_id", c),
                                          "start_time": "s.start_time" + shift, "end_time": "s.end_time" + shift},
                           f"FROM spans s JOIN grow_traces m ON m.old = s.trace_rowid WHERE +s.project_id = "
                           f"{s['project']} AND s.id BETWEEN {s['span_first']} AND {s['span_last']} ORDER BY s.id"),
        ]

    def rollup_statements(self):
        p = self.seed["project"]
        return [
            "UPDATE sessions SET trace_count = a.n, token_count_prompt = a.p, token_count_completion = a.c, "
            "token_count_total = a.tt, start_time = a.lo, end_time = a.hi FROM (SELECT session_rowid, count(*) AS n, "
            "sum(token_count_prompt) AS p, sum(token_count_completion) AS c, sum(token_count_total) AS tt, "
            "min(start_time) AS lo, max(end_time) AS hi FROM traces WHERE session_rowid IN "
            f"(SELECT id FROM sessions WHERE project_id = {p}) GROUP BY session_rowid) a "
            "WHERE a.session_rowid = sessions.id",
            # The newest span start of the project (the copies are older than the seed: unchanged, kept exact).
            f"UPDATE projects SET last_span_at = (SELECT max(start_time) FROM spans WHERE project_id = {p}) "
            f"WHERE id = {p}",
            # The project's rollups (migration 0007), as the writer would have added them up for the copies.
            "UPDATE projects SET (trace_count, span_count, error_trace_count, token_count_prompt, "
            "token_count_completion, token_count_total, cost_total) = (SELECT count(*), coalesce(sum(span_count), 0), "
            "coalesce(sum(CASE WHEN error_count > 0 THEN 1 ELSE 0 END), 0), coalesce(sum(token_count_prompt), 0), "
            "coalesce(sum(token_count_completion), 0), coalesce(sum(token_count_total), 0), "
            f"coalesce(sum(cost_total), 0) FROM traces WHERE project_id = {p}) WHERE id = {p}",
        ]


class PhoenixGrowth(Growth):
    trace_project = "project_rowid"
    seed_sql = ("SELECT p.id, min(t.id), max(t.id), min(s.id), max(s.id), count(*), "
                "(SELECT sum(c.total_cost) FROM span_costs c JOIN traces ct ON ct.id = c.trace_rowid "
                "WHERE ct.project_rowid = p.id), "
                "(SELECT min(c.id) FROM span_costs c JOIN traces ct ON ct.id = c.trace_rowid "
                "WHERE ct.project_rowid = p.id), "
                "(SELECT max(c.id) FROM span_costs c JOIN traces ct ON ct.id = c.trace_rowid "
                "WHERE ct.project_rowid = p.id) "
                "FROM projects p JOIN traces t ON t.project_rowid = p.id JOIN spans s ON s.trace_rowid = t.id "
                "WHERE p.name = '{project}' GROUP BY p.id")
    digest_sql = ("SELECT s.span_id, t.trace_id, s.parent_id FROM spans s JOIN traces t ON t.id = s.trace_rowid "
                  "WHERE t.project_rowid = {project}")
    check_sql = {
        # phoenix/db/insertion/span.py widens a trace's time range to every span's, and its session's range to
        # every trace's (_extend_time_range).
        "traces": "SELECT count(*) FROM traces t LEFT JOIN (SELECT trace_rowid, min(start_time) AS lo, "
                  "max(end_time) AS hi FROM spans GROUP BY trace_rowid) a ON a.trace_rowid = t.id "
                  "WHERE t.project_rowid = {project} AND (a.lo IS NULL OR t.start_time <> a.lo OR t.end_time <> a.hi)",
        "sessions": "SELECT count(*) FROM project_sessions s LEFT JOIN (SELECT project_session_rowid AS sid, "
                    "min(start_time) AS lo, max(end_time) AS hi FROM traces WHERE project_session_rowid IS NOT NULL "
                    "GROUP BY project_session_rowid) a ON a.sid = s.id WHERE s.project_id = {project} AND "
                    "(a.lo IS NULL OR s.start_time <> a.lo OR s.end_time <> a.hi)",
    }

    def shift(self, expr, c):
        seconds = c * SHIFT_SECONDS
        if self.db.dialect == "sqlite":  # 'YYYY-MM-DD HH:MM:SS.ffffff' (SQLite's datetime() keeps no microseconds)
            return f"datetime(substr({expr}, 1, 19), '-{seconds} seconds') || substr({expr}, 20)"
        return f"{expr} - interval '{seconds} seconds'"

    def copy_statements(self, c):
        s = self.seed
        seed_costs = f"sc.id BETWEEN {s['cost_first']} AND {s['cost_last']}"
        return self.copy_traces(c, {"start_time": self.shift("t.start_time", c),
                                    "end_time": self.shift("t.end_time", c)}) + self.map_table("grow_spans") + [
            self.copy_into("spans", "s", {"trace_rowid": "m.new", "span_id": self.cid("s.span_id", c),
                                          "parent_id": self.cid("s.parent_id", c),
                                          "start_time": self.shift("s.start_time", c),
                                          "end_time": self.shift("s.end_time", c)},
                           f"FROM spans s JOIN grow_traces m ON m.old = s.trace_rowid "
                           f"WHERE s.id BETWEEN {s['span_first']} AND {s['span_last']} ORDER BY s.id"),
            # Span costs (LLM spans Phoenix priced) and their per-token-type details.
            # The seed's rows are found by id range (an index range scan): the map tables have no statistics.
            f"INSERT INTO grow_spans (old, new) SELECT sc.span_rowid, n.id FROM span_costs sc "
            f"JOIN spans s ON s.id = sc.span_rowid JOIN spans n ON n.span_id = {self.cid('s.span_id', c)} "
            f"WHERE {seed_costs}",
            self.copy_into("span_costs", "sc", {"span_rowid": "ms.new", "trace_rowid": "mt.new",
                                                "span_start_time": self.shift("sc.span_start_time", c)},
                           "FROM span_costs sc JOIN grow_spans ms ON ms.old = sc.span_rowid "
                           f"JOIN grow_traces mt ON mt.old = sc.trace_rowid WHERE {seed_costs} ORDER BY sc.id"),
            self.copy_into("span_cost_details", "d", {"span_cost_id": "nc.id"},
                           "FROM span_cost_details d JOIN span_costs oc ON oc.id = d.span_cost_id "
                           "JOIN grow_spans ms ON ms.old = oc.span_rowid JOIN span_costs nc ON nc.span_rowid = ms.new "
                           f"WHERE d.span_cost_id BETWEEN {s['cost_first']} AND {s['cost_last']} ORDER BY d.id"),
        ]

    def rollup_statements(self):
        p = self.seed["project"]
        return [
            "UPDATE project_sessions SET start_time = a.lo, end_time = a.hi FROM (SELECT project_session_rowid AS sid, "
            "min(start_time) AS lo, max(end_time) AS hi FROM traces WHERE project_session_rowid IN "
            f"(SELECT id FROM project_sessions WHERE project_id = {p}) GROUP BY project_session_rowid) a "
            "WHERE a.sid = project_sessions.id",
        ]
