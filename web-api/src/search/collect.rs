//! Collecting hits: the top-k heap and the filters resolved against fast fields.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use tantivy::columnar::{Column, StrColumn};
use tantivy::fastfield::AliveBitSet;
use tantivy::{DocId, Score, SegmentReader};

use super::{saturate, Filters, SearchError};

/// The best `limit` hits seen so far by a key where higher is better; equal keys go to
/// the lower tie-break (the offer id for the sorted orders, the order of visit for
/// relevance), so that pages of equal keys are stable.
pub(super) struct TopHits<K> {
    limit: usize,
    /// (key, tie-break, offer id), the weakest on top.
    heap: BinaryHeap<Reverse<(K, Reverse<u64>, u64)>>,
}

/// A BM25 score with a total order (scores are never NaN).
#[derive(Clone, Copy, PartialEq)]
pub(super) struct ScoreOrd(pub(super) Score);

impl Eq for ScoreOrd {}

impl PartialOrd for ScoreOrd {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ScoreOrd {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl<K: Ord + Copy> TopHits<K> {
    pub(super) fn new(limit: usize) -> Self {
        Self {
            limit,
            heap: BinaryHeap::with_capacity(limit + 1),
        }
    }

    pub(super) fn push(&mut self, key: K, tie_break: u64, id: u64) {
        let entry = Reverse((key, Reverse(tie_break), id));
        if self.heap.len() < self.limit {
            self.heap.push(entry);
        } else if self.heap.peek().is_some_and(|worst| entry < *worst) {
            self.heap.pop();
            self.heap.push(entry);
        }
    }

    /// The weakest key kept, once the heap is full.
    pub(super) fn floor(&self) -> Option<K> {
        if self.heap.len() < self.limit {
            None
        } else {
            self.heap.peek().map(|Reverse((key, ..))| *key)
        }
    }

    /// Best first.
    pub(super) fn into_sorted(self) -> Vec<(K, u64)> {
        let mut hits: Vec<(K, u64, u64)> = self
            .heap
            .into_iter()
            .map(|Reverse((key, Reverse(tie_break), id))| (key, tie_break, id))
            .collect();
        hits.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        hits.into_iter().map(|(key, _, id)| (key, id)).collect()
    }
}

/// A string fast field's ordinal column and the ordinals of some of its values.
pub(super) type ColumnOrds = (Column<u64>, Vec<u64>);

/// One segment's fast-field columns (cheap to clone: the data stays in the index's files).
pub(super) struct SegmentColumns {
    pub(super) id: Column<u64>,
    pub(super) price: Column<u64>,
    pub(super) status: Option<StrColumn>,
    pub(super) asset: Option<StrColumn>,
    pub(super) owner: Option<StrColumn>,
    pub(super) tag: Option<StrColumn>,
}

impl SegmentColumns {
    pub(super) fn open(segment: &SegmentReader) -> Result<Self, SearchError> {
        let fast = segment.fast_fields();
        Ok(Self {
            id: fast.u64("id")?,
            price: fast.u64("price")?,
            status: fast.str("status")?,
            asset: fast.str("asset")?,
            owner: fast.str("owner")?,
            tag: fast.str("tag")?,
        })
    }
}

/// The filters of a search, resolved against one segment's fast fields.
pub(super) struct SegmentFilter {
    alive: Option<AliveBitSet>,
    status: Option<(Column<u64>, u64)>,
    asset: Option<(Column<u64>, u64)>,
    owner: Option<(Column<u64>, u64)>,
    /// The tag column and the ordinals of every required tag.
    tags: Option<ColumnOrds>,
    price: Option<(Column<u64>, u64, u64)>,
}

impl SegmentFilter {
    /// `None` when no document of the segment can match (a required value is absent
    /// from its dictionary).
    pub(super) fn new(
        segment: &SegmentReader,
        columns: &SegmentColumns,
        filters: &Filters,
    ) -> Result<Option<Self>, SearchError> {
        // A string column's ordinals and those of `values` in it; `None` when the segment
        // has the column or one of the values nowhere.
        let ords_of = |column: &Option<StrColumn>,
                       values: &[String]|
         -> Result<Option<ColumnOrds>, SearchError> {
            let Some(column) = column else {
                return Ok(None);
            };
            let mut ords = Vec::with_capacity(values.len());
            for value in values {
                match column
                    .dictionary()
                    .term_ord(value.as_bytes())
                    .map_err(|e| SearchError::Tantivy(e.into()))?
                {
                    Some(ord) => ords.push(ord),
                    None => return Ok(None),
                }
            }
            Ok(Some((column.ords().clone(), ords)))
        };
        let mut filter = Self {
            alive: segment.alive_bitset().cloned(),
            status: None,
            asset: None,
            owner: None,
            tags: None,
            price: None,
        };
        for (slot, column, value) in [
            (&mut filter.status, &columns.status, filters.status.clone()),
            (
                &mut filter.asset,
                &columns.asset,
                filters.asset.as_deref().map(hex::encode),
            ),
            (
                &mut filter.owner,
                &columns.owner,
                filters.owner.as_deref().map(hex::encode),
            ),
        ] {
            if let Some(value) = value {
                match ords_of(column, &[value])? {
                    Some((column, ords)) => *slot = Some((column, ords[0])),
                    None => return Ok(None),
                }
            }
        }
        if !filters.tags.is_empty() {
            match ords_of(&columns.tag, &filters.tags)? {
                Some(found) => filter.tags = Some(found),
                None => return Ok(None),
            }
        }
        if filters.min_price.is_some() || filters.max_price.is_some() {
            let low = filters.min_price.map_or(0, saturate);
            let high = filters.max_price.map_or(u64::MAX, saturate);
            if low > high {
                return Ok(None);
            }
            filter.price = Some((columns.price.clone(), low, high));
        }
        Ok(Some(filter))
    }

    #[inline]
    pub(super) fn accepts(&self, doc: DocId) -> bool {
        if self.alive.as_ref().is_some_and(|a| a.is_deleted(doc)) {
            return false;
        }
        for (column, ord) in [&self.status, &self.asset, &self.owner]
            .into_iter()
            .flatten()
        {
            if column.first(doc) != Some(*ord) {
                return false;
            }
        }
        if let Some((column, wanted)) = &self.tags {
            if !wanted
                .iter()
                .all(|w| column.values_for_doc(doc).any(|v| v == *w))
            {
                return false;
            }
        }
        if let Some((column, low, high)) = &self.price {
            match column.first(doc) {
                Some(p) if p >= *low && p <= *high => {}
                _ => return false,
            }
        }
        true
    }
}
