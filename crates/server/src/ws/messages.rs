//! The WebSocket message format (docs/websocket.md). Every message, both ways, is one JSON
//! text frame: `{"message_type": "...", "version": "1.0", "timestamp": "<RFC 3339 UTC>",
//! "data": {...}}` with snake_case fields. Clients may omit `version` and `timestamp`; a
//! `version` whose major part is not 1 is refused.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::dto::{BarDto, FetchRequestDto};

/// Version of the message format.
pub const VERSION: &str = "1.0";

/// RFC 3339 UTC with milliseconds and `Z`.
pub fn timestamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Messages the server sends.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "message_type", content = "data", rename_all = "snake_case")]
pub enum ServerMessage {
    ConnectionEstablished(ConnectionEstablished),
    Pong(Pong),
    SubscriptionAcknowledged(SubscriptionAck),
    Error(ErrorData),
    HealthStatus(HealthStatus),
    MarketData(MarketData),
    BarUpdate(BarUpdate),
    HistoricalDataProgress(Progress),
    HistoricalDataChunk(Chunk),
    HistoricalDataComplete(Complete),
    HistoricalDataError(HistoricalError),
    HistoricalQueryCancelled(Cancelled),
    AggregationProgress(AggregationProgress),
    AggregationComplete(AggregationComplete),
    CachePerformance(CachePerformance),
}

#[derive(Serialize)]
struct Wire<'a> {
    #[serde(flatten)]
    message: &'a ServerMessage,
    version: &'static str,
    timestamp: String,
}

impl ServerMessage {
    /// The message as one text frame.
    pub fn to_text(&self) -> String {
        serde_json::to_string(&Wire {
            message: self,
            version: VERSION,
            timestamp: timestamp(),
        })
        .expect("messages serialize")
    }

