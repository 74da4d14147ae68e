//! Embedded SQLite backend (bundled SQLite, WAL, clustered `(instrument, resolution, ts)` keys).
//!
//! rusqlite is synchronous, so every call runs on the blocking pool: writes go through one
//! connection (SQLite has one writer), reads take a connection from a bounded pool (see
//! [`crate::pool`]; excess reads queue for a permit before they take a blocking thread) and
//! see a consistent snapshot thanks to WAL.

mod adjustments;
mod rows;
mod schema;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
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
    INSTRUMENT_COLUMNS, ROLLUP_COLUMNS, bar_from_row, instrument_from_row, rollup_from_row,
    saved_query_from_row,
};

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e)
    }
}

/// The embedded store.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    /// Idle reader connections; at most `max_readers` exist, idle or busy.
    readers: Mutex<Vec<Connection>>,
    /// One permit per reader connection that may exist.
    permits: Arc<tokio::sync::Semaphore>,
    max_readers: usize,
    /// Reader connections open (idle or busy).
    open_readers: AtomicUsize,
    /// The change watch: a dedicated read-only connection whose `PRAGMA data_version` moves
    /// when any other connection (of this or another process) commits.
    watch: Mutex<Option<Watch>>,
}

impl Inner {
    /// Report the reader pool's bound and occupancy.
    fn report_pool(&self) {
        let open = self.open_readers.load(Ordering::Relaxed);
        let idle = self.readers.lock().expect("reader pool").len();
        pool::report("sqlite", self.max_readers, idle, open.saturating_sub(idle));
    }
}

struct Watch {
    conn: Connection,
    data_version: i64,
    seq: i64,
}

impl Watch {
    fn open(path: &Path) -> rusqlite::Result<Watch> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure(&conn)?;
        let data_version = conn.query_row("PRAGMA data_version", [], |r| r.get(0))?;
        let seq = max_change_seq(&conn)?;
        Ok(Watch {
            conn,
            data_version,
            seq,
        })
    }

    /// The newest change seq: the log is read only when the database changed since the last look.
    fn seq(&mut self) -> rusqlite::Result<i64> {
        let v: i64 = self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?;
        if v != self.data_version {
            self.seq = max_change_seq(&self.conn)?;
            self.data_version = v;
        }
        Ok(self.seq)
    }
}

fn max_change_seq(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM change_log", [], |r| {
        r.get(0)
    })
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "cache_size", -65_536)?; // 64 MiB
    Ok(())
}

fn blocking_error(e: tokio::task::JoinError) -> StoreError {
    StoreError::Backend(format!("database task failed: {e}"))
}

impl SqliteStore {
    /// Open (creating if needed) the database at `path` and run pending migrations, with the
    /// default reader pool bound.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, PoolOptions::default()).await
    }

    /// [`SqliteStore::open`] with at most `pool.max_connections` reader connections.
    pub async fn open_with(path: impl AsRef<Path>, pool: PoolOptions) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        tokio::task::spawn_blocking(move || Self::open_blocking(path, pool))
            .await
            .map_err(blocking_error)?
    }

    fn open_blocking(path: PathBuf, pool: PoolOptions) -> Result<Self> {
        let max_readers = pool.max_connections.max(1);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                context: format!("cannot create {}", dir.display()),
                source,
            })?;
        }
        // SQLite says only "unable to open database file" for a file it may not write (a
        // read-only file system, no permission): ask the OS for the reason first. An absent
        // file is created empty, which SQLite takes as a new database.
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|source| StoreError::Io {
                context: format!("cannot write the database file {}", path.display()),
                source,
            })?;
        let mut writer = Connection::open(&path)?;
        // 32 KiB pages for a new database (a no-op for an existing one, which keeps its page
        // size): a bars page holds ~500 rows instead of ~60, so appends split and rebalance
        // far fewer pages and the B-tree is a level shallower. Measured: ~20% less CPU per
        // ingested bar than 4 KiB. Must come before WAL mode writes the first page.
        writer.pragma_update(None, "page_size", 32_768)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        configure(&writer)?;
        schema::migrate(&mut writer)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
                permits: Arc::new(tokio::sync::Semaphore::new(max_readers)),
                max_readers,
                open_readers: AtomicUsize::new(0),
                watch: Mutex::new(None),
            }),
        })
    }

    /// Reader connections open now (idle or busy); never more than the pool bound.
    pub fn reader_connections(&self) -> usize {
        self.inner.open_readers.load(Ordering::Relaxed)
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Schema version currently applied.
    pub async fn schema_version(&self) -> Result<i64> {
        self.read(|c| {
            c.query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_version",
                [],
                |r| r.get(0),
            )
        })
        .await
    }

    /// Roll the schema back to `target` (0 = empty database). Data in dropped tables is lost.
    pub async fn migrate_down(&self, target: i64) -> Result<()> {
        self.write(move |c| schema::migrate_down(c, target)).await
    }

    /// Re-apply pending migrations.
    pub async fn migrate_up(&self) -> Result<()> {
        self.write(schema::migrate).await
    }

    /// Daily OHLCV by UTC day in one SQL aggregate (the benchmark's naive reference).
    pub(crate) async fn naive_daily(&self, instrument_id: i64, range: TimeRange) -> Result<usize> {
        self.read(move |c| {
            // Bare columns with MIN/MAX give the row of the first / last bar: open and close.
            let mut stmt = c.prepare_cached(
                "SELECT d.day, o.open, d.high, d.low, c.close, d.volume FROM (
                     SELECT ts / 86400 AS day, MIN(ts) AS first, MAX(ts) AS last, MAX(high) AS high,
                            MIN(low) AS low, SUM(volume) AS volume
                     FROM bars WHERE instrument_id = ?1 AND resolution = 60 AND ts >= ?2 AND ts < ?3
                     GROUP BY day) d
                 JOIN bars o ON o.instrument_id = ?1 AND o.resolution = 60 AND o.ts = d.first
                 JOIN bars c ON c.instrument_id = ?1 AND c.resolution = 60 AND c.ts = d.last
                 ORDER BY d.day",
            )?;
            let rows = stmt.query_map(params![instrument_id, range.start(), range.end()], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, f64>(1)?,
                    r.get::<_, f64>(4)?,
                ))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map(|v| v.len())
        })
        .await
    }

    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        // A permit per connection: excess reads queue here, on the runtime, not on blocking
        // threads, and never open a connection beyond the bound.
        let permit = match inner.permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                let queued = Instant::now();
                let p = inner
                    .permits
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| StoreError::Backend("the reader pool is closed".into()))?;
                pool::waited("sqlite", queued.elapsed());
                p
            }
        };
        tokio::task::spawn_blocking(move || {
            let pooled = inner.readers.lock().expect("reader pool").pop();
            let conn = match pooled {
                Some(c) => c,
                None => {
                    let c = Connection::open_with_flags(
                        &inner.path,
                        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )?;
                    configure(&c)?;
                    inner.open_readers.fetch_add(1, Ordering::Relaxed);
                    c
                }
            };
            inner.report_pool();
            let out = f(&conn);
            inner.readers.lock().expect("reader pool").push(conn);
            inner.report_pool();
            drop(permit);
            Ok(out?)
        })
        .await
        .map_err(blocking_error)?
    }

    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.writer.lock().expect("writer");
            Ok(f(&mut conn)?)
        })
        .await
        .map_err(blocking_error)?
    }

    async fn try_write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        self.write(move |c| Ok(f(c))).await?
    }

    async fn try_read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.read(move |c| Ok(f(c))).await?
    }
}

