-- Version 9: no index on spans.user_id. No read filters or sorts spans by user (the API, the span query
-- language and the UI read user_id only as a column of spans found otherwise), so the index was one more
-- B-tree insert per span for nothing: loadgen's spans all carry a user id, in random order.
DROP INDEX spans_user_id;
