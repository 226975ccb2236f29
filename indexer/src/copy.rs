//! Rows in PostgreSQL's binary COPY format, encoded in memory before the transaction that
//! sends them.
//!
//! Encoding ahead lets the indexer prepare a batch on one core while Postgres writes the
//! batch before it on the other; sending the encoded rows in large pieces costs a few
//! socket writes where streaming them row by row (tokio-postgres's
//! `BinaryCopyInWriter`, 4 KiB at a time) cost a write and a cross-thread wakeup per
//! piece.

use std::borrow::Cow;

use bytes::{BufMut, BytesMut};
use futures::SinkExt;
use tokio_postgres::types::{IsNull, ToSql, Type};
use tokio_postgres::Transaction;

use crate::IndexerError;

/// The binary COPY header: signature, flags, header extension length.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// How much of the encoded rows goes into one CopyData message.
const PIECE: usize = 1 << 20;

/// Rows for one table, encoded.
pub struct CopyRows {
    /// "table (column, ...)".
    into: Cow<'static, str>,
    types: &'static [Type],
    buf: BytesMut,
    rows: usize,
}

impl CopyRows {
    /// No rows yet, for the columns `into` ("table (column, ...)") of `types`.
    pub fn new(into: impl Into<Cow<'static, str>>, types: &'static [Type]) -> Self {
        let mut buf = BytesMut::with_capacity(HEADER.len() + 2);
        buf.put_slice(HEADER);
        Self {
            into: into.into(),
            types,
            buf,
            rows: 0,
        }
    }

    /// Appends a row: one value per column, in order.
    ///
    /// # Panics
    /// When the number of values is not the number of columns (a bug at the call site).
    pub fn push(&mut self, values: &[&(dyn ToSql + Sync)]) -> Result<(), IndexerError> {
        assert_eq!(values.len(), self.types.len(), "COPY {}", self.into);
        self.buf.put_i16(self.types.len() as i16);
        for (i, (value, ty)) in values.iter().zip(self.types).enumerate() {
            let at = self.buf.len();
            self.buf.put_i32(0);
            let written = value.to_sql_checked(ty, &mut self.buf).map_err(|e| {
                IndexerError::Database(format!("encoding column {i} of {}: {e}", self.into))
            })?;
            let len = match written {
                IsNull::Yes => -1,
                IsNull::No => i32::try_from(self.buf.len() - at - 4).map_err(|_| {
                    IndexerError::Database(format!("column {i} of {} is over 2 GiB", self.into))
                })?,
            };
            self.buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
        }
        self.rows += 1;
        Ok(())
    }

    /// How many rows there are.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// COPYs the rows into the table within `txn` (nothing when there are none) and
    /// returns how many went in.
    pub async fn send(self, txn: &Transaction<'_>) -> Result<u64, IndexerError> {
        if self.rows == 0 {
            return Ok(0);
        }
        let mut buf = self.buf;
        buf.put_i16(-1);
        let data = buf.freeze();
        let sink = txn
            .copy_in(&format!("COPY {} FROM STDIN BINARY", self.into))
            .await?;
        futures::pin_mut!(sink);
        let mut at = 0;
        while at < data.len() {
            let end = data.len().min(at + PIECE);
            sink.as_mut().feed(data.slice(at..end)).await?;
            at = end;
        }
        Ok(sink.as_mut().finish().await?)
    }
}
