//! The API's edges: accounts as SS58, assets as `native` or the token's SS58, amounts as
//! decimal strings, bytes as 0x-hex, opaque cursors, query strings, ids in paths; and a
//! small builder for SQL with numbered parameters.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine as _;
use index_db::ss58;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_postgres::types::ToSql;

use crate::error::ApiError;

/// The most rows one page may hold.
pub const MAX_LIMIT: i64 = 100;
/// Rows per page when `limit` is not given.
pub const DEFAULT_LIMIT: i64 = 20;

/// Encodes 32 raw account bytes as SS58 with `prefix` (other lengths, which the
/// schema's checks rule out, as 0x-hex rather than failing).
pub fn account(bytes: &[u8], prefix: u16) -> String {
    match <[u8; 32]>::try_from(bytes) {
        Ok(raw) => ss58::encode(&raw, prefix),
        Err(_) => hex0x(bytes),
    }
}

/// Decodes an SS58 address of this network into its 32 bytes.
pub fn parse_account(what: &str, text: &str, prefix: u16) -> Result<[u8; 32], ApiError> {
    let (id, format) = ss58::decode(text)
        .map_err(|e| ApiError::bad(format!("{what} `{text}` is not an SS58 address: {e:?}")))?;
    if format != prefix {
        return Err(ApiError::bad(format!(
            "{what} `{text}` is an address for SS58 prefix {format}, but this network uses {prefix}"
        )));
    }
    Ok(id)
}

/// Re-encodes the accounts in an event's stored payload, which the indexer writes with
/// prefix 42 whatever the network, in this API's `prefix`, so that a feed's payload
/// names accounts as the rest of the API does.
pub fn payload_accounts(payload: &mut serde_json::Value, prefix: u16) {
    use index_db::payload::{PAYLOAD_ACCOUNT_KEYS, PAYLOAD_SS58_PREFIX};
    use serde_json::Value;
    if prefix == PAYLOAD_SS58_PREFIX {
        return;
    }
    match payload {
        Value::Object(fields) => {
            for (key, value) in fields.iter_mut() {
                match value {
                    Value::String(text) if PAYLOAD_ACCOUNT_KEYS.contains(&key.as_str()) => {
                        if let Ok((id, format)) = ss58::decode(text) {
                            if format == PAYLOAD_SS58_PREFIX {
                                *text = account(&id, prefix);
                            }
                        }
                    }
                    other => payload_accounts(other, prefix),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| payload_accounts(v, prefix)),
        _ => {}
    }
}

/// An asset for people: `native`, or the PSP22 token's address.
pub fn asset(bytes: &[u8], prefix: u16) -> String {
    if bytes.is_empty() {
        "native".into()
    } else {
        account(bytes, prefix)
    }
}

/// Parses `native` or a token address into the index's form (empty for native).
pub fn parse_asset(text: &str, prefix: u16) -> Result<Vec<u8>, ApiError> {
    if text == "native" {
        Ok(Vec::new())
    } else {
        parse_account("asset", text, prefix).map(|a| a.to_vec())
    }
}

/// Bytes as `0x` and lowercase hex.
pub fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// A u128 amount given as a decimal string.
pub fn parse_amount(what: &str, text: &str) -> Result<u128, ApiError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad(format!(
            "{what} must be a non-negative integer in the asset's smallest unit, got `{text}`"
        )));
    }
    text.parse()
        .map_err(|_| ApiError::bad(format!("{what} `{text}` does not fit in 128 bits")))
}

/// An id in a path: a positive integer. Ids past i64 cannot exist in the index, so they
/// are simply not found.
pub fn parse_id(what: &str, text: &str) -> Result<Option<i64>, ApiError> {
    let id: u64 = text.parse().map_err(|_| {
        ApiError::bad(format!(
            "{what} id must be a positive integer, got `{text}`"
        ))
    })?;
    Ok(i64::try_from(id).ok())
}

/// A page size: 1..=100, default 20 (an empty `limit=` is an error, not the default).
pub fn limit(limit: Option<&str>) -> Result<i64, ApiError> {
    let Some(text) = limit else {
        return Ok(DEFAULT_LIMIT);
    };
    match text.parse::<i64>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(ApiError::bad(format!(
            "limit must be an integer between 1 and {MAX_LIMIT}, got `{text}`"
        ))),
    }
}

/// A query parameter that, when present, is kept even when empty (`limit=` is an error,
/// where the form decoder would make it absent).
pub fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    <String as serde::Deserialize>::deserialize(d).map(Some)
}

