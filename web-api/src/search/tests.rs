//! The pruned, fast-field-filtered search against the plain way of asking tantivy the
//! same thing (the parser's query, the filters as required term and range clauses,
//! an exhaustive TopDocs), over an index of several segments with deletions.

use std::cmp::Reverse;
use std::collections::HashSet;
use std::ops::Bound;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::{SegmentReader, TantivyDocument, Term};

use super::schema::OfferDoc;
use super::*;

const WORDS: [&str; 12] = [
    "heart", "rate", "sleep", "steps", "glucose", "data", "daily", "raw", "minute", "phone",
    "watch", "receipts",
];
const TAGS: [&str; 4] = ["health", "sleep", "travel", "food"];
const STATUSES: [&str; 3] = ["active", "paused", "delisted"];

fn random_offer(rng: &mut StdRng, id: u64, change_seq: i64) -> OfferDoc {
    let words = |n: usize, rng: &mut StdRng| -> String {
        (0..n)
            .map(|_| {
                // Skewed: early words are common.
                let i = (rng.gen::<f64>().powi(2) * WORDS.len() as f64) as usize;
                WORDS[i]
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut tags: Vec<String> = (0..rng.gen_range(1..3))
        .map(|_| TAGS[rng.gen_range(0..TAGS.len())].to_string())
        .collect();
    tags.dedup();
    OfferDoc {
        id,
        owner: vec![rng.gen_range(0..3u8); 32],
        asset: if rng.gen_bool(0.3) {
            vec![7; 32]
        } else {
            Vec::new()
        },
        // Few distinct prices, so that price orders have ties.
        price: u128::from(rng.gen_range(0..20u32)) * 1_000,
        title: words(rng.gen_range(1..4), rng),
        description: words(rng.gen_range(3..15), rng),
        tags,
        status: STATUSES[rng.gen_range(0..3)].into(),
        change_seq,
    }
}

/// The reference: what tantivy answers for the same thing asked plainly.
fn reference(
    index: &SearchIndex,
    q: &str,
    filters: &Filters,
    order: SearchOrder,
) -> Vec<(u64, f32, u64)> {
    let f = index.fields;
    let mut clauses: Vec<(Occur, Box<dyn Query>)> =
        vec![(Occur::Must, index.parser.parse_query_lenient(q).0)];
    let term = |field: Field, value: &str| -> (Occur, Box<dyn Query>) {
        let query = TermQuery::new(
            Term::from_field_text(field, value),
            IndexRecordOption::Basic,
        );
        (Occur::Must, Box::new(BoostQuery::new(Box::new(query), 0.0)))
    };
    for tag in &filters.tags {
        clauses.push(term(f.tag, tag));
    }
    if let Some(status) = &filters.status {
        clauses.push(term(f.status, status));
    }
    if let Some(owner) = &filters.owner {
        clauses.push(term(f.owner, &hex::encode(owner)));
    }
    if let Some(asset) = &filters.asset {
        clauses.push(term(f.asset, &hex::encode(asset)));
    }
    if filters.min_price.is_some() || filters.max_price.is_some() {
        let bound = |p: Option<u128>| match p {
            Some(p) => Bound::Included(Term::from_field_u64(f.price, saturate(p))),
            None => Bound::Unbounded,
        };
        // Filters must not score (a range query alone scores 1).
        let range = RangeQuery::new(bound(filters.min_price), bound(filters.max_price));
        clauses.push((Occur::Must, Box::new(BoostQuery::new(Box::new(range), 0.0))));
    }
    let searcher = index.reader.searcher();
    let all = searcher
        .search(&BooleanQuery::new(clauses), &TopDocs::with_limit(100_000))
        .unwrap();
    let mut hits: Vec<(u64, f32, u64)> = all
        .into_iter()
        .map(|(score, address)| {
            let doc: TantivyDocument = searcher.doc(address).unwrap();
            let id = doc.get_first(f.id).and_then(|v| v.as_u64()).unwrap();
            let reader = searcher.segment_reader(address.segment_ord);
            let price = reader
                .fast_fields()
                .u64("price")
                .unwrap()
                .first(address.doc_id)
                .unwrap();
            (id, score, price)
        })
        .collect();
    match order {
        SearchOrder::Relevance => hits.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))),
        SearchOrder::Newest => hits.sort_by_key(|h| Reverse(h.0)),
        SearchOrder::PriceAsc => hits.sort_by(|a, b| a.2.cmp(&b.2).then(a.0.cmp(&b.0))),
        SearchOrder::PriceDesc => hits.sort_by(|a, b| b.2.cmp(&a.2).then(b.0.cmp(&a.0))),
    }
    hits
}

