//! The database: connecting, migrating, the writer's lock, the cursor, table digests,
//! and throwaway databases for tests and benchmarks.

use std::time::Duration;

use chain::{BlockHash, BlockRef};
use tokio_postgres::{Client, GenericClient, NoTls};

use crate::IndexerError;

mod embedded {
    refinery::embed_migrations!("../migrations");
}

/// The advisory lock key of the one writing indexer ("DMINDEX\0" as a number). Advisory
/// locks are per database, so indexers of different databases never wait on each other.
pub const WRITER_LOCK: i64 = 0x444d_494e_4445_5800;

/// The advisory lock key held while migrating ("DMMIGRAT" as a number).
pub const MIGRATION_LOCK: i64 = 0x444d_4d49_4752_4154;

/// Channel notified, in the batch's transaction, when offers changed; the payload is the
/// highest `offers.change_seq` written. The web API's search index listens on it.
pub const OFFERS_CHANNEL: &str = "datamarket_offers";
/// Channel notified after every batch with events; the payload is the cursor's block.
pub const BLOCKS_CHANNEL: &str = "datamarket_blocks";

/// The tables derived from `raw_events` (what `rebuild` empties and refills).
pub const DERIVED_TABLES: &[&str] = &[
    "payouts",
    "settlements",
    "refunds",
    "disputes",
    "withdrawals",
    "payees",
    "purchases",
    "offers",
    "balances",
    "token_balances",
    "market_config",
];

/// Connects; the connection runs on its own task. Errors name the database, never the
/// password.
pub async fn connect(url: &str) -> Result<Client, IndexerError> {
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| IndexerError::Database(format!("bad database URL: {e}")))?;
    let (client, connection) = config.connect(NoTls).await.map_err(|e| {
        IndexerError::Database(format!(
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

/// Applies the migrations in `migrations/` that this database has not seen, one
/// migrating session at a time: refinery takes no lock of its own, and two programs
/// starting on an empty database would both create the tables, and one fail.
pub async fn migrate(client: &mut Client) -> Result<(), IndexerError> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let result = run_migrations(client).await;
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await?;
    result
}

async fn run_migrations(client: &mut Client) -> Result<(), IndexerError> {
    let report = embedded::migrations::runner()
        .run_async(client)
        .await
        .map_err(|e| {
            let mut message = format!("migrations failed: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            IndexerError::Database(message)
        })?;
    for migration in report.applied_migrations() {
        tracing::info!("applied migration {migration}");
    }
    Ok(())
}

/// Takes the writer's lock on this connection, waiting as a standby while another
/// indexer holds it. Returns once this connection holds it; it is released when the
/// connection closes, however the process ends.
pub async fn lock_writer(client: &Client, poll: Duration) -> Result<(), IndexerError> {
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
pub async fn writer_active(client: &impl GenericClient) -> Result<bool, IndexerError> {
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

/// The cursor: the last block applied, and the marketplace it is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// The block.
    pub block: BlockRef,
    /// The marketplace contract.
    pub marketplace: [u8; 32],
}

/// Reads the cursor (`FOR UPDATE` inside the batch transaction).
pub async fn cursor(
    client: &impl GenericClient,
    for_update: bool,
) -> Result<Option<Cursor>, IndexerError> {
    let sql = if for_update {
        "SELECT block_number, block_hash, marketplace FROM indexer_cursor FOR UPDATE"
    } else {
        "SELECT block_number, block_hash, marketplace FROM indexer_cursor"
    };
    let Some(row) = client.query_opt(sql, &[]).await? else {
        return Ok(None);
    };
    let hash: Vec<u8> = row.get(1);
    let marketplace: Vec<u8> = row.get(2);
    let bad =
        |what: &str| IndexerError::Inconsistent(format!("the cursor's {what} is not 32 bytes"));
    Ok(Some(Cursor {
        block: BlockRef {
            number: u32::try_from(row.get::<_, i64>(0)).map_err(|_| bad("block number"))?,
            hash: BlockHash(hash.try_into().map_err(|_| bad("block hash"))?),
        },
        marketplace: marketplace.try_into().map_err(|_| bad("marketplace"))?,
    }))
}

/// A digest of a table's rows: every column but the listed ones, in primary key order.
/// Two databases with equal digests hold the same rows.
pub async fn table_digest(
    client: &impl GenericClient,
    table: &str,
    except: &[&str],
) -> Result<String, IndexerError> {
    let columns: Vec<String> = client
        .query(
            "SELECT column_name FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 \
             AND NOT (column_name = ANY($2)) ORDER BY ordinal_position",
            &[&table, &except],
        )
        .await?
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect();
    if columns.is_empty() {
        return Err(IndexerError::Database(format!("no table {table}")));
    }
    let list = columns
        .iter()
        .map(|c| format!("{c}::text"))
        .collect::<Vec<_>>()
        .join(", ");
    // Ordered by the row's text, so that the digest does not depend on physical order.
    let sql = format!(
        "SELECT count(*)::text || ':' || coalesce(md5(string_agg(r::text, '|' ORDER BY r::text)), '') \
         FROM (SELECT {list} FROM {table}) AS r"
    );
    Ok(client.query_one(&sql, &[]).await?.get(0))
}

/// Digests of the derived tables (without `change_seq`, which counts writes and so
/// differs after a rebuild).
pub async fn derived_digest(
    client: &impl GenericClient,
) -> Result<Vec<(String, String)>, IndexerError> {
    let mut out = Vec::new();
    for table in DERIVED_TABLES {
        let digest = table_digest(client, table, &["change_seq", "search"]).await?;
        out.push(((*table).to_owned(), digest));
    }
    Ok(out)
}

/// A database of its own, created on connect and dropped with [`TempDatabase::drop_now`]
/// (or left behind for inspection when a test fails). For tests and benchmarks: each
/// gets its own, never shared state.
pub struct TempDatabase {
    /// Its URL.
    pub url: String,
    name: String,
    admin_url: String,
}

impl TempDatabase {
    /// Creates `prefix_<random>` on the server of `admin_url` (a database URL whose
    /// user may create databases), or `$DATAMARKET_TEST_DATABASE_URL`, or the local
    /// Postgres at 127.0.0.1:5432 as `postgres`.
    pub async fn create(prefix: &str) -> Result<Self, IndexerError> {
        let admin_url = std::env::var("DATAMARKET_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("{prefix}_{:016x}", rand::random::<u64>());
        let admin = connect(&admin_url).await?;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await?;
        let url = url_of(&admin_url, &name);
        Ok(Self {
            url,
            name,
            admin_url,
        })
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drops it (disconnecting anyone still on it).
    pub async fn drop_now(self) -> Result<(), IndexerError> {
        let admin = connect(&self.admin_url).await?;
        admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await?;
        Ok(())
    }
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
    #[test]
    fn url_with_another_database() {
        assert_eq!(
            super::url_of("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            super::url_of("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(super::url_of("postgres://h:1", "x"), "postgres://h:1/x");
    }
}
