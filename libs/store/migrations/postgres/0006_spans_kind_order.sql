-- Version 6: a project's spans of one kind, in page order. ListSpans pages by id descending (cursor
-- `id <= n`); with (project_id, span_kind) alone, a planner without statistics (right after a load)
-- read every span of that kind and sorted them for each page. With id in the key, a single-kind
-- filter (`span_kind = $n`) walks the index backwards and stops after limit + 1 entries. The new
-- index serves every lookup the old one did (same leading columns), so the old one goes.
-- Postgres only: SQLite's 0006 is unrelated.
DROP INDEX spans_project_kind;
CREATE INDEX spans_project_kind_id ON spans(project_id, span_kind, id);
