//! PostgreSQL backend for production: pooled connections (deadpool), one schema per store,
//! monthly range partitions of `bars`, binary `COPY` ingest.
//!
//! An ingest runs in one transaction: instruments are upserted, bars are streamed with binary
//! `COPY` into a temporary staging table and merged with `INSERT ... SELECT ... ON CONFLICT DO
//! UPDATE`. Either the whole batch lands or nothing does. The monthly partitions a batch needs
//! are created just before that transaction (empty partitions are schema, not data).
//!
//! ```no_run
//! # async fn demo() -> Result<(), tradeassist_store::StoreError> {
//! use tradeassist_store::{postgres::PostgresStore, Store};
//! let store = PostgresStore::connect("postgres://postgres@127.0.0.1:5432/test", "tradeassist").await?;
//! println!("schema version {}", store.schema_version().await?);
//! println!("{} data sources", store.data_sources().await?.len());
//! # Ok(()) }
//! ```

mod adjustments;
mod rows;
mod schema;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use async_trait::async_trait;
use chrono::{Datelike, NaiveDate};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use futures::{SinkExt, pin_mut};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tradeassist_model::{
    ApiToken, Bar, DataSource, Instrument, NewSavedQuery, Resolution, Role, SavedQuery, TimeRange,
};

use crate::archive::{self, ArchiveReport};
use crate::pool::{self, PoolOptions};
use crate::{
    BarQuery, ChangeKind, IngestBatch, IngestStats, InstrumentFilter, Maintenance, NewestBar,
    OpenInterestReading, Result, RollupBacklog, RollupKey, RollupSet, RollupWrite, SchemaStatus,
    SeriesInfo, Store, StoreError, TOKEN_COLUMNS, api_token,
};
use rows::{
    BAR_COLUMNS, INSTRUMENT_COLUMNS, ROLLUP_COLUMNS, SAVED_QUERY_COLUMNS, bar_from_row,
    data_source_from_row, instrument_from_row, rollup_from_row, saved_query_from_row,
};

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        StoreError::Postgres(e)
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            other => StoreError::Pool(other),
        }
    }
}

/// The plan PostgreSQL chooses for one of the hot read queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryPlan {
    /// `range`, `last_n` or `bar_before`.
    pub name: &'static str,
    /// `EXPLAIN (COSTS OFF)` text output, one plan node per line.
    pub plan: String,
}

/// The PostgreSQL store; cheap to clone (the pool is shared).
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    schema: String,
}

/// Read a range ascending (`$1` instrument, `$2` resolution, `$3..$4` half-open range, `$5` limit).
fn range_sql(descending: bool) -> String {
    let order = if descending { "DESC" } else { "ASC" };
    format!(
        "SELECT {BAR_COLUMNS} FROM bars
         WHERE instrument_id = $1 AND resolution = $2 AND ts >= $3 AND ts < $4
         ORDER BY ts {order} LIMIT $5"
    )
}

fn bar_before_sql() -> String {
    format!(
        "SELECT {BAR_COLUMNS} FROM bars
         WHERE instrument_id = $1 AND resolution = $2 AND ts < $3
         ORDER BY ts DESC LIMIT 1"
    )
}

/// A schema name we can put in a connection option and a statement without quoting games.
fn check_schema_name(schema: &str) -> Result<()> {
    let ok = !schema.is_empty()
        && schema.len() <= 63
        && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::Backend(format!(
            "schema name `{schema}` must match [a-z_][a-z0-9_]{{0,62}}"
        )))
    }
}

/// A calendar month `(year, month)` of UTC time; the unit of `bars` partitioning.
type Month = (i32, u32);

fn month_of(ts: i64) -> Result<Month> {
    let dt = chrono::DateTime::from_timestamp(ts, 0)
        .filter(|d| (0..=9999).contains(&d.year()))
        .ok_or_else(|| StoreError::Backend(format!("timestamp {ts} is outside years 0..=9999")))?;
    Ok((dt.year(), dt.month()))
}

fn next_month((y, m): Month) -> Month {
    if m == 12 { (y + 1, 1) } else { (y, m + 1) }
}

fn month_start((y, m): Month) -> i64 {
    NaiveDate::from_ymd_opt(y, m, 1)
        .expect("valid month")
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp()
}

fn partition_name((y, m): Month) -> String {
    format!("bars_p{y:04}{m:02}")
}

/// Inverse of [`partition_name`]; `None` for tables that are not ours.
fn partition_month(name: &str) -> Option<Month> {
    let digits = name.strip_prefix("bars_p")?;
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y = digits[..4].parse().ok()?;
    let m = digits[4..].parse().ok()?;
    (1..=12).contains(&m).then_some((y, m))
}

/// Months covered by `[first, last]`, both ends included.
fn months_between(first: i64, last: i64, out: &mut BTreeSet<Month>) -> Result<()> {
    let (mut month, end) = (month_of(first)?, month_of(last)?);
    while month <= end {
        out.insert(month);
        month = next_month(month);
    }
    Ok(())
}

/// One staged bar row: `(instrument_id, resolution, bar)`.
type StagedBar<'a> = (i64, i32, &'a Bar);

/// The bars of a batch in write order, with later duplicates of a key replacing earlier ones
/// (what row-by-row upserts would do). Dedup only runs when a series is not strictly ascending
/// or a series appears twice, so the common case streams without a copy.
fn staged_bars<'a>(batch: &'a IngestBatch, ids: &HashMap<&str, i64>) -> Vec<StagedBar<'a>> {
    let mut seen = BTreeSet::new();
    let clean = batch.series.iter().all(|s| {
        seen.insert((s.symbol.as_str(), s.resolution))
            && s.bars.windows(2).all(|w| w[0].ts() < w[1].ts())
    });
    let rows = batch.series.iter().flat_map(|s| {
        let id = ids[s.symbol.as_str()];
        let res = s.resolution.seconds() as i32;
        s.bars.iter().map(move |b| (id, res, b))
    });
    if clean {
        return rows.collect();
    }
    let mut last: BTreeMap<(i64, i32, i64), &Bar> = BTreeMap::new();
    for (id, res, b) in rows {
        last.insert((id, res, b.ts()), b);
    }
    last.into_iter()
        .map(|((id, res, _), b)| (id, res, b))
        .collect()
}

/// TLS of the PostgreSQL connections. Connections are encrypted when the connection string
/// says `sslmode=prefer` or `sslmode=require` (plain without an `sslmode`, unless `ca_file` is
/// set, which implies `require`). With `ca_file` the server's certificate must chain to that
/// PEM file and name the host (libpq's `verify-full`); without it any certificate is accepted
/// (libpq's `require`: encrypted, the server not authenticated).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsOptions {
    pub ca_file: Option<PathBuf>,
}

impl TlsOptions {
    fn connector(&self) -> Result<postgres_native_tls::MakeTlsConnector> {
        let mut builder = native_tls::TlsConnector::builder();
        match &self.ca_file {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|source| StoreError::Io {
                    context: format!("cannot read the CA file {}", path.display()),
                    source,
                })?;
                let cert = native_tls::Certificate::from_pem(&pem)
                    .map_err(|e| StoreError::Backend(format!("CA file {}: {e}", path.display())))?;
                // Only this CA, as libpq's `sslrootcert`: not the system's trust store too.
                builder
                    .add_root_certificate(cert)
                    .disable_built_in_roots(true);
            }
            None => {
                builder
                    .danger_accept_invalid_certs(true)
                    .danger_accept_invalid_hostnames(true);
            }
        }
        let connector = builder
            .build()
            .map_err(|e| StoreError::Backend(format!("TLS set-up: {e}")))?;
        Ok(postgres_native_tls::MakeTlsConnector::new(connector))
    }
}

impl PostgresStore {
    /// Connect to `url`, create `schema` when missing, point every pooled connection's
    /// `search_path` at it and run pending migrations, with the default pool bound.
    pub async fn connect(url: &str, schema: &str) -> Result<Self> {
        Self::connect_with(url, schema, PoolOptions::default()).await
    }

