-- Version 10: ANALYZE skips spans.attributes and spans.events. No query compares either column as a whole
-- (attribute filters compare `attributes #> path`, an expression the planner estimates without column
-- statistics), yet autoanalyze sorted and compared a 30,000-row sample of ~1.5 KB jsonb documents for
-- them each time the growing table passed its threshold: on 500k loadgen spans, ANALYZE spans took
-- 604-816 ms with them and 464-496 ms without.
ALTER TABLE spans ALTER COLUMN attributes SET STATISTICS 0, ALTER COLUMN events SET STATISTICS 0;
