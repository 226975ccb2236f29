//! Running a search: the text query, the pruned collection, and its page.

use std::cmp::Reverse;
use std::sync::Arc;

use tantivy::query::{BooleanQuery, BoostQuery, EnableScoring, Occur, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{Score, Searcher, SegmentReader, Term};

use super::collect::{ScoreOrd, SegmentColumns, SegmentFilter, TopHits};
use super::{
    Filters, Hit, PageStart, SearchError, SearchIndex, SearchOrder, SearchPage, Snapshot, SortKey,
};

impl SearchIndex {
    /// [`search`](Self::search) on tokio's blocking pool; the time spent in the index
    /// goes to the `web_api_search_index_seconds` histogram (scripts/bench-web-api
    /// reports it per search class). Not bounded below tokio's pool: at one search per
    /// core the load test lost 15 % of its throughput at 8 and 32 connections.
    pub async fn search_blocking(
        self: &Arc<Self>,
        q: String,
        filters: Filters,
        order: SearchOrder,
        start: PageStart,
        limit: usize,
    ) -> Result<SearchPage, SearchError> {
        // Searches are CPU work: a few at a time, the rest wait here, rather than each
        // taking a thread of tokio's blocking pool (which grows to hundreds) to fight
        // over the cores.
        let _permit = self
            .searching
            .acquire()
            .await
            .map_err(|e| SearchError::Task(e.to_string()))?;
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let hits = this.search(&q, &filters, order, start, limit);
            metrics::histogram!("web_api_search_index_seconds").record(started.elapsed());
            hits
        })
        .await
        .map_err(|e| SearchError::Task(e.to_string()))?
    }

    /// Searches: `q` ranked with BM25 (or in `order`), inside `filters`, from `start`
    /// (its snapshot, after its key, skipping its offset), returning at most `limit` hits.
    /// A page of `limit` hits ranked by relevance keeps its snapshot readable for the
    /// next page.
    ///
    /// The filters are checked per candidate document against fast fields rather than
    /// intersected as queries: a ranked search then stays a plain union of term queries,
    /// which tantivy scores with Block-WAND (skipping whole blocks of postings that cannot
    /// enter the top hits), so a term found in half a million offers costs about as
    /// much as a rare one.
    pub fn search(
        &self,
        q: &str,
        filters: &Filters,
        order: SearchOrder,
        start: PageStart,
        limit: usize,
    ) -> Result<SearchPage, SearchError> {
        let offset = start.offset;
        let searcher = self.searcher_for(start.snapshot);
        let (query, scale) = self.text_query(q, &searcher)?;
        let wanted = offset.saturating_add(limit.max(1));
        // Hits at or before the cursor's key are on earlier pages.
        let bound = start.after.map(|SortKey(a, b, id)| ((a, b), Reverse(id)));
        let scoring = order == SearchOrder::Relevance;
        let enable = if scoring {
            EnableScoring::enabled_from_searcher(&searcher)
        } else {
            EnableScoring::disabled_from_searcher(&searcher)
        };
        let weight = query.weight(enable)?;
        // One heap across segments, so that what one segment found raises the bar for
        // the next.
        let mut ranked: TopHits<ScoreOrd> = TopHits::new(wanted);
        let mut sorted: TopHits<(u64, u64)> = TopHits::new(wanted);
        for (segment_ord, segment) in searcher.segment_readers().iter().enumerate() {
            let columns = self.columns_of(segment)?;
            let Some(filter) = SegmentFilter::new(segment, &columns, filters)? else {
                continue;
            };
            let ids = &columns.id;
            if scoring {
                // Equal scores go in the order tantivy visits documents (segment by
                // segment, each in document order), as its own top-docs collector does:
                // a later document with the score of the weakest kept never enters, so
                // the bar below is exactly that score (tantivy passes on only scores
                // above it), and every page of a search, recomputed from the start,
                // cuts the same order. (Ties by offer id would have to score every tied
                // document: at 1M offers a medium word took 2.4x as long end to end.)
                let visited = (segment_ord as u64) << 32;
                weight.for_each_pruning(Score::MIN, segment, &mut |doc, score| {
                    if filter.accepts(doc) {
                        if let Some(id) = ids.first(doc) {
                            // Ranked on the score as tantivy computes it (the scale is
                            // one factor for the whole search, so the order is the
                            // same), which makes the bar exact.
                            ranked.push(ScoreOrd(score), visited | u64::from(doc), id);
                        }
                    }
                    // The score a document must beat from now on: what lets Block-WAND
                    // skip postings.
                    ranked.floor().map_or(Score::MIN, |s| s.0)
                })?;
            } else {
                let prices = &columns.price;
                weight.for_each_no_score(segment, &mut |docs| {
                    for &doc in docs {
                        if !filter.accepts(doc) {
                            continue;
                        }
                        let Some(id) = ids.first(doc) else { continue };
                        // Higher keys come first; equal keys lower id first. The same
                        // orders as the SQL listings: price ascending then id ascending,
                        // price descending then id descending.
                        let key = match order {
                            SearchOrder::Newest => (id, 0),
                            SearchOrder::PriceAsc => {
                                (u64::MAX - prices.first(doc).unwrap_or(u64::MAX), 0)
                            }
                            _ => (prices.first(doc).unwrap_or(0), id),
                        };
                        if bound.is_some_and(|bound| (key, Reverse(id)) >= bound) {
                            continue;
                        }
                        sorted.push(key, id, id);
                    }
                })?;
            }
        }
        let hits: Vec<Hit> = if scoring {
            ranked
                .into_sorted()
                .into_iter()
                .map(|(score, id)| Hit {
                    id,
                    score: Some(score.0 * scale),
                    key: None,
                })
                .collect()
        } else {
            sorted
                .into_sorted()
                .into_iter()
                .map(|((a, b), id)| Hit {
                    id,
                    score: None,
                    key: Some(SortKey(a, b, id)),
                })
                .collect()
        };
        let hits: Vec<Hit> = hits.into_iter().skip(offset).collect();
        if scoring && hits.len() >= limit {
            // There may be a next page: keep what it must read.
            self.snapshots.pin(&searcher);
        }
        Ok(SearchPage {
            hits,
            snapshot: self.snapshots.of(&searcher),
        })
    }

    /// The searcher of `snapshot` if it is still kept, else the current one.
    fn searcher_for(&self, snapshot: Option<Snapshot>) -> Searcher {
        let current = self.reader.searcher();
        let Some(snapshot) = snapshot else {
            return current;
        };
        if self.snapshots.of(&current) == snapshot {
            return current;
        }
        self.snapshots.get(snapshot).unwrap_or_else(|| {
            metrics::counter!("web_api_search_snapshots_expired_total").increment(1);
            current
        })
    }

    /// `segment`'s fast-field columns, from the cache or opened now. Opening one decodes
    /// its header and, for a string column, its dictionary's index: per search and
    /// segment that was most of the time a search for a rare word took.
    fn columns_of(&self, segment: &SegmentReader) -> Result<Arc<SegmentColumns>, SearchError> {
        let id = segment.segment_id();
        if let Some(found) = self.columns.lock().expect("columns lock").get(&id) {
            return Ok(Arc::clone(found));
        }
        // Opened outside the lock; two searches may both open a new segment's columns,
        // and the second's copy is simply dropped.
        let opened = Arc::new(SegmentColumns::open(segment)?);
        self.columns
            .lock()
            .expect("columns lock")
            .insert(id, Arc::clone(&opened));
        Ok(opened)
    }

    /// The text part of a search. A query of plain words becomes one flat union of
    /// (word, field) term queries with the field boosts, which scores exactly as the
    /// parser's nested form but lets tantivy use Block-WAND; anything with query syntax
    /// (quotes, `+`, `-`, `field:`) goes through the parser, leniently: people's queries
    /// are not syntax, and what does not parse is dropped.
    ///
    /// Only (word, field) pairs that occur in the index go in: tantivy scores a union
    /// with Block-WAND only when every part has postings to read frequencies from, and a
    /// word that never occurs in a field (most words are in descriptions, not titles)
    /// would turn the whole search exhaustive.
    fn text_query(
        &self,
        q: &str,
        searcher: &tantivy::Searcher,
    ) -> Result<(Box<dyn Query>, Score), SearchError> {
        let plain = q
            .chars()
            .all(|c| c.is_alphanumeric() || c.is_whitespace() || c == ',' || c == '.');
        if !plain {
            let (ast, _) = tantivy::query_grammar::parse_query_lenient(q);
            check_syntax(&ast)?;
            return Ok((
                self.parser.build_query_from_user_input_ast_lenient(ast).0,
                1.0,
            ));
        }
        let f = self.fields;
        let mut words: Vec<String> = Vec::new();
        let mut tokenizer = self.tokenizer.clone();
        let mut stream = tokenizer.token_stream(q);
        while let Some(token) = stream.next() {
            if !words.contains(&token.text) {
                words.push(token.text.clone());
            }
        }
        let mut terms: Vec<(Term, Score)> = Vec::new();
        for word in &words {
            for (field, boost) in [(f.title, 3.0), (f.tags_text, 1.5), (f.description, 1.0)] {
                let term = Term::from_field_text(field, word);
                if searcher.doc_freq(&term)? == 0 {
                    continue;
                }
                terms.push((term, boost));
            }
        }
        let term_query = |term: Term| TermQuery::new(term, IndexRecordOption::WithFreqs);
        if terms.len() == 1 {
            // One term alone: tantivy prunes a bare term query (Block-WAND over one
            // posting list) but not a boosted one or a union of one, so search the bare
            // term and scale its scores by the boost (the caller does).
            let (term, boost) = terms.pop().expect("one term");
            return Ok((Box::new(term_query(term)), boost));
        }
        let clauses: Vec<(Occur, Box<dyn Query>)> = terms
            .into_iter()
            .map(|(term, boost)| -> (Occur, Box<dyn Query>) {
                let boosted = BoostQuery::new(Box::new(term_query(term)), boost);
                (Occur::Should, Box::new(boosted))
            })
            .collect();
        // No minimum of should-clauses: with only should-clauses that means the same
        // (a hit matches some word), but tantivy 0.24 takes its Block-WAND path only then
        // (`BooleanQuery::new` sets the minimum to 1, which scores an exhaustive union).
        let query = BooleanQuery::with_minimum_required_clauses(clauses, 0);
        Ok((Box::new(query), 1.0))
    }
}

