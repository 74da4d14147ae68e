//! The minimal start page: the instruments in the store and links to the API docs.

use std::fmt::Write;

use axum::extract::State;
use axum::response::Html;
use tradeassist_store::InstrumentFilter;

use super::{ApiError, AppState};

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

pub async fn index(State(state): State<AppState>) -> Result<Html<String>, ApiError> {
    let instruments = state
        .service
        .instruments(&InstrumentFilter::default())
        .await?;
    let mut rows = String::new();
    for i in &instruments {
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&i.symbol),
            i.asset_class,
            escape(&i.exchange),
            escape(i.timezone.name()),
            escape(&i.description)
        );
    }
    Ok(Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>TradeAssist Historical Data</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem}}table{{border-collapse:collapse}}td,th{{padding:.25rem .75rem;border-bottom:1px solid #ddd;text-align:left}}</style>
</head><body>
<h1>TradeAssist Historical Data</h1>
<p><a href="/api/docs/">API documentation</a> &middot; <a href="/api/openapi.json">OpenAPI document</a></p>
<h2>Instruments ({count})</h2>
<table id="instruments"><thead><tr><th>Symbol</th><th>Class</th><th>Exchange</th><th>Timezone</th><th>Description</th></tr></thead>
<tbody>{rows}</tbody></table>
</body></html>"#,
        count = instruments.len()
    )))
}
