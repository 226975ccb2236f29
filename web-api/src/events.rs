//! `GET /v1/events`: a live Server-Sent Events feed of purchases, deliveries,
//! settlements, refunds and disputes, read from `raw_events` in chain order and woken by
//! the indexer's `datamarket_blocks` notifications (with a poll should one be lost).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::codec::{self, Params, Sql};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::AppState;

/// The events the feed carries.
pub const NAMES: &[&str] = &[
    "PurchaseCreated",
    "KeyDelivered",
    "PurchaseSettled",
    "PurchaseRefunded",
    "PurchaseDisputed",
];
/// Events read per query.
const PAGE: i64 = 200;

/// Which events, from where.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only purchases of offers this account (SS58) owns.
    pub owner: Option<String>,
    /// Only purchases this account (SS58) made.
    pub buyer: Option<String>,
    /// Resume after this event id (`block-index`, the `id` of an event); without it (or
    /// a `Last-Event-ID` header) the feed starts with the next new event.
    pub after: Option<String>,
}

/// One event of the feed (the SSE `data`; its `event` is `kind`, its `id` is `id`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MarketEvent {
    /// `block-index`: pass as `after` (or `Last-Event-ID`) to resume after it.
    pub id: String,
    /// `PurchaseCreated`, `KeyDelivered`, `PurchaseSettled`, `PurchaseRefunded` or
    /// `PurchaseDisputed`.
    pub kind: String,
    /// The (finalized) block it happened in.
    pub block: u64,
    /// The purchase.
    pub purchase_id: u64,
    /// Its offer.
    pub offer_id: u64,
    /// The buyer (SS58).
    pub buyer: String,
    /// The offer's owner (SS58).
    pub owner: String,
    /// The event as the indexer decoded it (`raw_events.payload`), its accounts in
    /// this network's SS58 form.
    pub payload: serde_json::Value,
}

fn parse_position(text: &str) -> ApiResult<(i64, i32)> {
    let bad = || ApiError::bad(format!("an event id is `block-index`, got `{text}`"));
    let (block, index) = text.split_once('-').ok_or_else(bad)?;
    Ok((
        block.parse::<u32>().map_err(|_| bad())?.into(),
        index.parse::<u32>().map_err(|_| bad())? as i32,
    ))
}

struct Filter {
    owner: Option<[u8; 32]>,
    buyer: Option<[u8; 32]>,
}

/// The events after `after` that pass `filter`, at most a page, and the newest event
/// position of all when the read began. When the page is not full, every event up to
/// that position has been read, matching or not, so the feed can move past it: else a
/// feed whose filter matches rarely would read again, on every wake, everything since
/// its last match.
async fn read(
    state: &AppState,
    after: (i64, i32),
    filter: &Filter,
) -> ApiResult<(Vec<((i64, i32), Event)>, Option<(i64, i32)>)> {
    let client = state.pool.get().await?;
    // Read first: one indexer writes raw events in block order, a batch a transaction,
    // so every event up to this one is visible to the next statement too.
    let Some(head) = newest_event(&client).await? else {
        return Ok((Vec::new(), None));
    };
    let mut sql = Sql::new(
        "SELECT r.block_number, r.event_index, r.name, r.payload, p.id, p.offer_id, p.buyer, \
         o.owner FROM raw_events r \
         JOIN purchases p ON p.id = (r.payload->>'purchase_id')::bigint \
         JOIN offers o ON o.id = p.offer_id WHERE r.name = ANY(",
    );
    let names = sql.param(NAMES.iter().map(|n| n.to_string()).collect::<Vec<_>>());
    let b = sql.param(after.0);
    let i = sql.param(after.1);
    let hb = sql.param(head.0);
    let hi = sql.param(head.1);
    sql.push(&format!(
        "{names}) AND (r.block_number, r.event_index) > ({b}, {i}) \
         AND (r.block_number, r.event_index) <= ({hb}, {hi})"
    ));
    if let Some(owner) = filter.owner {
        let p = sql.param(owner.to_vec());
        sql.push(&format!(" AND o.owner = {p}"));
    }
    if let Some(buyer) = filter.buyer {
        let p = sql.param(buyer.to_vec());
        sql.push(&format!(" AND p.buyer = {p}"));
    }
    let l = sql.param(PAGE);
    sql.push(&format!(
        " ORDER BY r.block_number, r.event_index LIMIT {l}"
    ));
    let rows = sql.query(&client).await?;
    let prefix = state.ss58_prefix;
    let events = rows
        .iter()
        .map(|r| {
            let position: (i64, i32) = (r.get(0), r.get(1));
            let id = format!("{}-{}", position.0, position.1);
            let mut payload = r.get(3);
            codec::payload_accounts(&mut payload, prefix);
            let event = MarketEvent {
                id: id.clone(),
                kind: r.get(2),
                block: position.0 as u64,
                payload,
                purchase_id: r.get::<_, i64>(4) as u64,
                offer_id: r.get::<_, i64>(5) as u64,
                buyer: codec::account(r.get(6), prefix),
                owner: codec::account(r.get(7), prefix),
            };
            let sse = Event::default()
                .id(id)
                .event(event.kind.clone())
                .json_data(&event)
                .expect("events serialize");
            (position, sse)
        })
        .collect();
    Ok((events, Some(head)))
}