/// Apply an ingest batch in one transaction.
///
/// Foreign-key enforcement is switched off for the transaction (SQLite only allows that
/// outside one) and back on afterwards, also when the ingest fails: it would look up the
/// instrument of every bar row, ~10% of the append cost. The references hold by construction,
/// as on PostgreSQL, whose `bars` has no foreign key at all: every `instrument_id` written
/// here comes from `id_of` in the same transaction on the single writer connection, and
/// instruments are never deleted. Anything added to this transaction must keep that true.
fn without_foreign_keys<T>(
    conn: &mut Connection,
    f: impl FnOnce(&mut Connection) -> Result<T>,
) -> Result<T> {
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let out = f(conn);
    conn.pragma_update(None, "foreign_keys", "ON")?;
    out
}

fn ingest_blocking(conn: &mut Connection, batch: &IngestBatch) -> Result<IngestStats> {
    without_foreign_keys(conn, |conn| {
        let tx = conn.transaction()?;
        let mut stats = IngestStats::default();
        ingest_chunk(&tx, batch, &mut stats)?;
        credit_source(&tx, &batch.source, &stats)?;
        crate::failpoint::hit("ingest_before_commit");
        tx.commit()?;
        Ok(stats)
    })
}

/// [`Store::ingest_stream`] on the writer connection: one transaction over every chunk.
fn ingest_stream_blocking(
    conn: &mut Connection,
    source: &str,
    chunks: &mut tokio::sync::mpsc::Receiver<crate::IngestMessage>,
) -> Result<IngestStats> {
    without_foreign_keys(conn, |conn| {
        let tx = conn.transaction()?;
        let mut stats = IngestStats::default();
        loop {
            match chunks.blocking_recv() {
                Some(crate::IngestMessage::Chunk(batch)) => ingest_chunk(&tx, &batch, &mut stats)?,
                Some(crate::IngestMessage::Commit) => break,
                // Dropping `tx` rolls everything back.
                None => return Err(StoreError::Aborted),
            }
        }
        credit_source(&tx, source, &stats)?;
        crate::failpoint::hit("ingest_before_commit");
        tx.commit()?;
        Ok(stats)
    })
}

/// Count the written bars to the data source and mark its last success.
fn credit_source(
    tx: &rusqlite::Transaction<'_>,
    source: &str,
    stats: &IngestStats,
) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE data_sources SET bars_ingested = bars_ingested + ?1, last_success_at = ?2, last_error = NULL
         WHERE name = ?3",
        params![stats.bars_written as i64, chrono::Utc::now().timestamp(), source],
    )?;
    Ok(())
}

