//! `GET /ws`: the WebSocket protocol (docs/websocket.md). One connection carries pings,
//! subscriptions (live base bars, live derived bars, job progress, cache performance),
//! historical queries streamed in chunks, and periodic `health_status` heartbeats.
//!
//! Every message to the client goes through one bounded queue per connection, written by one
//! writer task, so messages keep their order. A consumer that falls behind (its queue stays
//! full, or one frame cannot be written, for `slow_consumer_ms`) gets an `error` with
//! `error_code: "slow_consumer"` and is closed; its work is dropped and nobody else waits.

mod historical;
pub mod messages;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::extract::ws::{
    CloseFrame, Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection,
};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tradeassist_service::Service;

use crate::api::audit::Client;
use crate::api::dto::BarDto;
use crate::api::{ApiError, AppState};
use crate::jobs::{JobState, Jobs, cancelled};
use messages::{
    BarUpdate, CachePerformance, Cancelled, Channel, ChannelKind, ClientMessage, Complete,
    ConnectionEstablished, HealthStatus, HistoricalError, MarketData, Pong, Progress,
    ServerMessage, SubscriptionAck,
};

/// Settings of the WebSocket endpoint (`[ws]`).
#[derive(Debug, Clone)]
pub struct WsSettings {
    /// Open connections at most; more are refused with 503.
    pub max_connections: usize,
    /// Origins allowed besides the server's own (`*` allows any). A handshake whose `Origin`
    /// is neither is refused with 403; clients that send no Origin (not browsers) pass.
    pub allowed_origins: Vec<String>,
    /// Messages queued per connection.
    pub queue_messages: usize,
    /// How long the queue may stay full (or one frame unwritten) before the client is dropped.
    pub slow_consumer: Duration,
    /// Seconds between `health_status` heartbeats.
    pub heartbeat: Duration,
    /// Historical queries one connection may run at once.
    pub max_queries: usize,
    /// Seconds between `cache_performance` messages of a subscription.
    pub cache_performance_every: Duration,
}

impl Default for WsSettings {
    fn default() -> Self {
        WsSettings {
            max_connections: 256,
            allowed_origins: Vec::new(),
            queue_messages: 64,
            slow_consumer: Duration::from_secs(10),
            heartbeat: Duration::from_secs(30),
            max_queries: 4,
            cache_performance_every: Duration::from_secs(10),
        }
    }
}

/// Connections of one server.
pub struct WsHub {
    settings: WsSettings,
    connections: AtomicUsize,
    next: AtomicU64,
    started: Instant,
}

impl WsHub {
    pub fn new(settings: WsSettings) -> WsHub {
        WsHub {
            settings,
            connections: AtomicUsize::new(0),
            next: AtomicU64::new(1),
            started: Instant::now(),
        }
    }
}

/// Same origin: the Origin's authority equals the Host header.
fn origin_allowed(settings: &WsSettings, headers: &HeaderMap) -> Result<(), String> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin
        .to_str()
        .map_err(|_| "unreadable Origin".to_string())?;
    if settings
        .allowed_origins
        .iter()
        .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
    {
        return Ok(());
    }
    let authority = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    if host.is_some_and(|h| h.eq_ignore_ascii_case(authority)) {
        return Ok(());
    }
    Err(format!("origin {origin} is not allowed"))
}

/// The WebSocket handshake: checks the origin and the connection limit, then upgrades.
pub async fn handler(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(u) => u,
        Err(r) => {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "websocket_required",
                format!("/ws speaks WebSocket only: {}", r.body_text()),
            )
            .into_response();
        }
    };
    let hub = state.ws.clone();
    if let Err(message) = origin_allowed(&hub.settings, &headers) {
        return ApiError::new(StatusCode::FORBIDDEN, "forbidden_origin", message).into_response();
    }
    let count = hub.connections.fetch_add(1, Ordering::AcqRel);
    if count >= hub.settings.max_connections {
        hub.connections.fetch_sub(1, Ordering::AcqRel);
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_connections",
            format!(
                "the server holds its limit of {} WebSocket connections",
                hub.settings.max_connections
            ),
        )
        .into_response();
    }
    let owner = crate::api::jobs::owner(&client);
    upgrade
        .max_message_size(messages::MAX_CLIENT_MESSAGE)
        .max_frame_size(messages::MAX_CLIENT_MESSAGE)
        .on_failed_upgrade({
            let hub = hub.clone();
            move |_| {
                hub.connections.fetch_sub(1, Ordering::AcqRel);
            }
        })
        .on_upgrade(move |socket| async move {
            let conn = Connection::new(state.service, state.jobs, hub.clone(), owner);
            metrics::gauge!(crate::api::metrics::WS_CONNECTIONS).increment(1.0);
            conn.run(socket).await;
            metrics::gauge!(crate::api::metrics::WS_CONNECTIONS).decrement(1.0);
            hub.connections.fetch_sub(1, Ordering::AcqRel);
        })
}

