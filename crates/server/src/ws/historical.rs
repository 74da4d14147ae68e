//! `historical_query` over WebSocket: the export of a query (the same pieces and bars as
//! `export` and `fetch`) sent as chunks of at most `chunk_size` bars, each holding one
//! symbol's bars, with progress messages between them and one `historical_data_complete` at
//! the end. The complete message's checksum is the SHA-256 of the query's NDJSON export,
//! computed from the same pieces, so a client can check what it received.
//!
//! One chunk is held back until the next is known, so the last one can say
//! `is_final_chunk: true` and `total_chunks`. Cancel is checked before every chunk and while a
//! piece is read; after `historical_query_cancelled` nothing more is sent for the query.

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tradeassist_service::{Service, now};

use super::Outbox;
use super::messages::{
    AggregationComplete, AggregationProgress, Cancelled, Chunk, Complete, HistoricalError,
    Progress, ServerMessage, SymbolCount,
};
use crate::api::ApiError;
use crate::api::dto::{BarDto, FetchRequestDto};
use crate::export::{ExportEncoder, ExportFormat};
use crate::jobs::{cancelled, percent};

/// Bars per chunk unless the client asks otherwise.
pub const DEFAULT_CHUNK: usize = 5_000;
/// Most bars per chunk a client may ask for.
pub const MAX_CHUNK: usize = 50_000;
/// A piece whose derivation runs longer than this reports `aggregation_progress` every such
/// interval and `aggregation_complete` at its end.
const LONG_DERIVATION: Duration = Duration::from_secs(1);

pub(crate) struct Request {
    pub query_id: String,
    pub request_id: Option<String>,
    pub query: FetchRequestDto,
    pub chunk_size: usize,
}

