//! For operators: liveness and the Prometheus metrics.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::live::registry::Hub;

/// Liveness for load balancers. In cluster mode it also says whether Redis
/// answers; the node stays in service either way, since every node shares
/// the same Redis and phones retry changes refused meanwhile. After a
/// journal write failed the server takes no more changes: 503, and why.
pub(super) async fn healthz(State(hub): State<Arc<Hub>>) -> Response {
    if let Some(why) = hub.shared.storage.failure() {
        let body = json!({"status": "failed", "journal": why});
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    match hub.shared.storage.reachable().await {
        Some(redis) => Json(json!({"status": "ok", "redis": redis})).into_response(),
        None => Json(json!({"status": "ok"})).into_response(),
    }
}

/// `GET /metrics`.
pub(super) async fn metrics(State(hub): State<Arc<Hub>>) -> Response {
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        hub.shared.metrics.render(),
    )
        .into_response()
}
