//! Writing folded [`Changes`]: new rows by binary COPY, changes of existing rows by one
//! UPDATE per table over `unnest`ed arrays.

use std::collections::BTreeMap;

use bytes::{BufMut, BytesMut};
use serde_json::json;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use tokio_postgres::Transaction;

use crate::copy::CopyRows;
use crate::IndexerError;

use super::{BalanceChange, Changes, ConfigPatch, PurchasePatch, TokenChange};

impl Changes {
    /// Writes the changes in `txn`.
    pub async fn write(self, txn: &Transaction<'_>) -> Result<(), IndexerError> {
        let rows = self.encode()?;
        self.write_encoded(txn, rows).await
    }

    /// The batch's new rows, encoded for COPY: the part of writing that needs no
    /// database, done ahead (see [`crate::prepare`]).
    pub fn encode(&self) -> Result<NewRows, IndexerError> {
        let mut offers = CopyRows::new(OFFERS_COPY, OFFERS_TYPES);
        let mut payees = CopyRows::new(PAYEES_COPY, PAYEES_TYPES);
        for (id, (o, split)) in &self.new_offers {
            // A new offer as it stands after the batch (its patch holds the counters).
            let patch = self.offer_patches.get(id);
            let bond = o.bond.saturating_sub(patch.map_or(0, |p| p.bond_spent));
            let updated = patch.map_or(o.created_block, |p| p.updated_block.max(o.created_block));
            offers.push(&[
                &(*id as i64),
                &o.owner.as_slice(),
                &o.content_root.as_slice(),
                &o.header,
                &o.key_commitment.as_slice(),
                &Numeric(o.price),
                &o.asset,
                &o.uri,
                &o.metadata.title,
                &o.metadata.description,
                &o.metadata.tags,
                &o.metadata.schema,
                &(o.metadata.size as i64),
                &Numeric(bond),
                &o.max_purchases.map(i64::from),
                &o.status,
                &patch.map_or(0, |p| p.purchases),
                &patch.map_or(0, |p| p.open_purchases),
                &Numeric(patch.map_or(0, |p| p.revenue)),
                &patch.is_some_and(|p| p.bond_released),
                &i64::from(o.created_block),
                &i64::from(updated),
            ])?;
            for (position, (account, bps)) in split.iter().enumerate() {
                payees.push(&[
                    &(*id as i64),
                    &(position as i16),
                    &account.as_slice(),
                    &i32::from(*bps),
                ])?;
            }
        }
        let mut purchases = CopyRows::new(PURCHASES_COPY, PURCHASES_TYPES);
        for (purchase_id, p) in &self.new_purchases {
            // A new purchase as it stands after the batch.
            let patch = self.purchase_patches.get(purchase_id);
            let block = |f: fn(&PurchasePatch) -> Option<u32>| patch.and_then(f).map(i64::from);
            purchases.push(&[
                &(*purchase_id as i64),
                &(p.offer_id as i64),
                &p.buyer.as_slice(),
                &p.buyer_pk.as_slice(),
                &Numeric(p.amount),
                &p.asset,
                &i32::from(p.fee_bps),
                &patch.and_then(|x| x.status).unwrap_or("paid"),
                &i64::from(p.delivery_deadline),
                &block(|x| x.dispute_deadline),
                &patch.and_then(|x| x.envelope.as_deref()),
                &i64::from(p.created_block),
                &block(|x| x.delivered_block),
                &block(|x| x.settled_block),
                &block(|x| x.refunded_block),
                &block(|x| x.disputed_block),
                &i64::from(patch.map_or(p.created_block, |x| x.updated_block.max(p.created_block))),
            ])?;
        }
        let mut settlements = CopyRows::new(SETTLEMENTS_COPY, SETTLEMENTS_TYPES);
        let mut payouts = CopyRows::new(PAYOUTS_COPY, PAYOUTS_TYPES);
        for (purchase_id, offer_id, asset, fee, block, split) in &self.settlements {
            settlements.push(&[
                &(*purchase_id as i64),
                &(*offer_id as i64),
                asset,
                &Numeric(*fee),
                &i64::from(*block),
            ])?;
            for (position, (account, amount)) in split.iter().enumerate() {
                payouts.push(&[
                    &(*purchase_id as i64),
                    &(position as i16),
                    &account.as_slice(),
                    &Numeric(*amount),
                ])?;
            }
        }
        let mut refunds = CopyRows::new(REFUNDS_COPY, REFUNDS_TYPES);
        for (purchase_id, buyer, asset, amount, block) in &self.refunds {
            refunds.push(&[
                &(*purchase_id as i64),
                &buyer.as_slice(),
                asset,
                &Numeric(*amount),
                &i64::from(*block),
            ])?;
        }
        let mut withdrawals = CopyRows::new(WITHDRAWALS_COPY, WITHDRAWALS_TYPES);
        for (block, index, account, asset, amount) in &self.withdrawals {
            withdrawals.push(&[
                &i64::from(*block),
                &(*index as i32),
                &account.as_slice(),
                asset,
                &Numeric(*amount),
            ])?;
        }
        let mut disputes = CopyRows::new(DISPUTES_COPY, DISPUTES_TYPES);
        for d in &self.disputes {
            disputes.push(&[
                &(d.purchase_id as i64),
                &(d.offer_id as i64),
                &d.buyer.as_slice(),
                &d.kind,
                &d.chunk_index.map(|i| i as i64),
                &d.buyer_won,
                &d.asset,
                &Numeric(d.refund),
                &Numeric(d.penalty),
                &Numeric(d.bond),
                &d.revealed_key.as_ref().map(|k| k.as_slice()),
                &i64::from(d.block),
            ])?;
        }
        Ok(NewRows(vec![
            offers,
            payees,
            purchases,
            settlements,
            payouts,
            refunds,
            withdrawals,
            disputes,
        ]))
    }