/// The sending side of a connection: every message goes through here.
#[derive(Clone)]
pub(crate) struct Outbox {
    tx: mpsc::Sender<String>,
    slow: Arc<watch::Sender<bool>>,
    slow_after: Duration,
}

impl Outbox {
    /// Queue `msg`; false when the connection is closing (then stop working for it).
    pub(crate) async fn send(&self, msg: ServerMessage) -> bool {
        if *self.slow.borrow() {
            return false;
        }
        let kind = msg.kind();
        match self.tx.send_timeout(msg.to_text(), self.slow_after).await {
            Ok(()) => {
                metrics::counter!(crate::api::metrics::WS_MESSAGES, "message_type" => kind)
                    .increment(1);
                true
            }
            Err(mpsc::error::SendTimeoutError::Timeout(_)) => {
                self.slow.send_replace(true);
                false
            }
            Err(mpsc::error::SendTimeoutError::Closed(_)) => false,
        }
    }
}

type Tasks<K> = Arc<Mutex<HashMap<K, JoinHandle<()>>>>;

/// A running historical query: its cancel switch and task.
pub(crate) struct Running {
    cancel: watch::Sender<bool>,
    task: JoinHandle<()>,
}

struct Connection {
    id: String,
    service: Service,
    jobs: Jobs,
    hub: Arc<WsHub>,
    owner: String,
    subscriptions: Tasks<Channel>,
    queries: Arc<Mutex<HashMap<String, Running>>>,
    next_query: AtomicU64,
}

impl Connection {
    fn new(service: Service, jobs: Jobs, hub: Arc<WsHub>, owner: String) -> Connection {
        let n = hub.next.fetch_add(1, Ordering::Relaxed);
        Connection {
            id: format!("ws-{n}"),
            service,
            jobs,
            hub,
            owner,
            subscriptions: Arc::default(),
            queries: Arc::default(),
            next_query: AtomicU64::new(1),
        }
    }

