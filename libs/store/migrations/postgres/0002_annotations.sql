-- Osprey store, Postgres dialect, version 2: the logical schema of migrations/sqlite/0002_annotations.sql
-- (annotations on spans, traces, sessions and documents; annotation configs and project assignments).
-- Times are bigint nanoseconds since the epoch, as in every other table.
-- span_annotations is also read by the span query language (evals["name"].score / .label).

CREATE TABLE span_annotations (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  span_rowid bigint NOT NULL REFERENCES spans(id) ON DELETE CASCADE,
  name text NOT NULL,
  label text,
  score double precision,
  explanation text,
  metadata jsonb NOT NULL DEFAULT '{}',  -- JSON object
  annotator_kind text NOT NULL CHECK (annotator_kind IN ('LLM', 'CODE', 'HUMAN')),
  identifier text NOT NULL DEFAULT '',
  source text NOT NULL CHECK (source IN ('API', 'APP')),
  user_id bigint,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  UNIQUE (name, span_rowid, identifier)
);
CREATE INDEX span_annotations_span ON span_annotations(span_rowid);

CREATE TABLE trace_annotations (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  trace_rowid bigint NOT NULL REFERENCES traces(id) ON DELETE CASCADE,
  name text NOT NULL,
  label text,
  score double precision,
  explanation text,
  metadata jsonb NOT NULL DEFAULT '{}',
  annotator_kind text NOT NULL CHECK (annotator_kind IN ('LLM', 'CODE', 'HUMAN')),
  identifier text NOT NULL DEFAULT '',
  source text NOT NULL CHECK (source IN ('API', 'APP')),
  user_id bigint,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  UNIQUE (name, trace_rowid, identifier)
);
CREATE INDEX trace_annotations_trace ON trace_annotations(trace_rowid);

CREATE TABLE session_annotations (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  session_rowid bigint NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  name text NOT NULL,
  label text,
  score double precision,
  explanation text,
  metadata jsonb NOT NULL DEFAULT '{}',
  annotator_kind text NOT NULL CHECK (annotator_kind IN ('LLM', 'CODE', 'HUMAN')),
  identifier text NOT NULL DEFAULT '',
  source text NOT NULL CHECK (source IN ('API', 'APP')),
  user_id bigint,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  UNIQUE (name, session_rowid, identifier)
);
CREATE INDEX session_annotations_session ON session_annotations(session_rowid);

CREATE TABLE document_annotations (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  span_rowid bigint NOT NULL REFERENCES spans(id) ON DELETE CASCADE,
  document_position bigint NOT NULL,
  name text NOT NULL,
  label text,
  score double precision,
  explanation text,
  metadata jsonb NOT NULL DEFAULT '{}',
  annotator_kind text NOT NULL CHECK (annotator_kind IN ('LLM', 'CODE', 'HUMAN')),
  identifier text NOT NULL DEFAULT '',
  source text NOT NULL CHECK (source IN ('API', 'APP')),
  user_id bigint,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  UNIQUE (name, span_rowid, document_position, identifier)
);
CREATE INDEX document_annotations_span ON document_annotations(span_rowid);

-- `config` holds the type-specific fields (description, optimization_direction, values, bounds,
-- threshold) as one JSON object; the store reads only name and type.
CREATE TABLE annotation_configs (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL UNIQUE,
  type text NOT NULL CHECK (type IN ('CATEGORICAL', 'CONTINUOUS', 'FREEFORM')),
  config jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE project_annotation_configs (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  project_id bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  annotation_config_id bigint NOT NULL REFERENCES annotation_configs(id) ON DELETE CASCADE,
  UNIQUE (project_id, annotation_config_id)
);
CREATE INDEX project_annotation_configs_config ON project_annotation_configs(annotation_config_id);

INSERT INTO annotation_configs (name, type, config)
VALUES ('user_feedback', 'CATEGORICAL',
        '{"description":null,"optimization_direction":"MAXIMIZE","values":[{"label":"positive","score":1.0},{"label":"negative","score":0.0}]}');