/// The position of the newest raw event, if any.
async fn newest_event(client: &deadpool_postgres::Client) -> ApiResult<Option<(i64, i32)>> {
    Ok(client
        .query_opt(
            "SELECT block_number, event_index FROM raw_events \
             ORDER BY block_number DESC, event_index DESC LIMIT 1",
            &[],
        )
        .await?
        .map(|r| (r.get(0), r.get(1))))
}

/// A live feed of purchases, deliveries, settlements, refunds and disputes
/// (Server-Sent Events), optionally for one owner's offers or one buyer.
///
/// Each SSE event's `event` is the kind, its `id` the position (`block-index`) and its
/// `data` a [`MarketEvent`] as JSON. Reconnecting clients send `Last-Event-ID` (or
/// `after`) and miss nothing. Only finalized blocks are indexed, so every event is final.
#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "purchases",
    params(EventsQuery),
    responses(
        (status = 200, description = "An endless text/event-stream; each event's data", body = MarketEvent, content_type = "text/event-stream"),
        (status = 400, description = "A bad address or event id", body = ErrorBody),
        (status = 503, description = "Too many feeds are open; try again later", body = ErrorBody),
    )
)]
pub async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(query): Params<EventsQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let prefix = state.ss58_prefix;
    let filter = Filter {
        owner: query
            .owner
            .as_deref()
            .map(|o| codec::parse_account("owner", o, prefix))
            .transpose()?,
        buyer: query
            .buyer
            .as_deref()
            .map(|b| codec::parse_account("buyer", b, prefix))
            .transpose()?,
    };
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(query.after);
    let mut position = match resume {
        Some(id) => parse_position(&id)?,
        None => newest_event(&state.pool.get().await?)
            .await?
            .unwrap_or((-1, -1)),
    };
    // Held by the feed's task: given back when the client goes or the server closes.
    let permit = Arc::clone(&state.event_streams)
        .try_acquire_owned()
        .map_err(|_| {
            ApiError::Busy(
                "too many live event feeds are open on this server; try again later".into(),
            )
        })?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Event, Infallible>>(PAGE as usize);
    let mut wake = state.blocks.clone();
    let mut closing = state.closing.clone();
    let poll = state.poll;
    tokio::spawn(async move {
        let _permit = permit;
        loop {
            let mut full = false;
            match read(&state, position, &filter).await {
                Ok((events, head)) => {
                    full = events.len() as i64 == PAGE;
                    for (at, event) in events {
                        if tx.send(Ok(event)).await.is_err() {
                            return;
                        }
                        position = at;
                    }
                    if let Some(head) = head.filter(|h| !full && *h > position) {
                        position = head;
                    }
                }
                Err(e) => tracing::warn!("event feed: {e}"),
            }
            if full {
                continue;
            }
            tokio::select! {
                changed = wake.changed() => {
                    if changed.is_err() {
                        tokio::time::sleep(poll).await;
                    }
                }
                _ = tokio::time::sleep(poll) => {}
                _ = tx.closed() => return,
                _ = closing.changed() => return,
            }
        }
    });
    Ok(Sse::new(tokio_stream::wrappers::ReceiverStream::new(rx)).keep_alive(KeepAlive::default()))
}

/// Counts the indexer's batch notifications on `datamarket_blocks` into `blocks`, so that
/// every open feed wakes from one LISTEN; reconnects when the connection drops.
pub async fn follow_blocks(
    database_url: String,
    blocks: tokio::sync::watch::Sender<u64>,
    poll: Duration,
) {
    loop {
        let (wake_tx, mut wake) = tokio::sync::mpsc::unbounded_channel::<()>();
        match crate::listen::listen(&database_url, index_db::BLOCKS_CHANNEL, wake_tx).await {
            Ok(_client) => {
                while wake.recv().await.is_some() {
                    blocks.send_modify(|n| *n += 1);
                }
                tracing::warn!("event feed: the LISTEN connection closed; reconnecting");
            }
            Err(e) => tracing::warn!("event feed: cannot LISTEN ({e}); polling"),
        }
        tokio::time::sleep(poll).await;
    }
}