/// Write one batch inside an open ingest transaction, adding to `stats`.
fn ingest_chunk(
    tx: &rusqlite::Transaction<'_>,
    batch: &IngestBatch,
    stats: &mut IngestStats,
) -> Result<()> {
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO instruments (symbol, asset_class, exchange, timezone, calendar, currency, tick_size,
                 multiplier, description, root, contract_month, last_trade_date, first_notice_date)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
             ON CONFLICT (symbol) DO UPDATE SET
                 last_trade_date = COALESCE(excluded.last_trade_date, last_trade_date),
                 first_notice_date = COALESCE(excluded.first_notice_date, first_notice_date)",
        )?;
        for def in &batch.instruments {
            type Stored = (i64, Option<String>, Option<String>);
            let stored: Option<Stored> = tx
                .query_row(
                    "SELECT id, last_trade_date, first_notice_date FROM instruments WHERE symbol = ?1",
                    [&def.symbol],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let existed = stored.is_some();
            let c = def.contract.as_ref();
            // An explicit date that replaces the stored one changes everything derived from it.
            if let Some((id, last_trade, first_notice)) = &stored {
                let differs = |new: Option<chrono::NaiveDate>, old: &Option<String>| {
                    new.is_some_and(|d| old.as_deref() != Some(d.to_string().as_str()))
                };
                if differs(c.and_then(|c| c.last_trade_date), last_trade)
                    || differs(c.and_then(|c| c.first_notice_date), first_notice)
                {
                    log_change(tx, *id, ChangeKind::Instrument, i64::MIN, i64::MAX)?;
                }
            }
            insert.execute(params![
                def.symbol,
                def.asset_class.as_str(),
                def.exchange,
                def.timezone.name(),
                def.calendar,
                def.currency,
                def.tick_size,
                def.multiplier,
                def.description,
                c.map(|c| c.root.clone()),
                c.map(|c| c.month.to_string()),
                c.and_then(|c| c.last_trade_date).map(|d| d.to_string()),
                c.and_then(|c| c.first_notice_date).map(|d| d.to_string()),
            ])?;
            stats.instruments_created += u64::from(!existed);
        }
    }
    let id_of = |symbol: &str| -> Result<i64> {
        tx.query_row(
            "SELECT id FROM instruments WHERE symbol = ?1",
            [symbol],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("instrument {symbol} is not stored")))
    };
    {
        let mut upsert = tx.prepare_cached(
            "INSERT INTO bars (instrument_id, resolution, ts, open, high, low, close, volume, open_interest, trade_count, vwap)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (instrument_id, resolution, ts) DO UPDATE SET
                 open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
                 volume = excluded.volume, open_interest = excluded.open_interest,
                 trade_count = excluded.trade_count, vwap = excluded.vwap",
        )?;
        for series in &batch.series {
            let id = id_of(&series.symbol)?;
            let res = series.resolution.seconds();
            write_series(tx, &mut upsert, id, res, &series.bars)?;
            stats.bars_written += series.bars.len() as u64;
            record_backlog(tx, id, res, &series.bars)?;
            let first = series.bars.iter().map(Bar::ts).min();
            let last = series.bars.iter().map(Bar::ts).max();
            if let (Some(first), Some(last)) = (first, last) {
                log_change(tx, id, ChangeKind::Bars, first, last.saturating_add(1))?;
            }
        }
        let mut oi = tx.prepare_cached(
            "INSERT INTO open_interest (instrument_id, ts, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (instrument_id, ts) DO UPDATE SET value = excluded.value",
        )?;
        for (symbol, readings) in &batch.open_interest {
            let id = id_of(symbol)?;
            for r in readings {
                oi.execute(params![id, r.ts, r.value])?;
            }
            let first = readings.iter().map(|r| r.ts).min();
            let last = readings.iter().map(|r| r.ts).max();
            if let (Some(first), Some(last)) = (first, last) {
                log_change(tx, id, ChangeKind::Bars, first, last.saturating_add(1))?;
            }
            stats.open_interest_written += readings.len() as u64;
        }
    }
    Ok(())
}

/// Rows per multi-row `INSERT` of the append path: at most 2 + 9 x 512 = 4610 parameters, far
/// below SQLite's limit of 32766.
const APPEND_ROWS: usize = 512;

fn bind_bar(
    stmt: &mut rusqlite::Statement<'_>,
    at: usize,
    id: i64,
    res: i64,
    b: &Bar,
) -> rusqlite::Result<()> {
    stmt.raw_bind_parameter(at, id)?;
    stmt.raw_bind_parameter(at + 1, res)?;
    stmt.raw_bind_parameter(at + 2, b.ts())?;
    stmt.raw_bind_parameter(at + 3, b.open())?;
    stmt.raw_bind_parameter(at + 4, b.high())?;
    stmt.raw_bind_parameter(at + 5, b.low())?;
    stmt.raw_bind_parameter(at + 6, b.close())?;
    stmt.raw_bind_parameter(at + 7, b.volume())?;
    stmt.raw_bind_parameter(at + 8, b.open_interest())?;
    stmt.raw_bind_parameter(at + 9, b.trade_count().map(|c| c as i64))?;
    stmt.raw_bind_parameter(at + 10, b.vwap())
}

/// A bar without open interest, trade count and VWAP (the common case of minute bars).
fn plain(b: &Bar) -> bool {
    b.open_interest().is_none() && b.trade_count().is_none() && b.vwap().is_none()
}