    /// Writes the batch, its new rows encoded by [`encode`](Self::encode): the COPYs, then
    /// one UPDATE per table for the rows that existed before the batch, then the balances
    /// and the configuration.
    pub async fn write_encoded(
        &self,
        txn: &Transaction<'_>,
        rows: NewRows,
    ) -> Result<(), IndexerError> {
        // One COPY at a time: a connection cannot start a second before the first ends.
        for table in rows.0 {
            table.send(txn).await?;
        }
        self.update_offers(txn).await?;
        self.update_purchases(txn).await?;
        write_balances(txn, &self.balances).await?;
        write_token_balances(txn, &self.token_balances).await?;
        if let Some(patch) = &self.config {
            write_config(txn, patch).await?;
        }
        Ok(())
    }

    /// Changes of offers that existed before the batch.
    async fn update_offers(&self, txn: &Transaction<'_>) -> Result<(), IndexerError> {
        let existing: Vec<_> = self
            .offer_patches
            .iter()
            .filter(|(id, _)| !self.new_offers.contains_key(id))
            .collect();
        if existing.is_empty() {
            return Ok(());
        }
        let mut id = Vec::new();
        let mut price = Vec::new();
        let (mut uri, mut title, mut description, mut tags, mut schema, mut size) = (
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        );
        let mut status = Vec::new();
        let (mut purchases, mut open, mut revenue, mut released, mut block) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut bond_spent = Vec::new();
        for (offer_id, p) in &existing {
            id.push(**offer_id as i64);
            price.push(p.price.map(|v| v.to_string()));
            let listing = p.listing.as_ref();
            uri.push(listing.map(|(u, _)| u.clone()));
            title.push(listing.map(|(_, m)| m.title.clone()));
            description.push(listing.map(|(_, m)| m.description.clone()));
            tags.push(listing.map(|(_, m)| json!(m.tags)));
            schema.push(listing.map(|(_, m)| m.schema.clone()));
            size.push(listing.map(|(_, m)| m.size as i64));
            status.push(p.status);
            purchases.push(p.purchases);
            open.push(p.open_purchases);
            revenue.push(p.revenue.to_string());
            bond_spent.push(p.bond_spent.to_string());
            released.push(p.bond_released);
            block.push(i64::from(p.updated_block));
        }
        let updated = txn
            .execute(
                "UPDATE offers o SET \
                 price = COALESCE(p.price::numeric, o.price), \
                 uri = COALESCE(p.uri, o.uri), title = COALESCE(p.title, o.title), \
                 description = COALESCE(p.description, o.description), \
                 tags = CASE WHEN p.tags IS NULL THEN o.tags \
                        ELSE ARRAY(SELECT jsonb_array_elements_text(p.tags)) END, \
                 schema = COALESCE(p.schema, o.schema), size = COALESCE(p.size, o.size), \
                 status = COALESCE(p.status, o.status), \
                 purchases = o.purchases + p.purchases, \
                 open_purchases = o.open_purchases + p.open_purchases, \
                 revenue = o.revenue + p.revenue::numeric, \
                 bond_released = o.bond_released OR p.bond_released, \
                 bond = o.bond - p.bond_spent::numeric, \
                 updated_block = p.updated_block, \
                 change_seq = nextval('offer_change_seq') \
                 FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], \
                 $6::jsonb[], $7::text[], $8::int8[], $9::text[], $10::int8[], $11::int8[], \
                 $12::text[], $13::bool[], $14::int8[], $15::text[]) \
                 AS p(id, price, uri, title, description, tags, schema, size, status, \
                 purchases, open_purchases, revenue, bond_released, updated_block, bond_spent) \
                 WHERE o.id = p.id",
                &[
                    &id,
                    &price,
                    &uri,
                    &title,
                    &description,
                    &tags,
                    &schema,
                    &size,
                    &status,
                    &purchases,
                    &open,
                    &revenue,
                    &released,
                    &block,
                    &bond_spent,
                ],
            )
            .await?;
        if updated != id.len() as u64 {
            return Err(missing("offer", txn, "offers", &id).await);
        }
        Ok(())
    }

