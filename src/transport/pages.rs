//! The pages: plain files from `web/`, built into the binary so it serves
//! them from any directory and with no network; `--web-dir` serves them from
//! disk instead (through `tower_http`'s `ServeDir`), uncached, while they are
//! being worked on.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::live::registry::Hub;

#[derive(RustEmbed)]
#[folder = "web/"]
struct Embedded;

/// A page of `web/` (`path` is one of ours, such as `audience.html`), from
/// disk when `web_dir` is set, else from the binary.
pub async fn file(hub: &Hub, path: &str, headers: &HeaderMap) -> Response {
    match &hub.shared.config.web_dir {
        Some(dir) => from_disk(ServeFile::new(dir.join(path)), Request::new(Body::empty())).await,
        None => embedded(path, headers),
    }
}

/// Serves `req` from a folder or file on disk, uncached so an edit shows at
/// the next reload. Paths that climb out (`..`) or name nothing are `404`.
async fn from_disk<S>(service: S, req: Request) -> Response
where
    S: tower::Service<
        Request,
        Response = Response<tower_http::services::fs::ServeFileSystemResponseBody>,
        Error = std::convert::Infallible,
    >,
{
    let Ok(mut res) = service.oneshot(req).await;
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.map(Body::new)
}

/// The folder `--web-dir` names, as `ServeDir` serves it: a request path maps
/// to the file of the same path under `dir`.
fn serve_dir(dir: &Path) -> ServeDir {
    ServeDir::new(dir).append_index_html_on_directories(false)
}

fn embedded(path: &str, headers: &HeaderMap) -> Response {
    let Some(file) = Embedded::get(path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let content_type = HeaderValue::from_str(mime.as_ref())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
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

pub async fn index(State(hub): State<Arc<Hub>>, headers: HeaderMap) -> Response {
    file(&hub, "index.html", &headers).await
}

/// `/assets/{*path}`: the request's own path is the file's under `web/`.
pub async fn asset(
    State(hub): State<Arc<Hub>>,
    axum::extract::Path(path): axum::extract::Path<String>,
    req: Request,
) -> Response {
    match &hub.shared.config.web_dir {
        Some(dir) => from_disk(serve_dir(dir), req).await,
        None => embedded(&format!("assets/{path}"), req.headers()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `web/` folder with one asset, and a secret beside it.
    fn folder() -> std::path::PathBuf {
        let root = std::env::temp_dir().join(format!("handsup-web-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(root.join("web/assets")).unwrap();
        std::fs::write(root.join("web/assets/app.js"), "let x = 1;").unwrap();
        std::fs::write(root.join("web/audience.html"), "<p>hi</p>").unwrap();
        std::fs::write(root.join("secret"), "no").unwrap();
        root
    }

    async fn get(dir: &Path, uri: &str) -> Response {
        let req = Request::builder().uri(uri).body(Body::empty()).unwrap();
        from_disk(serve_dir(dir), req).await
    }

    #[tokio::test]
    async fn paths_cannot_climb_out_of_the_web_folder() {
        let root = folder();
        let web = root.join("web");
        let ok = get(&web, "/assets/app.js").await;
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(ok.headers()[header::CONTENT_TYPE], "text/javascript");
        assert_eq!(ok.headers()[header::CACHE_CONTROL], "no-store");
        for uri in [
            "/assets/../../secret",
            "/assets/%2e%2e/%2e%2e/secret",
            "/assets/..%2f..%2fsecret",
            "//etc/passwd",
            "/assets/missing.js",
            "/assets/",
        ] {
            assert_eq!(
                get(&web, uri).await.status(),
                StatusCode::NOT_FOUND,
                "{uri}"
            );
        }
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn a_page_comes_from_the_folder_uncached() {
        let root = folder();
        let page = ServeFile::new(root.join("web/audience.html"));
        let res = from_disk(page, Request::new(Body::empty())).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[header::CONTENT_TYPE], "text/html");
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
        let body = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], b"<p>hi</p>");
        std::fs::remove_dir_all(root).unwrap();
    }
}
