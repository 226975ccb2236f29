//! `/v1/offers`: listing with filters and keyset pagination (plain SQL), ranked search
//! with `q` (tantivy), one offer with its payees and purchase counts, an offer's
//! purchases.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::codec::{self, Params, PathParam as Path, Sql};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::purchases::{self, PurchasePage, PurchasesQuery};
use crate::search::{self, Filters, SearchOrder};
use crate::AppState;

/// The columns an [`Offer`] is read from, in [`Offer::from_row`]'s order.
pub const OFFER_COLUMNS: &str = "id, owner, content_root, header, key_commitment, price::text, \
    asset, uri, title, description, tags, schema, size, bond::text, max_purchases, status, \
    purchases, open_purchases, revenue::text, bond_released, created_block, updated_block";

/// The longest text query, in bytes (titles are at most 128, tags 32).
const MAX_QUERY: usize = 1_024;

/// An offer as the index holds it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Offer {
    /// The offer's id on chain.
    pub id: u64,
    /// The owner's SS58 address.
    pub owner: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Search tags.
    pub tags: Vec<String>,
    /// What the data's columns are.
    pub schema: String,
    /// Plaintext size in bytes, as the owner declared it.
    pub size: u64,
    /// Price in the asset's smallest unit (decimal string: amounts are u128).
    pub price: String,
    /// `native`, or the PSP22 token's SS58 address.
    pub asset: String,
    /// Where the ciphertext can be fetched.
    pub uri: String,
    /// The ciphertext's Merkle content root (0x-hex).
    pub content_root: String,
    /// The ciphertext's 26-byte header (0x-hex).
    pub header: String,
    /// SHA-256 commitment to the data key (0x-hex).
    pub key_commitment: String,
    /// The owner's bond still locked (decimal string, native).
    pub bond: String,
    /// Most purchases allowed, if capped.
    pub max_purchases: Option<u64>,
    /// `active`, `paused` or `delisted`.
    pub status: String,
    /// Purchases made.
    pub purchases: u64,
    /// Purchases neither settled, refunded nor resolved.
    pub open_purchases: u64,
    /// What settled purchases paid (decimal string).
    pub revenue: String,
    /// Whether the bond came back.
    pub bond_released: bool,
    /// Block of `OfferCreated`.
    pub created_block: u64,
    /// Block of the last change.
    pub updated_block: u64,
    /// BM25 score, in a search ranked by relevance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
}

impl Offer {
    /// Reads a row of [`OFFER_COLUMNS`].
    pub fn from_row(row: &tokio_postgres::Row, prefix: u16) -> Self {
        Self {
            id: row.get::<_, i64>(0) as u64,
            owner: codec::account(row.get(1), prefix),
            content_root: codec::hex0x(row.get(2)),
            header: codec::hex0x(row.get(3)),
            key_commitment: codec::hex0x(row.get(4)),
            price: row.get(5),
            asset: codec::asset(row.get(6), prefix),
            uri: row.get(7),
            title: row.get(8),
            description: row.get(9),
            tags: row.get(10),
            schema: row.get(11),
            size: row.get::<_, i64>(12) as u64,
            bond: row.get(13),
            max_purchases: row.get::<_, Option<i64>>(14).map(|n| n as u64),
            status: row.get(15),
            purchases: row.get::<_, i64>(16) as u64,
            open_purchases: row.get::<_, i64>(17) as u64,
            revenue: row.get(18),
            bond_released: row.get(19),
            created_block: row.get::<_, i64>(20) as u64,
            updated_block: row.get::<_, i64>(21) as u64,
            score: None,
        }
    }
}

/// A page of offers.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OfferPage {
    /// The offers, in the requested order.
    pub offers: Vec<Offer>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A payee of an offer's revenue split.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Payee {
    /// SS58 address.
    pub account: String,
    /// Share in basis points (the shares sum to 10 000).
    pub bps: u32,
}

/// How many of an offer's purchases are in each state.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct PurchaseCounts {
    /// Paid, not yet delivered.
    pub paid: u64,
    /// Delivered, dispute window running.
    pub delivered: u64,
    /// Settled: the payees were credited.
    pub settled: u64,
    /// Refunded: never delivered in time.
    pub refunded: u64,
    /// A dispute failed; settles after the window.
    pub disputed: u64,
    /// A dispute succeeded; the buyer was refunded.
    pub resolved: u64,
}