/// A build into an empty index deletes only ids it added itself, and an offer that
/// comes again in a later page (changed during the build) replaces its first copy.
#[test]
fn a_build_from_empty_replaces_what_it_added_and_nothing_else() {
    let mut rng = StdRng::seed_from_u64(3);
    let index = SearchIndex::open(None).unwrap();
    let mut added = HashSet::new();
    let first: Vec<OfferDoc> = (1..=50)
        .map(|id| random_offer(&mut rng, id, id as i64))
        .collect();
    index
        .apply_blocking(&first, None, true, Some(&mut added))
        .unwrap();
    // Offer 7 again, renamed, and 50 new ones.
    let mut again = random_offer(&mut rng, 7, 51);
    again.title = "zebrafish".into();
    let second: Vec<OfferDoc> = std::iter::once(again)
        .chain((51..=100).map(|id| random_offer(&mut rng, id, id as i64 + 1)))
        .collect();
    index
        .apply_blocking(&second, None, true, Some(&mut added))
        .unwrap();
    assert_eq!(index.len(), 100, "offer 7 once");
    assert_eq!(added.len(), 100);
    let hits = index
        .search(
            "zebrafish",
            &Filters::default(),
            SearchOrder::Relevance,
            PageStart::offset(0),
            10,
        )
        .unwrap()
        .hits;
    assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [7]);
}

/// Each segment's columns are opened once and forgotten when a merge retires the
/// segment; searches answer the same before and after.
#[test]
fn segment_columns_are_cached_until_a_merge_retires_them() {
    let mut rng = StdRng::seed_from_u64(11);
    let index = SearchIndex::open(None).unwrap();
    let mut seq = 0;
    for commit in 0..4u64 {
        let docs: Vec<OfferDoc> = (0..200)
            .map(|i| {
                seq += 1;
                random_offer(&mut rng, commit * 200 + i + 1, seq)
            })
            .collect();
        index.apply_blocking(&docs, None, true, None).unwrap();
    }
    let live = || -> HashSet<SegmentId> {
        index
            .reader
            .searcher()
            .segment_readers()
            .iter()
            .map(SegmentReader::segment_id)
            .collect()
    };
    let cached =
        || -> HashSet<SegmentId> { index.columns.lock().unwrap().keys().copied().collect() };
    assert!(live().len() > 1);
    assert!(cached().is_empty(), "nothing is opened before a search");
    let filters = Filters {
        status: Some("active".into()),
        tags: vec!["health".into()],
        ..Filters::default()
    };
    // Every match with its score; equal scores by id (a merge reorders documents,
    // and with them the order of ties).
    let search = || -> Vec<(u64, u32)> {
        let mut hits: Vec<(u64, u32)> = index
            .search(
                "heart rate",
                &filters,
                SearchOrder::Relevance,
                PageStart::offset(0),
                10_000,
            )
            .unwrap()
            .hits
            .into_iter()
            .map(|h| (h.id, (h.score.unwrap() * 1e4) as u32))
            .collect();
        hits.sort_by_key(|&(id, score)| (Reverse(score), id));
        hits
    };
    let before = search();
    assert!(!before.is_empty());
    assert_eq!(cached(), live(), "each searched segment's columns are kept");
    let opened: Vec<Arc<SegmentColumns>> =
        index.columns.lock().unwrap().values().cloned().collect();
    assert_eq!(search(), before);
    assert!(
        index
            .columns
            .lock()
            .unwrap()
            .values()
            .all(|c| opened.iter().any(|o| Arc::ptr_eq(o, c))),
        "a second search opens nothing again"
    );

    // Merge every segment into one, as tantivy's merge policy does in the background.
    let segments: Vec<SegmentId> = live().into_iter().collect();
    index
        .writer
        .lock()
        .unwrap()
        .merge(&segments)
        .wait()
        .unwrap();
    index.reload().unwrap();
    assert_eq!(live().len(), 1);
    assert!(
        cached().is_empty(),
        "the retired segments' columns are dropped"
    );
    assert_eq!(search(), before);
    assert_eq!(cached(), live());
}