    /// [`PostgresStore::connect`] with at most `pool.max_connections` connections; calls
    /// beyond it wait for a free connection.
    pub async fn connect_with(url: &str, schema: &str, pool: PoolOptions) -> Result<Self> {
        Self::connect_tls(url, schema, pool, &TlsOptions::default()).await
    }

    /// [`PostgresStore::connect_with`] with TLS as `tls` says (see [`TlsOptions`]).
    pub async fn connect_tls(
        url: &str,
        schema: &str,
        pool: PoolOptions,
        tls: &TlsOptions,
    ) -> Result<Self> {
        check_schema_name(schema)?;
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Backend(format!("bad PostgreSQL URL: {e}")))?;
        // tokio-postgres would try TLS first when the string names no `sslmode`; we encrypt
        // when asked to (an `sslmode`, or a CA file), and a local server stays plain and fast.
        if !url.contains("sslmode") {
            config.ssl_mode(if tls.ca_file.is_some() {
                tokio_postgres::config::SslMode::Require
            } else {
                tokio_postgres::config::SslMode::Disable
            });
        }
        let connector = tls.connector()?;
        // Sent in the startup packet, so every connection the pool opens uses the schema.
        let options = match config.get_options() {
            Some(o) if !o.is_empty() => format!("{o} -c search_path={schema}"),
            _ => format!("-c search_path={schema}"),
        };
        config.options(&options);
        if config.get_application_name().is_none() {
            config.application_name("tradeassist");
        }
        let manager = Manager::from_config(
            config,
            connector,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool.max_connections.max(1))
            .build()
            .map_err(|e| StoreError::Backend(format!("connection pool: {e}")))?;
        let store = PostgresStore {
            pool,
            schema: schema.to_string(),
        };
        let mut client = store.client().await?;
        client
            .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .await
            .or_else(|e| {
                // Two processes creating the schema at once: the loser sees a duplicate.
                if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
                    Ok(())
                } else {
                    Err(e)
                }
            })?;
        schema::migrate(&mut client).await?;
        Ok(store)
    }

    /// The schema this store lives in.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// Whether this store's connections to the server are encrypted (TLS).
    pub async fn connection_encrypted(&self) -> Result<bool> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)",
                &[],
            )
            .await?;
        Ok(row.get(0))
    }

    async fn client(&self) -> Result<Object> {
        let status = self.pool.status();
        let queued = (status.available == 0 && status.size >= status.max_size).then(Instant::now);
        let client = self.pool.get().await?;
        if let Some(t) = queued {
            pool::waited("postgres", t.elapsed());
        }
        let status = self.pool.status();
        pool::report(
            "postgres",
            status.max_size,
            status.available,
            status.size.saturating_sub(status.available),
        );
        Ok(client)
    }

    /// Connections open now (idle or busy); never more than the pool bound.
    pub fn connections(&self) -> usize {
        self.pool.status().size
    }

    /// Schema version currently applied.
    pub async fn schema_version(&self) -> Result<i64> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT CASE WHEN to_regclass('schema_version') IS NULL THEN 0
                        ELSE (SELECT COALESCE(MAX(version), 0) FROM schema_version) END",
                &[],
            )
            .await;
        match row {
            Ok(r) => Ok(r.get(0)),
            // `schema_version` does not exist yet: the subquery fails to plan.
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    /// Roll the schema back to `target` (0 = empty schema). Data in dropped tables is lost.
    pub async fn migrate_down(&self, target: i64) -> Result<()> {
        let mut client = self.client().await?;
        schema::migrate_down(&mut client, target).await?;
        Ok(())
    }

    /// Re-apply pending migrations.
    pub async fn migrate_up(&self) -> Result<()> {
        let mut client = self.client().await?;
        schema::migrate(&mut client).await?;
        Ok(())
    }

    /// Create the monthly partitions of `bars` covering `months` (idempotent, race-safe).
    async fn ensure_partitions(&self, client: &mut Object, months: &BTreeSet<Month>) -> Result<()> {
        if months.is_empty() {
            return Ok(());
        }
        let existing: BTreeSet<String> = bar_partitions(&***client).await?.into_iter().collect();
        let missing: Vec<Month> = months
            .iter()
            .copied()
            .filter(|m| !existing.contains(&partition_name(*m)))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let tx = client.transaction().await?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.bars_partitions'))",
            &[],
        )
        .await?;
        for m in missing {
            tx.batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {} PARTITION OF bars FOR VALUES FROM ({}) TO ({})",
                partition_name(m),
                month_start(m),
                month_start(next_month(m))
            ))
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// `EXPLAIN` of the hot reads of one series, with the parameters of `query`: the range read
    /// (`range`), the last-N read (`last_n`, N = `query.last` or 500) and `bar_before` at the
    /// range start. Plans are made for these values, so partition pruning shows in the output.
    pub async fn explain_hot_queries(&self, query: BarQuery) -> Result<Vec<QueryPlan>> {
        let client = self.client().await?;
        let (id, res) = (query.instrument_id, query.resolution.seconds() as i32);
        let (start, end) = (query.range.start(), query.range.end());
        let limit = query.max_rows.min(i64::MAX as usize) as i64;
        let last = i64::from(query.last.unwrap_or(500)).min(limit);
        let explain = |sql: String| format!("EXPLAIN (COSTS OFF) {sql}");
        let mut out = Vec::new();
        let plans: [(&'static str, String, Vec<&(dyn ToSql + Sync)>); 3] = [
            (
                "range",
                range_sql(false),
                vec![&id, &res, &start, &end, &limit],
            ),
            (
                "last_n",
                range_sql(true),
                vec![&id, &res, &start, &end, &last],
            ),
            ("bar_before", bar_before_sql(), vec![&id, &res, &start]),
        ];
        for (name, sql, params) in plans {
            let rows = client.query(&explain(sql), &params).await?;
            let plan = rows
                .iter()
                .map(|r| r.get::<_, String>(0))
                .collect::<Vec<_>>()
                .join("\n");
            out.push(QueryPlan { name, plan });
        }
        Ok(out)
    }

    /// Daily OHLCV by UTC day in one SQL aggregate (the benchmark's naive reference).
    pub(crate) async fn naive_daily(&self, instrument_id: i64, range: TimeRange) -> Result<usize> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT ts / 86400 AS day, (array_agg(open ORDER BY ts))[1], MAX(high), MIN(low),
                        (array_agg(close ORDER BY ts DESC))[1], SUM(volume)
                 FROM bars WHERE instrument_id = $1 AND resolution = 60 AND ts >= $2 AND ts < $3
                 GROUP BY day ORDER BY day",
            )
            .await?;
        let rows = client
            .query(&stmt, &[&instrument_id, &range.start(), &range.end()])
            .await?;
        Ok(rows.len())
    }

    /// Names of the `bars` partitions, oldest first.
    pub async fn partitions(&self) -> Result<Vec<String>> {
        let client = self.client().await?;
        let mut names = bar_partitions(&**client).await?;
        names.sort();
        Ok(names)
    }
}