/// One offer with its revenue split and purchase counts.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OfferDetail {
    /// The offer.
    #[serde(flatten)]
    pub offer: Offer,
    /// The revenue split, in the contract's order (the first payee takes rounding dust).
    pub payees: Vec<Payee>,
    /// Purchases by state.
    pub purchase_counts: PurchaseCounts,
}

/// Filters, order and page of `GET /v1/offers`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OffersQuery {
    /// Text to search (title, tags, description), ranked with BM25.
    pub q: Option<String>,
    /// Offers with this tag; repeat for offers with all of them.
    #[serde(default)]
    pub tag: Vec<String>,
    /// The owner's SS58 address.
    pub owner: Option<String>,
    /// `native` or a PSP22 token's SS58 address.
    pub asset: Option<String>,
    /// Lowest price (decimal, smallest unit), inclusive.
    pub min_price: Option<String>,
    /// Highest price (decimal, smallest unit), inclusive.
    pub max_price: Option<String>,
    /// `active` (default), `paused`, `delisted` or `any`.
    pub status: Option<String>,
    /// `newest` (default without `q`), `price_asc`, `price_desc`, or `relevance` (default
    /// with `q`, only with `q`).
    pub sort: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    #[serde(default, deserialize_with = "crate::codec::present")]
    pub limit: Option<String>,
}

/// `status` parameter: a status, or `None` for any.
pub fn parse_status(status: Option<&str>, default: Option<&str>) -> ApiResult<Option<String>> {
    match status.or(default) {
        None | Some("any") => Ok(None),
        Some(s @ ("active" | "paused" | "delisted")) => Ok(Some(s.to_owned())),
        Some(other) => Err(ApiError::bad(format!(
            "status must be active, paused, delisted or any, got `{other}`"
        ))),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sort {
    Newest,
    PriceAsc,
    PriceDesc,
    Relevance,
}

impl Sort {
    fn name(self) -> &'static str {
        match self {
            Sort::Newest => "newest",
            Sort::PriceAsc => "price_asc",
            Sort::PriceDesc => "price_desc",
            Sort::Relevance => "relevance",
        }
    }
}

/// Where a SQL listing resumes: after this sort key and id.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeekCursor {
    sort: String,
    /// The price of the last row (price sorts).
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<String>,
    id: i64,
}

/// Where a search resumes. Ranked by relevance: after this many hits of the snapshot
/// the first page read (pages are bounded in depth). In the other orders: after the last
/// hit's sort key. (Unknown fields are refused: a listing's cursor is not a search's.)
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchCursor {
    sort: String,
    #[serde(default)]
    offset: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    snapshot: Option<search::Snapshot>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    after: Option<search::SortKey>,
}

struct Listing {
    filters: Filters,
    sort: Sort,
    limit: i64,
}

fn listing(query: &OffersQuery, prefix: u16, searching: bool) -> ApiResult<Listing> {
    use index_db::payload::offer_limits as limits;
    if query.tag.len() > limits::TAGS {
        return Err(ApiError::bad(format!(
            "at most {} tags, got {}",
            limits::TAGS,
            query.tag.len()
        )));
    }
    for tag in &query.tag {
        // NUL never is in a tag, and Postgres text cannot hold it.
        if tag.is_empty() || tag.len() > limits::TAG || tag.contains('\0') {
            return Err(ApiError::bad(format!(
                "a tag is 1 to {} bytes, got `{tag}`",
                limits::TAG
            )));
        }
    }
    let min_price = query
        .min_price
        .as_deref()
        .map(|p| codec::parse_amount("min_price", p))
        .transpose()?;
    let max_price = query
        .max_price
        .as_deref()
        .map(|p| codec::parse_amount("max_price", p))
        .transpose()?;
    if let (Some(min), Some(max)) = (min_price, max_price) {
        if min > max {
            return Err(ApiError::bad(format!(
                "min_price {min} is above max_price {max}"
            )));
        }
    }
    let sort = match query.sort.as_deref() {
        None if searching => Sort::Relevance,
        None | Some("newest") => Sort::Newest,
        Some("price_asc") => Sort::PriceAsc,
        Some("price_desc") => Sort::PriceDesc,
        Some("relevance") if searching => Sort::Relevance,
        Some("relevance") => {
            return Err(ApiError::bad("sort=relevance needs a text query `q`"));
        }
        Some(other) => {
            return Err(ApiError::bad(format!(
                "sort must be newest, price_asc, price_desc or relevance, got `{other}`"
            )))
        }
    };
    Ok(Listing {
        filters: Filters {
            tags: query.tag.clone(),
            owner: query
                .owner
                .as_deref()
                .map(|o| codec::parse_account("owner", o, prefix).map(|a| a.to_vec()))
                .transpose()?,
            asset: query
                .asset
                .as_deref()
                .map(|a| codec::parse_asset(a, prefix))
                .transpose()?,
            min_price,
            max_price,
            status: parse_status(query.status.as_deref(), Some("active"))?,
        },
        sort,
        limit: codec::limit(query.limit.as_deref())?,
    })
}

