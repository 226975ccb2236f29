//! Advisory locks: one writing indexer per database, one migrating session at a time.

use std::time::Duration;

use tokio_postgres::{Client, GenericClient};

use crate::DbError;

/// The advisory lock key of the one writing indexer ("DMINDEX\0" as a number). Advisory
/// locks are per database, so indexers of different databases never wait on each other.
pub const WRITER_LOCK: i64 = 0x444d_494e_4445_5800;

/// The advisory lock key held while migrating ("DMMIGRAT" as a number).
pub const MIGRATION_LOCK: i64 = 0x444d_4d49_4752_4154;

/// Takes the writer's lock on this connection, waiting as a standby while another
/// indexer holds it. Returns once this connection holds it; it is released when the
/// connection closes, however the process ends.
///
/// # Errors
/// [`DbError::Postgres`].
pub async fn lock_writer(client: &Client, poll: Duration) -> Result<(), DbError> {
    let mut announced = false;
    loop {
        let row = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&WRITER_LOCK])
            .await?;
        if row.get::<_, bool>(0) {
            if announced {
                tracing::info!("took over: the other indexer released the writer lock");
            }
            metrics::gauge!("indexer_is_writer").set(1.0);
            return Ok(());
        }
        if !announced {
            let holder = client
                .query_opt(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted \
                     AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                     AND ((classid::bigint << 32) | objid::bigint) = $1",
                    &[&WRITER_LOCK],
                )
                .await?
                .map(|r| r.get::<_, i32>(0));
            tracing::info!(
                holder_backend_pid = holder,
                "standby: another indexer holds the writer lock on this database; waiting \
                 to take over"
            );
            metrics::gauge!("indexer_is_writer").set(0.0);
            announced = true;
        }
        tokio::time::sleep(poll).await;
    }
}

/// Whether some session holds the writer's lock (for status pages).
///
/// # Errors
/// [`DbError::Postgres`].
pub async fn writer_active(client: &impl GenericClient) -> Result<bool, DbError> {
    Ok(client
        .query_one(
            // pg_locks lists every database's locks: only this one's count.
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND ((classid::bigint << 32) | objid::bigint) = $1)",
            &[&WRITER_LOCK],
        )
        .await?
        .get(0))
}