/// Multi-row `INSERT` of the append path. The series key is bound once (`?1`, `?2`) and shared
/// by every row; `plain` rows write NULL literals instead of binding three NULLs each.
fn append_sql(rows: usize, plain: bool) -> String {
    let mut sql = String::from(
        "INSERT INTO bars (instrument_id, resolution, ts, open, high, low, close, volume, open_interest, trade_count, vwap) VALUES ",
    );
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(if plain {
            "(?1,?2,?,?,?,?,?,?,NULL,NULL,NULL)"
        } else {
            "(?1,?2,?,?,?,?,?,?,?,?,?)"
        });
    }
    sql
}

/// Bind and run one [`append_sql`] statement for `chunk`.
fn append_chunk(
    stmt: &mut rusqlite::Statement<'_>,
    id: i64,
    res: i64,
    chunk: &[Bar],
    plain: bool,
) -> rusqlite::Result<()> {
    stmt.raw_bind_parameter(1, id)?;
    stmt.raw_bind_parameter(2, res)?;
    let mut at = 3;
    for b in chunk {
        stmt.raw_bind_parameter(at, b.ts())?;
        stmt.raw_bind_parameter(at + 1, b.open())?;
        stmt.raw_bind_parameter(at + 2, b.high())?;
        stmt.raw_bind_parameter(at + 3, b.low())?;
        stmt.raw_bind_parameter(at + 4, b.close())?;
        stmt.raw_bind_parameter(at + 5, b.volume())?;
        at += 6;
        if !plain {
            stmt.raw_bind_parameter(at, b.open_interest())?;
            stmt.raw_bind_parameter(at + 1, b.trade_count().map(|c| c as i64))?;
            stmt.raw_bind_parameter(at + 2, b.vwap())?;
            at += 3;
        }
    }
    stmt.raw_execute()?;
    Ok(())
}

fn count_range(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    res: i64,
    first: i64,
    last: i64,
) -> rusqlite::Result<i64> {
    tx.prepare_cached(
        "SELECT COUNT(*) FROM bars WHERE instrument_id = ?1 AND resolution = ?2 AND ts >= ?3 AND ts <= ?4",
    )?
    .query_row(params![id, res, first, last], |r| r.get(0))
}

/// Write the bars of one series and keep its `series_stats` row exact.
///
/// When the bars are strictly ascending and all after the last stored bar of the series (the
/// common case of an import or a live feed), they cannot conflict: they go in with plain
/// multi-row `INSERT`s. Otherwise each bar is upserted and the row count is corrected by
/// counting the touched range before and after.
fn write_series(
    tx: &rusqlite::Transaction<'_>,
    upsert: &mut rusqlite::CachedStatement<'_>,
    id: i64,
    res: i64,
    bars: &[Bar],
) -> Result<()> {
    let (Some(first), Some(last)) = (
        bars.iter().map(Bar::ts).min(),
        bars.iter().map(Bar::ts).max(),
    ) else {
        return Ok(());
    };
    let stored_last: Option<i64> = tx
        .prepare_cached("SELECT MAX(ts) FROM bars WHERE instrument_id = ?1 AND resolution = ?2")?
        .query_row(params![id, res], |r| r.get(0))?;
    let ascending = bars.windows(2).all(|w| w[0].ts() < w[1].ts());
    let added = if ascending && stored_last.is_none_or(|l| first > l) {
        // Full-size statements, without and with the optional columns, prepared on first use.
        let mut full: [Option<rusqlite::CachedStatement<'_>>; 2] = [None, None];
        let mut chunks = bars.chunks_exact(APPEND_ROWS);
        for chunk in &mut chunks {
            let plain = chunk.iter().all(plain);
            let slot = &mut full[usize::from(plain)];
            if slot.is_none() {
                *slot = Some(tx.prepare_cached(&append_sql(APPEND_ROWS, plain))?);
            }
            append_chunk(slot.as_mut().expect("prepared"), id, res, chunk, plain)?;
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let plain = rest.iter().all(plain);
            append_chunk(
                &mut tx.prepare(&append_sql(rest.len(), plain))?,
                id,
                res,
                rest,
                plain,
            )?;
        }
        bars.len() as i64
    } else {
        let before = count_range(tx, id, res, first, last)?;
        for b in bars {
            bind_bar(upsert, 1, id, res, b)?;
            upsert.raw_execute()?;
        }
        count_range(tx, id, res, first, last)? - before
    };
    tx.prepare_cached(
        "INSERT INTO series_stats (instrument_id, resolution, first_ts, last_ts, count)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (instrument_id, resolution) DO UPDATE SET
             first_ts = MIN(first_ts, excluded.first_ts), last_ts = MAX(last_ts, excluded.last_ts),
             count = count + excluded.count",
    )?
    .execute(params![id, res, first, last, added])?;
    Ok(())
}

/// Recompute `series_stats` from the bars (after deletes).
fn recount_series(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "DELETE FROM series_stats;
         INSERT INTO series_stats (instrument_id, resolution, first_ts, last_ts, count)
         SELECT instrument_id, resolution, MIN(ts), MAX(ts), COUNT(*) FROM bars
         GROUP BY instrument_id, resolution;",
    )
}

/// Append one entry to the change log (inside the caller's transaction).
pub(super) fn log_change(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    kind: ChangeKind,
    first: i64,
    end: i64,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO change_log (instrument_id, kind, first_ts, end_ts) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![id, kind.as_str(), first, end])?;
    Ok(())
}

