-- Osprey store, Postgres dialect, version 4: the prompt registry (services/prompt-registry). Prompts have
-- unique names; versions are immutable and "latest" is the highest id; a tag is unique per prompt and
-- points at one version (re-tagging moves it). Identity columns never reuse ids. The JSON columns are
-- text, not jsonb: they hold the registry's validated JSON byte for byte (jsonb would reorder keys), and
-- nothing queries inside them. Times are bigint nanoseconds since the epoch.

CREATE TABLE prompts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL UNIQUE,
  description text,
  metadata text NOT NULL DEFAULT '{}',  -- JSON object
  source_prompt_id bigint REFERENCES prompts(id) ON DELETE SET NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
);

CREATE TABLE prompt_versions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  prompt_id bigint NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
  description text,
  model_provider text NOT NULL,
  model_name text NOT NULL,
  template_type text NOT NULL CHECK (template_type IN ('CHAT', 'STR')),
  template_format text NOT NULL CHECK (template_format IN ('MUSTACHE', 'F_STRING', 'NONE')),
  template text NOT NULL,
  invocation_parameters text NOT NULL,
  tools text,
  response_format text,
  created_at bigint NOT NULL
);
CREATE INDEX prompt_versions_prompt ON prompt_versions(prompt_id, id);

CREATE TABLE prompt_version_tags (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL,
  description text,
  prompt_id bigint NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
  prompt_version_id bigint NOT NULL REFERENCES prompt_versions(id) ON DELETE CASCADE,
  UNIQUE (prompt_id, name)
);
CREATE INDEX prompt_version_tags_version ON prompt_version_tags(prompt_version_id);
