//! The web UI at `/`: the React app from `web/`, built by `build.rs` and embedded in the binary
//! (`/` = its `index.html`, `/assets/...` = its hashed bundles, gzip-compressed when the client
//! accepts it). The page carries the instruments table inside `<noscript>` for clients without
//! JavaScript. Unknown paths keep answering the API's JSON 404 (the UI has no client routes).

use std::fmt::Write;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tradeassist_store::InstrumentFilter;

use super::{ApiError, AppState};

/// One embedded file of the web build.
struct Asset {
    path: &'static str,
    mime: &'static str,
    body: &'static [u8],
    gzip: Option<&'static [u8]>,
}

mod embedded {
    use super::Asset;
    include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));
}

/// Where the server-rendered instruments table goes in `index.html`.
const INSTRUMENTS_MARKER: &str = "<!--tradeassist:instruments-->";

/// Routes of the web UI (merged into the application router).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/assets/{*path}", get(asset))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

async fn index(State(state): State<AppState>) -> Result<Response, ApiError> {
    let instruments = state
        .service
        .instruments(&InstrumentFilter::default())
        .await?;
    let mut table = format!(
        "<h2>Instruments ({})</h2>\n<table id=\"instruments\"><thead><tr><th>Symbol</th><th>Class</th><th>Exchange</th><th>Timezone</th><th>Description</th></tr></thead><tbody>",
        instruments.len()
    );
    for i in &instruments {
        let _ = write!(
            table,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&i.symbol),
            i.asset_class,
            escape(&i.exchange),
            escape(i.timezone.name()),
            escape(&i.description)
        );
    }
    table.push_str("</tbody></table>");
    let html = embedded::INDEX_HTML.replacen(INSTRUMENTS_MARKER, &table, 1);
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))],
        Html(html),
    )
        .into_response())
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let wanted = format!("/assets/{path}");
    let Some(a) = embedded::ASSETS.iter().find(|a| a.path == wanted) else {
        return ApiError::not_found("no such asset").into_response();
    };
    let accepts_gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let mut resp = match (a.gzip, accepts_gzip) {
        (Some(gz), true) => {
            let mut r = gz.into_response();
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            r
        }
        _ => a.body.into_response(),
    };
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(a.mime));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    // Vite names bundles by content hash: a changed file has a new name.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::{INSTRUMENTS_MARKER, embedded};

    #[test]
    fn index_html_has_the_instruments_marker() {
        assert!(embedded::INDEX_HTML.contains(INSTRUMENTS_MARKER));
    }

    #[test]
    fn every_asset_the_index_references_is_embedded() {
        if !embedded::BUILT {
            return; // placeholder page: it references no assets
        }
        let refs: Vec<&str> = embedded::INDEX_HTML
            .split('"')
            .filter(|s| s.starts_with("/assets/"))
            .collect();
        assert!(!refs.is_empty(), "index.html loads no bundle");
        for r in refs {
            assert!(
                embedded::ASSETS.iter().any(|a| a.path == r),
                "{r} is referenced by index.html but not embedded"
            );
        }
    }
}
