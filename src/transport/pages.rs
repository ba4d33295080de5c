//! The pages: plain files from `web/`, built into the binary so it serves
//! them from any directory and with no network; `--web-dir` serves them from
//! disk instead while they are being worked on.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use crate::live::registry::Hub;

#[derive(RustEmbed)]
#[folder = "web/"]
struct Embedded;

/// A file of `web/`, from disk when `web_dir` is set, else from the binary.
pub async fn file(hub: &Hub, path: &str, headers: &HeaderMap) -> Response {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let content_type = HeaderValue::from_str(mime.as_ref())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    if let Some(dir) = &hub.shared.config.web_dir {
        let Some(full) = safe_join(dir, path) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        return match tokio::fs::read(full).await {
            Ok(bytes) => (
                [
                    (header::CONTENT_TYPE, content_type),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                ],
                bytes,
            )
                .into_response(),
            Err(_) => StatusCode::NOT_FOUND.into_response(),
        };
    }
    let Some(file) = Embedded::get(path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // The content hash makes a strong ETag: a phone on weak Wi-Fi reloads
    // with a 304 instead of the whole page.
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..12]));
    let cache = HeaderValue::from_static("no-cache");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return (
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, etag),
                (header::CACHE_CONTROL, "no-cache".into()),
            ],
        )
            .into_response();
    }
    (
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::ETAG,
                HeaderValue::from_str(&etag).unwrap_or(cache.clone()),
            ),
            (header::CACHE_CONTROL, cache),
        ],
        file.data.into_owned(),
    )
        .into_response()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Joins a request path under `dir`, refusing anything that climbs out.
fn safe_join(dir: &Path, path: &str) -> Option<PathBuf> {
    let rel = Path::new(path);
    rel.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| dir.join(rel))
}

pub async fn index(State(hub): State<Arc<Hub>>, headers: HeaderMap) -> Response {
    file(&hub, "index.html", &headers).await
}

pub async fn asset(
    State(hub): State<Arc<Hub>>,
    axum::extract::Path(path): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    file(&hub, &format!("assets/{path}"), &headers).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cannot_climb_out_of_the_web_folder() {
        let dir = Path::new("/srv/web");
        assert_eq!(
            safe_join(dir, "assets/app.js"),
            Some(PathBuf::from("/srv/web/assets/app.js"))
        );
        assert_eq!(safe_join(dir, "../etc/passwd"), None);
        assert_eq!(safe_join(dir, "/etc/passwd"), None);
    }
}