/// Names of the existing partitions of `bars` (unordered).
async fn bar_partitions(client: &impl tokio_postgres::GenericClient) -> Result<Vec<String>> {
    let rows = client
        .query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'bars'::regclass",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Delete bars with `ts < older_than`: whole partitions are dropped when the cut covers them,
/// the partly covered month is deleted row by row. Returns the number of bars removed.
async fn delete_older_than(tx: &tokio_postgres::Transaction<'_>, older_than: i64) -> Result<u64> {
    tx.batch_execute("LOCK TABLE change_log IN EXCLUSIVE MODE")
        .await?;
    tx.execute(
        "INSERT INTO change_log (instrument_id, kind, first_ts, end_ts)
         SELECT instrument_id, 'bars', MIN(first_ts), $1 FROM series_stats
         WHERE first_ts < $1 GROUP BY instrument_id ORDER BY instrument_id",
        &[&older_than],
    )
    .await?;
    let partitions = bar_partitions(tx).await?;
    let mut removed = 0u64;
    for name in partitions {
        let Some(month) = partition_month(&name) else {
            continue;
        };
        if month_start(next_month(month)) <= older_than {
            let n: i64 = tx
                .query_one(&format!("SELECT COUNT(*) FROM {name}"), &[])
                .await?
                .get(0);
            tx.batch_execute(&format!("DROP TABLE {name}")).await?;
            removed += n as u64;
        }
    }
    removed += tx
        .execute("DELETE FROM bars WHERE ts < $1", &[&older_than])
        .await?;
    tx.execute("DELETE FROM rollups WHERE start < $1", &[&older_than])
        .await?;
    recount_series(tx).await?;
    Ok(removed)
}

/// Ids of `symbols`; a symbol that is not stored fails the ingest (its transaction rolls back).
async fn instrument_ids<'a>(
    tx: &tokio_postgres::Transaction<'_>,
    symbols: &BTreeSet<&'a str>,
) -> Result<HashMap<&'a str, i64>> {
    if symbols.is_empty() {
        return Ok(HashMap::new());
    }
    let wanted: Vec<&str> = symbols.iter().copied().collect();
    let mut ids = HashMap::new();
    for row in tx
        .query(
            "SELECT symbol, id FROM instruments WHERE symbol = ANY($1)",
            &[&wanted],
        )
        .await?
    {
        let symbol: String = row.get(0);
        if let Some(s) = symbols.get(symbol.as_str()) {
            ids.insert(*s, row.get(1));
        }
    }
    match symbols.iter().find(|s| !ids.contains_key(*s)) {
        Some(missing) => Err(StoreError::NotFound(format!(
            "instrument {missing} is not stored"
        ))),
        None => Ok(ids),
    }
}

/// `(instrument_id, resolution)` of a series.
type SeriesKey = (i64, i32);

/// First and last `ts` written per series of a batch.
fn series_extents(
    batch: &IngestBatch,
    ids: &HashMap<&str, i64>,
) -> BTreeMap<SeriesKey, (i64, i64)> {
    let mut out: BTreeMap<SeriesKey, (i64, i64)> = BTreeMap::new();
    for s in &batch.series {
        for b in &s.bars {
            let e = out
                .entry((ids[s.symbol.as_str()], s.resolution.seconds() as i32))
                .or_insert((b.ts(), b.ts()));
            e.0 = e.0.min(b.ts());
            e.1 = e.1.max(b.ts());
        }
    }
    out
}

/// Lock the `series_stats` rows of the written series (creating missing ones), in key order
/// so concurrent ingests cannot deadlock; returns the last stored `ts` of non-empty series.
/// Ingests of the same series serialise here, which keeps the row counts exact.
async fn lock_series_stats(
    tx: &tokio_postgres::Transaction<'_>,
    extents: &BTreeMap<SeriesKey, (i64, i64)>,
) -> Result<BTreeMap<SeriesKey, i64>> {
    if extents.is_empty() {
        return Ok(BTreeMap::new());
    }
    let ids: Vec<i64> = extents.keys().map(|k| k.0).collect();
    let res: Vec<i32> = extents.keys().map(|k| k.1).collect();
    tx.execute(
        "INSERT INTO series_stats (instrument_id, resolution, first_ts, last_ts, count)
         SELECT i, r, 0, 0, 0 FROM unnest($1::BIGINT[], $2::INTEGER[]) AS t (i, r)
         ORDER BY i, r
         ON CONFLICT (instrument_id, resolution) DO NOTHING",
        &[&ids, &res],
    )
    .await?;
    let rows = tx
        .query(
            "SELECT s.instrument_id, s.resolution, s.last_ts, s.count FROM series_stats s
             JOIN unnest($1::BIGINT[], $2::INTEGER[]) AS t (i, r)
               ON s.instrument_id = t.i AND s.resolution = t.r
             ORDER BY s.instrument_id, s.resolution FOR UPDATE OF s",
            &[&ids, &res],
        )
        .await?;
    Ok(rows
        .iter()
        .filter(|r| r.get::<_, i64>(3) > 0)
        .map(|r| ((r.get(0), r.get(1)), r.get(2)))
        .collect())
}

/// Stored bars per series inside the written `[first, last]` ranges.
async fn count_ranges(
    tx: &tokio_postgres::Transaction<'_>,
    extents: &BTreeMap<SeriesKey, (i64, i64)>,
) -> Result<BTreeMap<SeriesKey, i64>> {
    let stmt = tx
        .prepare(
            "SELECT COUNT(*) FROM bars WHERE instrument_id = $1 AND resolution = $2
               AND ts >= $3 AND ts <= $4",
        )
        .await?;
    let mut out = BTreeMap::new();
    for (&(id, res), &(first, last)) in extents {
        let n: i64 = tx
            .query_one(&stmt, &[&id, &res, &first, &last])
            .await?
            .get(0);
        out.insert((id, res), n);
    }
    Ok(out)
}

async fn update_series_stats(
    tx: &tokio_postgres::Transaction<'_>,
    extents: &BTreeMap<SeriesKey, (i64, i64)>,
    added: &BTreeMap<SeriesKey, i64>,
) -> Result<()> {
    if extents.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = extents.keys().map(|k| k.0).collect();
    let res: Vec<i32> = extents.keys().map(|k| k.1).collect();
    let first: Vec<i64> = extents.values().map(|e| e.0).collect();
    let last: Vec<i64> = extents.values().map(|e| e.1).collect();
    let n: Vec<i64> = extents
        .keys()
        .map(|k| added.get(k).copied().unwrap_or(0))
        .collect();
    tx.execute(
        "UPDATE series_stats s SET
             first_ts = CASE WHEN s.count = 0 THEN t.f ELSE LEAST(s.first_ts, t.f) END,
             last_ts = CASE WHEN s.count = 0 THEN t.l ELSE GREATEST(s.last_ts, t.l) END,
             count = s.count + t.n
         FROM unnest($1::BIGINT[], $2::INTEGER[], $3::BIGINT[], $4::BIGINT[], $5::BIGINT[])
             AS t (i, r, f, l, n)
         WHERE s.instrument_id = t.i AND s.resolution = t.r",
        &[&ids, &res, &first, &last, &n],
    )
    .await?;
    Ok(())
}

/// Recompute `series_stats` from the bars (after deletes).
async fn recount_series(tx: &tokio_postgres::Transaction<'_>) -> Result<()> {
    tx.batch_execute(
        "DELETE FROM series_stats;
         INSERT INTO series_stats (instrument_id, resolution, first_ts, last_ts, count)
         SELECT instrument_id, resolution, MIN(ts), MAX(ts), COUNT(*) FROM bars
         GROUP BY instrument_id, resolution;",
    )
    .await?;
    Ok(())
}

/// Columns of a bars `COPY`, in the order [`encode_bar`] writes them.
const COPY_COLUMNS: &str = "instrument_id, resolution, ts, open, high, low, close, volume, open_interest, trade_count, vwap";

/// Bytes per `CopyData` message of a bars `COPY` (about 10,000 rows).
const COPY_MESSAGE: usize = 1 << 20;

/// Longest row [`encode_bar`] writes: field count, then 11 length-prefixed fields.
const COPY_ROW_MAX: usize = 2 + 11 * 4 + 4 + 10 * 8;

/// Append one bars row to `buf` in PostgreSQL's binary `COPY` format: a 16-bit field count,
/// then per field a 32-bit length (-1 for NULL) and the value, all big-endian. `int8` and
/// `float8` are sent as their 8 raw bytes (an `f64`'s IEEE 754 bits), `int4` as 4.
fn encode_bar(buf: &mut Vec<u8>, id: i64, res: i32, b: &Bar) {
    let mut row = [0u8; COPY_ROW_MAX];
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        row[at..at + bytes.len()].copy_from_slice(bytes);
        at += bytes.len();
    };
    put(&11i16.to_be_bytes());
    put(&8i32.to_be_bytes());
    put(&id.to_be_bytes());
    put(&4i32.to_be_bytes());
    put(&res.to_be_bytes());
    put(&8i32.to_be_bytes());
    put(&b.ts().to_be_bytes());
    for v in [b.open(), b.high(), b.low(), b.close(), b.volume()] {
        put(&8i32.to_be_bytes());
        put(&v.to_be_bytes());
    }
    let trades = b.trade_count().map(|t| t as i64);
    for v in [
        b.open_interest().map(f64::to_be_bytes),
        trades.map(i64::to_be_bytes),
        b.vwap().map(f64::to_be_bytes),
    ] {
        match v {
            Some(bytes) => {
                put(&8i32.to_be_bytes());
                put(&bytes);
            }
            None => put(&(-1i32).to_be_bytes()),
        }
    }
    buf.extend_from_slice(&row[..at]);
}

