-- V1: the index of the marketplace, as DESIGN §5 describes it.
--
-- Conventions, kept in every table (why: the chain's own types, without loss):
-- * accounts and contract addresses are the raw 32 bytes (bytea); SS58 is only for
--   people, at the API's and CLI's edges, and depends on a network prefix;
-- * amounts are u128 on chain, so NUMERIC(39,0) (2^128 has 39 digits);
-- * an asset is bytea: the empty string for the chain's native token, otherwise the
--   PSP22 contract's 32-byte address (not NULL, so that it can be part of a key);
-- * block numbers are u32 on chain, kept as bigint; offer and purchase ids are u64
--   counters from 1, kept as bigint (a counter will not pass 2^63);
-- * every row written from an event names the block it came from, so that a page can
--   say whether a step is final and a rebuild can be checked row for row.

-- The last block applied, written in the same transaction as the rows of its batch:
-- a crash never half-applies a block and a restart resumes after exactly this block.
-- One row; the contract addresses are kept so that an indexer started with another
-- contract against this database stops instead of mixing two markets.
CREATE TABLE indexer_cursor (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    block_number   bigint  NOT NULL,
    block_hash     bytea   NOT NULL CHECK (octet_length(block_hash) = 32),
    marketplace    bytea   NOT NULL CHECK (octet_length(marketplace) = 32),
    applied_at     timestamptz NOT NULL DEFAULT now()
);

-- Every event the indexer decoded, in chain order, with its raw bytes and its decoded
-- form as JSON. It is the log the derived tables are rebuilt from (`indexer rebuild`
-- decodes `data` again; `payload` is for people and ad-hoc SQL).
CREATE TABLE raw_events (
    block_number     bigint  NOT NULL,
    event_index      integer NOT NULL,
    block_hash       bytea   NOT NULL,
    extrinsic_index  integer,
    contract         bytea   NOT NULL,
    name             text    NOT NULL,
    topics           bytea[] NOT NULL,
    data             bytea   NOT NULL,
    payload          jsonb   NOT NULL,
    PRIMARY KEY (block_number, event_index)
);
-- The API's live feed and per-contract reads walk the log by contract and position.
CREATE INDEX raw_events_name ON raw_events (name, block_number, event_index);

-- Events from the watched contracts whose bytes did not decode: kept whole, never
-- skipped silently, so that a decoder fix can replay them.
CREATE TABLE undecodable_events (
    block_number     bigint  NOT NULL,
    event_index      integer NOT NULL,
    block_hash       bytea   NOT NULL,
    extrinsic_index  integer,
    contract         bytea   NOT NULL,
    topics           bytea[] NOT NULL,
    data             bytea   NOT NULL,
    reason           text    NOT NULL,
    PRIMARY KEY (block_number, event_index)
);

-- The change feed of offers for the web API's search index: every write of an offer
-- row takes the next value, inside the indexer's batch transaction. With one writer
-- (the advisory lock), values become visible in increasing order, so a reader that
-- remembers the highest value it has seen misses nothing.
CREATE SEQUENCE offer_change_seq;

-- Tags as one text for the search vector. array_to_string is only STABLE (it is for
-- arrays of types whose output may change with settings); for text[] it is immutable,
-- which a generated column requires.
CREATE FUNCTION offer_tags_text(tags text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN array_to_string(tags, ' ');

CREATE TABLE offers (
    id               bigint  PRIMARY KEY,
    owner            bytea   NOT NULL CHECK (octet_length(owner) = 32),
    content_root     bytea   NOT NULL CHECK (octet_length(content_root) = 32),
    header           bytea   NOT NULL,
    key_commitment   bytea   NOT NULL CHECK (octet_length(key_commitment) = 32),
    price            numeric(39,0) NOT NULL CHECK (price >= 0),
    asset            bytea   NOT NULL,
    uri              text    NOT NULL,
    title            text    NOT NULL,
    description      text    NOT NULL,
    tags             text[]  NOT NULL,
    schema           text    NOT NULL,
    size             bigint  NOT NULL,
    bond             numeric(39,0) NOT NULL,
    max_purchases    bigint,
    status           text    NOT NULL CHECK (status IN ('active', 'paused', 'delisted')),
    purchases        bigint  NOT NULL DEFAULT 0,
    open_purchases   bigint  NOT NULL DEFAULT 0,
    revenue          numeric(39,0) NOT NULL DEFAULT 0,
    bond_released    boolean NOT NULL DEFAULT false,
    created_block    bigint  NOT NULL,
    updated_block    bigint  NOT NULL,
    change_seq       bigint  NOT NULL DEFAULT nextval('offer_change_seq'),
    -- Postgres full-text search over the listing (the web API ranks with tantivy; this
    -- stays for SQL users and as the measured baseline). Title weighs most.
    search           tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A') ||
        setweight(to_tsvector('english', offer_tags_text(tags)), 'B') ||
        setweight(to_tsvector('english', description), 'C')
    ) STORED
);
CREATE INDEX offers_search ON offers USING gin (search);
-- Listings: newest first, by owner, by price within an asset, by tag; each ends with
-- id so that keyset pagination seeks instead of scanning.
CREATE INDEX offers_newest ON offers (id DESC) WHERE status = 'active';
CREATE INDEX offers_owner ON offers (owner, id);
CREATE INDEX offers_asset_price ON offers (asset, price, id);
CREATE INDEX offers_tags ON offers USING gin (tags);
CREATE UNIQUE INDEX offers_change_seq ON offers (change_seq);

-- An offer's revenue split, in the contract's order (the first payee takes the
-- rounding dust).
CREATE TABLE payees (
    offer_id   bigint   NOT NULL REFERENCES offers (id),
    position   smallint NOT NULL,
    account    bytea    NOT NULL CHECK (octet_length(account) = 32),
    bps        integer  NOT NULL CHECK (bps BETWEEN 1 AND 10000),
    PRIMARY KEY (offer_id, position)
);
CREATE INDEX payees_account ON payees (account, offer_id);

CREATE TABLE purchases (
    id                 bigint  PRIMARY KEY,
    offer_id           bigint  NOT NULL REFERENCES offers (id),
    buyer              bytea   NOT NULL CHECK (octet_length(buyer) = 32),
    buyer_pk           bytea   NOT NULL CHECK (octet_length(buyer_pk) = 32),
    amount             numeric(39,0) NOT NULL,
    asset              bytea   NOT NULL,
    fee_bps            integer NOT NULL,
    status             text    NOT NULL
        CHECK (status IN ('paid', 'delivered', 'settled', 'refunded', 'disputed', 'resolved')),
    delivery_deadline  bigint  NOT NULL,
    dispute_deadline   bigint,
    envelope           bytea   CHECK (envelope IS NULL OR octet_length(envelope) = 80),
    created_block      bigint  NOT NULL,
    delivered_block    bigint,
    settled_block      bigint,
    refunded_block     bigint,
    disputed_block     bigint,
    updated_block      bigint  NOT NULL
);
CREATE INDEX purchases_offer ON purchases (offer_id, id);
CREATE INDEX purchases_buyer ON purchases (buyer, id);
-- The owner's watcher asks for its paid, undelivered purchases.
CREATE INDEX purchases_open ON purchases (offer_id) WHERE status = 'paid';

CREATE TABLE settlements (
    purchase_id   bigint  PRIMARY KEY REFERENCES purchases (id),
    offer_id      bigint  NOT NULL,
    asset         bytea   NOT NULL,
    fee           numeric(39,0) NOT NULL,
    block_number  bigint  NOT NULL
);

-- What each payee was credited by a settlement; with the fee it sums to the payment.
CREATE TABLE payouts (
    purchase_id   bigint   NOT NULL REFERENCES settlements (purchase_id),
    position      smallint NOT NULL,
    account       bytea    NOT NULL,
    amount        numeric(39,0) NOT NULL,
    PRIMARY KEY (purchase_id, position)
);
CREATE INDEX payouts_account ON payouts (account);

CREATE TABLE refunds (
    purchase_id   bigint  PRIMARY KEY REFERENCES purchases (id),
    buyer         bytea   NOT NULL,
    asset         bytea   NOT NULL,
    amount        numeric(39,0) NOT NULL,
    block_number  bigint  NOT NULL
);

-- Disputes of a delivery (DESIGN §3). The contract decides a dispute in the call that
-- opens it, so one row is the whole story: who won, what moved, and the data key when
-- the dispute made it public (a chunk dispute, or a failed envelope dispute).
CREATE TABLE disputes (
    purchase_id   bigint  PRIMARY KEY REFERENCES purchases (id),
    offer_id      bigint  NOT NULL,
    buyer         bytea   NOT NULL,
    kind          text    NOT NULL CHECK (kind IN ('envelope', 'chunk')),
    chunk_index   bigint,
    buyer_won     boolean NOT NULL,
    asset         bytea   NOT NULL,
    refund        numeric(39,0) NOT NULL,
    penalty       numeric(39,0) NOT NULL,
    bond          numeric(39,0) NOT NULL,
    revealed_key  bytea,
    block_number  bigint  NOT NULL
);
CREATE INDEX disputes_buyer ON disputes (buyer);

CREATE TABLE withdrawals (
    block_number  bigint  NOT NULL,
    event_index   integer NOT NULL,
    account       bytea   NOT NULL,
    asset         bytea   NOT NULL,
    amount        numeric(39,0) NOT NULL,
    PRIMARY KEY (block_number, event_index)
);
CREATE INDEX withdrawals_account ON withdrawals (account);

-- What the marketplace owes each account in each asset: credited by settlements,
-- refunds, fees and released bonds, less what was withdrawn. `available` is what
-- `withdraw` would pay out now.
CREATE TABLE balances (
    account     bytea  NOT NULL CHECK (octet_length(account) = 32),
    asset       bytea  NOT NULL,
    credited    numeric(39,0) NOT NULL DEFAULT 0,
    withdrawn   numeric(39,0) NOT NULL DEFAULT 0,
    updated_block bigint NOT NULL,
    PRIMARY KEY (account, asset),
    CHECK (withdrawn <= credited)
);

-- PSP22 balances of the watched tokens, from their Transfer events.
CREATE TABLE token_balances (
    token     bytea  NOT NULL,
    account   bytea  NOT NULL,
    balance   numeric(39,0) NOT NULL CHECK (balance >= 0),
    updated_block bigint NOT NULL,
    PRIMARY KEY (token, account)
);

-- The marketplace's settings in force (from ConfigChanged and MarketPauseChanged).
CREATE TABLE market_config (
    singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    config        jsonb,
    paused        boolean NOT NULL DEFAULT false,
    -- What a successful dispute takes from the owner's bond (DisputePenaltyChanged).
    dispute_penalty numeric(39,0),
    admin         bytea,
    code_hash     bytea,
    updated_block bigint NOT NULL
);
