-- Synthetic rows in the indexer's tables for exercising the web API from outside
-- (scripts/schemathesis, scripts/bench-web-api). :offers sets how many offers.
-- Owners, buyers and the token are fixed 32-byte accounts; everything else varies.
INSERT INTO indexer_cursor (block_number, block_hash, marketplace)
VALUES (1000000, sha256('head'::bytea), decode(repeat('42', 32), 'hex'));

INSERT INTO offers (id, owner, content_root, header, key_commitment, price, asset, uri, title,
                    description, tags, schema, size, bond, status, purchases, created_block,
                    updated_block)
SELECT i,
       decode(repeat(to_hex(16 + i % 5), 32), 'hex'),
       sha256(i::text::bytea), decode('444d5345414c01' || repeat('00', 19), 'hex'),
       sha256(('k' || i)::bytea),
       (i * 7919) % 100000,
       CASE WHEN i % 4 = 0 THEN decode(repeat('70', 32), 'hex') ELSE ''::bytea END,
       'file:///blobs/' || i || '.dmseal',
       (ARRAY['Daily step counts', 'Heart rate during sleep', 'Grocery receipts',
              'Commute times', 'Screen time by app', 'Sleep diary'])[1 + i % 6] || ' #' || i,
       (ARRAY['One row per day from a phone pedometer.', 'Per-minute readings from a chest strap.',
              'Two years of receipts, itemised.', 'Door to door, by bike and train.'])[1 + i % 4],
       ARRAY[(ARRAY['health', 'fitness', 'shopping', 'travel', 'sleep'])[1 + i % 5], 'personal'],
       'date,value', 1000 + i, 1000,
       CASE i % 10 WHEN 0 THEN 'delisted' WHEN 1 THEN 'paused' ELSE 'active' END,
       CASE WHEN i % 3 = 0 THEN 1 ELSE 0 END, i, i
FROM generate_series(1, :offers) i;

\ir seed-sales.sql

INSERT INTO balances (account, asset, credited, withdrawn, updated_block)
SELECT DISTINCT owner, asset, 5000, 1000, 1 FROM offers;

INSERT INTO token_balances (token, account, balance, updated_block)
SELECT DISTINCT decode(repeat('70', 32), 'hex'), buyer, 123456789, 1 FROM purchases;

SELECT setval('offer_change_seq', (SELECT max(change_seq) FROM offers)) AS change_seq \gset