    /// Changes of purchases that existed before the batch.
    async fn update_purchases(&self, txn: &Transaction<'_>) -> Result<(), IndexerError> {
        let existing: Vec<_> = self
            .purchase_patches
            .iter()
            .filter(|(id, _)| !self.new_purchases.contains_key(id))
            .collect();
        if existing.is_empty() {
            return Ok(());
        }
        let mut id = Vec::new();
        let (mut status, mut envelope, mut dispute_deadline) = (Vec::new(), Vec::new(), Vec::new());
        let (mut delivered, mut settled, mut refunded, mut disputed, mut updated) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (purchase_id, p) in &existing {
            id.push(**purchase_id as i64);
            status.push(p.status);
            envelope.push(p.envelope.clone());
            dispute_deadline.push(p.dispute_deadline.map(i64::from));
            delivered.push(p.delivered_block.map(i64::from));
            settled.push(p.settled_block.map(i64::from));
            refunded.push(p.refunded_block.map(i64::from));
            disputed.push(p.disputed_block.map(i64::from));
            updated.push(i64::from(p.updated_block));
        }
        let count = txn
            .execute(
                "UPDATE purchases o SET status = COALESCE(p.status, o.status), \
                 envelope = COALESCE(p.envelope, o.envelope), \
                 dispute_deadline = COALESCE(p.dispute_deadline, o.dispute_deadline), \
                 delivered_block = COALESCE(p.delivered_block, o.delivered_block), \
                 settled_block = COALESCE(p.settled_block, o.settled_block), \
                 refunded_block = COALESCE(p.refunded_block, o.refunded_block), \
                 disputed_block = COALESCE(p.disputed_block, o.disputed_block), \
                 updated_block = p.updated_block \
                 FROM unnest($1::int8[], $2::text[], $3::bytea[], $4::int8[], $5::int8[], \
                 $6::int8[], $7::int8[], $8::int8[], $9::int8[]) \
                 AS p(id, status, envelope, dispute_deadline, delivered_block, settled_block, \
                 refunded_block, disputed_block, updated_block) \
                 WHERE o.id = p.id",
                &[
                    &id,
                    &status,
                    &envelope,
                    &dispute_deadline,
                    &delivered,
                    &settled,
                    &refunded,
                    &disputed,
                    &updated,
                ],
            )
            .await?;
        if count != id.len() as u64 {
            return Err(missing("purchase", txn, "purchases", &id).await);
        }
        Ok(())
    }
}

