//! The OpenAPI document, generated from the handlers' annotations so it cannot drift
//! from them, and a page that browses it.

use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::Json;
use utoipa::OpenApi;

/// The API's OpenAPI 3.1 document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Datamarket API",
        description = "Read-only JSON API over the Datamarket index: offers and ranked search, \
            purchases and their sealed key envelopes, accounts and balances, index status. \
            Accounts are SS58 addresses, amounts decimal strings in the asset's smallest unit, \
            bytes 0x-hex. The indexer follows finalized blocks only, so everything shown is final. \
            Errors are JSON {error, message}.",
        license(name = "Apache-2.0")
    ),
    paths(
        crate::offers::list,
        crate::offers::get,
        crate::offers::purchases,
        crate::purchases::get,
        crate::events::events,
        crate::accounts::offers,
        crate::accounts::purchases,
        crate::accounts::balances,
        crate::status::status,
        crate::status::stats,
        crate::status::healthz,
        crate::status::metrics,
    ),
    tags(
        (name = "offers", description = "Listings and search"),
        (name = "purchases", description = "Purchases and envelopes"),
        (name = "accounts", description = "What an account owns, bought and is owed"),
        (name = "status", description = "Index status, figures, health, metrics"),
    )
)]
pub struct ApiDoc;

/// The document as pretty JSON (what `/openapi.json` serves and the snapshot holds).
pub fn json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serializes")
}

/// `GET /openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// `GET /docs`: Swagger UI over `/openapi.json`.
pub async fn docs() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}

/// `GET /docs/swagger-ui-bundle.js`: Swagger UI's script, vendored
/// (web-api/assets/swagger-ui) and compiled in, so that the page loads nothing from
/// another origin.
pub async fn swagger_ui_script() -> impl IntoResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/swagger-ui/swagger-ui-bundle.js"),
    )
}

/// `GET /docs/swagger-ui.css`: Swagger UI's style sheet, vendored with its script.
pub async fn swagger_ui_style() -> impl IntoResponse {
    asset(
        "text/css; charset=utf-8",
        include_bytes!("../assets/swagger-ui/swagger-ui.css"),
    )
}

fn asset(content_type: &'static str, body: &'static [u8]) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // The files change only with the binary.
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
}
