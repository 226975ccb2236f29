//! `/v1/accounts/{address}/...`: an account's offers, purchases and balances.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::codec::{self, Params, PathParam as Path, Sql};
use crate::error::{ApiResult, ErrorBody};
use crate::offers::{parse_status, Offer, OfferPage, OFFER_COLUMNS};
use crate::purchases::{self, IdCursor, PurchasePage, PurchasesQuery};
use crate::AppState;

/// Filter and page of an account's offers.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountOffersQuery {
    /// `active`, `paused`, `delisted` or `any` (default).
    pub status: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    #[serde(default, deserialize_with = "crate::codec::present")]
    pub limit: Option<String>,
}

/// What the marketplace owes an account in one asset.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MarketBalance {
    /// `native` or the PSP22 token's SS58 address.
    pub asset: String,
    /// Everything credited: settlements, refunds, fees, released bonds, won disputes.
    pub credited: String,
    /// Everything withdrawn.
    pub withdrawn: String,
    /// What `withdraw` would pay out now: credited − withdrawn.
    pub available: String,
}

/// An account's balance of a watched PSP22 token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenBalance {
    /// The token's SS58 address.
    pub token: String,
    /// The balance, from the token's Transfer events (decimal string).
    pub balance: String,
}

/// An account's balances.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Balances {
    /// The account (SS58).
    pub account: String,
    /// In the marketplace, per asset (native first).
    pub marketplace: Vec<MarketBalance>,
    /// In the watched tokens.
    pub tokens: Vec<TokenBalance>,
}

/// The offers an account owns, newest first.
#[utoipa::path(
    get,
    path = "/v1/accounts/{address}/offers",
    tag = "accounts",
    params(("address" = String, Path, description = "SS58 address"), AccountOffersQuery),
    responses(
        (status = 200, description = "A page of offers", body = OfferPage),
        (status = 400, description = "A bad address or parameter", body = ErrorBody),
    )
)]
pub async fn offers(
    State(state): State<AppState>,
    Path(address): Path<String>,
    Params(query): Params<AccountOffersQuery>,
) -> ApiResult<Json<OfferPage>> {
    let owner = codec::parse_account("address", &address, state.ss58_prefix)?;
    let status = parse_status(query.status.as_deref(), None)?;
    let limit = codec::limit(query.limit.as_deref())?;
    let mut sql = Sql::new(&format!(
        "SELECT {OFFER_COLUMNS} FROM offers WHERE owner = "
    ));
    let p = sql.param(owner.to_vec());
    sql.push(&p);
    if let Some(status) = status {
        let p = sql.param(status);
        sql.push(&format!(" AND status = {p}"));
    }
    if let Some(cursor) = &query.cursor {
        let cursor: IdCursor = codec::decode_cursor(cursor)?;
        let p = sql.param(cursor.before);
        sql.push(&format!(" AND id < {p}"));
    }
    let l = sql.param(limit + 1);
    sql.push(&format!(" ORDER BY id DESC LIMIT {l}"));
    let client = state.pool.get().await?;
    let rows = sql.query(&client).await?;
    let mut offers: Vec<Offer> = rows
        .iter()
        .map(|r| Offer::from_row(r, state.ss58_prefix))
        .collect();
    let next_cursor = if offers.len() as i64 > limit {
        offers.truncate(limit as usize);
        Some(codec::encode_cursor(&IdCursor {
            before: offers.last().expect("a full page").id as i64,
        }))
    } else {
        None
    };
    Ok(Json(OfferPage {
        offers,
        next_cursor,
    }))
}

/// The purchases an account made, newest first.
#[utoipa::path(
    get,
    path = "/v1/accounts/{address}/purchases",
    tag = "accounts",
    params(("address" = String, Path, description = "SS58 address"), PurchasesQuery),
    responses(
        (status = 200, description = "A page of purchases", body = PurchasePage),
        (status = 400, description = "A bad address or parameter", body = ErrorBody),
    )
)]
pub async fn purchases(
    State(state): State<AppState>,
    Path(address): Path<String>,
    Params(query): Params<PurchasesQuery>,
) -> ApiResult<Json<PurchasePage>> {
    let buyer = codec::parse_account("address", &address, state.ss58_prefix)?;
    purchases::page(&state, "buyer", buyer.to_vec(), &query)
        .await
        .map(Json)
}

/// What the marketplace owes an account per asset, and its watched-token balances.
#[utoipa::path(
    get,
    path = "/v1/accounts/{address}/balances",
    tag = "accounts",
    params(("address" = String, Path, description = "SS58 address")),
    responses(
        (status = 200, description = "The balances (empty lists for an unknown account)", body = Balances),
        (status = 400, description = "A bad address", body = ErrorBody),
    )
)]
pub async fn balances(
    State(state): State<AppState>,
    Path(address): Path<String>,
) -> ApiResult<Json<Balances>> {
    let prefix = state.ss58_prefix;
    let account = codec::parse_account("address", &address, prefix)?;
    let client = state.pool.get().await?;
    let marketplace = client
        .query(
            "SELECT asset, credited::text, withdrawn::text, (credited - withdrawn)::text \
             FROM balances WHERE account = $1 ORDER BY asset",
            &[&account.as_slice()],
        )
        .await?
        .iter()
        .map(|r| MarketBalance {
            asset: codec::asset(r.get(0), prefix),
            credited: r.get(1),
            withdrawn: r.get(2),
            available: r.get(3),
        })
        .collect();
    let tokens = client
        .query(
            "SELECT token, balance::text FROM token_balances WHERE account = $1 ORDER BY token",
            &[&account.as_slice()],
        )
        .await?
        .iter()
        .map(|r| TokenBalance {
            token: codec::account(r.get(0), prefix),
            balance: r.get(1),
        })
        .collect();
    Ok(Json(Balances {
        account: codec::account(&account, prefix),
        marketplace,
        tokens,
    }))
}