/// Binary `COPY` of staged bars into `table` (a `bars` partition or the staging table).
///
/// Rows are encoded by [`encode_bar`] straight from the bars into 1 MiB messages, so the
/// connection sends a few large `CopyData` messages instead of one per 4 KiB, and no value
/// goes through `ToSql`.
async fn copy_bars(
    tx: &tokio_postgres::Transaction<'_>,
    table: &str,
    staged: &[StagedBar<'_>],
) -> Result<()> {
    let sink = tx
        .copy_in::<_, std::io::Cursor<Vec<u8>>>(&format!(
            "COPY {table} ({COPY_COLUMNS}) FROM STDIN (FORMAT binary)"
        ))
        .await?;
    pin_mut!(sink);
    let new_buf = || Vec::with_capacity(COPY_MESSAGE + COPY_ROW_MAX);
    let mut buf = new_buf();
    // Header: signature, flags, header extension length.
    buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
    buf.extend_from_slice(&0i32.to_be_bytes());
    buf.extend_from_slice(&0i32.to_be_bytes());
    for (id, res, b) in staged {
        encode_bar(&mut buf, *id, *res, b);
        if buf.len() >= COPY_MESSAGE {
            let full = std::mem::replace(&mut buf, new_buf());
            sink.send(std::io::Cursor::new(full)).await?;
        }
    }
    buf.extend_from_slice(&(-1i16).to_be_bytes()); // trailer
    sink.send(std::io::Cursor::new(buf)).await?;
    sink.finish().await?;
    Ok(())
}

/// Staged bars grouped by the monthly partition of `bars` they belong to, in write order
/// within a partition.
fn by_partition<'a>(staged: &[StagedBar<'a>]) -> Result<BTreeMap<Month, Vec<StagedBar<'a>>>> {
    let mut out: BTreeMap<Month, Vec<StagedBar<'a>>> = BTreeMap::new();
    // Bars of a series come in time order, so the month rarely changes from one row to the
    // next: remember its bounds instead of converting every timestamp.
    let (mut month, mut lo, mut hi) = ((0, 0), 0, 0);
    for row in staged {
        let ts = row.2.ts();
        if ts < lo || ts >= hi {
            month = month_of(ts)?;
            (lo, hi) = (month_start(month), month_start(next_month(month)));
        }
        out.entry(month).or_default().push(*row);
    }
    Ok(out)
}

/// Note the range of every written series for the rollup refresh (same transaction as the bars).
async fn record_backlog(
    tx: &tokio_postgres::Transaction<'_>,
    extents: &BTreeMap<SeriesKey, (i64, i64)>,
) -> Result<()> {
    if extents.is_empty() {
        return Ok(());
    }
    let id: Vec<i64> = extents.keys().map(|k| k.0).collect();
    let res: Vec<i32> = extents.keys().map(|k| k.1).collect();
    let first: Vec<i64> = extents.values().map(|e| e.0).collect();
    let last: Vec<i64> = extents.values().map(|e| e.1).collect();
    tx.execute(
        "INSERT INTO rollup_backlog (instrument_id, resolution, first_ts, last_ts)
         SELECT * FROM unnest($1::BIGINT[], $2::INTEGER[], $3::BIGINT[], $4::BIGINT[])",
        &[&id, &res, &first, &last],
    )
    .await?;
    Ok(())
}

/// A change-log entry waiting for the end of its transaction: `(instrument, kind, first, end)`.
type PendingChange = (i64, ChangeKind, i64, i64);

/// Append the changes of a transaction to the change log, last thing before its commit. The
/// exclusive lock (held until the commit) makes seq order commit order: a reader that has seen
/// seq N has seen every entry below N.
async fn log_changes(
    tx: &tokio_postgres::Transaction<'_>,
    extents: &BTreeMap<SeriesKey, (i64, i64)>,
    mut changes: Vec<PendingChange>,
) -> Result<()> {
    changes.extend(
        extents
            .iter()
            .map(|(k, (first, last))| (k.0, ChangeKind::Bars, *first, last.saturating_add(1))),
    );
    if changes.is_empty() {
        return Ok(());
    }
    insert_changes(tx, &changes).await
}

pub(super) async fn insert_changes(
    tx: &tokio_postgres::Transaction<'_>,
    changes: &[PendingChange],
) -> Result<()> {
    tx.batch_execute("LOCK TABLE change_log IN EXCLUSIVE MODE")
        .await?;
    let id: Vec<i64> = changes.iter().map(|c| c.0).collect();
    let kind: Vec<&str> = changes.iter().map(|c| c.1.as_str()).collect();
    let first: Vec<i64> = changes.iter().map(|c| c.2).collect();
    let end: Vec<i64> = changes.iter().map(|c| c.3).collect();
    tx.execute(
        "INSERT INTO change_log (instrument_id, kind, first_ts, end_ts)
         SELECT * FROM unnest($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::BIGINT[])",
        &[&id, &kind, &first, &end],
    )
    .await?;
    Ok(())
}

/// Create missing instruments (an explicit last trade / first notice date fills in or
/// replaces the stored one), counting the new ones.
async fn upsert_instruments(
    tx: &tokio_postgres::Transaction<'_>,
    instruments: &[tradeassist_model::NewInstrument],
    stats: &mut IngestStats,
    changes: &mut Vec<PendingChange>,
) -> Result<()> {
    if instruments.is_empty() {
        return Ok(());
    }
    let stored = tx
        .prepare("SELECT id, last_trade_date, first_notice_date FROM instruments WHERE symbol = $1")
        .await?;
    let upsert = tx
        .prepare(
            "INSERT INTO instruments (symbol, asset_class, exchange, timezone, calendar, currency, tick_size,
                 multiplier, description, root, contract_month, last_trade_date, first_notice_date)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (symbol) DO UPDATE SET
                 last_trade_date = COALESCE(EXCLUDED.last_trade_date, instruments.last_trade_date),
                 first_notice_date = COALESCE(EXCLUDED.first_notice_date, instruments.first_notice_date)
             RETURNING (xmax = 0)",
        )
        .await?;
    for def in instruments {
        let c = def.contract.as_ref();
        // An explicit date that replaces the stored one changes everything derived from it.
        if let Some(row) = tx.query_opt(&stored, &[&def.symbol]).await? {
            let (id, last_trade, first_notice): (i64, Option<NaiveDate>, Option<NaiveDate>) =
                (row.get(0), row.get(1), row.get(2));
            let differs =
                |new: Option<NaiveDate>, old: Option<NaiveDate>| new.is_some() && new != old;
            if differs(c.and_then(|c| c.last_trade_date), last_trade)
                || differs(c.and_then(|c| c.first_notice_date), first_notice)
            {
                changes.push((id, ChangeKind::Instrument, i64::MIN, i64::MAX));
            }
        }
        let created: bool = tx
            .query_one(
                &upsert,
                &[
                    &def.symbol,
                    &def.asset_class.as_str(),
                    &def.exchange,
                    &def.timezone.name(),
                    &def.calendar,
                    &def.currency,
                    &def.tick_size,
                    &def.multiplier,
                    &def.description,
                    &c.map(|c| c.root.clone()),
                    &c.map(|c| c.month.to_string()),
                    &c.and_then(|c| c.last_trade_date),
                    &c.and_then(|c| c.first_notice_date),
                ],
            )
            .await?
            .get(0);
        stats.instruments_created += u64::from(created);
    }
    Ok(())
}

