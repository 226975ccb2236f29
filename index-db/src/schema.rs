//! The schema: the migrations in `migrations/`, embedded, and the tables derived from
//! `raw_events`.

use tokio_postgres::Client;

use crate::locks::MIGRATION_LOCK;
use crate::DbError;

mod embedded {
    refinery::embed_migrations!("../migrations");
}

/// The tables derived from `raw_events` (what a rebuild empties and refills).
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

/// Applies the migrations in `migrations/` that this database has not seen, one
/// migrating session at a time: refinery takes no lock of its own, and two programs
/// starting on an empty database would both create the tables, and one fail.
///
/// # Errors
/// [`DbError::Migration`], [`DbError::Postgres`].
pub async fn migrate(client: &mut Client) -> Result<(), DbError> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let result = run_migrations(client).await;
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await?;
    result
}

async fn run_migrations(client: &mut Client) -> Result<(), DbError> {
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
            DbError::Migration(message)
        })?;
    for migration in report.applied_migrations() {
        tracing::info!("applied migration {migration}");
    }
    Ok(())
}
