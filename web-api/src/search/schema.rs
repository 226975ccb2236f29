//! The index's schema, the documents it holds, and what each commit records.

use serde::{Deserialize, Serialize};
use tantivy::doc;
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STORED, STRING,
};

/// What a tantivy commit records about itself.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct CommitPayload {
    pub(super) version: u32,
    /// The last `offers.change_seq` applied.
    pub(super) change_seq: i64,
    /// The marketplace of the database it was built from (0x-hex), so that an index
    /// directory pointed at another market's database is rebuilt.
    pub(super) marketplace: Option<String>,
}

#[derive(Clone, Copy)]
pub(super) struct Fields {
    pub(super) id: Field,
    pub(super) title: Field,
    pub(super) description: Field,
    pub(super) tags_text: Field,
    pub(super) tag: Field,
    pub(super) status: Field,
    pub(super) asset: Field,
    pub(super) owner: Field,
    pub(super) price: Field,
}

pub(super) fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("en_stem")
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        id: b.add_u64_field("id", INDEXED | FAST | STORED),
        title: b.add_text_field("title", text.clone()),
        description: b.add_text_field("description", text.clone()),
        tags_text: b.add_text_field("tags_text", text),
        tag: b.add_text_field("tag", STRING | FAST),
        status: b.add_text_field("status", STRING | FAST),
        asset: b.add_text_field("asset", STRING | FAST),
        owner: b.add_text_field("owner", STRING | FAST),
        price: b.add_u64_field("price", INDEXED | FAST),
    };
    (b.build(), fields)
}

pub(super) struct OfferDoc {
    pub(super) id: u64,
    pub(super) owner: Vec<u8>,
    pub(super) asset: Vec<u8>,
    pub(super) price: u128,
    pub(super) title: String,
    pub(super) description: String,
    pub(super) tags: Vec<String>,
    pub(super) status: String,
    pub(super) change_seq: i64,
}

impl OfferDoc {
    pub(super) fn from_row(row: &tokio_postgres::Row) -> Self {
        Self {
            id: row.get::<_, i64>(0) as u64,
            owner: row.get(1),
            asset: row.get(2),
            price: row.get::<_, String>(3).parse().unwrap_or(u128::MAX),
            title: row.get(4),
            description: row.get(5),
            tags: row.get(6),
            status: row.get(7),
            change_seq: row.get(8),
        }
    }
}
