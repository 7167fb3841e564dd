-- Osprey store, SQLite dialect, version 4: the prompt registry (services/prompt-registry). Prompts have
-- unique names; versions are immutable and "latest" is the highest id; a tag is unique per prompt and
-- points at one version (re-tagging moves it). AUTOINCREMENT: ids are never reused after a delete, so
-- an old id never names a new prompt or version. JSON columns hold the registry's validated text as is.
-- Times are INTEGER nanoseconds since the epoch.

CREATE TABLE prompts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  description TEXT,
  metadata TEXT NOT NULL DEFAULT '{}',  -- JSON object
  source_prompt_id INTEGER REFERENCES prompts(id) ON DELETE SET NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE prompt_versions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  prompt_id INTEGER NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
  description TEXT,
  model_provider TEXT NOT NULL,
  model_name TEXT NOT NULL,
  template_type TEXT NOT NULL CHECK (template_type IN ('CHAT', 'STR')),
  template_format TEXT NOT NULL CHECK (template_format IN ('MUSTACHE', 'F_STRING', 'NONE')),
  template TEXT NOT NULL,               -- JSON
  invocation_parameters TEXT NOT NULL,  -- JSON
  tools TEXT,                           -- JSON or NULL
  response_format TEXT,                 -- JSON or NULL
  created_at INTEGER NOT NULL
);
CREATE INDEX prompt_versions_prompt ON prompt_versions(prompt_id, id);

CREATE TABLE prompt_version_tags (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  description TEXT,
  prompt_id INTEGER NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
  prompt_version_id INTEGER NOT NULL REFERENCES prompt_versions(id) ON DELETE CASCADE,
  UNIQUE (prompt_id, name)
);
CREATE INDEX prompt_version_tags_version ON prompt_version_tags(prompt_version_id);