/// A batch's new rows, one table after another, encoded for COPY.
pub struct NewRows(Vec<CopyRows>);

const OFFERS_COPY: &str = "offers (id, owner, content_root, header, key_commitment, price, asset, \
    uri, title, description, tags, schema, size, bond, max_purchases, status, purchases, \
    open_purchases, revenue, bond_released, created_block, updated_block)";
const OFFERS_TYPES: &[Type] = &[
    Type::INT8,
    Type::BYTEA,
    Type::BYTEA,
    Type::BYTEA,
    Type::BYTEA,
    Type::NUMERIC,
    Type::BYTEA,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT_ARRAY,
    Type::TEXT,
    Type::INT8,
    Type::NUMERIC,
    Type::INT8,
    Type::TEXT,
    Type::INT8,
    Type::INT8,
    Type::NUMERIC,
    Type::BOOL,
    Type::INT8,
    Type::INT8,
];
const PAYEES_COPY: &str = "payees (offer_id, position, account, bps)";
const PAYEES_TYPES: &[Type] = &[Type::INT8, Type::INT2, Type::BYTEA, Type::INT4];
const PURCHASES_COPY: &str = "purchases (id, offer_id, buyer, buyer_pk, amount, asset, fee_bps, \
    status, delivery_deadline, dispute_deadline, envelope, created_block, delivered_block, \
    settled_block, refunded_block, disputed_block, updated_block)";
const PURCHASES_TYPES: &[Type] = &[
    Type::INT8,
    Type::INT8,
    Type::BYTEA,
    Type::BYTEA,
    Type::NUMERIC,
    Type::BYTEA,
    Type::INT4,
    Type::TEXT,
    Type::INT8,
    Type::INT8,
    Type::BYTEA,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
];
const SETTLEMENTS_COPY: &str = "settlements (purchase_id, offer_id, asset, fee, block_number)";
const SETTLEMENTS_TYPES: &[Type] = &[
    Type::INT8,
    Type::INT8,
    Type::BYTEA,
    Type::NUMERIC,
    Type::INT8,
];
const PAYOUTS_COPY: &str = "payouts (purchase_id, position, account, amount)";
const PAYOUTS_TYPES: &[Type] = &[Type::INT8, Type::INT2, Type::BYTEA, Type::NUMERIC];
const REFUNDS_COPY: &str = "refunds (purchase_id, buyer, asset, amount, block_number)";
const REFUNDS_TYPES: &[Type] = &[
    Type::INT8,
    Type::BYTEA,
    Type::BYTEA,
    Type::NUMERIC,
    Type::INT8,
];
const WITHDRAWALS_COPY: &str = "withdrawals (block_number, event_index, account, asset, amount)";
const WITHDRAWALS_TYPES: &[Type] = &[
    Type::INT8,
    Type::INT4,
    Type::BYTEA,
    Type::BYTEA,
    Type::NUMERIC,
];
const DISPUTES_COPY: &str = "disputes (purchase_id, offer_id, buyer, kind, chunk_index, \
    buyer_won, asset, refund, penalty, bond, revealed_key, block_number)";
const DISPUTES_TYPES: &[Type] = &[
    Type::INT8,
    Type::INT8,
    Type::BYTEA,
    Type::TEXT,
    Type::INT8,
    Type::BOOL,
    Type::BYTEA,
    Type::NUMERIC,
    Type::NUMERIC,
    Type::NUMERIC,
    Type::BYTEA,
    Type::INT8,
];

/// A change that names an offer or purchase the index has never seen.
async fn missing(what: &str, txn: &Transaction<'_>, table: &str, ids: &[i64]) -> IndexerError {
    let sql = format!(
        "SELECT i FROM unnest($1::int8[]) AS i WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE id = i) LIMIT 1"
    );
    let id = match txn.query_opt(&sql, &[&ids]).await {
        Ok(Some(row)) => row.get::<_, i64>(0).to_string(),
        _ => "?".into(),
    };
    IndexerError::Inconsistent(format!(
        "an event changes {what} {id}, which is not in the index (was the indexer started \
         after the block that created it? --start-block must not be later than the \
         contract's deployment)"
    ))
}

