//! Following the offers' change feed.

use std::sync::Arc;
use std::time::Duration;

use super::SearchIndex;
use crate::listen::listen;

/// Keeps `index` current: waits for a notification on [`index_db::OFFERS_CHANNEL`]
/// or `poll`, whichever comes first, then catches up. Reconnects the listener when its
/// connection drops. Runs until the task is aborted.
pub async fn follow(
    index: Arc<SearchIndex>,
    pool: deadpool_postgres::Pool,
    database_url: String,
    poll: Duration,
) {
    loop {
        let (wake_tx, mut wake) = tokio::sync::mpsc::unbounded_channel::<()>();
        let listener = listen(&database_url, index_db::OFFERS_CHANNEL, wake_tx).await;
        if let Err(e) = &listener {
            tracing::warn!("search index: cannot LISTEN for offer changes ({e}); polling");
        }
        loop {
            if let Err(e) = index.catch_up(&pool).await {
                tracing::warn!("search index: catching up failed: {e}");
            }
            match tokio::time::timeout(poll, wake.recv()).await {
                // A notification (drain any others that came with it).
                Ok(Some(())) => while wake.try_recv().is_ok() {},
                // The listener's connection closed: reconnect.
                Ok(None) => {
                    if listener.is_ok() {
                        tracing::warn!("search index: the LISTEN connection closed; reconnecting");
                    }
                    tokio::time::sleep(poll).await;
                    break;
                }
                Err(_) => {}
            }
        }
        drop(listener);
    }
}
