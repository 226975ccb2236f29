//! `/v1/purchases/{id}`: a purchase's state, deadlines, envelope, the block of each
//! step and its dispute; and the paged purchase lists that offers and accounts share.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::codec::{self, PathParam as Path, Sql};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::AppState;

/// A purchase's columns and its dispute's (null when there is none), from
/// [`PURCHASE_FROM`].
const PURCHASE_COLUMNS: &str = "p.id, p.offer_id, p.buyer, p.buyer_pk, p.amount::text, p.asset, \
    p.fee_bps, p.status, p.delivery_deadline, p.dispute_deadline, p.envelope, \
    p.created_block, p.delivered_block, p.settled_block, p.refunded_block, p.disputed_block, \
    p.updated_block, d.kind, d.chunk_index, d.buyer_won, d.asset, d.refund::text, \
    d.penalty::text, d.bond::text, d.revealed_key, d.block_number";

/// `purchases` as `p`, with its dispute as `d` (a purchase is disputed at most once).
const PURCHASE_FROM: &str = "purchases p LEFT JOIN disputes d ON d.purchase_id = p.id";

/// The block a step happened in.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Step {
    /// Block number.
    pub block: u64,
    /// Whether that block is final. The indexer follows finalized blocks only, so every
    /// step it has recorded is final; this is true when the block is at or below the
    /// indexed head.
    pub finalized: bool,
}

/// The steps of a purchase, each with its block (absent until it happens).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Steps {
    /// Paid into escrow.
    pub created: Step,
    /// The owner delivered the sealed key.
    pub delivered: Option<Step>,
    /// Settled to the payees.
    pub settled: Option<Step>,
    /// Refunded to the buyer.
    pub refunded: Option<Step>,
    /// Disputed by the buyer.
    pub disputed: Option<Step>,
}

/// A dispute and its outcome. Disputes are decided in the call that makes them, so a
/// dispute is never pending.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Dispute {
    /// `envelope` (the buyer revealed its purchase secret: the envelope must open to the
    /// committed key) or `chunk` (the buyer revealed the data key and proved a chunk that
    /// does not decrypt).
    pub kind: String,
    /// The chunk proved, for a `chunk` dispute.
    pub chunk_index: Option<u64>,
    /// Whether the buyer won: it is credited `refund`, its `bond` back and `penalty`, and
    /// the purchase is `resolved`. A buyer who loses forfeits `bond` to the owner.
    pub buyer_won: bool,
    /// Refunded to the buyer: the payment when it won, else 0 (decimal string, in `asset`).
    pub refund: String,
    /// The penalty taken from the offer's bond and credited to the buyer when it won, else
    /// 0 (decimal string, native).
    pub penalty: String,
    /// The buyer's dispute bond (decimal string, native).
    pub bond: String,
    /// The asset of `refund`: `native` or the PSP22 token's SS58 address.
    pub asset: String,
    /// The data key the dispute made public (0x-hex), if it did: a chunk dispute, or an
    /// envelope dispute the buyer lost.
    pub revealed_key: Option<String>,
    /// The block of the dispute.
    pub block: u64,
    /// Whether that block is final (at or below the indexed head).
    pub finalized: bool,
}

/// A purchase.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Purchase {
    /// The purchase's id on chain.
    pub id: u64,
    /// The offer bought.
    pub offer_id: u64,
    /// The buyer's SS58 address.
    pub buyer: String,
    /// The buyer's X25519 public key for this purchase (0x-hex).
    pub buyer_pk: String,
    /// What was paid (decimal string, smallest unit).
    pub amount: String,
    /// `native` or the PSP22 token's SS58 address.
    pub asset: String,
    /// The marketplace fee in force at purchase, in basis points.
    pub fee_bps: u32,
    /// `paid`, `delivered`, `settled`, `refunded`, `disputed` or `resolved`.
    pub status: String,
    /// Last block for the owner to deliver.
    pub delivery_deadline: u64,
    /// Last block for the buyer to dispute (once delivered).
    pub dispute_deadline: Option<u64>,
    /// The 80-byte sealed key envelope (0x-hex), once delivered.
    pub envelope: Option<String>,
    /// Each step's block.
    pub steps: Steps,
    /// The dispute and its outcome; null when the purchase was not disputed.
    pub dispute: Option<Dispute>,
    /// Block of the last change.
    pub updated_block: u64,
}

