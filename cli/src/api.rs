//! What the index knows, through the web API (`--api`): listing and searching offers.
//! The chain stays the truth for everything that moves money; the API is for finding.

use std::time::Duration;

use serde_json::Value;

use crate::{Error, Result};

/// A client of the web API at `base` (e.g. `http://127.0.0.1:8080`).
pub struct Api {
    base: String,
    http: reqwest::blocking::Client,
}

impl Api {
    /// A client; nothing is sent yet.
    pub fn new(base: &str) -> Result<Self> {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| Error::invalid(format!("cannot make an HTTP client: {e}")))?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
        })
    }

    /// GET `path` with `query`; the API's own message on a 4xx.
    fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        let response = self.http.get(&url).query(query).send().map_err(|e| {
            Error::invalid(format!("no Datamarket API answers at {}: {e}", self.base))
        })?;
        let status = response.status();
        let body: Value = response
            .json()
            .map_err(|e| Error::invalid(format!("{url} did not answer JSON: {e}")))?;
        if status.is_success() {
            return Ok(body);
        }
        let message = body["message"].as_str().unwrap_or("no message").to_owned();
        Err(Error::invalid(if status.as_u16() == 404 {
            format!("not in the index: {message}")
        } else {
            format!("the API refused ({status}): {message}")
        }))
    }

    /// `GET /v1/offers`: ranked by `q` when given, filtered, one page.
    pub fn offers(&self, filter: &OfferFilter) -> Result<Value> {
        let mut query = Vec::new();
        if let Some(q) = &filter.q {
            query.push(("q", q.clone()));
        }
        for tag in &filter.tags {
            query.push(("tag", tag.clone()));
        }
        if let Some(owner) = &filter.owner {
            query.push(("owner", owner.clone()));
        }
        if let Some(status) = &filter.status {
            query.push(("status", status.clone()));
        }
        query.push(("limit", filter.limit.to_string()));
        self.get("/v1/offers", &query)
    }

    /// `GET /v1/offers/{id}`.
    pub fn offer(&self, id: u64) -> Result<Value> {
        self.get(&format!("/v1/offers/{id}"), &[])
    }
}

/// Which offers `offer list` asks for.
#[derive(Clone, Debug, Default)]
pub struct OfferFilter {
    /// Words to search for (ranked).
    pub q: Option<String>,
    /// Tags every offer must have.
    pub tags: Vec<String>,
    /// Owner (SS58).
    pub owner: Option<String>,
    /// `active`, `paused`, `delisted` or `any`.
    pub status: Option<String>,
    /// At most this many (the API allows 100).
    pub limit: u32,
}

/// One line per offer of a page: id, price and asset, title, tags.
pub fn offer_lines(page: &Value) -> Vec<String> {
    page["offers"]
        .as_array()
        .map(|offers| {
            offers
                .iter()
                .map(|o| {
                    let tags: Vec<&str> = o["tags"]
                        .as_array()
                        .map(|t| t.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    format!(
                        "{:>6}  {:>14} {:<10}  {}  [{}]",
                        o["id"],
                        o["price"].as_str().unwrap_or("?"),
                        short_asset(o["asset"].as_str().unwrap_or("?")),
                        o["title"].as_str().unwrap_or(""),
                        tags.join(", ")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn short_asset(asset: &str) -> String {
    if asset.len() > 10 {
        format!("{}…", &asset[..8])
    } else {
        asset.to_owned()
    }
}
