//! The one error type of the API and how it maps to HTTP: a status and a JSON body
//! `{error, message}`. Database and internal details are logged, never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// What went wrong with a request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request's parameters are wrong (400): the message says which and why.
    #[error("{0}")]
    BadRequest(String),
    /// No such resource (404).
    #[error("{0}")]
    NotFound(String),
    /// The database cannot be reached right now (503).
    #[error("the index database is unavailable; try again shortly")]
    Unavailable,
    /// The service is at a limit of its own right now (503): the message says which.
    #[error("{0}")]
    Busy(String),
    /// Anything else (500); the cause was logged.
    #[error("internal error; it has been logged")]
    Internal,
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code: `bad_request`, `not_found`, `method_not_allowed`, `unavailable` or
    /// `internal`.
    pub error: String,
    /// What was wrong, for people.
    pub message: String,
}

/// Shorthand for handlers.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// A 400 with this message.
    pub fn bad(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }

    /// A 404 with this message.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Unavailable | Self::Busy(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let body = ErrorBody {
            error: code.into(),
            message: self.to_string(),
        };
        (status, Json(body)).into_response()
    }
}

impl From<tokio_postgres::Error> for ApiError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => {
                tracing::error!(code = db.code().code(), "database error: {}", db.message())
            }
            None => tracing::error!("database error: {e}"),
        }
        // Lost connections, a server shutting down or a database that went away are
        // the service's trouble, not the request's.
        let gone = e.as_db_error().is_some_and(|db| {
            let code = db.code().code();
            code.starts_with("08") || code.starts_with("57") || code == "3D000"
        });
        if e.is_closed() || gone {
            Self::Unavailable
        } else {
            Self::Internal
        }
    }
}

impl From<deadpool_postgres::PoolError> for ApiError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        tracing::error!("database pool: {e}");
        Self::Unavailable
    }
}

impl From<index_db::DbError> for ApiError {
    fn from(e: index_db::DbError) -> Self {
        match e {
            // The same mapping as a query of the API's own: a lost connection is a 503.
            index_db::DbError::Postgres(e) => e.into(),
            index_db::DbError::Connect(message) => {
                tracing::error!("index database: {message}");
                Self::Unavailable
            }
            other => {
                tracing::error!("index database: {other}");
                Self::Internal
            }
        }
    }
}

/// The answer to a path that no route matches.
pub async fn not_found() -> ApiError {
    ApiError::not_found("no such route; see /openapi.json")
}

/// The answer to a method a route does not have.
pub async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(ErrorBody {
            error: "method_not_allowed".into(),
            message: "this route does not take that method; see /openapi.json".into(),
        }),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection lost under a request is the service's trouble (503), whether the
    /// API's own query or one of index-db's (the cursor, the writer lock) met it.
    #[tokio::test]
    async fn a_lost_connection_is_unavailable_whichever_query_meets_it() {
        let database = index_db::TempDatabase::create("dm_api_errors")
            .await
            .unwrap();
        let mut client = index_db::connect(&database.url).await.unwrap();
        index_db::migrate(&mut client).await.unwrap();
        let pid: i32 = client
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .unwrap()
            .get(0);
        let admin = index_db::connect(&database.url).await.unwrap();
        admin
            .execute("SELECT pg_terminate_backend($1)", &[&pid])
            .await
            .unwrap();
        let own = client.query_one("SELECT 1", &[]).await.unwrap_err();
        assert!(matches!(ApiError::from(own), ApiError::Unavailable));
        let cursor = index_db::cursor(&client, false).await.unwrap_err();
        assert!(matches!(ApiError::from(cursor), ApiError::Unavailable));
        let lock = index_db::writer_active(&client).await.unwrap_err();
        assert!(matches!(ApiError::from(lock), ApiError::Unavailable));
        // A failed statement on a live connection stays a 500.
        let failed = admin.query_one("SELECT nope", &[]).await.unwrap_err();
        assert!(matches!(ApiError::from(failed), ApiError::Internal));
        drop((client, admin));
        database.drop_now().await.unwrap();
    }
}