impl Purchase {
    fn from_row(row: &tokio_postgres::Row, prefix: u16, head: Option<i64>) -> Self {
        let step = |block: Option<i64>| {
            block.map(|b| Step {
                block: b as u64,
                finalized: head.is_some_and(|h| b <= h),
            })
        };
        Self {
            id: row.get::<_, i64>(0) as u64,
            offer_id: row.get::<_, i64>(1) as u64,
            buyer: codec::account(row.get(2), prefix),
            buyer_pk: codec::hex0x(row.get(3)),
            amount: row.get(4),
            asset: codec::asset(row.get(5), prefix),
            fee_bps: row.get::<_, i32>(6) as u32,
            status: row.get(7),
            delivery_deadline: row.get::<_, i64>(8) as u64,
            dispute_deadline: row.get::<_, Option<i64>>(9).map(|b| b as u64),
            envelope: row.get::<_, Option<&[u8]>>(10).map(codec::hex0x),
            steps: Steps {
                created: step(Some(row.get(11))).expect("a created block"),
                delivered: step(row.get(12)),
                settled: step(row.get(13)),
                refunded: step(row.get(14)),
                disputed: step(row.get(15)),
            },
            updated_block: row.get::<_, i64>(16) as u64,
            dispute: row.get::<_, Option<String>>(17).map(|kind| {
                let block: i64 = row.get(25);
                Dispute {
                    kind,
                    chunk_index: row.get::<_, Option<i64>>(18).map(|i| i as u64),
                    buyer_won: row.get(19),
                    asset: codec::asset(row.get(20), prefix),
                    refund: row.get(21),
                    penalty: row.get(22),
                    bond: row.get(23),
                    revealed_key: row.get::<_, Option<&[u8]>>(24).map(codec::hex0x),
                    block: block as u64,
                    finalized: head.is_some_and(|h| block <= h),
                }
            }),
        }
    }
}

/// A page of purchases.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PurchasePage {
    /// Newest first.
    pub purchases: Vec<Purchase>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Filter and page of a purchase list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PurchasesQuery {
    /// `paid`, `delivered`, `settled`, `refunded`, `disputed`, `resolved`, or `any`
    /// (default).
    pub status: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    #[serde(default, deserialize_with = "crate::codec::present")]
    pub limit: Option<String>,
}

/// The keyset cursor of lists ordered by id, newest first (purchases, and an account's
/// offers).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct IdCursor {
    pub(crate) before: i64,
}

async fn indexed_head(client: &tokio_postgres::Client) -> ApiResult<Option<i64>> {
    Ok(client
        .query_opt("SELECT block_number FROM indexer_cursor", &[])
        .await?
        .map(|r| r.get(0)))
}

/// The purchases whose `column` (`offer_id` or `buyer`) is `key`, newest first, after
/// the query's cursor.
pub async fn page(
    state: &AppState,
    column: &'static str,
    key: impl tokio_postgres::types::ToSql + Sync + Send + 'static,
    query: &PurchasesQuery,
) -> ApiResult<PurchasePage> {
    let limit = codec::limit(query.limit.as_deref())?;
    let status = match query.status.as_deref() {
        None | Some("any") => None,
        Some(s @ ("paid" | "delivered" | "settled" | "refunded" | "disputed" | "resolved")) => {
            Some(s.to_owned())
        }
        Some(other) => {
            return Err(ApiError::bad(format!(
                "status must be paid, delivered, settled, refunded, disputed, resolved or \
                 any, got `{other}`"
            )))
        }
    };
    let mut sql = Sql::new(&format!(
        "SELECT {PURCHASE_COLUMNS} FROM {PURCHASE_FROM} WHERE "
    ));
    let k = sql.param(key);
    sql.push(&format!("p.{column} = {k}"));
    if let Some(status) = status {
        let p = sql.param(status);
        sql.push(&format!(" AND p.status = {p}"));
    }
    if let Some(cursor) = &query.cursor {
        let cursor: IdCursor = codec::decode_cursor(cursor)?;
        let p = sql.param(cursor.before);
        sql.push(&format!(" AND p.id < {p}"));
    }
    let l = sql.param(limit + 1);
    sql.push(&format!(" ORDER BY p.id DESC LIMIT {l}"));
    let client = state.pool.get().await?;
    let head = indexed_head(&client).await?;
    let rows = sql.query(&client).await?;
    let mut purchases: Vec<Purchase> = rows
        .iter()
        .map(|r| Purchase::from_row(r, state.ss58_prefix, head))
        .collect();
    let next_cursor = if purchases.len() as i64 > limit {
        purchases.truncate(limit as usize);
        Some(codec::encode_cursor(&IdCursor {
            before: purchases.last().expect("a full page").id as i64,
        }))
    } else {
        None
    };
    Ok(PurchasePage {
        purchases,
        next_cursor,
    })
}

/// A purchase: its state, deadlines, the sealed key envelope once delivered, the
/// block of each step, and the dispute with its outcome when there is one.
///
/// The indexer follows finalized blocks only, so every step shown is final
/// (`finalized` is true for blocks at or below the indexed head).
#[utoipa::path(
    get,
    path = "/v1/purchases/{id}",
    tag = "purchases",
    params(("id" = u64, Path, description = "The purchase's id")),
    responses(
        (status = 200, description = "The purchase", body = Purchase),
        (status = 400, description = "The id is not a number", body = ErrorBody),
        (status = 404, description = "No such purchase", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Purchase>> {
    let missing = || ApiError::not_found(format!("no purchase {id}"));
    let key = codec::parse_id("purchase", &id)?.ok_or_else(missing)?;
    let client = state.pool.get().await?;
    let statement = client
        .prepare_cached(&format!(
            "SELECT {PURCHASE_COLUMNS} FROM {PURCHASE_FROM} WHERE p.id = $1"
        ))
        .await?;
    // Both queries in one round trip (pipelined on the connection).
    let (head, row) = futures::try_join!(indexed_head(&client), async {
        Ok(client.query_opt(&statement, &[&key]).await?)
    },)?;
    let row = row.ok_or_else(missing)?;
    Ok(Json(Purchase::from_row(&row, state.ss58_prefix, head)))
}