/// Estimated completion from the elapsed time and the share done.
pub(crate) fn eta(elapsed_ms: u64, done: u64, expected: u64) -> Option<String> {
    if done == 0 || expected == 0 {
        return None;
    }
    let total = elapsed_ms as f64 * expected as f64 / done as f64;
    let left = (total - elapsed_ms as f64).max(0.0);
    let at = chrono::Utc::now() + chrono::Duration::milliseconds(left as i64);
    Some(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

struct Stream {
    out: Outbox,
    req: Request,
    started: Instant,
    bars_done: u64,
    bars_expected: u64,
    bars_sent: u64,
    chunks: u64,
    pending: Option<Chunk>,
}

impl Stream {
    fn progress(&self, symbol: &str, step: &str, percent: f64) -> ServerMessage {
        ServerMessage::HistoricalDataProgress(Progress {
            query_id: self.req.query_id.clone(),
            request_id: self.req.request_id.clone(),
            symbol: symbol.to_string(),
            progress_percent: percent,
            current_step: step.to_string(),
            bars_done: self.bars_done,
            bars_expected: self.bars_expected,
            estimated_completion: eta(
                self.started.elapsed().as_millis() as u64,
                self.bars_done,
                self.bars_expected,
            ),
            status: "running".into(),
        })
    }

    fn error(&self, e: ApiError) -> ServerMessage {
        ServerMessage::HistoricalDataError(HistoricalError {
            query_id: Some(self.req.query_id.clone()),
            request_id: self.req.request_id.clone(),
            symbol: "ALL".into(),
            error_message: e.message,
            error_type: e.code.to_string(),
            details: e.details,
            status: "error",
        })
    }

    fn cancelled(&self) -> ServerMessage {
        ServerMessage::HistoricalQueryCancelled(Cancelled {
            query_id: self.req.query_id.clone(),
            request_id: self.req.request_id.clone(),
            bars_sent: self.bars_sent,
            status: "cancelled",
        })
    }

    /// Send the held-back chunk and hold `next`; false when the connection is gone.
    async fn push(&mut self, next: Option<Chunk>) -> bool {
        if let Some(mut chunk) = self.pending.take() {
            if next.is_none() {
                chunk.is_final_chunk = true;
                chunk.total_chunks = Some(self.chunks);
            }
            let n = chunk.bars.len() as u64;
            if !self
                .out
                .send(ServerMessage::HistoricalDataChunk(chunk))
                .await
            {
                return false;
            }
            self.bars_sent += n;
        }
        self.pending = next;
        true
    }
}

/// Run one query to its end, its cancel, or the connection's end.
pub(crate) async fn run(
    service: Service,
    out: Outbox,
    req: Request,
    mut cancel: watch::Receiver<bool>,
) {
    let mut s = Stream {
        out,
        req,
        started: Instant::now(),
        bars_done: 0,
        bars_expected: 0,
        bars_sent: 0,
        chunks: 0,
        pending: None,
    };
    if !s.out.send(s.progress("ALL", "resolving", 0.0)).await {
        return;
    }
    let planned = async {
        let query = s.req.query.clone().into_query()?;
        let export = service.export(&query, now()).await?;
        let expected = service.expected_reads(export.plan()).await?;
        Ok::<_, tradeassist_service::ServiceError>((export, expected))
    };
    let (mut export, expected) = match planned.await {
        Ok(p) => p,
        Err(e) => {
            s.out.send(s.error(e.into())).await;
            return;
        }
    };
    s.bars_expected = expected.iter().sum();
    let symbols: Vec<String> = export.series().iter().map(|x| x.symbol.clone()).collect();
    let mut counts = vec![0u64; symbols.len()];
    let mut ndjson = match ExportEncoder::new(ExportFormat::Ndjson, export.series()) {
        Ok(e) => e,
        Err(e) => {
            s.out.send(s.error(internal(e))).await;
            return;
        }
    };
    let mut hasher = Sha256::new();
    let first = symbols.first().cloned().unwrap_or_else(|| "ALL".into());
    if !s.out.send(s.progress(&first, "reading", 0.0)).await {
        return;
    }
    loop {
        let piece_started = Instant::now();
        let next = {
            let fut = export.next_chunk();
            tokio::pin!(fut);
            let mut tick = tokio::time::interval_at(
                tokio::time::Instant::now() + LONG_DERIVATION,
                LONG_DERIVATION,
            );
            loop {
                tokio::select! {
                    biased;
                    _ = cancelled(&mut cancel) => {
                        s.out.send(s.cancelled()).await;
                        return;
                    }
                    r = &mut fut => break r,
                    _ = tick.tick() => {
                        let msg = ServerMessage::AggregationProgress(AggregationProgress {
                            query_id: s.req.query_id.clone(),
                            symbol: first.clone(),
                            elapsed_ms: piece_started.elapsed().as_millis() as u64,
                            status: "running",
                        });
                        if !s.out.send(msg).await {
                            return;
                        }
                    }
                }
            }
        };
        let chunk = match next {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => {
                s.out.send(s.error(e.into())).await;
                return;
            }
        };
        let symbol = symbols[chunk.series].clone();
        let result = &chunk.result;
        if piece_started.elapsed() >= LONG_DERIVATION {
            let msg = ServerMessage::AggregationComplete(AggregationComplete {
                query_id: s.req.query_id.clone(),
                symbol: symbol.clone(),
                base_bars: result.base_bars as u64,
                bars: result.bars.len() as u64,
                execution_time_ms: piece_started.elapsed().as_millis() as u64,
                status: "completed",
            });
            if !s.out.send(msg).await {
                return;
            }
        }
        match ndjson.chunk(&chunk) {
            Ok(bytes) => hasher.update(&bytes),
            Err(e) => {
                s.out.send(s.error(internal(e))).await;
                return;
            }
        }
        s.bars_done += result.base_bars as u64;
        counts[chunk.series] += result.bars.len() as u64;
        let contracts = result.continuous.as_ref().map(|c| &c.bar_contracts);
        let dtos: Vec<BarDto> = result
            .bars
            .iter()
            .enumerate()
            .map(|(i, b)| BarDto {
                contract: contracts.and_then(|c| c.get(i)).map(|c| c.to_string()),
                ..BarDto::from(b)
            })
            .collect();
        for slice in dtos.chunks(s.req.chunk_size) {
            if *cancel.borrow() {
                s.out.send(s.cancelled()).await;
                return;
            }
            s.chunks += 1;
            let next = Chunk {
                query_id: s.req.query_id.clone(),
                request_id: s.req.request_id.clone(),
                symbol: symbol.clone(),
                chunk_number: s.chunks,
                total_chunks: None,
                bars: slice.to_vec(),
                is_final_chunk: false,
            };
            if !s.push(Some(next)).await {
                return;
            }
        }
        let p = percent(s.bars_done, s.bars_expected);
        if !s.out.send(s.progress(&symbol, "streaming", p)).await {
            return;
        }
    }
    if *cancel.borrow() {
        s.out.send(s.cancelled()).await;
        return;
    }
    if !s.push(None).await {
        return;
    }
    let total: u64 = counts.iter().sum();
    let one = symbols.len() == 1;
    let last = if one { symbols[0].as_str() } else { "ALL" };
    if !s.out.send(s.progress(last, "streaming", 100.0)).await {
        return;
    }
    let digest = hasher.finalize();
    let checksum: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let complete = ServerMessage::HistoricalDataComplete(Complete {
        query_id: s.req.query_id.clone(),
        request_id: s.req.request_id.clone(),
        symbol: last.to_string(),
        bars_retrieved: total,
        symbols: symbols
            .iter()
            .zip(&counts)
            .map(|(symbol, bars)| SymbolCount {
                symbol: symbol.clone(),
                bars: *bars,
            })
            .collect(),
        total_chunks: s.chunks,
        execution_time_ms: s.started.elapsed().as_millis() as u64,
        cache_hit: false,
        checksum: Some(checksum),
        result_url: None,
        status: "completed",
    });
    s.out.send(complete).await;
}

fn internal(e: std::io::Error) -> ApiError {
    ApiError::from(tradeassist_service::ServiceError::Internal(e.to_string()))
}