/// Log a delete of every bar before `before` (from the extents, before they are recounted).
fn log_delete_before(tx: &rusqlite::Transaction<'_>, before: i64) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO change_log (instrument_id, kind, first_ts, end_ts)
         SELECT instrument_id, 'bars', MIN(first_ts), ?1 FROM series_stats
         WHERE first_ts < ?1 GROUP BY instrument_id ORDER BY instrument_id",
        [before],
    )?;
    Ok(())
}

/// Note the range of a written series for the rollup refresh (same transaction as the bars).
fn record_backlog(tx: &rusqlite::Transaction<'_>, id: i64, res: i64, bars: &[Bar]) -> Result<()> {
    let first = bars.iter().map(Bar::ts).min();
    let last = bars.iter().map(Bar::ts).max();
    if let (Some(first), Some(last)) = (first, last) {
        tx.prepare_cached(
            "INSERT INTO rollup_backlog (instrument_id, resolution, first_ts, last_ts)
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![id, res, first, last])?;
    }
    Ok(())
}

fn write_rollups_blocking(conn: &mut Connection, write: &RollupWrite) -> Result<()> {
    crate::rollup::check_write(write)?;
    let tx = conn.transaction()?;
    {
        let id = write.instrument_id;
        let mut delete = tx.prepare_cached(
            "DELETE FROM rollups WHERE instrument_id = ?1 AND base = ?2 AND timeframe = ?3
               AND sessions = ?4 AND start >= ?5 AND start < ?6 AND end_ts <= ?6",
        )?;
        let mut insert = tx.prepare_cached(&format!(
            "INSERT INTO rollups (instrument_id, base, timeframe, sessions, {ROLLUP_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
        ))?;
        let mut coverage = tx.prepare_cached(
            "INSERT INTO rollup_coverage (instrument_id, base, timeframe, sessions, covered_until)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (instrument_id, base, timeframe, sessions)
             DO UPDATE SET covered_until = excluded.covered_until",
        )?;
        for slice in &write.slices {
            let k = &slice.key;
            let base = k.base.seconds();
            let (timeframe, sessions) = k.columns();
            delete.execute(params![
                id,
                base,
                timeframe,
                sessions,
                slice.replace.start(),
                slice.replace.end()
            ])?;
            for r in &slice.rows {
                insert.execute(params![
                    id,
                    base,
                    timeframe,
                    sessions,
                    r.start,
                    r.end,
                    r.date.map(|d| d.to_string()),
                    r.open,
                    r.high,
                    r.low,
                    r.close,
                    r.volume,
                    r.open_interest,
                    r.vwap_typical,
                    r.vwap_vendor,
                    r.all_vendor,
                    r.count,
                    r.last_ts
                ])?;
            }
            coverage.execute(params![id, base, timeframe, sessions, slice.covered_until])?;
        }
        let mut resolve = tx.prepare_cached("DELETE FROM rollup_backlog WHERE seq = ?1")?;
        for seq in &write.resolved {
            if resolve.execute([seq])? == 0 {
                return Err(crate::rollup::already_resolved(*seq));
            }
        }
    }
    tx.commit()?;
    Ok(())
}

