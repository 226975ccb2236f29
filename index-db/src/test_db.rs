//! Throwaway databases for tests and benchmarks: each gets its own, never shared state.

use crate::{connect, url_of, DbError};

/// A database of its own, created on connect and dropped with [`TempDatabase::drop_now`]
/// (or left behind for inspection when a test fails).
pub struct TempDatabase {
    /// Its URL.
    pub url: String,
    name: String,
    admin_url: String,
}

impl TempDatabase {
    /// Creates `prefix_<random>` on the server of `$DATAMARKET_TEST_DATABASE_URL` (a
    /// database URL whose user may create databases), or the local Postgres at
    /// 127.0.0.1:5432 as `postgres`.
    ///
    /// # Errors
    /// [`DbError`] when the server cannot be reached or refuses.
    pub async fn create(prefix: &str) -> Result<Self, DbError> {
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
    ///
    /// # Errors
    /// [`DbError`].
    pub async fn drop_now(self) -> Result<(), DbError> {
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
