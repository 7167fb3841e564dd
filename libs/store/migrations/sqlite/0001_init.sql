-- Osprey store, SQLite dialect, version 1: projects, sessions, per-trace summaries and spans.
-- Times are INTEGER nanoseconds since the Unix epoch; OTel ids are lowercase hex TEXT.

CREATE TABLE projects (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  last_span_at INTEGER
);

CREATE TABLE sessions (
  id INTEGER PRIMARY KEY,
  session_id TEXT NOT NULL UNIQUE,
  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  start_time INTEGER NOT NULL,
  end_time INTEGER NOT NULL,
  trace_count INTEGER NOT NULL DEFAULT 0,
  token_count_prompt INTEGER NOT NULL DEFAULT 0,
  token_count_completion INTEGER NOT NULL DEFAULT 0,
  token_count_total INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_project_id ON sessions(project_id, id);

CREATE TABLE traces (
  id INTEGER PRIMARY KEY,
  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  trace_id TEXT NOT NULL UNIQUE,
  start_time INTEGER NOT NULL,
  end_time INTEGER NOT NULL,
  root_span_id TEXT,
  root_span_name TEXT,
  span_count INTEGER NOT NULL DEFAULT 0,
  error_count INTEGER NOT NULL DEFAULT 0,
  token_count_prompt INTEGER NOT NULL DEFAULT 0,
  token_count_completion INTEGER NOT NULL DEFAULT 0,
  token_count_total INTEGER NOT NULL DEFAULT 0,
  session_rowid INTEGER REFERENCES sessions(id) ON DELETE CASCADE
);
CREATE INDEX traces_project_start ON traces(project_id, start_time, id);
CREATE INDEX traces_project_latency ON traces(project_id, (end_time - start_time), id);
CREATE INDEX traces_session ON traces(session_rowid, start_time) WHERE session_rowid IS NOT NULL;

CREATE TABLE spans (
  id INTEGER PRIMARY KEY,
  trace_rowid INTEGER NOT NULL REFERENCES traces(id) ON DELETE CASCADE,
  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  span_id TEXT NOT NULL UNIQUE,
  parent_id TEXT,  -- NULL for a root span
  name TEXT NOT NULL,
  span_kind TEXT NOT NULL,
  start_time INTEGER NOT NULL,
  end_time INTEGER NOT NULL,
  status_code TEXT NOT NULL DEFAULT 'UNSET' CHECK (status_code IN ('UNSET', 'OK', 'ERROR')),
  status_message TEXT NOT NULL DEFAULT '',
  session_id TEXT,
  user_id TEXT,
  llm_model_name TEXT,
  llm_token_count_prompt INTEGER NOT NULL DEFAULT 0,
  llm_token_count_completion INTEGER NOT NULL DEFAULT 0,
  llm_token_count_total INTEGER NOT NULL DEFAULT 0,
  input_preview TEXT,
  output_preview TEXT,
  attributes TEXT NOT NULL DEFAULT '{}',  -- nested JSON object
  events TEXT NOT NULL DEFAULT '[]'       -- JSON array
);
-- Pages by (project, id DESC) (the rowid is the implicit last index column), the time window on
-- start time, trace detail, span kind, root spans. Every index costs ingest throughput (each is a
-- random-order B-tree insert per span), so filters that are rare or always combined with a selective
-- one (name, parent id) scan the project's id index instead; sessions are found through traces.
CREATE INDEX spans_project_id ON spans(project_id);
CREATE INDEX spans_project_start ON spans(project_id, start_time, id);
CREATE INDEX spans_trace_rowid ON spans(trace_rowid, start_time);
CREATE INDEX spans_user_id ON spans(user_id) WHERE user_id IS NOT NULL;
CREATE INDEX spans_project_kind ON spans(project_id, span_kind);
CREATE INDEX spans_project_root ON spans(project_id, id) WHERE parent_id IS NULL;

INSERT INTO projects (name, description, created_at, updated_at)
VALUES ('default', NULL, CAST(strftime('%s', 'now') AS INTEGER) * 1000000000,
        CAST(strftime('%s', 'now') AS INTEGER) * 1000000000);
