-- The indexer checks references itself, set-based, so the per-row foreign-key triggers
-- go. Every event that names an existing offer or purchase (a purchase of an offer, a
-- delivery, settlement, refund or dispute of a purchase) also patches that row, and the
-- indexer's UPDATE of the patched rows fails the batch when a row is missing; rows that
-- a batch creates and references (an offer and its payees, a purchase and its
-- settlement and payouts) are created together from one fold. The triggers checked the
-- same thing again, one index probe per row, and they stop Postgres from inserting in
-- bulk (COPY's multi-insert is off for tables with such triggers): payees, purchases,
-- settlements and payouts took about twice as long to insert with them
-- (scripts/bench-indexer; 5 000-row batches).
ALTER TABLE payees DROP CONSTRAINT payees_offer_id_fkey;
ALTER TABLE purchases DROP CONSTRAINT purchases_offer_id_fkey;
ALTER TABLE settlements DROP CONSTRAINT settlements_purchase_id_fkey;
ALTER TABLE payouts DROP CONSTRAINT payouts_purchase_id_fkey;
ALTER TABLE refunds DROP CONSTRAINT refunds_purchase_id_fkey;
ALTER TABLE disputes DROP CONSTRAINT disputes_purchase_id_fkey;
