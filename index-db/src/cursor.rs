//! The cursor row: the last block applied and the marketplace the index is for. The
//! writer moves it in the same transaction as the rows it covers.

use tokio_postgres::GenericClient;

use crate::DbError;

/// A block as the index stores it: number and hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockPos {
    /// Block number.
    pub number: u32,
    /// Block hash.
    pub hash: [u8; 32],
}

/// The cursor: the last block applied, and the marketplace it is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// The block.
    pub block: BlockPos,
    /// The marketplace contract.
    pub marketplace: [u8; 32],
}

/// Reads the cursor (`FOR UPDATE` inside the writer's batch transaction).
///
/// # Errors
/// [`DbError::Postgres`], [`DbError::Inconsistent`] for a row of the wrong shape.
pub async fn cursor(
    client: &impl GenericClient,
    for_update: bool,
) -> Result<Option<Cursor>, DbError> {
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
    let bad = |what: &str| DbError::Inconsistent(format!("the cursor's {what} is not 32 bytes"));
    Ok(Some(Cursor {
        block: BlockPos {
            number: u32::try_from(row.get::<_, i64>(0)).map_err(|_| bad("block number"))?,
            hash: hash.try_into().map_err(|_| bad("block hash"))?,
        },
        marketplace: marketplace.try_into().map_err(|_| bad("marketplace"))?,
    }))
}
