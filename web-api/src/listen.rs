//! LISTEN on a Postgres channel, for the search index and the event feed.

use futures::StreamExt;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::search::SearchError;

/// Opens a connection that LISTENs on `channel` and sends `()` on each notification;
/// the sender is dropped when the connection ends. Keep the returned client to keep
/// listening.
pub(crate) async fn listen(
    database_url: &str,
    channel: &str,
    wake: tokio::sync::mpsc::UnboundedSender<()>,
) -> Result<tokio_postgres::Client, SearchError> {
    let config: tokio_postgres::Config = database_url
        .parse()
        .map_err(|e| SearchError::Database(format!("bad database URL: {e}")))?;
    let (client, mut connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(_)) => {
                    if wake.send(()).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!("listener connection: {e}");
                    break;
                }
            }
        }
    });
    client.batch_execute(&format!("LISTEN {channel}")).await?;
    Ok(client)
}
