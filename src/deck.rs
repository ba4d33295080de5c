//! Decks: a session's questions in a file a chair writes by hand, loaded
//! to create a session and written back out to reuse at the next event.

use std::sync::Arc;

use axum::Router;

use crate::hub::Hub;

/// The deck routes, under `/api`.
pub fn routes() -> Router<Arc<Hub>> {
    Router::new()
}