/// A u128 as Postgres NUMERIC in its binary form (what a binary COPY needs): base-10 000
/// digits, most significant first, with the weight of the first digit.
#[derive(Debug)]
pub struct Numeric(pub u128);

impl ToSql for Numeric {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        let mut digits = [0i16; 10];
        let mut n = 0;
        let mut rest = self.0;
        while rest > 0 {
            digits[n] = (rest % 10_000) as i16;
            rest /= 10_000;
            n += 1;
        }
        // Trailing zero digits are implied by the weight.
        let weight = n as i16 - 1;
        let low = digits[..n].iter().take_while(|d| **d == 0).count();
        out.put_i16((n - low) as i16);
        out.put_i16(weight.max(0));
        out.put_u16(0); // positive
        out.put_u16(0); // no digits after the point
        for d in digits[low..n].iter().rev() {
            out.put_i16(*d);
        }
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }

    to_sql_checked!();
}

async fn write_balances(
    txn: &Transaction<'_>,
    balances: &BTreeMap<([u8; 32], Vec<u8>), BalanceChange>,
) -> Result<(), IndexerError> {
    if balances.is_empty() {
        return Ok(());
    }
    let account: Vec<Vec<u8>> = balances.keys().map(|k| k.0.to_vec()).collect();
    let asset: Vec<Vec<u8>> = balances.keys().map(|k| k.1.clone()).collect();
    let credited: Vec<String> = balances.values().map(|c| c.credited.to_string()).collect();
    let withdrawn: Vec<String> = balances.values().map(|c| c.withdrawn.to_string()).collect();
    let block: Vec<i64> = balances
        .values()
        .map(|c| i64::from(c.updated_block))
        .collect();
    txn.execute(
        // Update, then insert what was not there: an upsert would check the table's
        // constraints on a row made of this batch's changes alone (a withdrawal of an
        // earlier credit), which they do not hold. One writer, so no race.
        "WITH d AS (SELECT a, s, c::numeric AS c, w::numeric AS w, b FROM unnest($1::bytea[], \
         $2::bytea[], $3::text[], $4::text[], $5::int8[]) AS t(a, s, c, w, b)), \
         updated AS (UPDATE balances x SET credited = x.credited + d.c, \
         withdrawn = x.withdrawn + d.w, updated_block = d.b FROM d \
         WHERE x.account = d.a AND x.asset = d.s RETURNING x.account, x.asset) \
         INSERT INTO balances (account, asset, credited, withdrawn, updated_block) \
         SELECT a, s, c, w, b FROM d WHERE NOT EXISTS \
         (SELECT 1 FROM updated u WHERE u.account = d.a AND u.asset = d.s)",
        &[&account, &asset, &credited, &withdrawn, &block],
    )
    .await?;
    Ok(())
}

async fn write_token_balances(
    txn: &Transaction<'_>,
    changes: &BTreeMap<([u8; 32], [u8; 32]), TokenChange>,
) -> Result<(), IndexerError> {
    if changes.is_empty() {
        return Ok(());
    }
    let token: Vec<Vec<u8>> = changes.keys().map(|k| k.0.to_vec()).collect();
    let account: Vec<Vec<u8>> = changes.keys().map(|k| k.1.to_vec()).collect();
    let received: Vec<String> = changes.values().map(|c| c.received.to_string()).collect();
    let sent: Vec<String> = changes.values().map(|c| c.sent.to_string()).collect();
    let block: Vec<i64> = changes
        .values()
        .map(|c| i64::from(c.updated_block))
        .collect();
    txn.execute(
        // As for balances: update, then insert the rest.
        "WITH d AS (SELECT t, a, r::numeric - s::numeric AS delta, b FROM unnest($1::bytea[], \
         $2::bytea[], $3::text[], $4::text[], $5::int8[]) AS x(t, a, r, s, b)), \
         updated AS (UPDATE token_balances x SET balance = x.balance + d.delta, \
         updated_block = d.b FROM d WHERE x.token = d.t AND x.account = d.a \
         RETURNING x.token, x.account) \
         INSERT INTO token_balances (token, account, balance, updated_block) \
         SELECT t, a, delta, b FROM d WHERE NOT EXISTS \
         (SELECT 1 FROM updated u WHERE u.token = d.t AND u.account = d.a)",
        &[&token, &account, &received, &sent, &block],
    )
    .await
    .map_err(|e| {
        // A token's transfers all indexed cannot make a balance negative: some were not.
        if e.as_db_error()
            .and_then(|db| db.constraint())
            .is_some_and(|c| c == "token_balances_balance_check")
        {
            IndexerError::Inconsistent(
                "a watched token's transfer would take a balance below zero: the token's \
                 earlier transfers (its mint at least) are not in this index. A token \
                 added with --token after indexing began, or a --start-block after the \
                 token's deployment, does that; index from the token's deployment block \
                 into a fresh database"
                    .into(),
            )
        } else {
            e.into()
        }
    })?;
    Ok(())
}

