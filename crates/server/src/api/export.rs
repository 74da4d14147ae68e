//! The HTTP body of an export: the service's chunks, encoded, streamed as they come.
//! Errors before the first chunk are ordinary JSON errors; an error later ends the body
//! early (the client sees a truncated transfer) and is logged.

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use tradeassist_service::{Export, Query, Service, now};

use super::ApiError;
use super::audit::Access;
use crate::export::{ExportEncoder, ExportFormat, file_name};

/// A running export: the service's chunks, their encoder, the audit of the access, the query
/// and the bars sent so far.
enum State {
    Running(Box<(Export, ExportEncoder, Access, Query, usize)>),
    Done,
}

/// Plan the export, compute its first chunk, then stream the rest.
/// The audit line is written when the last byte has been produced (an export cut short by an
/// error or a client that went away is not audited as served).
pub async fn respond(
    service: Service,
    query: Query,
    format: ExportFormat,
    access: Access,
) -> Result<Response, ApiError> {
    let mut export = service.export(&query, now()).await?;
    let internal = |e: std::io::Error| {
        ApiError::from(tradeassist_service::ServiceError::Internal(e.to_string()))
    };
    let mut encoder = ExportEncoder::new(format, export.series()).map_err(internal)?;
    let mut first = encoder.header().map_err(internal)?;
    let mut bars = 0usize;
    match export.next_chunk().await? {
        Some(chunk) => {
            bars += chunk.result.bars.len();
            first.extend(encoder.chunk(&chunk).map_err(internal)?)
        }
        None => {
            // Nothing to export: the whole (empty) file at once.
            let encoder = std::mem::replace(
                &mut encoder,
                ExportEncoder::new(format, export.series()).map_err(internal)?,
            );
            first.extend(encoder.finish().map_err(internal)?);
            access.asked(&query, 0);
            return Ok(file_response(&query, format, Body::from(first)));
        }
    }
    let stream = futures::stream::unfold(
        State::Running(Box::new((export, encoder, access, query.clone(), bars))),
        |state| async move {
            let State::Running(mut running) = state else {
                return None;
            };
            let (export, encoder, _, _, bars) = &mut *running;
            let step = match export.next_chunk().await {
                Ok(Some(chunk)) => {
                    *bars += chunk.result.bars.len();
                    encoder.chunk(&chunk).map(|b| (b, false))
                }
                Ok(None) => {
                    let (_, encoder, access, query, bars) = *running;
                    access.asked(&query, bars);
                    return Some((encoder.finish().map(Bytes::from), State::Done));
                }
                Err(e) => Err(std::io::Error::other(e.to_string())),
            };
            match step {
                Ok((bytes, _)) => Some((Ok(Bytes::from(bytes)), State::Running(running))),
                Err(e) => {
                    tracing::error!(error = %e, "export failed mid-stream");
                    Some((Err(e), State::Done))
                }
            }
        },
    );
    // Fused: the compression layer polls the body once more after its end.
    let body = futures::StreamExt::fuse(futures::StreamExt::chain(
        futures::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(first)) }),
        stream,
    ));
    Ok(file_response(&query, format, Body::from_stream(body)))
}

fn file_response(query: &Query, format: ExportFormat, body: Body) -> Response {
    attachment(
        &file_name(&query.symbols, &query.bars.to_string(), format),
        format,
        body,
    )
}

/// A file download: the format's content type and `Content-Disposition` with `name`.
pub(super) fn attachment(name: &str, format: ExportFormat, body: Body) -> Response {
    (
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}
