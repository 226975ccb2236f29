//! Digests of tables: two databases with equal digests hold the same rows (a rebuild,
//! a crash and resume, and a straight run are compared this way).

use tokio_postgres::GenericClient;

use crate::schema::DERIVED_TABLES;
use crate::DbError;

/// A digest of a table's rows: every column but the listed ones, in an order that does
/// not depend on how the rows are stored.
///
/// # Errors
/// [`DbError::NoTable`], [`DbError::Postgres`].
pub async fn table_digest(
    client: &impl GenericClient,
    table: &str,
    except: &[&str],
) -> Result<String, DbError> {
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
        return Err(DbError::NoTable(table.to_owned()));
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
///
/// # Errors
/// As [`table_digest`].
pub async fn derived_digest(client: &impl GenericClient) -> Result<Vec<(String, String)>, DbError> {
    let mut out = Vec::new();
    for table in DERIVED_TABLES {
        let digest = table_digest(client, table, &["change_seq"]).await?;
        out.push(((*table).to_owned(), digest));
    }
    Ok(out)
}
