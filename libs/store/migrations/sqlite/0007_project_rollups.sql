-- Version 7: per-project totals (issue #6). "Project totals" summed every trace of every project per call
-- (50 ms p99 at 250k spans); the store now keeps the sums on the project row, exact on every path that
-- changes traces: the writer adds each batch's per-project delta in the transaction that stores the
-- spans, and every mutation (delete span/trace/sessions/project, transfer traces) applies its own
-- delta. error_trace_count counts traces with error_count > 0. Backfilled here from the traces.
ALTER TABLE projects ADD COLUMN trace_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN span_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN error_trace_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN token_count_prompt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN token_count_completion INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN token_count_total INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN cost_total REAL NOT NULL DEFAULT 0;

UPDATE projects
SET (trace_count, span_count, error_trace_count, token_count_prompt, token_count_completion, token_count_total,
     cost_total) =
    (SELECT count(*), coalesce(sum(span_count), 0), coalesce(sum(error_count > 0), 0),
            coalesce(sum(token_count_prompt), 0), coalesce(sum(token_count_completion), 0),
            coalesce(sum(token_count_total), 0), coalesce(sum(cost_total), 0)
     FROM traces WHERE traces.project_id = projects.id);
