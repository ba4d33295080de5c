//! What a session produced: the results, the CSV export, the printable
//! report, the session's journal records, and the QR code of the join link.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::auth::Moderator;
use super::{attachment, host};
use crate::error::{Error, Result};
use crate::live::registry::Hub;
use crate::protocol::Results;
use crate::store::{journal, Storage};

/// `GET /api/sessions/{code}/results`.
pub(super) async fn results(Moderator(s): Moderator) -> Result<Json<Results>> {
    Ok(Json(s.results().await?))
}

/// `GET /api/sessions/{code}/summary`: anyone, when the session publishes it.
pub(super) async fn summary(
    State(hub): State<Arc<Hub>>,
    Path(code): Path<String>,
) -> Result<Json<crate::protocol::Summary>> {
    Ok(Json(hub.get(&code).await?.summary()?))
}

/// `GET /api/sessions/{code}/export.csv`.
pub(super) async fn export_csv(
    Moderator(s): Moderator,
    Path(code): Path<String>,
) -> Result<Response> {
    let body = s
        .read_whole(|session, _| crate::export::csv(session))
        .await?;
    Ok(csv_download(format!("handsup-{code}-results.csv"), body))
}

/// A CSV export as a download named `name`.
pub(super) fn csv_download(name: String, body: String) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (header::CONTENT_DISPOSITION, attachment(name)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

/// `GET /api/sessions/{code}/report.html`.
pub(super) async fn report(Moderator(s): Moderator) -> Result<Response> {
    let now = s.now_ms();
    let body = s
        .read_whole(|session, digest| crate::export::report(session, digest, now))
        .await?;
    Ok(report_page(body))
}

/// A printable report, served with a policy that lets it run nothing.
pub(super) fn report_page(body: String) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            // Inline styles only: the report carries no script at all.
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
                ),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

/// `GET /api/sessions/{code}/journal`: the session's records as the journal
/// holds them, one file framed as a segment, for `handsup verify FILE`.
/// Only a server with a journal has them: in memory or in cluster mode the
/// answer is `not_found`.
pub(super) async fn session_journal(
    State(hub): State<Arc<Hub>>,
    Moderator(s): Moderator,
) -> Result<Response> {
    match &hub.shared.storage {
        Storage::Journal(_) => {}
        Storage::Memory => {
            return Err(Error::not_found(
                "this server runs in memory and keeps no journal to download",
            ))
        }
        Storage::Redis(_) => {
            return Err(Error::not_found(
                "in cluster mode the records are in Redis, not in a journal to download",
            ))
        }
    }
    let dir = hub.shared.config.data_dir.clone();
    let code = s.code.clone();
    let body = tokio::task::spawn_blocking(move || journal::session_journal(&dir, &code))
        .await
        .map_err(|e| Error::internal(format!("reading the journal stopped: {e}")))?
        .map_err(|e| Error::internal(format!("could not read the journal: {e}")))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (
                header::CONTENT_DISPOSITION,
                attachment(format!("handsup-{}.journal", s.code)),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response())
}

/// `GET /api/sessions/{code}/qr.svg`: the join link as a QR code, for anyone.
pub(super) async fn qr(
    State(hub): State<Arc<Hub>>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    hub.get(&code).await?;
    let url = format!("{}/{}", hub.base_url(host(&headers)), code);
    let svg = crate::transport::qr::svg(&url)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        svg,
    )
        .into_response())
}
