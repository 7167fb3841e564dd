-- Version 3: token costs. Ingest prices LLM spans (libs/costs); the writer stores the cost with the span
-- and adds it to the trace summary. Sessions and projects sum their traces at read time.
ALTER TABLE spans ADD COLUMN cost_prompt double precision;  -- US dollars; NULL when unknown
ALTER TABLE spans ADD COLUMN cost_completion double precision;
ALTER TABLE spans ADD COLUMN cost_total double precision;
ALTER TABLE spans ADD COLUMN cost_details text;             -- JSON: model, tokens and cost per token type
ALTER TABLE traces ADD COLUMN cost_total double precision NOT NULL DEFAULT 0;