    async fn run(self, socket: WebSocket) {
        let settings = self.hub.settings.clone();
        let (mut sink, mut stream) = socket.split();
        let (tx, mut rx) = mpsc::channel::<String>(settings.queue_messages.max(1));
        let slow = Arc::new(watch::Sender::new(false));
        let out = Outbox {
            tx,
            slow: slow.clone(),
            slow_after: settings.slow_consumer,
        };
        let mut slow_rx = slow.subscribe();
        let slow_after = settings.slow_consumer;
        let conn_id = self.id.clone();
        let writer = tokio::spawn(async move {
            loop {
                tokio::select! {
                    biased;
                    _ = cancelled(&mut slow_rx) => {
                        tracing::warn!(connection = %conn_id, "WebSocket consumer too slow: closing");
                        metrics::counter!(crate::api::metrics::WS_SLOW).increment(1);
                        let msg = ServerMessage::error(
                            "slow_consumer",
                            "the connection fell behind the messages sent to it and is closed",
                            serde_json::json!({ "queue_messages": settings.queue_messages, "slow_consumer_ms": slow_after.as_millis() as u64 }),
                        );
                        let bye = async {
                            sink.send(Message::Text(msg.to_text().into())).await?;
                            sink.send(Message::Close(Some(CloseFrame { code: 1008, reason: "slow consumer".into() }))).await
                        };
                        let _ = tokio::time::timeout(Duration::from_secs(5), bye).await;
                        break;
                    }
                    msg = rx.recv() => {
                        let Some(text) = msg else { break };
                        match tokio::time::timeout(slow_after, sink.send(Message::Text(text.into()))).await {
                            Ok(Ok(())) => {}
                            Ok(Err(_)) => break,
                            Err(_) => { slow.send_replace(true); }
                        }
                    }
                }
            }
        });
        let welcome = ServerMessage::ConnectionEstablished(ConnectionEstablished {
            connection_id: self.id.clone(),
            server_time: messages::timestamp(),
            version: messages::VERSION,
            heartbeat_interval_secs: settings.heartbeat.as_secs(),
        });
        out.send(welcome).await;
        let mut heartbeat = tokio::time::interval_at(
            tokio::time::Instant::now() + settings.heartbeat,
            settings.heartbeat,
        );
        let mut closing = out.slow.subscribe();
        loop {
            tokio::select! {
                frame = stream.next() => match frame {
                    Some(Ok(Message::Text(text))) => self.handle(&out, text.as_str()).await,
                    Some(Ok(Message::Binary(_))) => {
                        out.send(ServerMessage::error("invalid_message", "messages are JSON text frames", serde_json::Value::Null)).await;
                    }
                    Some(Ok(Message::Close(_))) | None => break,
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        tracing::debug!(connection = %self.id, error = %e, "WebSocket read failed");
                        break;
                    }
                },
                _ = heartbeat.tick() => {
                    out.send(self.health()).await;
                }
                _ = cancelled(&mut closing) => break,
            }
            if writer.is_finished() {
                break;
            }
        }
        for (_, q) in self.queries.lock().expect("queries").drain() {
            q.task.abort();
        }
        for (_, task) in self.subscriptions.lock().expect("subscriptions").drain() {
            task.abort();
        }
        drop(out);
        let _ = tokio::time::timeout(Duration::from_secs(6), writer).await;
    }

    fn health(&self) -> ServerMessage {
        ServerMessage::HealthStatus(HealthStatus {
            status: "ok",
            server_time: messages::timestamp(),
            uptime_secs: self.hub.started.elapsed().as_secs(),
            connections: self.hub.connections.load(Ordering::Relaxed),
            active_queries: self.queries.lock().expect("queries").len(),
            subscriptions: self.subscriptions.lock().expect("subscriptions").len(),
        })
    }

    async fn handle(&self, out: &Outbox, text: &str) {
        let msg = match messages::parse(text) {
            Ok(m) => m,
            Err(error) => {
                out.send(ServerMessage::Error(error)).await;
                return;
            }
        };
        match msg {
            ClientMessage::Ping(p) => {
                out.send(ServerMessage::Pong(Pong {
                    server_time: messages::timestamp(),
                    client_time: p.client_time,
                    sequence: p.sequence,
                }))
                .await;
            }
            ClientMessage::Subscribe(channel) => self.subscribe(out, channel).await,
            ClientMessage::Unsubscribe(channel) => {
                let task = self
                    .subscriptions
                    .lock()
                    .expect("subscriptions")
                    .remove(&channel);
                match task {
                    Some(task) => {
                        task.abort();
                        out.send(ServerMessage::SubscriptionAcknowledged(SubscriptionAck {
                            subscribed_to: channel,
                            status: "unsubscribed",
                        }))
                        .await;
                    }
                    None => {
                        out.send(ServerMessage::error(
                            "not_subscribed",
                            "no such subscription on this connection",
                            serde_json::to_value(&channel).unwrap_or_default(),
                        ))
                        .await;
                    }
                }
            }
            ClientMessage::HistoricalQuery(q) => self.start_query(out, *q).await,
            ClientMessage::HistoricalQueryCancel(c) => {
                let running = self.queries.lock().expect("queries").remove(&c.query_id);
                match running {
                    // The query's task answers `historical_query_cancelled` itself, after its
                    // last chunk, so no chunk follows the answer.
                    Some(r) if !r.task.is_finished() => {
                        r.cancel.send_replace(true);
                    }
                    _ => {
                        out.send(ServerMessage::error(
                            "unknown_query",
                            format!("no running query {}", c.query_id),
                            serde_json::json!({ "query_id": c.query_id }),
                        ))
                        .await;
                    }
                }
            }
            ClientMessage::CachePerformance => {
                out.send(cache_performance(&self.service).await).await;
            }
        }
    }

    async fn start_query(&self, out: &Outbox, q: messages::HistoricalQuery) {
        let request_id = q.request_id.clone();
        let refuse = |code: &str, message: String| {
            ServerMessage::HistoricalDataError(HistoricalError {
                query_id: None,
                request_id: request_id.clone(),
                symbol: "ALL".into(),
                error_message: message,
                error_type: code.to_string(),
                details: serde_json::Value::Null,
                status: "error",
            })
        };
        let chunk_size = q.chunk_size.unwrap_or(historical::DEFAULT_CHUNK);
        if !(1..=historical::MAX_CHUNK).contains(&chunk_size) {
            out.send(refuse(
                "invalid_message",
                format!("chunk_size must be 1 to {}", historical::MAX_CHUNK),
            ))
            .await;
            return;
        }
        let full = {
            let mut queries = self.queries.lock().expect("queries");
            queries.retain(|_, r| !r.task.is_finished());
            queries.len() >= self.hub.settings.max_queries
        };
        if full {
            out.send(refuse(
                "too_many_queries",
                format!(
                    "{} queries are running on this connection; wait for one or cancel it",
                    self.hub.settings.max_queries
                ),
            ))
            .await;
            return;
        }
        let n = self.next_query.fetch_add(1, Ordering::Relaxed);
        let query_id = format!("{}-q{n}", self.id);
        let (cancel, cancel_rx) = watch::channel(false);
        let task = tokio::spawn(historical::run(
            self.service.clone(),
            out.clone(),
            historical::Request {
                query_id: query_id.clone(),
                request_id: q.request_id,
                query: q.query,
                chunk_size,
            },
            cancel_rx,
        ));
        self.queries
            .lock()
            .expect("queries")
            .insert(query_id, Running { cancel, task });
    }

    async fn subscribe(&self, out: &Outbox, channel: Channel) {
        let invalid = |message: &str| {
            ServerMessage::error(
                "invalid_message",
                message,
                serde_json::to_value(&channel).unwrap_or_default(),
            )
        };
        if self
            .subscriptions
            .lock()
            .expect("subscriptions")
            .get(&channel)
            .is_some_and(|t| !t.is_finished())
        {
            out.send(ServerMessage::SubscriptionAcknowledged(SubscriptionAck {
                subscribed_to: channel,
                status: "subscribed",
            }))
            .await;
            return;
        }
        let work: futures::future::BoxFuture<'static, ()> = match channel.channel {
            ChannelKind::MarketData => {
                let Some(symbol) = &channel.symbol else {
                    out.send(invalid("channel market_data needs a symbol"))
                        .await;
                    return;
                };
                match self.service.subscribe_base(symbol).await {
                    Ok(mut sub) => {
                        let out = out.clone();
                        Box::pin(async move {
                            while let Some(b) = sub.updates.recv().await {
                                let msg = ServerMessage::MarketData(MarketData {
                                    symbol: b.symbol,
                                    resolution: b.resolution.to_string(),
                                    bar: (&b.bar).into(),
                                });
                                if !out.send(msg).await {
                                    break;
                                }
                            }
                        })
                    }
                    Err(e) => {
                        out.send(service_error(e)).await;
                        return;
                    }
                }
            }
            ChannelKind::Bars => {
                let (Some(symbol), Some(frequency)) = (&channel.symbol, &channel.frequency) else {
                    out.send(invalid("channel bars needs a symbol and a frequency"))
                        .await;
                    return;
                };
                let tf: tradeassist_model::Timeframe = match frequency.parse() {
                    Ok(tf) => tf,
                    Err(e) => {
                        out.send(invalid(&format!("frequency: {e}"))).await;
                        return;
                    }
                };
                match self.service.subscribe_bars(symbol, tf).await {
                    Ok(mut sub) => {
                        let out = out.clone();
                        let frequency = tf.to_string();
                        Box::pin(async move {
                            while let Some(u) = sub.updates.recv().await {
                                let complete =
                                    u.update.kind == tradeassist_engine::UpdateKind::Final;
                                let msg = ServerMessage::BarUpdate(BarUpdate {
                                    symbol: u.symbol,
                                    frequency: frequency.clone(),
                                    bar: BarDto::from(&u.update.bar),
                                    complete,
                                });
                                if !out.send(msg).await {
                                    break;
                                }
                            }
                        })
                    }
                    Err(e) => {
                        out.send(service_error(e)).await;
                        return;
                    }
                }
            }
            ChannelKind::Job => {
                let Some(id) = &channel.job_id else {
                    out.send(invalid("channel job needs a job_id")).await;
                    return;
                };
                match self.jobs.watch(&self.owner, id) {
                    Ok(rx) => Box::pin(follow_job(out.clone(), rx)),
                    Err(_) => {
                        out.send(ServerMessage::error(
                            "not_found",
                            format!("no job {id} for this client"),
                            serde_json::json!({ "job_id": id }),
                        ))
                        .await;
                        return;
                    }
                }
            }
            ChannelKind::CachePerformance => {
                let out = out.clone();
                let service = self.service.clone();
                let every = self.hub.settings.cache_performance_every;
                Box::pin(async move {
                    let mut tick = tokio::time::interval(every);
                    loop {
                        tick.tick().await;
                        if !out.send(cache_performance(&service).await).await {
                            break;
                        }
                    }
                })
            }
        };
        // The ack is queued before the subscription's first message (the queue keeps order);
        // updates arriving meanwhile wait in the subscription.
        out.send(ServerMessage::SubscriptionAcknowledged(SubscriptionAck {
            subscribed_to: channel.clone(),
            status: "subscribed",
        }))
        .await;
        self.subscriptions
            .lock()
            .expect("subscriptions")
            .insert(channel, tokio::spawn(work));
    }
}

