-- Osprey store, SQLite dialect, version 2: annotations on spans, traces, sessions and documents, and
-- annotation configs with their project assignments. Times are INTEGER nanoseconds since the epoch.
-- span_annotations is also read by the span query language (evals["name"].score / .label).

CREATE TABLE span_annotations (
  id INTEGER PRIMARY KEY,
  span_rowid INTEGER NOT NULL REFERENCES spans(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  label TEXT,
  score REAL,
  explanation TEXT,
  metadata TEXT NOT NULL DEFAULT '{}',  -- JSON object
  annotator_kind TEXT NOT NULL CHECK (annotator_kind IN ('LLM', 'CODE', 'HUMAN')),
  identifier TEXT NOT NULL DEFAULT '',
  source TEXT NOT NULL CHECK (source IN ('API', 'APP')),
  user_id INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (name, span_rowid, identifier)
);
CREATE INDEX span_annotations_span ON span_annotations(span_rowid);

CREATE TABLE trace_annotations (
  id INTEGER PRIMARY KEY,
  trace_rowid INTEGER NOT NULL REFERENCES traces(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  label TEXT,
  score REAL,
  explanation TEXT,
  metadata TEXT NOT NULL DEFAULT '{}',
  annotator_kind TEXT NOT NULL CHECK (annotator_kind IN ('LLM', 'CODE', 'HUMAN')),
  identifier TEXT NOT NULL DEFAULT '',
  source TEXT NOT NULL CHECK (source IN ('API', 'APP')),
  user_id INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (name, trace_rowid, identifier)
);
CREATE INDEX trace_annotations_trace ON trace_annotations(trace_rowid);

CREATE TABLE session_annotations (
  id INTEGER PRIMARY KEY,
  session_rowid INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  label TEXT,
  score REAL,
  explanation TEXT,
  metadata TEXT NOT NULL DEFAULT '{}',
  annotator_kind TEXT NOT NULL CHECK (annotator_kind IN ('LLM', 'CODE', 'HUMAN')),
  identifier TEXT NOT NULL DEFAULT '',
  source TEXT NOT NULL CHECK (source IN ('API', 'APP')),
  user_id INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (name, session_rowid, identifier)
);
CREATE INDEX session_annotations_session ON session_annotations(session_rowid);

CREATE TABLE document_annotations (
  id INTEGER PRIMARY KEY,
  span_rowid INTEGER NOT NULL REFERENCES spans(id) ON DELETE CASCADE,
  document_position INTEGER NOT NULL,
  name TEXT NOT NULL,
  label TEXT,
  score REAL,
  explanation TEXT,
  metadata TEXT NOT NULL DEFAULT '{}',
  annotator_kind TEXT NOT NULL CHECK (annotator_kind IN ('LLM', 'CODE', 'HUMAN')),
  identifier TEXT NOT NULL DEFAULT '',
  source TEXT NOT NULL CHECK (source IN ('API', 'APP')),
  user_id INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (name, span_rowid, document_position, identifier)
);
CREATE INDEX document_annotations_span ON document_annotations(span_rowid);

-- `config` holds the type-specific fields (description, optimization_direction, values, bounds,
-- threshold) as one JSON object; the store reads only name and type.
CREATE TABLE annotation_configs (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL CHECK (type IN ('CATEGORICAL', 'CONTINUOUS', 'FREEFORM')),
  config TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE project_annotation_configs (
  id INTEGER PRIMARY KEY,
  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  annotation_config_id INTEGER NOT NULL REFERENCES annotation_configs(id) ON DELETE CASCADE,
  UNIQUE (project_id, annotation_config_id)
);
CREATE INDEX project_annotation_configs_config ON project_annotation_configs(annotation_config_id);

INSERT INTO annotation_configs (name, type, config)
VALUES ('user_feedback', 'CATEGORICAL',
        '{"description":null,"optimization_direction":"MAXIMIZE","values":[{"label":"positive","score":1.0},{"label":"negative","score":0.0}]}');
