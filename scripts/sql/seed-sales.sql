-- The rows an offer's detail reads besides the offer, for the seeded offers: a split of
-- one payee (the owner), and purchases of a third of the offers, half of them settled.
-- Included (\ir) by web-api-seed.sql and search-seed.sql after they insert offers.
INSERT INTO payees (offer_id, position, account, bps)
SELECT id, 0, owner, 10000 FROM offers;

INSERT INTO purchases (id, offer_id, buyer, buyer_pk, amount, asset, fee_bps, status,
                       delivery_deadline, dispute_deadline, envelope, created_block,
                       delivered_block, settled_block, updated_block)
SELECT o.id / 3, o.id, decode(repeat(to_hex(32 + o.id % 7), 32), 'hex'), sha256(o.id::text::bytea),
       o.price, o.asset, 250,
       CASE WHEN o.id % 2 = 0 THEN 'settled' ELSE 'paid' END,
       o.id + 10, CASE WHEN o.id % 2 = 0 THEN o.id + 7 END,
       CASE WHEN o.id % 2 = 0 THEN decode(repeat('09', 80), 'hex') END,
       o.id + 1, CASE WHEN o.id % 2 = 0 THEN o.id + 5 END,
       CASE WHEN o.id % 2 = 0 THEN o.id + 9 END, o.id + 9
FROM offers o WHERE o.id % 3 = 0;