fn read_rollups_blocking(
    c: &Connection,
    instrument_id: i64,
    key: &RollupKey,
    range: TimeRange,
) -> Result<RollupSet> {
    let base = key.base.seconds();
    let (timeframe, sessions) = key.columns();
    let covered_until = c
        .prepare_cached(
            "SELECT covered_until FROM rollup_coverage
             WHERE instrument_id = ?1 AND base = ?2 AND timeframe = ?3 AND sessions = ?4",
        )?
        .query_row(params![instrument_id, base, timeframe, sessions], |r| {
            r.get(0)
        })
        .optional()?;
    let pending = c
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM rollup_backlog WHERE instrument_id = ?1 AND resolution = ?2)",
        )?
        .query_row(params![instrument_id, base], |r| r.get(0))?;
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {ROLLUP_COLUMNS} FROM rollups
         WHERE instrument_id = ?1 AND base = ?2 AND timeframe = ?3 AND sessions = ?4
           AND start >= ?5 AND start < ?6 AND end_ts <= ?6
         ORDER BY start"
    ))?;
    let rows = stmt
        .query_map(
            params![
                instrument_id,
                base,
                timeframe,
                sessions,
                range.start(),
                range.end()
            ],
            |r| Ok(rollup_from_row(r)),
        )?
        .map(|row| row?)
        .collect::<Result<Vec<_>>>()?;
    Ok(RollupSet {
        covered_until,
        pending,
        rows,
    })
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ingest(&self, batch: IngestBatch) -> Result<IngestStats> {
        self.try_write(move |c| ingest_blocking(c, &batch)).await
    }

    async fn ingest_stream(
        &self,
        source: String,
        mut chunks: tokio::sync::mpsc::Receiver<crate::IngestMessage>,
    ) -> Result<IngestStats> {
        self.try_write(move |c| ingest_stream_blocking(c, &source, &mut chunks))
            .await
    }

    async fn instrument(&self, symbol: &str) -> Result<Option<Instrument>> {
        let symbol = symbol.to_ascii_uppercase();
        self.try_read(move |c| {
            let sql = format!("SELECT {INSTRUMENT_COLUMNS} FROM instruments WHERE symbol = ?1");
            let row = c
                .query_row(&sql, [&symbol], |r| Ok(instrument_from_row(r)))
                .optional()?;
            row.transpose()
        })
        .await
    }

    async fn search_instruments(&self, filter: &InstrumentFilter) -> Result<Vec<Instrument>> {
        let filter = filter.clone();
        self.try_read(move |c| {
            let sql = format!(
                "SELECT {INSTRUMENT_COLUMNS} FROM instruments
                 WHERE (?1 IS NULL OR symbol LIKE ?1 || '%' ESCAPE '\\' OR description LIKE '%' || ?1 || '%' ESCAPE '\\')
                   AND (?2 IS NULL OR asset_class = ?2)
                 ORDER BY asset_class, symbol LIMIT ?3"
            );
            let text = filter.text.as_deref().map(|t| {
                t.trim().to_ascii_uppercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
            });
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map(
                params![text, filter.asset_class.map(|a| a.as_str()), filter.limit.unwrap_or(1000)],
                |r| Ok(instrument_from_row(r)),
            )?;
            let mut out = Vec::new();
            for row in rows {
                out.push(row??);
            }
            Ok(out)
        })
        .await
    }

    async fn series(&self, instrument_id: i64) -> Result<Vec<SeriesInfo>> {
        self.try_read(move |c| {
            let mut stmt = c.prepare(
                "SELECT resolution, first_ts, last_ts, count FROM series_stats
                 WHERE instrument_id = ?1 AND count > 0 ORDER BY resolution",
            )?;
            let rows = stmt.query_map([instrument_id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (res, first_ts, last_ts, count) = row?;
                let resolution = Resolution::from_seconds(res)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown resolution {res}")))?;
                out.push(SeriesInfo {
                    resolution,
                    first_ts,
                    last_ts,
                    count: count as u64,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn read_bars(&self, q: BarQuery) -> Result<Vec<Bar>> {
        self.try_read(move |c| {
            let (order, limit) = match q.last {
                Some(n) => ("DESC", (n as usize).min(q.max_rows)),
                None => ("ASC", q.max_rows),
            };
            let sql = format!(
                "SELECT ts, open, high, low, close, volume, open_interest, trade_count, vwap FROM bars
                 WHERE instrument_id = ?1 AND resolution = ?2 AND ts >= ?3 AND ts < ?4
                 ORDER BY ts {order} LIMIT ?5"
            );
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(
                params![q.instrument_id, q.resolution.seconds(), q.range.start(), q.range.end(), limit as i64],
                |r| Ok(bar_from_row(r)),
            )?;
            let mut out = Vec::new();
            for row in rows {
                out.push(row??);
            }
            if q.last.is_some() {
                out.reverse();
            }
            Ok(out)
        })
        .await
    }

    async fn count_bars(
        &self,
        instrument_id: i64,
        resolution: Resolution,
        range: TimeRange,
        cap: u64,
    ) -> Result<u64> {
        self.read(move |c| {
            c.prepare_cached(
                "SELECT count(*) FROM (SELECT 1 FROM bars
                 WHERE instrument_id = ?1 AND resolution = ?2 AND ts >= ?3 AND ts < ?4 LIMIT ?5)",
            )?
            .query_row(
                params![
                    instrument_id,
                    resolution.seconds(),
                    range.start(),
                    range.end(),
                    cap.saturating_add(1).min(i64::MAX as u64) as i64
                ],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
        })
        .await
    }

    async fn bar_before(
        &self,
        instrument_id: i64,
        resolution: Resolution,
        ts: i64,
    ) -> Result<Option<Bar>> {
        self.try_read(move |c| {
            let row = c
                .query_row(
                    "SELECT ts, open, high, low, close, volume, open_interest, trade_count, vwap FROM bars
                     WHERE instrument_id = ?1 AND resolution = ?2 AND ts < ?3 ORDER BY ts DESC LIMIT 1",
                    params![instrument_id, resolution.seconds(), ts],
                    |r| Ok(bar_from_row(r)),
                )
                .optional()?;
            row.transpose()
        })
        .await
    }

    async fn read_open_interest(
        &self,
        instrument_id: i64,
        range: TimeRange,
    ) -> Result<Vec<OpenInterestReading>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT ts, value FROM open_interest WHERE instrument_id = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts",
            )?;
            let rows = stmt.query_map(params![instrument_id, range.start(), range.end()], |r| {
                Ok(OpenInterestReading { ts: r.get(0)?, value: r.get(1)? })
            })?;
            rows.collect()
        })
        .await
    }

    async fn create_saved_query(&self, q: NewSavedQuery, now: i64) -> Result<SavedQuery> {
        let name = q.name.clone();
        let id = self
            .write(move |c| {
                c.execute(
                    "INSERT INTO saved_queries (name, description, parameters, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?4)",
                    params![q.name, q.description, q.parameters_json, now],
                )?;
                Ok(c.last_insert_rowid())
            })
            .await
            .map_err(|e| unique_violation(e, &crate::saved_query_taken(&name)))?;
        self.saved_query(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("saved query {id}")))
    }

    async fn saved_query(&self, id: i64) -> Result<Option<SavedQuery>> {
        self.read(move |c| {
            c.query_row(
                "SELECT id, name, description, parameters, created_at, updated_at, last_run_at
                 FROM saved_queries WHERE id = ?1",
                [id],
                saved_query_from_row,
            )
            .optional()
        })
        .await
    }

    async fn list_saved_queries(&self, search: Option<&str>) -> Result<Vec<SavedQuery>> {
        let search = search.map(|s| s.trim().to_lowercase());
        self.read(move |c| {
            let mut stmt = c.prepare(
                "SELECT id, name, description, parameters, created_at, updated_at, last_run_at
                 FROM saved_queries
                 WHERE ?1 IS NULL OR instr(lower(name), ?1) > 0 OR instr(lower(description), ?1) > 0
                 ORDER BY lower(name)",
            )?;
            let rows = stmt.query_map([search], saved_query_from_row)?;
            rows.collect()
        })
        .await
    }

    async fn update_saved_query(&self, id: i64, q: NewSavedQuery, now: i64) -> Result<SavedQuery> {
        let name = q.name.clone();
        let changed = self
            .write(move |c| {
                c.execute(
                    "UPDATE saved_queries SET name = ?2, description = ?3, parameters = ?4, updated_at = ?5
                     WHERE id = ?1",
                    params![id, q.name, q.description, q.parameters_json, now],
                )
            })
            .await
            .map_err(|e| unique_violation(e, &crate::saved_query_taken(&name)))?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!(
                "saved query {id} does not exist"
            )));
        }
        self.saved_query(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("saved query {id}")))
    }

    async fn create_token(
        &self,
        name: &str,
        role: Role,
        secret_hash: &str,
        now: i64,
    ) -> Result<ApiToken> {
        let (name, hash) = (name.to_string(), secret_hash.to_string());
        let id = self
            .write(move |c| {
                c.execute(
                    "INSERT INTO api_tokens (name, role, secret_hash, created_at)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![name, role.as_str(), hash, now],
                )?;
                Ok(c.last_insert_rowid())
            })
            .await
            .map_err(|e| unique_violation(e, "a token with this secret exists"))?;
        self.tokens(Some(id))
            .await?
            .pop()
            .ok_or_else(|| StoreError::NotFound(format!("token {id}")))
    }

    async fn list_tokens(&self) -> Result<Vec<ApiToken>> {
        self.tokens(None).await
    }

    async fn revoke_token(&self, id: i64, now: i64) -> Result<ApiToken> {
        self.write(move |c| {
            c.execute(
                "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, now],
            )
        })
        .await?;
        self.tokens(Some(id))
            .await?
            .pop()
            .ok_or_else(|| StoreError::NotFound(format!("token {id} does not exist")))
    }

    async fn token_by_hash(&self, secret_hash: &str) -> Result<Option<ApiToken>> {
        let hash = secret_hash.to_string();
        let row = self
            .read(move |c| {
                c.query_row(
                    &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE secret_hash = ?1"),
                    [hash],
                    token_row,
                )
                .optional()
            })
            .await?;
        row.map(|r| api_token(r.0, r.1, &r.2, r.3, r.4)).transpose()
    }

    async fn delete_saved_query(&self, id: i64) -> Result<()> {
        let changed = self
            .write(move |c| c.execute("DELETE FROM saved_queries WHERE id = ?1", [id]))
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!(
                "saved query {id} does not exist"
            )));
        }
        Ok(())
    }

    async fn mark_saved_query_run(&self, id: i64, now: i64) -> Result<()> {
        let changed = self
            .write(move |c| {
                c.execute(
                    "UPDATE saved_queries SET last_run_at = ?2 WHERE id = ?1",
                    params![id, now],
                )
            })
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
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT i.asset_class, MAX(s.last_ts) FROM series_stats s
                 JOIN instruments i ON i.id = s.instrument_id
                 GROUP BY i.asset_class ORDER BY i.asset_class",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
        .await?
        .into_iter()
        .map(|(class, ts)| {
            Ok(NewestBar {
                asset_class: class
                    .parse()
                    .map_err(|e| StoreError::Corrupt(format!("asset class {class:?}: {e}")))?,
                ts,
            })
        })
        .collect()
    }

    async fn data_sources(&self) -> Result<Vec<DataSource>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, name, kind, enabled, circuit_state, last_success_at, last_error, bars_ingested
                 FROM data_sources ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(DataSource {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    kind: r.get(2)?,
                    enabled: r.get(3)?,
                    circuit_state: r.get(4)?,
                    last_success_at: r.get(5)?,
                    last_error: r.get(6)?,
                    bars_ingested: r.get::<_, i64>(7)? as u64,
                })
            })?;
            rows.collect()
        })
        .await
    }

    async fn rollup_backlog(&self) -> Result<Vec<RollupBacklog>> {
        self.try_read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT b.seq, b.instrument_id, i.symbol, b.resolution, b.first_ts, b.last_ts
                 FROM rollup_backlog b JOIN instruments i ON i.id = b.instrument_id ORDER BY b.seq",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get::<_, i64>(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (seq, instrument_id, symbol, res, first_ts, last_ts) = row?;
                let resolution = Resolution::from_seconds(res)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown resolution {res}")))?;
                out.push(RollupBacklog {
                    seq,
                    instrument_id,
                    symbol,
                    resolution,
                    first_ts,
                    last_ts,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn write_rollups(&self, write: RollupWrite) -> Result<()> {
        self.try_write(move |c| write_rollups_blocking(c, &write))
            .await
    }

    async fn read_rollups(
        &self,
        instrument_id: i64,
        key: &RollupKey,
        range: TimeRange,
    ) -> Result<RollupSet> {
        let key = key.clone();
        self.try_read(move |c| read_rollups_blocking(c, instrument_id, &key, range))
            .await
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
        // Answered inline (no blocking-pool hop): `PRAGMA data_version` reads the WAL index
        // header in shared memory, a few microseconds; the log is read only after a commit.
        let mut watch = self.inner.watch.lock().expect("change watch");
        if watch.is_none() {
            *watch = Some(Watch::open(&self.inner.path)?);
        }
        Ok(watch.as_mut().expect("opened").seq()?)
    }

    async fn changes_since(&self, after: i64) -> Result<Vec<crate::ChangeRecord>> {
        self.try_read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT c.seq, c.instrument_id, i.root, c.kind, c.first_ts, c.end_ts
                 FROM change_log c LEFT JOIN instruments i ON i.id = c.instrument_id
                 WHERE c.seq > ?1 ORDER BY c.seq LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![after, crate::MAX_CHANGES_PER_READ as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })?;
            rows.map(|row| {
                let (seq, instrument_id, root, kind, first_ts, end_ts) = row?;
                Ok(crate::ChangeRecord {
                    seq,
                    instrument_id,
                    root,
                    kind: ChangeKind::parse(&kind)?,
                    first_ts,
                    end_ts,
                })
            })
            .collect()
        })
        .await
    }
}