/// Offers whose scores tie come in pages that cut one order, each offer once,
/// whatever order their documents were added in (a changed offer is added again at
/// the end) and however small the pages.
#[test]
fn pages_of_equal_scores_neither_skip_nor_repeat_offers() {
    let mut rng = StdRng::seed_from_u64(5);
    let index = SearchIndex::open(None).unwrap();
    let same = |id: u64, seq: i64| OfferDoc {
        id,
        owner: vec![1; 32],
        asset: Vec::new(),
        price: 1_000,
        title: "heart rate".into(),
        description: "one row per minute".into(),
        tags: vec!["health".into()],
        status: "active".into(),
        change_seq: seq,
    };
    let mut ids: Vec<u64> = (1..=120).collect();
    ids.shuffle(&mut rng);
    let mut seq = 0;
    for chunk in ids.chunks(40) {
        let docs: Vec<OfferDoc> = chunk
            .iter()
            .map(|&id| {
                seq += 1;
                same(id, seq)
            })
            .collect();
        index.apply_blocking(&docs, None, true, None).unwrap();
    }
    // Low ids changed last: their documents are the newest.
    let again: Vec<OfferDoc> = (1..=30)
        .rev()
        .map(|id| {
            seq += 1;
            same(id, seq)
        })
        .collect();
    index.apply_blocking(&again, None, true, None).unwrap();

    // One word (a bare term query, its score scaled by the title's boost) and two
    // (a union, unscaled: the threshold is then exactly the weakest score kept).
    for q in ["heart", "heart rate"] {
        for limit in [1, 3, 7, 20] {
            let mut walked = Vec::new();
            let mut offset = 0;
            loop {
                let page = index
                    .search(
                        q,
                        &Filters::default(),
                        SearchOrder::Relevance,
                        PageStart::offset(offset),
                        limit,
                    )
                    .unwrap()
                    .hits;
                if page.is_empty() {
                    break;
                }
                walked.extend(page.iter().map(|h| h.id));
                offset += limit;
            }
            let all: Vec<u64> = index
                .search(
                    q,
                    &Filters::default(),
                    SearchOrder::Relevance,
                    PageStart::offset(0),
                    200,
                )
                .unwrap()
                .hits
                .iter()
                .map(|h| h.id)
                .collect();
            assert_eq!(walked, all, "{q}, limit {limit}");
            let mut each = walked.clone();
            each.sort_unstable();
            assert_eq!(each, (1..=120).collect::<Vec<_>>(), "{q}, limit {limit}");
        }
    }
}

/// An index of offers 1..=`offers`, offer i with change_seq i, in one commit.
fn random_index(rng: &mut StdRng, offers: u64) -> Arc<SearchIndex> {
    let index = SearchIndex::open(None).unwrap();
    let docs: Vec<OfferDoc> = (1..=offers)
        .map(|id| random_offer(rng, id, id as i64))
        .collect();
    index.apply_blocking(&docs, None, true, None).unwrap();
    index
}

fn ids_of(hits: &[Hit]) -> Vec<u64> {
    hits.iter().map(|h| h.id).collect()
}

