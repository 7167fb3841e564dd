-- Osprey store, Postgres dialect, version 1: the same logical schema as migrations/sqlite/0001_init.sql.
-- Times are bigint nanoseconds since the Unix epoch (timestamptz holds only microseconds, and every
-- record and cursor in the Store API is in nanoseconds). OTel ids are lowercase hex text with the "C"
-- collation, so comparisons (root span = lowest span id, lock order) are bytewise, as in SQLite.
-- Attributes and events are JSONB; attributes use lz4 TOAST compression (large LLM prompts).

CREATE TABLE projects (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL UNIQUE,
  description text,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  last_span_at bigint
);

CREATE TABLE sessions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  session_id text NOT NULL UNIQUE,
  project_id bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  start_time bigint NOT NULL,
  end_time bigint NOT NULL,
  trace_count bigint NOT NULL DEFAULT 0,
  token_count_prompt bigint NOT NULL DEFAULT 0,
  token_count_completion bigint NOT NULL DEFAULT 0,
  token_count_total bigint NOT NULL DEFAULT 0
);
CREATE INDEX sessions_project_id ON sessions(project_id, id);

CREATE TABLE traces (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  project_id bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  trace_id text COLLATE "C" NOT NULL UNIQUE,
  start_time bigint NOT NULL,
  end_time bigint NOT NULL,
  root_span_id text COLLATE "C",
  root_span_name text,
  span_count bigint NOT NULL DEFAULT 0,
  error_count bigint NOT NULL DEFAULT 0,
  token_count_prompt bigint NOT NULL DEFAULT 0,
  token_count_completion bigint NOT NULL DEFAULT 0,
  token_count_total bigint NOT NULL DEFAULT 0,
  session_rowid bigint REFERENCES sessions(id) ON DELETE CASCADE
);
CREATE INDEX traces_project_start ON traces(project_id, start_time, id);
CREATE INDEX traces_project_latency ON traces(project_id, (end_time - start_time), id);
CREATE INDEX traces_session ON traces(session_rowid, start_time) WHERE session_rowid IS NOT NULL;

CREATE TABLE spans (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  trace_rowid bigint NOT NULL REFERENCES traces(id) ON DELETE CASCADE,
  project_id bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  span_id text COLLATE "C" NOT NULL UNIQUE,
  parent_id text COLLATE "C",  -- NULL for a root span
  name text NOT NULL,
  span_kind text NOT NULL,
  start_time bigint NOT NULL,
  end_time bigint NOT NULL,
  status_code text NOT NULL DEFAULT 'UNSET' CHECK (status_code IN ('UNSET', 'OK', 'ERROR')),
  status_message text NOT NULL DEFAULT '',
  session_id text,
  user_id text,
  llm_model_name text,
  llm_token_count_prompt bigint NOT NULL DEFAULT 0,
  llm_token_count_completion bigint NOT NULL DEFAULT 0,
  llm_token_count_total bigint NOT NULL DEFAULT 0,
  input_preview text,
  output_preview text,
  attributes jsonb COMPRESSION lz4 NOT NULL DEFAULT '{}',  -- nested JSON object
  events jsonb NOT NULL DEFAULT '[]'                      -- JSON array
);
-- The same index set as SQLite (see the comment there): every index is a random-order B-tree
-- insert per span.
CREATE INDEX spans_project_id ON spans(project_id, id);
CREATE INDEX spans_project_start ON spans(project_id, start_time, id);
CREATE INDEX spans_trace_rowid ON spans(trace_rowid, start_time);
CREATE INDEX spans_user_id ON spans(user_id) WHERE user_id IS NOT NULL;
CREATE INDEX spans_project_kind ON spans(project_id, span_kind);
CREATE INDEX spans_project_root ON spans(project_id, id) WHERE parent_id IS NULL;

INSERT INTO projects (name, description, created_at, updated_at)
VALUES ('default', NULL, (extract(epoch FROM now()) * 1000000000)::bigint,
        (extract(epoch FROM now()) * 1000000000)::bigint);