/// An opaque cursor: base64url of the JSON of the position after the page.
pub fn encode_cursor<T: Serialize>(position: &T) -> String {
    let json = serde_json::to_vec(position).expect("cursor positions serialize");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

/// Reads a cursor made by [`encode_cursor`].
pub fn decode_cursor<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| malformed_cursor())?;
    serde_json::from_slice(&bytes).map_err(|_| malformed_cursor())
}

/// The 400 for a cursor that no page gave out.
pub fn malformed_cursor() -> ApiError {
    ApiError::bad("malformed cursor: pass next_cursor from the previous page as is")
}

/// A query string parsed into `T` (repeated keys into `Vec`s); any problem is a 400
/// with the JSON error body, never axum's plain-text rejection.
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        serde_html_form::from_str(query)
            .map(Params)
            .map_err(|e| ApiError::bad(format!("bad query parameters: {e}")))
    }
}

/// A path's one parameter as text; a path that does not decode (bad percent-encoding,
/// not UTF-8) is a 400 with the JSON error body.
pub struct PathParam<T = String>(pub T);

impl<S: Send + Sync> FromRequestParts<S> for PathParam<String> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map(|p| PathParam(p.0))
            .map_err(|e| ApiError::bad(format!("bad path: {e}")))
    }
}

/// SQL text with its parameters, numbered as they are pushed.
#[derive(Default)]
pub struct Sql {
    /// The statement so far.
    pub text: String,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Sql {
    /// Starts a statement.
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            params: Vec::new(),
        }
    }

    /// Adds a parameter and returns its placeholder (`$n`).
    pub fn param(&mut self, value: impl ToSql + Sync + Send + 'static) -> String {
        self.params.push(Box::new(value));
        format!("${}", self.params.len())
    }

    /// Appends text.
    pub fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// The parameters, as tokio-postgres takes them.
    pub fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }

    /// Runs the statement on `client` as a prepared statement cached per connection:
    /// the text has a bounded number of shapes (one per combination of filters and
    /// sort), and a cached statement saves the parse round trip and the server's
    /// parsing and planning on every request.
    pub async fn query(
        &self,
        client: &deadpool_postgres::Client,
    ) -> Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
        let statement = client.prepare_cached(&self.text).await?;
        client.query(&statement, &self.params()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_round_trip_and_foreign_prefixes_are_refused() {
        let alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
        let raw = parse_account("owner", alice, 42).unwrap();
        assert_eq!(account(&raw, 42), alice);
        assert!(parse_account("owner", alice, 0).is_err());
        assert!(parse_account("owner", "5Grw", 42).is_err());
        assert_eq!(asset(&[], 42), "native");
        assert_eq!(parse_asset("native", 42).unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn payload_accounts_follow_the_networks_prefix() {
        let alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
        let raw = parse_account("buyer", alice, 42).unwrap();
        let alice_dot = account(&raw, 0);
        let stored = serde_json::json!({
            "buyer": alice, "amount": "100", "asset": {"psp22": alice},
            "payouts": [{"account": alice, "amount": "7"}], "uri": alice,
        });
        let mut payload = stored.clone();
        payload_accounts(&mut payload, 42);
        assert_eq!(payload, stored);
        payload_accounts(&mut payload, 0);
        assert_eq!(
            payload,
            serde_json::json!({
                "buyer": alice_dot, "amount": "100", "asset": {"psp22": alice_dot},
                "payouts": [{"account": alice_dot, "amount": "7"}],
                // Not an account field: left as it is.
                "uri": alice,
            })
        );
    }

    #[test]
    fn amounts_limits_and_cursors() {
        assert_eq!(parse_amount("p", "0").unwrap(), 0);
        assert_eq!(
            parse_amount("p", &u128::MAX.to_string()).unwrap(),
            u128::MAX
        );
        for bad in [
            "",
            "-1",
            "1.5",
            "1e3",
            "340282366920938463463374607431768211456",
        ] {
            assert!(parse_amount("p", bad).is_err(), "{bad}");
        }
        assert_eq!(limit(None).unwrap(), 20);
        assert_eq!(limit(Some("100")).unwrap(), 100);
        for bad in ["0", "101", "", "ten", "-1"] {
            assert!(limit(Some(bad)).is_err(), "{bad}");
        }
        let c = encode_cursor(&(5u8, "x"));
        assert_eq!(decode_cursor::<(u8, String)>(&c).unwrap(), (5, "x".into()));
        assert!(decode_cursor::<(u8, String)>("!!").is_err());
        assert!(decode_cursor::<(u8, String)>("e30").is_err());
    }
}