/// The later pages of a ranked search read the snapshot its first page read, while
/// offers that rank first are added and others rewritten between pages; a snapshot
/// no longer kept (expired, or another process's) gives the current index; a rebuild
/// forgets every snapshot; at most `SNAPSHOTS` are kept, the least recently read
/// going first.
#[test]
fn ranked_pages_read_the_first_pages_snapshot_while_the_index_changes() {
    let mut rng = StdRng::seed_from_u64(11);
    let index = random_index(&mut rng, 200);
    let mut seq = 200;
    let q = "heart rate";
    let any = Filters::default();
    let relevance = SearchOrder::Relevance;
    let everything = |index: &SearchIndex| {
        ids_of(
            &index
                .search(q, &any, relevance, PageStart::offset(0), 1_000)
                .unwrap()
                .hits,
        )
    };
    let before = everything(&index);
    assert!(before.len() > 100, "{}", before.len());

    let mut walked = Vec::new();
    let mut start = PageStart::default();
    let mut first_snapshot = None;
    let mut next_id = 1_000;
    loop {
        let page = index.search(q, &any, relevance, start, 7).unwrap();
        walked.extend(ids_of(&page.hits));
        first_snapshot.get_or_insert(page.snapshot);
        assert_eq!(Some(page.snapshot), first_snapshot);
        if page.hits.len() < 7 {
            break;
        }
        start = PageStart {
            offset: start.offset + 7,
            snapshot: Some(page.snapshot),
            after: None,
        };
        // Between pages: a new offer that ranks first, and an old one rewritten.
        next_id += 1;
        seq += 1;
        let mut top = random_offer(&mut rng, next_id, seq);
        top.title = "heart rate heart rate".into();
        seq += 1;
        let old = rng.gen_range(1..=200);
        let rewritten = random_offer(&mut rng, old, seq);
        index
            .apply_blocking(&[top, rewritten], None, true, None)
            .unwrap();
    }
    assert_eq!(walked, before);
    let now = everything(&index);
    assert_ne!(now, before, "the index changed under the pages");

    let first_snapshot = first_snapshot.unwrap();
    let old = PageStart {
        offset: 7,
        snapshot: Some(first_snapshot),
        after: None,
    };
    let page = index.search(q, &any, relevance, old, 7).unwrap();
    assert_eq!(ids_of(&page.hits), before[7..14], "still kept");
    // Another process's snapshot of a kept generation is not this one's: the page
    // comes from the current index.
    let foreign = Snapshot {
        instance: first_snapshot.instance.wrapping_add(1),
        generation: first_snapshot.generation,
    };
    let start = PageStart {
        snapshot: Some(foreign),
        ..old
    };
    let page = index.search(q, &any, relevance, start, 7).unwrap();
    assert_eq!(ids_of(&page.hits), now[7..14]);
    assert_ne!(now[7..14], before[7..14]);
    // Forgotten (expired): the current index, at the same depth.
    index.snapshots.kept.lock().unwrap().clear();
    let page = index.search(q, &any, relevance, old, 7).unwrap();
    assert_eq!(ids_of(&page.hits), now[7..14]);
    assert_ne!(page.snapshot, first_snapshot);
    // A rebuild forgets every snapshot: they hold another database's ids.
    let page = index
        .search(q, &any, relevance, PageStart::default(), 7)
        .unwrap();
    assert!(!index.snapshots.kept.lock().unwrap().is_empty());
    index.reset_blocking(None).unwrap();
    assert!(index.snapshots.kept.lock().unwrap().is_empty());
    let start = PageStart {
        snapshot: Some(page.snapshot),
        ..old
    };
    assert!(index
        .search(q, &any, relevance, start, 7)
        .unwrap()
        .hits
        .is_empty());
    let docs: Vec<OfferDoc> = (1..=200)
        .map(|id| {
            seq += 1;
            random_offer(&mut rng, id, seq)
        })
        .collect();
    index.apply_blocking(&docs, None, true, None).unwrap();

    // A first page keeps its snapshot; past SNAPSHOTS the least recently read goes.
    let mut kept = Vec::new();
    for _ in 0..SNAPSHOTS + 3 {
        seq += 1;
        next_id += 1;
        index
            .apply_blocking(&[random_offer(&mut rng, next_id, seq)], None, true, None)
            .unwrap();
        kept.push(
            index
                .search(q, &any, relevance, PageStart::default(), 7)
                .unwrap()
                .snapshot,
        );
    }
    let pinned: HashSet<u64> = index
        .snapshots
        .kept
        .lock()
        .unwrap()
        .keys()
        .copied()
        .collect();
    let newest: HashSet<u64> = kept[kept.len() - SNAPSHOTS..]
        .iter()
        .map(|s| s.generation)
        .collect();
    assert_eq!(pinned, newest);
}

/// Pages sorted by id or price resume after the last hit's key: offers added between
/// pages never repeat one or push one off; those that sort after the cursor show in
/// their place.
#[test]
fn sorted_pages_resume_after_the_last_key_while_offers_are_added() {
    let mut rng = StdRng::seed_from_u64(13);
    let index = random_index(&mut rng, 300);
    let mut seq = 300;
    let q = "heart";
    let mut next_id = 1_000;
    for order in [
        SearchOrder::Newest,
        SearchOrder::PriceAsc,
        SearchOrder::PriceDesc,
    ] {
        for filters in [
            Filters::default(),
            Filters {
                status: Some("active".into()),
                ..Filters::default()
            },
        ] {
            let before: Vec<u64> = reference(&index, q, &filters, order)
                .iter()
                .map(|h| h.0)
                .collect();
            assert!(before.len() > 50, "{order:?}: {}", before.len());
            let mut walked = Vec::new();
            let mut after = None;
            loop {
                let start = PageStart {
                    after,
                    ..PageStart::default()
                };
                let page = index.search(q, &filters, order, start, 9).unwrap();
                walked.extend(ids_of(&page.hits));
                assert!(walked.len() < 2_000, "{order:?}: the pages never end");
                match page.hits.last() {
                    Some(last) if page.hits.len() == 9 => after = last.key,
                    _ => break,
                }
                let added: Vec<OfferDoc> = (0..3)
                    .map(|_| {
                        next_id += 1;
                        seq += 1;
                        random_offer(&mut rng, next_id, seq)
                    })
                    .collect();
                index.apply_blocking(&added, None, true, None).unwrap();
            }
            let mut each = walked.clone();
            each.sort_unstable();
            each.dedup();
            assert_eq!(each.len(), walked.len(), "{order:?}: an offer repeated");
            // In the order of the index as it is now, and every offer of the first
            // page's index is there.
            let now: Vec<u64> = reference(&index, q, &filters, order)
                .iter()
                .map(|h| h.0)
                .collect();
            let mut rest = now.iter();
            for id in &walked {
                assert!(rest.any(|n| n == id), "{order:?}: {id} out of order");
            }
            let walked: HashSet<u64> = walked.into_iter().collect();
            assert!(before.iter().all(|id| walked.contains(id)), "{order:?}");
            if order == SearchOrder::Newest {
                // Added offers are newer than the cursor: none shows.
                assert_eq!(walked.len(), before.len());
            }
        }
    }
}

