//! For operators: liveness and the Prometheus metrics.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::live::registry::Hub;

/// Liveness for load balancers. In cluster mode it also says whether Redis
/// answers; the node stays in service either way, since every node shares
/// the same Redis and phones retry changes refused meanwhile.
pub(super) async fn healthz(State(hub): State<Arc<Hub>>) -> Json<Value> {
    match hub.shared.storage.reachable().await {
        Some(redis) => Json(json!({"status": "ok", "redis": redis})),
        None => Json(json!({"status": "ok"})),
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
