-- The offers' Postgres full-text search vector and its GIN index go: nothing in the
-- product reads them (the web API ranks with tantivy, DESIGN §5), and computing three
-- to_tsvector calls an offer was over half of what the indexer paid to write one. The
-- web API's load test builds the same column in its own throwaway database for its
-- Postgres baseline (scripts/sql/offers-text-search.sql).
DROP INDEX offers_search;
ALTER TABLE offers DROP COLUMN search;
DROP FUNCTION offer_tags_text(text[]);