/// Appends `AND ...` for each filter.
fn push_filters(sql: &mut Sql, filters: &Filters) {
    if !filters.tags.is_empty() {
        let p = sql.param(filters.tags.clone());
        sql.push(&format!(" AND tags @> {p}::text[]"));
    }
    if let Some(owner) = &filters.owner {
        let p = sql.param(owner.clone());
        sql.push(&format!(" AND owner = {p}"));
    }
    if let Some(asset) = &filters.asset {
        let p = sql.param(asset.clone());
        sql.push(&format!(" AND asset = {p}"));
    }
    if let Some(min) = filters.min_price {
        let p = sql.param(min.to_string());
        sql.push(&format!(" AND price >= {p}::text::numeric"));
    }
    if let Some(max) = filters.max_price {
        let p = sql.param(max.to_string());
        sql.push(&format!(" AND price <= {p}::text::numeric"));
    }
    if let Some(status) = &filters.status {
        let p = sql.param(status.clone());
        sql.push(&format!(" AND status = {p}"));
    }
}

/// List or search offers.
///
/// Without `q`: plain SQL in the requested order with keyset pagination (the cursor holds
/// the last row's sort key and id, so pages never skip or repeat rows however deep).
/// With `q`: ranked full-text search (BM25; title weighs most, then tags, then
/// description) with the same filters applied inside the search. Ranked pages come from
/// the snapshot of the index that the first page read, so offers added or changed
/// meanwhile neither repeat nor skip; they go to a depth of 1 000 hits. The API keeps
/// the 8 snapshots read most recently, each for up to 10 minutes unread; past that, or
/// after a restart, pages go on at the same depth in the current index. Sorted by
/// `newest` or price, pages resume after the last offer's sort key, as deep as the hits
/// go (offers added meanwhile never repeat one; an offer whose price changes moves).
#[utoipa::path(
    get,
    path = "/v1/offers",
    tag = "offers",
    params(OffersQuery),
    responses(
        (status = 200, description = "A page of offers", body = OfferPage),
        (status = 400, description = "A bad parameter", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Params(query): Params<OffersQuery>,
) -> ApiResult<Json<OfferPage>> {
    let prefix = state.ss58_prefix;
    match query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        Some(q) => {
            if q.len() > MAX_QUERY {
                return Err(ApiError::bad(format!(
                    "q is at most {MAX_QUERY} bytes, got {}",
                    q.len()
                )));
            }
            let listing = listing(&query, prefix, true)?;
            search_offers(&state, q, &query, listing).await
        }
        None => {
            let listing = listing(&query, prefix, false)?;
            list_sql(&state, &query, listing).await
        }
    }
}

