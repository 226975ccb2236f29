//! Times the web API's search index rebuild from Postgres: a fresh tantivy index (in
//! memory, or in `--dir` on disk) caught up from every row of `offers`, exactly as the
//! API does at start (`SearchIndex::open` + `catch_up`), then a few ranked queries.
//! `scripts/bench-search` seeds a throwaway database and runs it.
//!
//!   cargo run -p web-api --example search_rebuild -- DATABASE_URL [DIR]

use std::time::Instant;

use web_api::search::{Filters, PageStart, SearchIndex, SearchOrder};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: search_rebuild DATABASE_URL [DIR]"))?;
    let dir = args.next().map(std::path::PathBuf::from);
    let pool = web_api::pool(&url, 2)?;
    let rows: i64 = pool
        .get()
        .await?
        .query_one("SELECT count(*) FROM offers", &[])
        .await?
        .get(0);

    let started = Instant::now();
    let index = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || SearchIndex::open(dir.as_deref())).await??
    };
    let applied = index.catch_up(&pool).await?;
    let took = started.elapsed();
    assert_eq!(applied as i64, rows, "every offer applied");
    assert_eq!(index.len() as i64, rows, "every offer searchable");
    println!(
        "search index rebuild: {rows} offers in {:.1} s ({:.0} offers/s), {}",
        took.as_secs_f64(),
        rows as f64 / took.as_secs_f64(),
        match &dir {
            Some(d) => format!("on disk in {}", d.display()),
            None => "in memory".into(),
        }
    );
    for q in [
        "heart rate",
        "sleep",
        "receipts berlin 2021",
        "cycling commute",
    ] {
        let started = Instant::now();
        let hits = index
            .search(
                q,
                &Filters::default(),
                SearchOrder::Relevance,
                PageStart::offset(0),
                20,
            )?
            .hits;
        println!(
            "  q={q:?}: top {} in {:.1} ms",
            hits.len(),
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    Ok(())
}
