-- Version 5: the web UI sorts a project's traces by token count and by cost on the server (keyset
-- pages on (key, id), like start time and latency in 0001). Each index costs a B-tree update when a
-- trace's summary changes (a span of it is written), the price of not scanning a project to sort.
CREATE INDEX traces_project_tokens ON traces(project_id, token_count_total, id);
CREATE INDEX traces_project_cost ON traces(project_id, cost_total, id);