async fn list_sql(
    state: &AppState,
    query: &OffersQuery,
    listing: Listing,
) -> ApiResult<Json<OfferPage>> {
    let mut sql = Sql::new(&format!("SELECT {OFFER_COLUMNS} FROM offers WHERE true"));
    push_filters(&mut sql, &listing.filters);
    if let Some(cursor) = &query.cursor {
        let cursor: SeekCursor = codec::decode_cursor(cursor)?;
        if cursor.sort != listing.sort.name() {
            return Err(ApiError::bad(format!(
                "this cursor is for sort={}, not sort={}",
                cursor.sort,
                listing.sort.name()
            )));
        }
        let id = sql.param(cursor.id);
        match listing.sort {
            Sort::Newest => sql.push(&format!(" AND id < {id}")),
            Sort::PriceAsc | Sort::PriceDesc => {
                let price = cursor
                    .price
                    .as_deref()
                    .map(|p| codec::parse_amount("the cursor's price", p))
                    .transpose()?
                    .ok_or_else(|| ApiError::bad("malformed cursor: no price"))?;
                let price = sql.param(price.to_string());
                let op = if listing.sort == Sort::PriceAsc {
                    ">"
                } else {
                    "<"
                };
                sql.push(&format!(
                    " AND (price, id) {op} ({price}::text::numeric, {id})"
                ));
            }
            Sort::Relevance => unreachable!("relevance needs q"),
        }
    }
    // `offers.price`: a bare `price` would be the output column, the text.
    sql.push(match listing.sort {
        Sort::Newest => " ORDER BY id DESC",
        Sort::PriceAsc => " ORDER BY offers.price ASC, id ASC",
        _ => " ORDER BY offers.price DESC, id DESC",
    });
    let limit = sql.param(listing.limit + 1);
    sql.push(&format!(" LIMIT {limit}"));
    let client = state.pool.get().await?;
    let rows = sql.query(&client).await?;
    let mut offers: Vec<Offer> = rows
        .iter()
        .map(|r| Offer::from_row(r, state.ss58_prefix))
        .collect();
    let next_cursor = if offers.len() as i64 > listing.limit {
        offers.truncate(listing.limit as usize);
        let last = offers.last().expect("a full page");
        Some(codec::encode_cursor(&SeekCursor {
            sort: listing.sort.name().into(),
            price: match listing.sort {
                Sort::Newest => None,
                _ => Some(last.price.clone()),
            },
            id: last.id as i64,
        }))
    } else {
        None
    };
    Ok(Json(OfferPage {
        offers,
        next_cursor,
    }))
}

async fn search_offers(
    state: &AppState,
    q: &str,
    query: &OffersQuery,
    listing: Listing,
) -> ApiResult<Json<OfferPage>> {
    let start = match &query.cursor {
        Some(cursor) => {
            let cursor: SearchCursor = codec::decode_cursor(cursor)?;
            if cursor.sort != listing.sort.name() {
                return Err(ApiError::bad(format!(
                    "this cursor is for sort={}, not sort={}",
                    cursor.sort,
                    listing.sort.name()
                )));
            }
            // A sorted search's cursor holds a key (or, from before keys, an offset) and
            // no snapshot; a ranked one never holds a key.
            let keyed = cursor.after.is_some();
            let well_formed = match listing.sort {
                Sort::Relevance => !keyed,
                _ => keyed != (cursor.offset > 0) && cursor.snapshot.is_none(),
            };
            if !well_formed {
                return Err(codec::malformed_cursor());
            }
            search::PageStart {
                offset: cursor.offset,
                snapshot: cursor.snapshot,
                after: cursor.after,
            }
        }
        None => search::PageStart::default(),
    };
    let offset = start.offset;
    if offset >= search::MAX_DEPTH {
        return Err(ApiError::bad(format!(
            "search results page to a depth of {} hits; refine the query or the filters",
            search::MAX_DEPTH
        )));
    }
    // Ranked pages end at that depth; the other orders page by key, as deep as they go.
    let ranked = listing.sort == Sort::Relevance;
    let limit = if ranked {
        (listing.limit as usize).min(search::MAX_DEPTH - offset)
    } else {
        listing.limit as usize
    };
    let order = match listing.sort {
        Sort::Relevance => SearchOrder::Relevance,
        Sort::Newest => SearchOrder::Newest,
        Sort::PriceAsc => SearchOrder::PriceAsc,
        Sort::PriceDesc => SearchOrder::PriceDesc,
    };
    let page = state
        .search
        .search_blocking(
            q.to_owned(),
            listing.filters.clone(),
            order,
            start,
            limit + 1,
        )
        .await?;
    let more = page.hits.len() > limit;
    let hits = &page.hits[..page.hits.len().min(limit)];
    // The rows come from Postgres, the truth, with the same filters: an offer changed
    // since the index last caught up is shown as it is now, or left out.
    let ids: Vec<i64> = hits.iter().map(|h| h.id as i64).collect();
    let mut sql = Sql::new(&format!(
        "SELECT {OFFER_COLUMNS} FROM offers WHERE id = ANY("
    ));
    let p = sql.param(ids);
    sql.push(&format!("{p})"));
    push_filters(&mut sql, &listing.filters);
    let client = state.pool.get().await?;
    let rows = sql.query(&client).await?;
    let mut by_id: std::collections::HashMap<u64, Offer> = rows
        .iter()
        .map(|r| {
            let o = Offer::from_row(r, state.ss58_prefix);
            (o.id, o)
        })
        .collect();
    let offers = hits
        .iter()
        .filter_map(|h| {
            by_id.remove(&h.id).map(|mut o| {
                o.score = h.score;
                o
            })
        })
        .collect();
    let sort = listing.sort.name().to_owned();
    let next = if !more {
        None
    } else if ranked {
        // No cursor past the depth limit: following it could only fail.
        (offset + limit < search::MAX_DEPTH).then_some(SearchCursor {
            sort,
            offset: offset + limit,
            snapshot: Some(page.snapshot),
            after: None,
        })
    } else {
        hits.last().map(|last| SearchCursor {
            sort,
            offset: 0,
            snapshot: None,
            after: last.key,
        })
    };
    let next_cursor = next.map(|cursor| codec::encode_cursor(&cursor));
    Ok(Json(OfferPage {
        offers,
        next_cursor,
    }))
}