async fn write_config(txn: &Transaction<'_>, patch: &ConfigPatch) -> Result<(), IndexerError> {
    let admin = patch.admin.map(|a| a.to_vec());
    let code_hash = patch.code_hash.map(|a| a.to_vec());
    txn.execute(
        "INSERT INTO market_config (config, paused, admin, code_hash, updated_block, \
         dispute_penalty) VALUES ($1, COALESCE($2, false), $3, $4, $5, $6::text::numeric) \
         ON CONFLICT (singleton) DO UPDATE SET \
         config = COALESCE(EXCLUDED.config, market_config.config), \
         paused = COALESCE($2, market_config.paused), \
         admin = COALESCE(EXCLUDED.admin, market_config.admin), \
         code_hash = COALESCE(EXCLUDED.code_hash, market_config.code_hash), \
         dispute_penalty = COALESCE(EXCLUDED.dispute_penalty, market_config.dispute_penalty), \
         updated_block = EXCLUDED.updated_block",
        &[
            &patch.config,
            &patch.paused,
            &admin,
            &code_hash,
            &i64::from(patch.updated_block),
            &patch.dispute_penalty.map(|p| p.to_string()),
        ],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use index_db::{self as db, TempDatabase};

    /// Every kind of u128 goes through the binary NUMERIC encoding and reads back as
    /// itself: zero, single and multiple base-10 000 digits, trailing zero digits (which
    /// the encoding leaves to the weight), and the extremes.
    #[tokio::test]
    async fn numeric_binary_encoding_round_trips_through_postgres() {
        let database = TempDatabase::create("dm_numeric").await.unwrap();
        let mut client = db::connect(&database.url).await.unwrap();
        client
            .batch_execute("CREATE TABLE n (i int PRIMARY KEY, v numeric(39,0) NOT NULL)")
            .await
            .unwrap();
        let mut values: Vec<u128> = vec![
            0,
            1,
            9_999,
            10_000,
            10_001,
            100_000_000,
            123_400_000_000,
            1_000_000_000_000_000_000,
            12_345_678_901_234_567_890,
            10u128.pow(38),
            u128::MAX,
            u128::MAX - 1,
        ];
        values.extend((0..39).map(|p| 10u128.pow(p)));
        values.extend((1..39).map(|p| 10u128.pow(p) - 1));
        let txn = client.transaction().await.unwrap();
        // Several pieces' worth of rows, so that the split into CopyData messages is
        // crossed too.
        const TYPES: &[Type] = &[Type::INT4, Type::NUMERIC];
        let mut rows = CopyRows::new("n (i, v)", TYPES);
        for round in 0..3_000 {
            for (i, v) in values.iter().enumerate() {
                rows.push(&[&((round * values.len() + i) as i32), &Numeric(*v)])
                    .unwrap();
            }
        }
        assert_eq!(rows.send(&txn).await.unwrap(), 3_000 * values.len() as u64);
        txn.commit().await.unwrap();
        let back: Vec<String> = client
            .query(
                "SELECT v::text FROM n WHERE i < $1 ORDER BY i",
                &[&(values.len() as i32)],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let want: Vec<String> = values.iter().map(u128::to_string).collect();
        assert_eq!(back, want);
        drop(client);
        database.drop_now().await.unwrap();
    }
}