    /// The `message_type` of the message.
    pub fn kind(&self) -> &'static str {
        match self {
            ServerMessage::ConnectionEstablished(_) => "connection_established",
            ServerMessage::Pong(_) => "pong",
            ServerMessage::SubscriptionAcknowledged(_) => "subscription_acknowledged",
            ServerMessage::Error(_) => "error",
            ServerMessage::HealthStatus(_) => "health_status",
            ServerMessage::MarketData(_) => "market_data",
            ServerMessage::BarUpdate(_) => "bar_update",
            ServerMessage::HistoricalDataProgress(_) => "historical_data_progress",
            ServerMessage::HistoricalDataChunk(_) => "historical_data_chunk",
            ServerMessage::HistoricalDataComplete(_) => "historical_data_complete",
            ServerMessage::HistoricalDataError(_) => "historical_data_error",
            ServerMessage::HistoricalQueryCancelled(_) => "historical_query_cancelled",
            ServerMessage::AggregationProgress(_) => "aggregation_progress",
            ServerMessage::AggregationComplete(_) => "aggregation_complete",
            ServerMessage::CachePerformance(_) => "cache_performance",
        }
    }

    /// An `error` message.
    pub fn error(code: &str, message: impl Into<String>, details: Value) -> ServerMessage {
        ServerMessage::Error(ErrorData::new(code, message, details))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ConnectionEstablished {
    pub connection_id: String,
    pub server_time: String,
    /// Message format version.
    pub version: &'static str,
    /// Seconds between `health_status` heartbeats.
    pub heartbeat_interval_secs: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Pong {
    pub server_time: String,
    /// The ping's `client_time`, echoed as sent (null when absent).
    pub client_time: Value,
    pub sequence: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SubscriptionAck {
    pub subscribed_to: Channel,
    /// `subscribed` or `unsubscribed`.
    pub status: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct ErrorData {
    /// Stable code: `malformed_json`, `invalid_message`, `unknown_message_type`,
    /// `unsupported_version`, `unknown_query`, `not_subscribed`, `too_many_queries`,
    /// `slow_consumer`, or an API error code (`unknown_symbol`, `invalid_request`, ...).
    pub error_code: String,
    pub message: String,
    pub details: Value,
}

impl ErrorData {
    pub fn new(code: &str, message: impl Into<String>, details: Value) -> ErrorData {
        ErrorData {
            error_code: code.to_string(),
            message: message.into(),
            details,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct HealthStatus {
    pub status: &'static str,
    pub server_time: String,
    pub uptime_secs: u64,
    /// Open WebSocket connections on the server.
    pub connections: usize,
    /// Historical queries running on this connection.
    pub active_queries: usize,
    /// Subscriptions of this connection.
    pub subscriptions: usize,
}

/// A stored base bar as it arrives.
#[derive(Debug, Clone, Serialize)]
pub struct MarketData {
    pub symbol: String,
    /// `1m` or `1d`.
    pub resolution: String,
    pub bar: BaseBarDto,
}

#[derive(Debug, Clone, Serialize)]
pub struct BaseBarDto {
    pub ts: String,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_interest: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vwap: Option<f64>,
}

impl From<&tradeassist_model::Bar> for BaseBarDto {
    fn from(b: &tradeassist_model::Bar) -> Self {
        BaseBarDto {
            ts: tradeassist_model::rfc3339(b.ts()),
            open: b.open(),
            high: b.high(),
            low: b.low(),
            close: b.close(),
            volume: b.volume(),
            open_interest: b.open_interest(),
            vwap: b.vwap(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BarUpdate {
    pub symbol: String,
    pub frequency: String,
    pub bar: BarDto,
    /// True for the final bar of a bucket; false while it is open.
    pub complete: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub query_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The symbol being worked on (`ALL` before the first).
    pub symbol: String,
    pub progress_percent: f64,
    /// `resolving`, `reading`, `aggregating` or `streaming` (`queued`/`finished` for jobs).
    pub current_step: String,
    /// Stored base bars read so far.
    pub bars_done: u64,
    /// Stored base bars the query reads in all.
    pub bars_expected: u64,
    /// Estimated completion instant (RFC 3339), once something was read.
    pub estimated_completion: Option<String>,
    /// `running` (`queued` for a queued job).
    pub status: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Chunk {
    pub query_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub symbol: String,
    /// 1-based, counted over the whole query.
    pub chunk_number: u64,
    /// Known on the final chunk (null before).
    pub total_chunks: Option<u64>,
    pub bars: Vec<BarDto>,
    pub is_final_chunk: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Complete {
    pub query_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The symbol, or `ALL` when the query has several.
    pub symbol: String,
    pub bars_retrieved: u64,
    /// Bars per symbol (in request order).
    pub symbols: Vec<SymbolCount>,
    pub total_chunks: u64,
    pub execution_time_ms: u64,
    pub cache_hit: bool,
    /// Hex SHA-256 of exactly the bytes `export?format=ndjson` returns for the query.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    /// Jobs: where the finished result is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_url: Option<String>,
    pub status: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct SymbolCount {
    pub symbol: String,
    pub bars: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoricalError {
    pub query_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub symbol: String,
    pub error_message: String,
    /// The API error code (`unknown_symbol`, `invalid_request`, `internal`, ...).
    pub error_type: String,
    pub details: Value,
    pub status: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cancelled {
    pub query_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Bars sent in chunks before the cancel.
    pub bars_sent: u64,
    pub status: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct AggregationProgress {
    pub query_id: String,
    pub symbol: String,
    /// Milliseconds the current derivation has run.
    pub elapsed_ms: u64,
    pub status: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct AggregationComplete {
    pub query_id: String,
    pub symbol: String,
    pub base_bars: u64,
    pub bars: u64,
    pub execution_time_ms: u64,
    pub status: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct CachePerformance {
    /// Share of cached requests answered without computing, 0 to 1.
    pub cache_hit_rate: f64,
    pub total_requests: u64,
    pub hits: u64,
    pub misses: u64,
    pub redis_available: bool,
    /// `enabled` or `disabled`.
    pub status: &'static str,
}

/// A subscription channel and its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    /// `market_data`, `bars`, `job` or `cache_performance`.
    pub channel: ChannelKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    MarketData,
    Bars,
    Job,
    CachePerformance,
}

/// Messages a client sends.
#[derive(Debug, Clone)]
pub enum ClientMessage {
    Ping(Ping),
    Subscribe(Channel),
    Unsubscribe(Channel),
    HistoricalQuery(Box<HistoricalQuery>),
    HistoricalQueryCancel(CancelQuery),
    /// Ask for one `cache_performance` message now.
    CachePerformance,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ping {
    #[serde(default)]
    pub client_time: Value,
    #[serde(default)]
    pub sequence: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoricalQuery {
    /// The client's name for the query, echoed in every answer.
    #[serde(default)]
    pub request_id: Option<String>,
    /// The fetch document.
    pub query: FetchRequestDto,
    /// Most bars per chunk (1 to 50 000, default 5 000).
    #[serde(default)]
    pub chunk_size: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelQuery {
    pub query_id: String,
}

#[derive(Deserialize)]
struct RawEnvelope {
    message_type: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    timestamp: Option<String>,
    #[serde(default)]
    data: Option<Value>,
}

/// Longest text frame a client may send.
pub const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

/// Parse one client frame; the error is the data of the `error` message to answer with.
pub fn parse(text: &str) -> Result<ClientMessage, ErrorData> {
    let raw: RawEnvelope = serde_json::from_str(text).map_err(|e| {
        let code = if e.is_data() {
            "invalid_message"
        } else {
            "malformed_json"
        };
        ErrorData::new(
            code,
            format!("the message is not a valid envelope: {e}"),
            Value::Null,
        )
    })?;
    if let Some(v) = &raw.version
        && v.split('.').next() != Some("1")
    {
        return Err(ErrorData::new(
            "unsupported_version",
            format!("message format version {v} is not supported; this server speaks {VERSION}"),
            serde_json::json!({ "supported": VERSION }),
        ));
    }
    let data = raw.data.unwrap_or(Value::Object(Default::default()));
    let t = raw.message_type.as_str();
    match t {
        "ping" => Ok(ClientMessage::Ping(fields(t, data)?)),
        "subscribe" => Ok(ClientMessage::Subscribe(fields(t, data)?)),
        "unsubscribe" => Ok(ClientMessage::Unsubscribe(fields(t, data)?)),
        "historical_query" => Ok(ClientMessage::HistoricalQuery(Box::new(fields(t, data)?))),
        "historical_query_cancel" => Ok(ClientMessage::HistoricalQueryCancel(fields(t, data)?)),
        "cache_performance" => Ok(ClientMessage::CachePerformance),
        other => Err(ErrorData::new(
            "unknown_message_type",
            format!(
                "unknown message_type `{other}`: ping, subscribe, unsubscribe, historical_query, historical_query_cancel or cache_performance"
            ),
            serde_json::json!({ "message_type": other }),
        )),
    }
}

fn fields<T: serde::de::DeserializeOwned>(message_type: &str, data: Value) -> Result<T, ErrorData> {
    serde_path_to_error::deserialize(data).map_err(|e| {
        let field = e.path().to_string();
        ErrorData::new(
            "invalid_message",
            format!("{message_type}: data.{field}: {}", e.into_inner()),
            serde_json::json!({ "field": field, "message_type": message_type }),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_carry_type_version_timestamp_and_data() {
        let text = ServerMessage::Pong(Pong {
            server_time: "2026-01-01T00:00:00.000Z".into(),
            client_time: Value::from(5),
            sequence: Some(7),
        })
        .to_text();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["message_type"], "pong");
        assert_eq!(v["version"], "1.0");
        assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));
        assert_eq!(v["data"]["sequence"], 7);
        assert_eq!(v["data"]["client_time"], 5);
        let error = ServerMessage::error("x", "y", Value::Null);
        let v: Value = serde_json::from_str(&error.to_text()).unwrap();
        assert_eq!(v["message_type"], error.kind());
    }

    #[test]
    fn client_frames_parse_or_name_the_problem() {
        let code = |text: &str| match parse(text) {
            Err(e) => e.error_code,
            Ok(m) => format!("ok {m:?}"),
        };
        assert!(code(r#"{"message_type":"ping","data":{"sequence":1}}"#).starts_with("ok"));
        assert!(code(r#"{"message_type":"ping"}"#).starts_with("ok"));
        assert_eq!(code("{nope"), "malformed_json");
        assert_eq!(code("[1,2]"), "invalid_message");
        assert_eq!(code(r#"{"message_type":"dance"}"#), "unknown_message_type");
        assert_eq!(
            code(r#"{"message_type":"ping","version":"2.0"}"#),
            "unsupported_version"
        );
        assert_eq!(
            code(r#"{"message_type":"subscribe","data":{"channel":"weather"}}"#),
            "invalid_message"
        );
        assert_eq!(
            code(r#"{"message_type":"ping","data":{"sequence":-1}}"#),
            "invalid_message"
        );
        assert!(
            code(r#"{"message_type":"subscribe","data":{"channel":"bars","symbol":"SPY","frequency":"5m"}}"#)
                .starts_with("ok")
        );
    }
}