/// One offer with its payees and purchase counts.
#[utoipa::path(
    get,
    path = "/v1/offers/{id}",
    tag = "offers",
    params(("id" = u64, Path, description = "The offer's id")),
    responses(
        (status = 200, description = "The offer", body = OfferDetail),
        (status = 400, description = "The id is not a number", body = ErrorBody),
        (status = 404, description = "No such offer", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<OfferDetail>> {
    let missing = || ApiError::not_found(format!("no offer {id}"));
    let key = codec::parse_id("offer", &id)?.ok_or_else(missing)?;
    let client = state.pool.get().await?;
    // Three cached statements, sent together: tokio-postgres pipelines queries issued
    // concurrently on one connection, so the detail costs one round trip, not three.
    let offer_text = format!("SELECT {OFFER_COLUMNS} FROM offers WHERE id = $1");
    let (offer_sql, payees_sql, counts_sql) = futures::try_join!(
        client.prepare_cached(&offer_text),
        client.prepare_cached(
            "SELECT account, bps FROM payees WHERE offer_id = $1 ORDER BY position"
        ),
        client.prepare_cached(
            "SELECT status, count(*) FROM purchases WHERE offer_id = $1 GROUP BY status"
        ),
    )?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&key];
    let (row, payee_rows, count_rows) = futures::try_join!(
        client.query_opt(&offer_sql, &params),
        client.query(&payees_sql, &params),
        client.query(&counts_sql, &params),
    )?;
    let row = row.ok_or_else(missing)?;
    let offer = Offer::from_row(&row, state.ss58_prefix);
    let payees = payee_rows
        .iter()
        .map(|r| Payee {
            account: codec::account(r.get(0), state.ss58_prefix),
            bps: r.get::<_, i32>(1) as u32,
        })
        .collect();
    let mut counts = PurchaseCounts::default();
    for r in count_rows {
        let n = r.get::<_, i64>(1) as u64;
        match r.get::<_, &str>(0) {
            "paid" => counts.paid = n,
            "delivered" => counts.delivered = n,
            "settled" => counts.settled = n,
            "refunded" => counts.refunded = n,
            "disputed" => counts.disputed = n,
            "resolved" => counts.resolved = n,
            _ => {}
        }
    }
    Ok(Json(OfferDetail {
        offer,
        payees,
        purchase_counts: counts,
    }))
}

/// An offer's purchases, newest first.
#[utoipa::path(
    get,
    path = "/v1/offers/{id}/purchases",
    tag = "offers",
    params(("id" = u64, Path, description = "The offer's id"), PurchasesQuery),
    responses(
        (status = 200, description = "A page of purchases", body = PurchasePage),
        (status = 400, description = "A bad parameter", body = ErrorBody),
        (status = 404, description = "No such offer", body = ErrorBody),
    )
)]
pub async fn purchases(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Params(query): Params<PurchasesQuery>,
) -> ApiResult<Json<PurchasePage>> {
    let missing = || ApiError::not_found(format!("no offer {id}"));
    let key = codec::parse_id("offer", &id)?.ok_or_else(missing)?;
    {
        let client = state.pool.get().await?;
        client
            .query_opt("SELECT 1 FROM offers WHERE id = $1", &[&key])
            .await?
            .ok_or_else(missing)?;
    }
    purchases::page(&state, "offer_id", key, &query)
        .await
        .map(Json)
}
