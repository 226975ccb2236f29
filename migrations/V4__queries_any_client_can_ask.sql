-- Two queries of the web API that any client can ask read whole tables (found in
-- review, checked with EXPLAIN on 100 000 offers and 300 000 token balances):
--
-- * An account's token balances (GET /v1/accounts/{address}/balances) select by
--   account, but token_balances' primary key led with the token: a sequential scan,
--   33 ms at 300 000 rows. The key now leads with the account. The indexer's updates
--   name both columns, so they use it as before.
ALTER TABLE token_balances
    DROP CONSTRAINT token_balances_pkey,
    ADD PRIMARY KEY (account, token);

-- * Listings by price of paused or delisted offers, or of every status
--   (GET /v1/offers?status=any&sort=price_asc), sorted every such offer: the partial
--   offers_active_price (V2) serves active offers only. One index on (price, id) over
--   every offer serves them all, active listings too (a page reads past the inactive
--   offers among the cheapest, a few entries a page while most offers are active), and
--   the indexer keeps one price index as before.
DROP INDEX offers_active_price;
CREATE INDEX offers_price ON offers (price, id);