#[test]
fn pruned_filtered_search_returns_what_an_exhaustive_search_does() {
    let mut rng = StdRng::seed_from_u64(7);
    let index = SearchIndex::open(None).unwrap();
    // Several commits make several segments; rewriting some offers leaves deleted
    // documents behind.
    let mut seq = 0;
    for commit in 0..6u64 {
        let docs: Vec<OfferDoc> = (0..400)
            .map(|i| {
                seq += 1;
                let id = if commit > 3 && i % 3 == 0 {
                    rng.gen_range(1..=1_600)
                } else {
                    commit * 400 + i + 1
                };
                random_offer(&mut rng, id, seq)
            })
            .collect();
        index.apply_blocking(&docs, None, true, None).unwrap();
    }
    assert!(index.reader.searcher().segment_readers().len() > 1);

    let queries = [
        "heart",
        "data",
        "rate heart",
        "glucose receipts",
        "phone watch raw",
        "\"heart rate\"",
        "sleep -data",
        "nothingmatches",
        // Words only in tags: one (word, field) term alone, and two.
        "travel",
        "food travel",
    ];
    let mut checked = 0;
    for case in 0..300 {
        let q = queries[case % queries.len()];
        let mut filters = Filters::default();
        if rng.gen_bool(0.5) {
            filters.status = Some(STATUSES[rng.gen_range(0..3)].into());
        }
        if rng.gen_bool(0.3) {
            filters.tags = vec![TAGS[rng.gen_range(0..TAGS.len())].into()];
        }
        if rng.gen_bool(0.2) {
            filters.asset = Some(if rng.gen_bool(0.5) {
                vec![7; 32]
            } else {
                Vec::new()
            });
        }
        if rng.gen_bool(0.2) {
            filters.owner = Some(vec![rng.gen_range(0..4u8); 32]);
        }
        if rng.gen_bool(0.3) {
            filters.min_price = Some(u128::from(rng.gen_range(0..10u32)) * 1_000);
            filters.max_price = Some(u128::from(rng.gen_range(5..25u32)) * 1_000);
        }
        let order = [
            SearchOrder::Relevance,
            SearchOrder::Newest,
            SearchOrder::PriceAsc,
            SearchOrder::PriceDesc,
        ][case % 4];
        let offset = [0, 0, 5, 20][rng.gen_range(0..4)];
        let limit = [1, 10, 20][rng.gen_range(0..3)];
        let got = index
            .search(q, &filters, order, PageStart::offset(offset), limit)
            .unwrap()
            .hits;
        let want = reference(&index, q, &filters, order);
        let want: Vec<_> = want.iter().skip(offset).take(limit).collect();
        assert_eq!(
            got.len(),
            want.len(),
            "case {case}: {q} {filters:?} {order:?}"
        );
        for (g, w) in got.iter().zip(&want) {
            match order {
                // Equal scores may come out in another order only when the sums are
                // a rounding apart (the flat union adds in another order).
                SearchOrder::Relevance => {
                    let score = g.score.unwrap();
                    assert!(
                        (score - w.1).abs() < 1e-4 * w.1.abs().max(1.0),
                        "case {case}: {q} {filters:?}: {g:?} against {w:?}"
                    );
                }
                _ => assert_eq!(g.id, w.0, "case {case}: {q} {filters:?} {order:?}"),
            }
        }
        checked += got.len();
    }
    assert!(
        checked > 1_000,
        "the cases found too little to compare: {checked}"
    );
}