/// Map a UNIQUE violation on the saved-query name to a conflict (by SQLite's extended error
/// code, not by message text).
/// The columns of a token row ([`TOKEN_COLUMNS`]).
type TokenRow = (i64, String, String, i64, Option<i64>);

fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

impl SqliteStore {
    /// One token (`Some(id)`) or all of them, by id.
    async fn tokens(&self, id: Option<i64>) -> Result<Vec<ApiToken>> {
        let rows = self
            .read(move |c| {
                let mut stmt = c.prepare(&format!(
                    "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE ?1 IS NULL OR id = ?1 ORDER BY id"
                ))?;
                let rows = stmt.query_map([id], token_row)?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
            })
            .await?;
        rows.into_iter()
            .map(|r| api_token(r.0, r.1, &r.2, r.3, r.4))
            .collect()
    }
}

/// `Conflict(conflict)` for a unique-constraint violation, `e` otherwise.
fn unique_violation(e: StoreError, conflict: &str) -> StoreError {
    match e {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
        {
            StoreError::Conflict(conflict.to_string())
        }
        other => other,
    }
}

#[async_trait]
impl Maintenance for SqliteStore {
    async fn analyze(&self) -> Result<()> {
        self.write(|c| c.execute_batch("ANALYZE")).await
    }

    async fn optimize(&self) -> Result<()> {
        self.write(|c| c.execute_batch("PRAGMA optimize; VACUUM; PRAGMA wal_checkpoint(TRUNCATE);"))
            .await
    }

