-- Version 3: token costs. Ingest prices LLM spans (libs/costs); the writer stores the cost with the span
-- and adds it to the trace summary. Sessions and projects sum their traces at read time.
ALTER TABLE spans ADD COLUMN cost_prompt REAL;       -- US dollars; NULL when unknown
ALTER TABLE spans ADD COLUMN cost_completion REAL;
ALTER TABLE spans ADD COLUMN cost_total REAL;
ALTER TABLE spans ADD COLUMN cost_details TEXT;      -- JSON: model, tokens and cost per token type
ALTER TABLE traces ADD COLUMN cost_total REAL NOT NULL DEFAULT 0;