/// The `error` answering a refused service call (the API's code and message).
fn service_error(e: tradeassist_service::ServiceError) -> ServerMessage {
    let api = ApiError::from(e);
    ServerMessage::error(api.code, api.message, api.details)
}

async fn cache_performance(service: &Service) -> ServerMessage {
    let stats = service.cache_stats();
    let s = stats.unwrap_or_default();
    ServerMessage::CachePerformance(CachePerformance {
        cache_hit_rate: s.hit_rate(),
        total_requests: s.requests(),
        hits: s.requests() - s.misses,
        misses: s.misses,
        redis_available: service.redis_available().await,
        status: if stats.is_some() {
            "enabled"
        } else {
            "disabled"
        },
    })
}

/// Forward a job's status changes until it finishes.
async fn follow_job(out: Outbox, mut rx: watch::Receiver<crate::jobs::JobStatus>) {
    loop {
        let s = rx.borrow_and_update().clone();
        let progress = ServerMessage::HistoricalDataProgress(Progress {
            query_id: s.id.clone(),
            request_id: None,
            symbol: s.symbol.clone().unwrap_or_else(|| "ALL".into()),
            progress_percent: s.percent,
            current_step: s.stage.as_str().to_string(),
            bars_done: s.bars_done,
            bars_expected: s.bars_expected,
            estimated_completion: historical::eta(s.elapsed_ms, s.bars_done, s.bars_expected),
            status: s.state.as_str().to_string(),
        });
        if !out.send(progress).await {
            return;
        }
        if s.state.finished() {
            let last = match s.state {
                JobState::Done => ServerMessage::HistoricalDataComplete(Complete {
                    query_id: s.id.clone(),
                    request_id: None,
                    symbol: s.symbol.clone().unwrap_or_else(|| "ALL".into()),
                    bars_retrieved: s.bars_written,
                    symbols: Vec::new(),
                    total_chunks: 0,
                    execution_time_ms: s.elapsed_ms,
                    cache_hit: false,
                    checksum: None,
                    result_url: s.result_url.clone(),
                    status: "completed",
                }),
                JobState::Cancelled => ServerMessage::HistoricalQueryCancelled(Cancelled {
                    query_id: s.id.clone(),
                    request_id: None,
                    bars_sent: 0,
                    status: "cancelled",
                }),
                _ => ServerMessage::HistoricalDataError(HistoricalError {
                    query_id: Some(s.id.clone()),
                    request_id: None,
                    symbol: "ALL".into(),
                    error_message: s
                        .error
                        .as_ref()
                        .map(|e| e.message.clone())
                        .unwrap_or_default(),
                    error_type: s.error.as_ref().map(|e| e.code.clone()).unwrap_or_default(),
                    details: serde_json::Value::Null,
                    status: "error",
                }),
            };
            out.send(last).await;
            return;
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}