    async fn retention(&self, older_than: i64) -> Result<u64> {
        self.write(move |c| {
            let tx = c.transaction()?;
            log_delete_before(&tx, older_than)?;
            let n = tx.execute("DELETE FROM bars WHERE ts < ?1", [older_than])?;
            tx.execute("DELETE FROM rollups WHERE start < ?1", [older_than])?;
            recount_series(&tx)?;
            tx.commit()?;
            Ok(n as u64)
        })
        .await
    }

    async fn archive(&self, before: i64, dir: &Path) -> Result<ArchiveReport> {
        let dir = dir.to_path_buf();
        // The single writer connection holds the transaction, so no ingest can slip old bars in
        // between the read and the delete; files are complete before the delete commits.
        self.try_write(move |c| {
            let tx = c.transaction()?;
            let series: Vec<(String, i64, i64)> = {
                let mut stmt = tx.prepare(
                    "SELECT DISTINCT i.symbol, b.instrument_id, b.resolution FROM bars b
                     JOIN instruments i ON i.id = b.instrument_id
                     WHERE b.ts < ?1 ORDER BY 1, 3",
                )?;
                let rows = stmt.query_map([before], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let mut report = ArchiveReport::default();
            for (symbol, id, res) in series {
                let resolution = Resolution::from_seconds(res)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown resolution {res}")))?;
                let mut stmt = tx.prepare_cached(
                    "SELECT ts, open, high, low, close, volume, open_interest, trade_count, vwap FROM bars
                     WHERE instrument_id = ?1 AND resolution = ?2 AND ts < ?3 ORDER BY ts",
                )?;
                let bars = stmt
                    .query_map(params![id, res, before], |r| Ok(bar_from_row(r)))?
                    .map(|row| row?)
                    .collect::<Result<Vec<_>>>()?;
                report.files.push(archive::write_series(&dir, &symbol, resolution, &bars)?);
                report.bars += bars.len() as u64;
            }
            log_delete_before(&tx, before)?;
            let removed = tx.execute("DELETE FROM bars WHERE ts < ?1", [before])? as u64;
            tx.execute("DELETE FROM rollups WHERE start < ?1", [before])?;
            recount_series(&tx)?;
            if removed != report.bars {
                return Err(StoreError::Backend(format!(
                    "archive wrote {} bars but would delete {removed}; rolled back",
                    report.bars
                )));
            }
            tx.commit()?;
            Ok(report)
        })
        .await
    }
}
