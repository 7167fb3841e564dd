-- Version 8: no index on spans.user_id, as in the Postgres dialect's 0009: no read filters or sorts spans
-- by user, so it was one more B-tree insert per span for nothing.
DROP INDEX spans_user_id;
