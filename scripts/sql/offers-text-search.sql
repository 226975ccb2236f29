-- The Postgres baseline of the web API's load test (scripts/bench-web-api): full-text
-- search over the offers as Postgres itself would do it, a weighted tsvector (title,
-- then tags, then description) with a GIN index. Built only in the benchmark's own
-- throwaway database: the index's offers table carries no search vector (V5).
CREATE FUNCTION offer_tags_text(tags text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN array_to_string(tags, ' ');
ALTER TABLE offers ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', title), 'A') ||
    setweight(to_tsvector('english', offer_tags_text(tags)), 'B') ||
    setweight(to_tsvector('english', description), 'C')
) STORED;
SET maintenance_work_mem = '1GB';
CREATE INDEX offers_search ON offers USING gin (search);
