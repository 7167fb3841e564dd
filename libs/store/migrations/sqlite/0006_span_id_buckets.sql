-- Version 6: spans are unique per (trace bucket, span id) instead of globally by span id.
--
-- A global UNIQUE(span_id) index is a random-order B-tree insert per span: once the store holds a few
-- hundred thousand spans, each committed batch dirtied about one 4 KiB index page per span, and that
-- WAL volume was the writer's ack-latency tail (issue #2). The key (trace_rowid >> 8, span_id) puts the
-- spans of new traces into the newest bucket (256 traces), a few pages at the index's right edge.
-- It still refuses a redelivered span (same trace, same bucket). A span id alone is found by probing
-- every bucket (span_id_buckets below): one index seek per 256 traces, ~1 ms at 1M spans.
--
-- SQLite cannot drop a column's UNIQUE constraint, so the table is rebuilt (SQLite's documented
-- procedure; the migration runner turns foreign keys off around it and checks them before commit).

CREATE TABLE spans_new (
  id INTEGER PRIMARY KEY,
  trace_rowid INTEGER NOT NULL REFERENCES traces(id) ON DELETE CASCADE,
  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  span_id TEXT NOT NULL,
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
  events TEXT NOT NULL DEFAULT '[]',      -- JSON array
  cost_prompt REAL,                       -- US dollars; NULL when unknown
  cost_completion REAL,
  cost_total REAL,
  cost_details TEXT                       -- JSON: model, tokens and cost per token type
);

INSERT INTO spans_new (id, trace_rowid, project_id, span_id, parent_id, name, span_kind, start_time, end_time,
                       status_code, status_message, session_id, user_id, llm_model_name, llm_token_count_prompt,
                       llm_token_count_completion, llm_token_count_total, input_preview, output_preview,
                       attributes, events, cost_prompt, cost_completion, cost_total, cost_details)
SELECT id, trace_rowid, project_id, span_id, parent_id, name, span_kind, start_time, end_time,
       status_code, status_message, session_id, user_id, llm_model_name, llm_token_count_prompt,
       llm_token_count_completion, llm_token_count_total, input_preview, output_preview,
       attributes, events, cost_prompt, cost_completion, cost_total, cost_details
FROM spans;

DROP TABLE spans;
ALTER TABLE spans_new RENAME TO spans;

CREATE UNIQUE INDEX spans_span_id_bucket ON spans((trace_rowid >> 8), span_id);
CREATE INDEX spans_project_id ON spans(project_id);
CREATE INDEX spans_project_start ON spans(project_id, start_time, id);
CREATE INDEX spans_trace_rowid ON spans(trace_rowid, start_time);
CREATE INDEX spans_user_id ON spans(user_id) WHERE user_id IS NOT NULL;
CREATE INDEX spans_project_kind ON spans(project_id, span_kind);
CREATE INDEX spans_project_root ON spans(project_id, id) WHERE parent_id IS NULL;

-- Every bucket number that can hold a span: 0 .. max(traces.id) >> 8.
CREATE VIEW span_id_buckets (bucket) AS
  WITH RECURSIVE b(x) AS (
    SELECT 0 UNION ALL SELECT x + 1 FROM b WHERE x < (SELECT coalesce(max(id), 0) >> 8 FROM traces))
  SELECT x FROM b;
