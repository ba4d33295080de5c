//! The contract's error vocabulary and its two renderings: an HTTP response
//! (`{"error": {"code", "message"}}` with the status of the contract's table)
//! and the `code` field of a websocket `error` message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One row of the contract's error table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: malformed JSON, unknown message type, missing or ill-typed field.
    BadRequest,
    /// 401: missing or wrong token.
    Unauthorized,
    /// 403: the role may not do this.
    Forbidden,
    /// 404: no such session, question or Q&A item.
    NotFound,
    /// 409: voting on a question that is not open.
    NotOpen,
    /// 413: message or field over its limit.
    TooLarge,
    /// 422: the choice does not fit the question.
    InvalidChoice,
    /// 429: too many messages.
    RateLimited,
    /// 409: a cap is full: questions or Q&A items of a session, Q&A items of
    /// one participant, sessions or participants of the server.
    LimitReached,
    /// 503: the server cannot take this now (shutting down, at capacity); retry later.
    Unavailable,
    /// 500: a fault of the server; the details are logged, not sent.
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::NotOpen => "not_open",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::InvalidChoice => "invalid_choice",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::LimitReached => "limit_reached",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::NotOpen => StatusCode::CONFLICT,
            ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::InvalidChoice => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::LimitReached => StatusCode::CONFLICT,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An error that reaches a client: a code from the table and a sentence for people.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
    /// Seconds after which the client may try again (`Retry-After`), for
    /// `rate_limited` and `unavailable`.
    pub retry_after_s: Option<u64>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            retry_after_s: None,
        }
    }
    /// The same error, telling the client when to try again.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_s = Some(seconds.max(1));
        self
    }
    pub fn limit_reached(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::LimitReached, message)
    }
    pub fn rate_limited(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::RateLimited, message)
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    pub fn not_open(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotOpen, message)
    }
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::TooLarge, message)
    }
    pub fn invalid_choice(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidChoice, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: BodyInner<'a>,
}

#[derive(Serialize)]
struct BodyInner<'a> {
    code: &'static str,
    message: &'a str,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let body = Body {
            error: BodyInner {
                code: self.code.as_str(),
                message: &self.message,
            },
        };
        let mut response = (self.code.status(), axum::Json(body)).into_response();
        if let Some(s) = self.retry_after_s {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, s.into());
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_in_the_contract() {
        for code in [
            ErrorCode::BadRequest,
            ErrorCode::NotOpen,
            ErrorCode::InvalidChoice,
            ErrorCode::RateLimited,
        ] {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::Value::String(code.as_str().into())
            );
        }
        assert_eq!(ErrorCode::TooLarge.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(ErrorCode::InvalidChoice.status().as_u16(), 422);
        assert_eq!(ErrorCode::LimitReached.as_str(), "limit_reached");
        assert_eq!(ErrorCode::LimitReached.status().as_u16(), 409);
    }

    #[test]
    fn a_retry_after_travels_as_a_header() {
        let r = Error::rate_limited("slow down")
            .retry_after(3)
            .into_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[axum::http::header::RETRY_AFTER], "3");
        let r = Error::rate_limited("slow down").into_response();
        assert!(r.headers().get(axum::http::header::RETRY_AFTER).is_none());
    }
}