/// Open-interest-only readings of a batch (the last reading of a time wins).
async fn write_open_interest(
    tx: &tokio_postgres::Transaction<'_>,
    open_interest: &[(String, Vec<crate::OpenInterestReading>)],
    stats: &mut IngestStats,
    changes: &mut Vec<PendingChange>,
) -> Result<()> {
    let oi_symbols: BTreeSet<&str> = open_interest.iter().map(|(s, _)| s.as_str()).collect();
    let oi_ids = instrument_ids(tx, &oi_symbols).await?;
    for (symbol, readings) in open_interest {
        let id = oi_ids[symbol.as_str()];
        let last: BTreeMap<i64, f64> = readings.iter().map(|r| (r.ts, r.value)).collect();
        let ts: Vec<i64> = last.keys().copied().collect();
        let values: Vec<f64> = last.values().copied().collect();
        tx.execute(
            "INSERT INTO open_interest (instrument_id, ts, value)
             SELECT $1, t.ts, t.value FROM unnest($2::BIGINT[], $3::DOUBLE PRECISION[]) AS t (ts, value)
             ON CONFLICT (instrument_id, ts) DO UPDATE SET value = EXCLUDED.value",
            &[&id, &ts, &values],
        )
        .await?;
        stats.open_interest_written += readings.len() as u64;
        if let (Some(first), Some(last)) = (ts.first(), ts.last()) {
            changes.push((id, ChangeKind::Bars, *first, last.saturating_add(1)));
        }
    }
    Ok(())
}

/// Count the written bars to the data source and mark its last success.
async fn credit_source(
    tx: &tokio_postgres::Transaction<'_>,
    source: &str,
    stats: &IngestStats,
) -> Result<()> {
    tx.execute(
        "UPDATE data_sources SET bars_ingested = bars_ingested + $1, last_success_at = $2, last_error = NULL
         WHERE name = $3",
        &[
            &(stats.bars_written as i64),
            &chrono::Utc::now().timestamp(),
            &source,
        ],
    )
    .await?;
    Ok(())
}

/// Upsert the staged rows of `table` into `bars` (the last staged row of a key wins when
/// `ordered` says the table has a `seq` column), returning the bars added per series.
async fn upsert_staged(
    tx: &tokio_postgres::Transaction<'_>,
    table: &str,
    ordered: bool,
    extents: &BTreeMap<SeriesKey, (i64, i64)>,
) -> Result<BTreeMap<SeriesKey, i64>> {
    let before = count_ranges(tx, extents).await?;
    let source = if ordered {
        format!(
            "SELECT DISTINCT ON (instrument_id, resolution, ts) {COPY_COLUMNS} FROM {table}
             ORDER BY instrument_id, resolution, ts, seq DESC"
        )
    } else {
        format!("SELECT {COPY_COLUMNS} FROM {table}")
    };
    tx.execute(
        &format!(
            "INSERT INTO bars ({COPY_COLUMNS}) {source}
             ON CONFLICT (instrument_id, resolution, ts) DO UPDATE SET
                 open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low,
                 close = EXCLUDED.close, volume = EXCLUDED.volume,
                 open_interest = EXCLUDED.open_interest, trade_count = EXCLUDED.trade_count,
                 vwap = EXCLUDED.vwap
             WHERE (bars.open, bars.high, bars.low, bars.close, bars.volume, bars.open_interest,
                    bars.trade_count, bars.vwap)
                 IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close,
                    EXCLUDED.volume, EXCLUDED.open_interest, EXCLUDED.trade_count, EXCLUDED.vwap)"
        ),
        &[],
    )
    .await?;
    let after = count_ranges(tx, extents).await?;
    Ok(after
        .into_iter()
        .map(|(key, n)| (key, n - before.get(&key).copied().unwrap_or(0)))
        .collect())
}

async fn write_rollups_tx(client: &mut Object, write: &RollupWrite) -> Result<()> {
    crate::rollup::check_write(write)?;
    let tx = client.transaction().await?;
    let id = write.instrument_id;
    let delete = tx
        .prepare_cached(
            "DELETE FROM rollups WHERE instrument_id = $1 AND base = $2 AND timeframe = $3
               AND sessions = $4 AND start >= $5 AND start < $6 AND end_ts <= $6",
        )
        .await?;
    let coverage = tx
        .prepare_cached(
            "INSERT INTO rollup_coverage (instrument_id, base, timeframe, sessions, covered_until)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (instrument_id, base, timeframe, sessions)
             DO UPDATE SET covered_until = EXCLUDED.covered_until",
        )
        .await?;
    let insert = tx
        .prepare_cached(&format!(
            "INSERT INTO rollups (instrument_id, base, timeframe, sessions, {ROLLUP_COLUMNS})
             SELECT $1, $2, $3, $4, * FROM unnest($5::BIGINT[], $6::BIGINT[], $7::DATE[],
                 $8::FLOAT8[], $9::FLOAT8[], $10::FLOAT8[], $11::FLOAT8[], $12::FLOAT8[],
                 $13::FLOAT8[], $14::FLOAT8[], $15::FLOAT8[], $16::BOOL[], $17::INT4[], $18::BIGINT[])"
        ))
        .await?;
    for slice in &write.slices {
        let k = &slice.key;
        let base = k.base.seconds() as i32;
        let (timeframe, sessions) = k.columns();
        let (lo, hi) = (slice.replace.start(), slice.replace.end());
        tx.execute(&delete, &[&id, &base, &timeframe, &sessions, &lo, &hi])
            .await?;
        if !slice.rows.is_empty() {
            let rows = &slice.rows;
            let col = |f: fn(&crate::RollupRow) -> f64| rows.iter().map(f).collect::<Vec<_>>();
            let opt =
                |f: fn(&crate::RollupRow) -> Option<f64>| rows.iter().map(f).collect::<Vec<_>>();
            let start: Vec<i64> = rows.iter().map(|r| r.start).collect();
            let end: Vec<i64> = rows.iter().map(|r| r.end).collect();
            let date: Vec<Option<NaiveDate>> = rows.iter().map(|r| r.date).collect();
            let all_vendor: Vec<bool> = rows.iter().map(|r| r.all_vendor).collect();
            let count = rows
                .iter()
                .map(|r| i32::try_from(r.count))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|_| StoreError::Backend("rollup count exceeds i32".into()))?;
            let last_ts: Vec<i64> = rows.iter().map(|r| r.last_ts).collect();
            tx.execute(
                &insert,
                &[
                    &id,
                    &base,
                    &timeframe,
                    &sessions,
                    &start,
                    &end,
                    &date,
                    &col(|r| r.open),
                    &col(|r| r.high),
                    &col(|r| r.low),
                    &col(|r| r.close),
                    &col(|r| r.volume),
                    &opt(|r| r.open_interest),
                    &opt(|r| r.vwap_typical),
                    &opt(|r| r.vwap_vendor),
                    &all_vendor,
                    &count,
                    &last_ts,
                ],
            )
            .await?;
        }
        tx.execute(
            &coverage,
            &[&id, &base, &timeframe, &sessions, &slice.covered_until],
        )
        .await?;
    }
    if !write.resolved.is_empty() {
        // Deleting locks the rows: a concurrent refresh resolving the same entry waits for
        // this one and then finds it gone.
        let wanted: BTreeSet<i64> = write.resolved.iter().copied().collect();
        let deleted: BTreeSet<i64> = tx
            .query(
                "DELETE FROM rollup_backlog WHERE seq = ANY($1) RETURNING seq",
                &[&write.resolved],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if let Some(seq) = wanted.difference(&deleted).next() {
            return Err(crate::rollup::already_resolved(*seq));
        }
    }
    tx.commit().await?;
    Ok(())
}