/// The fields a query may name: the searched text.
const QUERY_FIELDS: [&str; 3] = ["title", "description", "tags_text"];

/// Refuses the query syntax that reads far more than words do: ranges (`title:[a TO
/// z]` walks every term between), sets (`IN [...]`), `*` (every offer) and field
/// existence, and fields other than the searched text (filters are parameters). Words,
/// "phrases", phrase prefixes (`"heart ra"*`, tantivy expands the last word to at most
/// 50 terms), `+` and `-`, boosts and the text fields by name stay.
fn check_syntax(ast: &tantivy::query_grammar::UserInputAst) -> Result<(), SearchError> {
    use tantivy::query_grammar::{UserInputAst, UserInputLeaf};
    let refuse = |what: &str| {
        Err(SearchError::BadQuery(format!(
            "q may hold words, \"phrases\", +required and -excluded words, and the fields \
             title:, description: and tags_text:; not {what}"
        )))
    };
    match ast {
        UserInputAst::Clause(clauses) => clauses.iter().try_for_each(|(_, a)| check_syntax(a)),
        UserInputAst::Boost(inner, _) => check_syntax(inner),
        UserInputAst::Leaf(leaf) => match leaf.as_ref() {
            UserInputLeaf::Literal(literal) => match literal.field_name.as_deref() {
                Some(field) if !QUERY_FIELDS.contains(&field) => {
                    refuse(&format!("the field {field}: (filters are parameters)"))
                }
                _ => Ok(()),
            },
            UserInputLeaf::All => refuse("* (leave q out to list every offer)"),
            UserInputLeaf::Range { .. } => refuse("ranges ([a TO b])"),
            UserInputLeaf::Set { .. } => refuse("sets (IN [...])"),
            UserInputLeaf::Exists { .. } => refuse("field existence (field:*)"),
        },
    }
}
