//! The index's database side (DESIGN §5, §7): what the indexer, its one writer, and the
//! web API, its stateless readers, share about the Postgres they meet in. Postgres is the
//! only seam between them, so this crate knows the schema's conventions and nothing of
//! the chain:
//!
//! - [`connect`] and [`describe`] (messages name host, port and database, never the
//!   password); [`migrate`] applies `migrations/`, one session at a time;
//! - [`lock_writer`] and [`writer_active`]: the one writer's advisory lock;
//! - [`OFFERS_CHANNEL`] and [`BLOCKS_CHANNEL`]: what the writer notifies in its batch
//!   transaction;
//! - [`cursor`]: the last block applied and the marketplace it is for;
//! - [`table_digest`] and [`derived_digest`]: equality of two indexes' rows;
//! - [`payload`]: how a raw event's JSON names accounts, and the bounds on offers;
//! - [`ss58`]: the one SS58 address codec of the off-chain side that does not sign;
//! - `TempDatabase` (feature `test-db`): a database of its own per test or benchmark.

#![warn(missing_docs)]

mod cursor;
mod digest;
mod locks;
pub mod payload;
mod schema;
pub mod ss58;
#[cfg(feature = "test-db")]
mod test_db;

use tokio_postgres::{Client, NoTls};

pub use cursor::{cursor, BlockPos, Cursor};
pub use digest::{derived_digest, table_digest};
pub use locks::{lock_writer, writer_active, MIGRATION_LOCK, WRITER_LOCK};
pub use schema::{migrate, DERIVED_TABLES};
#[cfg(feature = "test-db")]
pub use test_db::TempDatabase;

/// Channel notified, in the batch's transaction, when offers changed; the payload is the
/// highest `offers.change_seq` written. The web API's search index listens on it.
pub const OFFERS_CHANNEL: &str = "datamarket_offers";
/// Channel notified after every batch with events; the payload is the cursor's block.
pub const BLOCKS_CHANNEL: &str = "datamarket_blocks";

/// What went wrong with the index database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The server or the connection failed; kept whole, so that a reader can tell a
    /// lost connection (the service's trouble) from a failed statement.
    #[error("{}", postgres_message(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// The database URL is malformed or the server cannot be reached.
    #[error("{0}")]
    Connect(String),
    /// A migration failed (with its causes).
    #[error("{0}")]
    Migration(String),
    /// A row contradicts the schema's conventions (a cursor hash of another length).
    #[error("{0}")]
    Inconsistent(String),
    /// No such table.
    #[error("no table {0}")]
    NoTable(String),
}

/// The server's message and code, never connection parameters.
fn postgres_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

/// Connects; the connection runs on its own task. Errors name the database, never the
/// password.
///
/// # Errors
/// [`DbError::Connect`].
pub async fn connect(url: &str) -> Result<Client, DbError> {
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| DbError::Connect(format!("bad database URL: {e}")))?;
    let (client, connection) = config.connect(NoTls).await.map_err(|e| {
        DbError::Connect(format!(
            "cannot connect to Postgres at {}: {e}",
            describe(&config)
        ))
    })?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("database connection closed: {e}");
        }
    });
    Ok(client)
}

/// Host, port and database of a configuration, for messages (no user or password).
pub fn describe(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or("(default)");
    format!("{host}:{port}/{db}")
}

/// `url` with its database replaced by `name` (user, host and parameters kept).
pub fn url_of(url: &str, name: &str) -> String {
    // postgres://user@host:port/db?params
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::url_of;

    #[test]
    fn url_with_another_database() {
        assert_eq!(
            url_of("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            url_of("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(url_of("postgres://h:1", "x"), "postgres://h:1/x");
    }
}