async fn ingest_tx(
    store: &PostgresStore,
    client: &mut Object,
    batch: &IngestBatch,
) -> Result<IngestStats> {
    let mut stats = IngestStats::default();
    let mut months = BTreeSet::new();
    for s in batch.series.iter().filter(|s| !s.bars.is_empty()) {
        let first = s.bars.iter().map(Bar::ts).min().expect("non-empty");
        let last = s.bars.iter().map(Bar::ts).max().expect("non-empty");
        months_between(first, last, &mut months)?;
    }
    store.ensure_partitions(client, &months).await?;

    let tx = client.transaction().await?;
    let mut changes = Vec::new();
    upsert_instruments(&tx, &batch.instruments, &mut stats, &mut changes).await?;
    let series_symbols: BTreeSet<&str> = batch.series.iter().map(|s| s.symbol.as_str()).collect();
    let ids = instrument_ids(&tx, &series_symbols).await?;
    let extents = series_extents(batch, &ids);
    let stored_last = lock_series_stats(&tx, &extents).await?;
    let staged = staged_bars(batch, &ids);
    // Staged keys are unique (see `staged_bars`), so bars that all lie after the last stored
    // bar of their series cannot conflict: they are copied straight into `bars`. Anything
    // else goes through a staging table and an upsert.
    let append = extents
        .iter()
        .all(|(key, (first, _))| stored_last.get(key).is_none_or(|last| first > last));
    let mut added: BTreeMap<(i64, i32), i64> = BTreeMap::new();
    if !staged.is_empty() && append {
        // Straight into each monthly partition: no tuple routing through the parent.
        for (month, rows) in by_partition(&staged)? {
            copy_bars(&tx, &partition_name(month), &rows).await?;
        }
        for (id, res, _) in &staged {
            *added.entry((*id, *res)).or_default() += 1;
        }
    } else if !staged.is_empty() {
        tx.batch_execute(
            "CREATE TEMP TABLE bars_stage (
                 instrument_id BIGINT, resolution INTEGER, ts BIGINT,
                 open DOUBLE PRECISION, high DOUBLE PRECISION, low DOUBLE PRECISION,
                 close DOUBLE PRECISION, volume DOUBLE PRECISION, open_interest DOUBLE PRECISION,
                 trade_count BIGINT, vwap DOUBLE PRECISION
             ) ON COMMIT DROP",
        )
        .await?;
        copy_bars(&tx, "bars_stage", &staged).await?;
        added = upsert_staged(&tx, "bars_stage", false, &extents).await?;
    }
    update_series_stats(&tx, &extents, &added).await?;
    stats.bars_written = batch.series.iter().map(|s| s.bars.len() as u64).sum();
    record_backlog(&tx, &extents).await?;
    write_open_interest(&tx, &batch.open_interest, &mut stats, &mut changes).await?;
    credit_source(&tx, &batch.source, &stats).await?;
    log_changes(&tx, &extents, changes).await?;
    crate::failpoint::hit("ingest_before_commit");
    tx.commit().await?;
    Ok(stats)
}

