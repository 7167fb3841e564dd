-- Version 8: spans keep no foreign keys. Each COPYed span row checked its trace and its project (two
-- queries per row at the end of the COPY); the writer creates and locks a span's trace row in the same
-- transaction before it COPYs the span, so the checks only cost. With them, the writer's server process
-- spent ~24 % of its CPU in them. Deleting a trace row (directly, or cascaded from its project or session)
-- still deletes its spans: one statement per delete statement, through the trigger below.
ALTER TABLE spans DROP CONSTRAINT spans_trace_rowid_fkey, DROP CONSTRAINT spans_project_id_fkey;

CREATE FUNCTION osprey_delete_spans_of_deleted_traces() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM spans s USING deleted_traces d WHERE s.trace_rowid = d.id;
  RETURN NULL;
END
$$;

CREATE TRIGGER traces_delete_spans AFTER DELETE ON traces REFERENCING OLD TABLE AS deleted_traces
  FOR EACH STATEMENT EXECUTE FUNCTION osprey_delete_spans_of_deleted_traces();