/// [`Store::ingest_stream`]: every chunk is copied into a session-local staging table inside
/// one transaction (no lock on `bars` yet, memory bounded by one chunk); at the commit
/// message the missing monthly partitions are created on another connection, and the
/// staged rows are upserted into `bars` in one statement (the last staged row of a key wins).
async fn ingest_stream_tx(
    store: &PostgresStore,
    client: &mut Object,
    source: &str,
    chunks: &mut tokio::sync::mpsc::Receiver<crate::IngestMessage>,
) -> Result<IngestStats> {
    let tx = client.transaction().await?;
    tx.batch_execute(
        "CREATE TEMP TABLE bars_stream (
             seq BIGSERIAL, instrument_id BIGINT, resolution INTEGER, ts BIGINT,
             open DOUBLE PRECISION, high DOUBLE PRECISION, low DOUBLE PRECISION,
             close DOUBLE PRECISION, volume DOUBLE PRECISION, open_interest DOUBLE PRECISION,
             trade_count BIGINT, vwap DOUBLE PRECISION
         ) ON COMMIT DROP",
    )
    .await?;
    let mut stats = IngestStats::default();
    let mut extents: BTreeMap<SeriesKey, (i64, i64)> = BTreeMap::new();
    let mut months = BTreeSet::new();
    let mut changes = Vec::new();
    loop {
        let batch = match chunks.recv().await {
            Some(crate::IngestMessage::Chunk(batch)) => batch,
            Some(crate::IngestMessage::Commit) => break,
            // Dropping `tx` rolls everything back.
            None => return Err(StoreError::Aborted),
        };
        upsert_instruments(&tx, &batch.instruments, &mut stats, &mut changes).await?;
        let symbols: BTreeSet<&str> = batch.series.iter().map(|s| s.symbol.as_str()).collect();
        let ids = instrument_ids(&tx, &symbols).await?;
        for (key, (first, last)) in series_extents(&batch, &ids) {
            months_between(first, last, &mut months)?;
            let e = extents.entry(key).or_insert((first, last));
            *e = (e.0.min(first), e.1.max(last));
        }
        let staged: Vec<StagedBar<'_>> = batch
            .series
            .iter()
            .flat_map(|s| {
                let id = ids[s.symbol.as_str()];
                let res = s.resolution.seconds() as i32;
                s.bars.iter().map(move |b| (id, res, b))
            })
            .collect();
        if !staged.is_empty() {
            copy_bars(&tx, "bars_stream", &staged).await?;
        }
        stats.bars_written += staged.len() as u64;
        write_open_interest(&tx, &batch.open_interest, &mut stats, &mut changes).await?;
    }
    // This transaction holds no lock on `bars` yet, so creating partitions elsewhere is safe.
    {
        let mut other = store.client().await?;
        store.ensure_partitions(&mut other, &months).await?;
    }
    lock_series_stats(&tx, &extents).await?;
    let added = upsert_staged(&tx, "bars_stream", true, &extents).await?;
    update_series_stats(&tx, &extents, &added).await?;
    record_backlog(&tx, &extents).await?;
    credit_source(&tx, source, &stats).await?;
    log_changes(&tx, &extents, changes).await?;
    crate::failpoint::hit("ingest_before_commit");
    tx.commit().await?;
    Ok(stats)
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ingest(&self, batch: IngestBatch) -> Result<IngestStats> {
        let mut client = self.client().await?;
        ingest_tx(self, &mut client, &batch).await
    }

    async fn ingest_stream(
        &self,
        source: String,
        mut chunks: tokio::sync::mpsc::Receiver<crate::IngestMessage>,
    ) -> Result<IngestStats> {
        let mut client = self.client().await?;
        ingest_stream_tx(self, &mut client, &source, &mut chunks).await
    }

    async fn instrument(&self, symbol: &str) -> Result<Option<Instrument>> {
        let client = self.client().await?;
        let sql = format!("SELECT {INSTRUMENT_COLUMNS} FROM instruments WHERE symbol = $1");
        let row = client
            .query_opt(&sql, &[&symbol.to_ascii_uppercase()])
            .await?;
        row.as_ref().map(instrument_from_row).transpose()
    }

    async fn search_instruments(&self, filter: &InstrumentFilter) -> Result<Vec<Instrument>> {
        let client = self.client().await?;
        let sql = format!(
            "SELECT {INSTRUMENT_COLUMNS} FROM instruments
             WHERE ($1::TEXT IS NULL OR symbol ILIKE $1 || '%' OR description ILIKE '%' || $1 || '%')
               AND ($2::TEXT IS NULL OR asset_class = $2)
             ORDER BY asset_class COLLATE \"C\", symbol COLLATE \"C\" LIMIT $3"
        );
        let text = filter.text.as_deref().map(|t| {
            t.trim()
                .to_ascii_uppercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        });
        let limit = i64::from(filter.limit.unwrap_or(1000));
        let rows = client
            .query(
                &sql,
                &[&text, &filter.asset_class.map(|a| a.as_str()), &limit],
            )
            .await?;
        rows.iter().map(instrument_from_row).collect()
    }

    async fn series(&self, instrument_id: i64) -> Result<Vec<SeriesInfo>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT resolution, first_ts, last_ts, count FROM series_stats
                 WHERE instrument_id = $1 AND count > 0 ORDER BY resolution",
                &[&instrument_id],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let res: i32 = r.get(0);
                let resolution = Resolution::from_seconds(i64::from(res))
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown resolution {res}")))?;
                Ok(SeriesInfo {
                    resolution,
                    first_ts: r.get(1),
                    last_ts: r.get(2),
                    count: r.get::<_, i64>(3) as u64,
                })
            })
            .collect()
    }

    async fn read_bars(&self, q: BarQuery) -> Result<Vec<Bar>> {
        let client = self.client().await?;
        let max_rows = q.max_rows.min(i64::MAX as usize) as i64;
        let (descending, limit) = match q.last {
            Some(n) => (true, i64::from(n).min(max_rows)),
            None => (false, max_rows),
        };
        let stmt = client.prepare_cached(&range_sql(descending)).await?;
        let rows = client
            .query(
                &stmt,
                &[
                    &q.instrument_id,
                    &(q.resolution.seconds() as i32),
                    &q.range.start(),
                    &q.range.end(),
                    &limit,
                ],
            )
            .await?;
        let mut out = rows.iter().map(bar_from_row).collect::<Result<Vec<_>>>()?;
        if descending {
            out.reverse();
        }
        Ok(out)
    }

    async fn count_bars(
        &self,
        instrument_id: i64,
        resolution: Resolution,
        range: TimeRange,
        cap: u64,
    ) -> Result<u64> {
        let client = self.client().await?;
        let limit = cap.saturating_add(1).min(i64::MAX as u64) as i64;
        let row = client
            .query_one(
                "SELECT count(*) FROM (SELECT 1 FROM bars
                 WHERE instrument_id = $1 AND resolution = $2 AND ts >= $3 AND ts < $4 LIMIT $5) AS b",
                &[
                    &instrument_id,
                    &(resolution.seconds() as i32),
                    &range.start(),
                    &range.end(),
                    &limit,
                ],
            )
            .await?;
        Ok(row.try_get::<_, i64>(0)? as u64)
    }

    async fn bar_before(
        &self,
        instrument_id: i64,
        resolution: Resolution,
        ts: i64,
    ) -> Result<Option<Bar>> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(&bar_before_sql()).await?;
        let row = client
            .query_opt(
                &stmt,
                &[&instrument_id, &(resolution.seconds() as i32), &ts],
            )
            .await?;
        row.as_ref().map(bar_from_row).transpose()
    }

    async fn read_open_interest(
        &self,
        instrument_id: i64,
        range: TimeRange,
    ) -> Result<Vec<OpenInterestReading>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT ts, value FROM open_interest WHERE instrument_id = $1 AND ts >= $2 AND ts < $3 ORDER BY ts",
                &[&instrument_id, &range.start(), &range.end()],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| OpenInterestReading {
                ts: r.get(0),
                value: r.get(1),
            })
            .collect())
    }

    async fn create_saved_query(&self, q: NewSavedQuery, now: i64) -> Result<SavedQuery> {
        let client = self.client().await?;
        let sql = format!(
            "INSERT INTO saved_queries (name, description, parameters, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4) RETURNING {SAVED_QUERY_COLUMNS}"
        );
        let row = client
            .query_one(&sql, &[&q.name, &q.description, &q.parameters_json, &now])
            .await
            .map_err(|e| unique_violation(e, &crate::saved_query_taken(&q.name)))?;
        saved_query_from_row(&row)
    }

    async fn saved_query(&self, id: i64) -> Result<Option<SavedQuery>> {
        let client = self.client().await?;
        let sql = format!("SELECT {SAVED_QUERY_COLUMNS} FROM saved_queries WHERE id = $1");
        let row = client.query_opt(&sql, &[&id]).await?;
        row.as_ref().map(saved_query_from_row).transpose()
    }

    async fn list_saved_queries(&self, search: Option<&str>) -> Result<Vec<SavedQuery>> {
        let client = self.client().await?;
        let search = search.map(|s| s.trim().to_lowercase());
        let sql = format!(
            "SELECT {SAVED_QUERY_COLUMNS} FROM saved_queries
             WHERE $1::TEXT IS NULL OR strpos(lower(name), $1) > 0 OR strpos(lower(description), $1) > 0
             ORDER BY lower(name) COLLATE \"C\""
        );
        let rows = client.query(&sql, &[&search]).await?;
        rows.iter().map(saved_query_from_row).collect()
    }

    async fn update_saved_query(&self, id: i64, q: NewSavedQuery, now: i64) -> Result<SavedQuery> {
        let client = self.client().await?;
        let sql = format!(
            "UPDATE saved_queries SET name = $2, description = $3, parameters = $4, updated_at = $5
             WHERE id = $1 RETURNING {SAVED_QUERY_COLUMNS}"
        );
        let row = client
            .query_opt(
                &sql,
                &[&id, &q.name, &q.description, &q.parameters_json, &now],
            )
            .await
            .map_err(|e| unique_violation(e, &crate::saved_query_taken(&q.name)))?
            .ok_or_else(|| StoreError::NotFound(format!("saved query {id} does not exist")))?;
        saved_query_from_row(&row)
    }

    async fn create_token(
        &self,
        name: &str,
        role: Role,
        secret_hash: &str,
        now: i64,
    ) -> Result<ApiToken> {
        let client = self.client().await?;
        let sql = format!(
            "INSERT INTO api_tokens (name, role, secret_hash, created_at) VALUES ($1, $2, $3, $4)
             RETURNING {TOKEN_COLUMNS}"
        );
        let row = client
            .query_one(&sql, &[&name, &role.as_str(), &secret_hash, &now])
            .await
            .map_err(|e| unique_violation(e, "a token with this secret exists"))?;
        token_from_row(&row)
    }

    async fn list_tokens(&self) -> Result<Vec<ApiToken>> {
        let client = self.client().await?;
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY id");
        let rows = client.query(&sql, &[]).await?;
        rows.iter().map(token_from_row).collect()
    }

    async fn revoke_token(&self, id: i64, now: i64) -> Result<ApiToken> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                &[&id, &now],
            )
            .await?;
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1");
        match client.query_opt(&sql, &[&id]).await? {
            Some(row) => token_from_row(&row),
            None => Err(StoreError::NotFound(format!("token {id} does not exist"))),
        }
    }

    async fn token_by_hash(&self, secret_hash: &str) -> Result<Option<ApiToken>> {
        let client = self.client().await?;
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE secret_hash = $1");
        let row = client.query_opt(&sql, &[&secret_hash]).await?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn delete_saved_query(&self, id: i64) -> Result<()> {
        let client = self.client().await?;
        let changed = client
            .execute("DELETE FROM saved_queries WHERE id = $1", &[&id])
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!(
                "saved query {id} does not exist"
            )));
        }
        Ok(())
    }

    async fn mark_saved_query_run(&self, id: i64, now: i64) -> Result<()> {
        let client = self.client().await?;
        let changed = client
            .execute(
                "UPDATE saved_queries SET last_run_at = $2 WHERE id = $1",
                &[&id, &now],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!(
                "saved query {id} does not exist"
            )));
        }
        Ok(())
    }

    async fn schema_status(&self) -> Result<SchemaStatus> {
        Ok(SchemaStatus {
            applied: self.schema_version().await?,
            expected: schema::MIGRATIONS.last().map_or(0, |m| m.0),
        })
    }

    async fn newest_bars(&self) -> Result<Vec<NewestBar>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT i.asset_class, MAX(s.last_ts) FROM series_stats s
                 JOIN instruments i ON i.id = s.instrument_id
                 GROUP BY i.asset_class ORDER BY i.asset_class",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let class: String = r.get(0);
                Ok(NewestBar {
                    asset_class: class
                        .parse()
                        .map_err(|e| StoreError::Corrupt(format!("asset class {class:?}: {e}")))?,
                    ts: r.get(1),
                })
            })
            .collect()
    }

    async fn data_sources(&self) -> Result<Vec<DataSource>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id, name, kind, enabled, circuit_state, last_success_at, last_error, bars_ingested
                 FROM data_sources ORDER BY id",
                &[],
            )
            .await?;
        rows.iter().map(data_source_from_row).collect()
    }

    async fn rollup_backlog(&self) -> Result<Vec<RollupBacklog>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT b.seq, b.instrument_id, i.symbol, b.resolution, b.first_ts, b.last_ts
                 FROM rollup_backlog b JOIN instruments i ON i.id = b.instrument_id ORDER BY b.seq",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let res: i32 = r.try_get(3)?;
                let resolution = Resolution::from_seconds(i64::from(res))
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown resolution {res}")))?;
                Ok(RollupBacklog {
                    seq: r.try_get(0)?,
                    instrument_id: r.try_get(1)?,
                    symbol: r.try_get(2)?,
                    resolution,
                    first_ts: r.try_get(4)?,
                    last_ts: r.try_get(5)?,
                })
            })
            .collect()
    }

    async fn write_rollups(&self, write: RollupWrite) -> Result<()> {
        let mut client = self.client().await?;
        write_rollups_tx(&mut client, &write).await
    }

    async fn read_rollups(
        &self,
        instrument_id: i64,
        key: &RollupKey,
        range: TimeRange,
    ) -> Result<RollupSet> {
        let client = self.client().await?;
        let base = key.base.seconds() as i32;
        let (timeframe, sessions) = key.columns();
        // One round trip: coverage and backlog flag ride along as scalar subqueries.
        let head = client
            .prepare_cached(
                "SELECT (SELECT covered_until FROM rollup_coverage
                         WHERE instrument_id = $1 AND base = $2 AND timeframe = $3 AND sessions = $4),
                        EXISTS (SELECT 1 FROM rollup_backlog WHERE instrument_id = $1 AND resolution = $2)",
            )
            .await?;
        let select = client
            .prepare_cached(&format!(
                "SELECT {ROLLUP_COLUMNS} FROM rollups
                 WHERE instrument_id = $1 AND base = $2 AND timeframe = $3 AND sessions = $4
                   AND start >= $5 AND start < $6 AND end_ts <= $6
                 ORDER BY start"
            ))
            .await?;
        let (start, end) = (range.start(), range.end());
        let params: [&(dyn ToSql + Sync); 6] =
            [&instrument_id, &base, &timeframe, &sessions, &start, &end];
        let (head, rows) = futures::try_join!(
            client.query_one(&head, &params[..4]),
            client.query(&select, &params)
        )?;
        Ok(RollupSet {
            covered_until: head.try_get(0)?,
            pending: head.try_get(1)?,
            rows: rows
                .iter()
                .map(rollup_from_row)
                .collect::<Result<Vec<_>>>()?,
        })
    }

    async fn write_factors(&self, sets: Vec<crate::FactorSet>) -> Result<u64> {
        self.write_factors_impl(sets).await
    }

    async fn factors(&self, instrument_id: i64) -> Result<Vec<crate::FactorRecord>> {
        self.factors_impl(instrument_id).await
    }

    async fn roll_history(
        &self,
        key: &crate::RollHistoryKey,
        fingerprint: &str,
    ) -> Result<Option<crate::RollHistory>> {
        self.roll_history_impl(key, fingerprint).await
    }

    async fn write_roll_history(
        &self,
        key: &crate::RollHistoryKey,
        history: crate::RollHistory,
    ) -> Result<()> {
        self.write_roll_history_impl(key, history).await
    }

    async fn change_seq(&self) -> Result<i64> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM change_log")
            .await?;
        Ok(client.query_one(&stmt, &[]).await?.get(0))
    }

    async fn changes_since(&self, after: i64) -> Result<Vec<crate::ChangeRecord>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT c.seq, c.instrument_id, i.root, c.kind, c.first_ts, c.end_ts
                 FROM change_log c LEFT JOIN instruments i ON i.id = c.instrument_id
                 WHERE c.seq > $1 ORDER BY c.seq LIMIT $2",
                &[&after, &(crate::MAX_CHANGES_PER_READ as i64)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(crate::ChangeRecord {
                    seq: r.get(0),
                    instrument_id: r.get(1),
                    root: r.get(2),
                    kind: ChangeKind::parse(r.get(3))?,
                    first_ts: r.get(4),
                    end_ts: r.get(5),
                })
            })
            .collect()
    }
}

/// Map a UNIQUE violation on the saved-query name to a conflict.
fn token_from_row(r: &tokio_postgres::Row) -> Result<ApiToken> {
    api_token(
        r.try_get(0)?,
        r.try_get(1)?,
        r.try_get::<_, &str>(2)?,
        r.try_get(3)?,
        r.try_get(4)?,
    )
}

/// `Conflict(conflict)` for a unique-constraint violation, `e` otherwise.
fn unique_violation(e: tokio_postgres::Error, conflict: &str) -> StoreError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        StoreError::Conflict(conflict.to_string())
    } else {
        e.into()
    }
}

const TABLES: &str = "instruments, bars, open_interest, data_sources, saved_queries, rollups, rollup_coverage, series_stats, api_tokens";

#[async_trait]
impl Maintenance for PostgresStore {
    async fn analyze(&self) -> Result<()> {
        let client = self.client().await?;
        client.batch_execute(&format!("ANALYZE {TABLES}")).await?;
        Ok(())
    }

    async fn optimize(&self) -> Result<()> {
        let client = self.client().await?;
        client
            .batch_execute(&format!("VACUUM (ANALYZE) {TABLES}"))
            .await?;
        Ok(())
    }

    async fn retention(&self, older_than: i64) -> Result<u64> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let removed = delete_older_than(&tx, older_than).await?;
        tx.commit().await?;
        Ok(removed)
    }

    async fn archive(&self, before: i64, dir: &Path) -> Result<ArchiveReport> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Block concurrent ingests of old bars between the read and the delete.
        tx.batch_execute("LOCK TABLE bars IN SHARE ROW EXCLUSIVE MODE")
            .await?;
        let series = tx
            .query(
                "SELECT DISTINCT i.symbol, b.instrument_id, b.resolution FROM bars b
                 JOIN instruments i ON i.id = b.instrument_id
                 WHERE b.ts < $1 ORDER BY 1, 3",
                &[&before],
            )
            .await?;
        let mut report = ArchiveReport::default();
        let sql = format!(
            "SELECT {BAR_COLUMNS} FROM bars
             WHERE instrument_id = $1 AND resolution = $2 AND ts < $3 ORDER BY ts"
        );
        for row in &series {
            let (symbol, id, res): (String, i64, i32) = (row.get(0), row.get(1), row.get(2));
            let resolution = Resolution::from_seconds(i64::from(res))
                .ok_or_else(|| StoreError::Corrupt(format!("unknown resolution {res}")))?;
            let bars = tx
                .query(&sql, &[&id, &res, &before])
                .await?
                .iter()
                .map(bar_from_row)
                .collect::<Result<Vec<_>>>()?;
            let dir = dir.to_path_buf();
            let n = bars.len() as u64;
            let path = tokio::task::spawn_blocking(move || {
                archive::write_series(&dir, &symbol, resolution, &bars)
            })
            .await
            .map_err(|e| StoreError::Backend(format!("archive task failed: {e}")))??;
            report.files.push(path);
            report.bars += n;
        }
        let removed = delete_older_than(&tx, before).await?;
        if removed != report.bars {
            return Err(StoreError::Backend(format!(
                "archive wrote {} bars but would delete {removed}; rolled back",
                report.bars
            )));
        }
        tx.commit().await?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_names_round_trip() {
        for m in [(2013, 10), (2013, 12), (1970, 1), (2024, 2)] {
            assert_eq!(partition_month(&partition_name(m)), Some(m));
        }
        assert_eq!(partition_month("bars_p201313"), None);
        assert_eq!(partition_month("bars_stage"), None);
    }

    #[test]
    fn month_bounds() {
        assert_eq!(month_of(0).unwrap(), (1970, 1));
        assert_eq!(month_start((1970, 2)), 31 * 86_400);
        assert_eq!(next_month((2013, 12)), (2014, 1));
        let mut months = BTreeSet::new();
        months_between(
            month_start((2013, 11)) - 1,
            month_start((2014, 1)),
            &mut months,
        )
        .unwrap();
        assert_eq!(
            months.into_iter().collect::<Vec<_>>(),
            vec![(2013, 10), (2013, 11), (2013, 12), (2014, 1)]
        );
    }

    #[test]
    fn schema_names_are_checked() {
        assert!(check_schema_name("tradeassist_1").is_ok());
        assert!(check_schema_name("Bad").is_err());
        assert!(check_schema_name("a;drop").is_err());
        assert!(check_schema_name("").is_err());
        assert!(check_schema_name(&"a".repeat(64)).is_err());
    }
}
