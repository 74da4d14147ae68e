//! Versioned schema of the SQLite backend. Migrations run forward at open.

use rusqlite::Connection;

/// `(version, up, down)`; applied in order, each inside a transaction.
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        r#"
CREATE TABLE instruments (
    id                INTEGER PRIMARY KEY,
    symbol            TEXT NOT NULL UNIQUE,
    asset_class       TEXT NOT NULL CHECK (asset_class IN ('stock', 'index', 'future')),
    exchange          TEXT NOT NULL,
    timezone          TEXT NOT NULL,
    calendar          TEXT NOT NULL,
    currency          TEXT NOT NULL,
    tick_size         REAL NOT NULL,
    multiplier        REAL NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    root              TEXT,
    contract_month    TEXT,
    last_trade_date   TEXT,
    first_notice_date TEXT
);
CREATE INDEX instruments_root ON instruments (root, contract_month);

-- One row per bar, clustered by (instrument, resolution, ts): a range read is one B-tree walk.
CREATE TABLE bars (
    instrument_id INTEGER NOT NULL REFERENCES instruments (id),
    resolution    INTEGER NOT NULL,
    ts            INTEGER NOT NULL,
    open          REAL NOT NULL,
    high          REAL NOT NULL,
    low           REAL NOT NULL,
    close         REAL NOT NULL,
    volume        REAL NOT NULL,
    open_interest REAL,
    trade_count   INTEGER,
    vwap          REAL,
    PRIMARY KEY (instrument_id, resolution, ts)
) WITHOUT ROWID;

CREATE TABLE open_interest (
    instrument_id INTEGER NOT NULL REFERENCES instruments (id),
    ts            INTEGER NOT NULL,
    value         REAL NOT NULL,
    PRIMARY KEY (instrument_id, ts)
) WITHOUT ROWID;

CREATE TABLE data_sources (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    enabled         INTEGER NOT NULL,
    circuit_state   TEXT NOT NULL DEFAULT 'closed',
    last_success_at INTEGER,
    last_error      TEXT,
    bars_ingested   INTEGER NOT NULL DEFAULT 0
);
INSERT INTO data_sources (name, kind, enabled) VALUES
    ('file', 'file_import', 1),
    ('schwab', 'schwab', 0);

CREATE TABLE saved_queries (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    parameters  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    last_run_at INTEGER
);

-- For people who query the database directly.
CREATE VIEW bars_view AS
SELECT i.symbol, b.resolution, datetime(b.ts, 'unixepoch') AS ts_utc,
       b.open, b.high, b.low, b.close, b.volume, b.open_interest
FROM bars b JOIN instruments i ON i.id = b.instrument_id;
"#,
        r#"
DROP VIEW bars_view;
DROP TABLE saved_queries;
DROP TABLE data_sources;
DROP TABLE open_interest;
DROP TABLE bars;
DROP TABLE instruments;
"#,
    ),
    (
        2,
        r#"
-- Materialized higher timeframes computed by the service from base bars (see store::rollup).
CREATE TABLE rollups (
    instrument_id INTEGER NOT NULL,
    base          INTEGER NOT NULL,
    timeframe     TEXT NOT NULL,
    sessions      TEXT NOT NULL,
    start         INTEGER NOT NULL,
    end_ts        INTEGER NOT NULL,
    date          TEXT,
    open          REAL NOT NULL,
    high          REAL NOT NULL,
    low           REAL NOT NULL,
    close         REAL NOT NULL,
    volume        REAL NOT NULL,
    open_interest REAL,
    vwap_typical  REAL,
    vwap_vendor   REAL,
    all_vendor    INTEGER NOT NULL,
    count         INTEGER NOT NULL,
    last_ts       INTEGER NOT NULL,
    PRIMARY KEY (instrument_id, base, timeframe, sessions, start)
) WITHOUT ROWID;

CREATE TABLE rollup_coverage (
    instrument_id INTEGER NOT NULL,
    base          INTEGER NOT NULL,
    timeframe     TEXT NOT NULL,
    sessions      TEXT NOT NULL,
    covered_until INTEGER NOT NULL,
    PRIMARY KEY (instrument_id, base, timeframe, sessions)
) WITHOUT ROWID;

-- Ranges written by ingests and not yet rolled up; existing series start out pending.
CREATE TABLE rollup_backlog (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    instrument_id INTEGER NOT NULL,
    resolution    INTEGER NOT NULL,
    first_ts      INTEGER NOT NULL,
    last_ts       INTEGER NOT NULL
);
CREATE INDEX rollup_backlog_series ON rollup_backlog (instrument_id, resolution);

-- Extent of every stored series, kept exact by ingest (COUNT(*) over bars is a full scan).
CREATE TABLE series_stats (
    instrument_id INTEGER NOT NULL,
    resolution    INTEGER NOT NULL,
    first_ts      INTEGER NOT NULL,
    last_ts       INTEGER NOT NULL,
    count         INTEGER NOT NULL,
    PRIMARY KEY (instrument_id, resolution)
) WITHOUT ROWID;
INSERT INTO series_stats (instrument_id, resolution, first_ts, last_ts, count)
SELECT instrument_id, resolution, MIN(ts), MAX(ts), COUNT(*) FROM bars GROUP BY instrument_id, resolution;
INSERT INTO rollup_backlog (instrument_id, resolution, first_ts, last_ts)
SELECT instrument_id, resolution, MIN(ts), MAX(ts) FROM bars GROUP BY instrument_id, resolution;
"#,
        r#"
DROP TABLE series_stats;
DROP TABLE rollup_backlog;
DROP TABLE rollup_coverage;
DROP TABLE rollups;
"#,
    ),
    (
        3,
        r#"
-- Corporate-action factors of equities (LEAN factor-file rows): a bar on day D takes the
-- first row dated >= D; adjusted = raw * price_factor * split_factor (splits only: * split_factor).
CREATE TABLE corporate_factors (
    instrument_id   INTEGER NOT NULL REFERENCES instruments (id),
    date            TEXT NOT NULL,
    price_factor    REAL NOT NULL CHECK (price_factor > 0),
    split_factor    REAL NOT NULL CHECK (split_factor > 0),
    reference_price REAL NOT NULL,
    PRIMARY KEY (instrument_id, date)
) WITHOUT ROWID;

-- Roll events of continuous futures specs, valid while the fingerprint of their inputs
-- (the contracts' stored series) is unchanged. One row per spec, its events below.
CREATE TABLE roll_history (
    id            INTEGER PRIMARY KEY,
    root          TEXT NOT NULL,
    rule          TEXT NOT NULL,
    fixed_dates   TEXT NOT NULL,
    roll_offset   INTEGER NOT NULL,
    anchor        TEXT NOT NULL,
    contract_rank INTEGER NOT NULL,
    roll_price    TEXT NOT NULL,
    adjust        TEXT NOT NULL,
    base          INTEGER NOT NULL,
    fingerprint   TEXT NOT NULL,
    computed_at   INTEGER NOT NULL,
    warnings      TEXT NOT NULL,
    UNIQUE (root, rule, fixed_dates, roll_offset, anchor, contract_rank, roll_price, adjust, base)
);

CREATE TABLE roll_history_events (
    history_id    INTEGER NOT NULL REFERENCES roll_history (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    date          TEXT NOT NULL,
    ts            INTEGER NOT NULL,
    from_contract TEXT NOT NULL,
    to_contract   TEXT NOT NULL,
    from_price    REAL NOT NULL,
    to_price      REAL NOT NULL,
    trigger_kind  TEXT NOT NULL,
    trigger_date  TEXT,
    trigger_front REAL,
    trigger_next  REAL,
    PRIMARY KEY (history_id, seq)
) WITHOUT ROWID;
"#,
        r#"
DROP TABLE roll_history_events;
DROP TABLE roll_history;
DROP TABLE corporate_factors;
"#,
    ),
    (
        4,
        r#"
-- Roll histories keyed by the whole spec (roll cycle, grace window, skip flag in `options`)
-- and events with the engine's encoded trigger. Histories are recomputable: start afresh.
DROP TABLE roll_history_events;
DROP TABLE roll_history;
CREATE TABLE roll_history (
    id            INTEGER PRIMARY KEY,
    root          TEXT NOT NULL,
    rule          TEXT NOT NULL,
    fixed_dates   TEXT NOT NULL,
    roll_offset   INTEGER NOT NULL,
    anchor        TEXT NOT NULL,
    contract_rank INTEGER NOT NULL,
    roll_price    TEXT NOT NULL,
    adjust        TEXT NOT NULL,
    options       TEXT NOT NULL,
    base          INTEGER NOT NULL,
    fingerprint   TEXT NOT NULL,
    computed_at   INTEGER NOT NULL,
    warnings      TEXT NOT NULL,
    UNIQUE (root, rule, fixed_dates, roll_offset, anchor, contract_rank, roll_price, adjust, options, base)
);

CREATE TABLE roll_history_events (
    history_id    INTEGER NOT NULL REFERENCES roll_history (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    date          TEXT NOT NULL,
    ts            INTEGER NOT NULL,
    from_contract TEXT NOT NULL,
    to_contract   TEXT NOT NULL,
    from_price    REAL NOT NULL,
    to_price      REAL NOT NULL,
    trigger       TEXT NOT NULL,
    PRIMARY KEY (history_id, seq)
) WITHOUT ROWID;

-- Saved-query ids are never reused after a delete (AUTOINCREMENT keeps the high-water mark).
CREATE TABLE saved_queries_v4 (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    parameters  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    last_run_at INTEGER
);
INSERT INTO saved_queries_v4 (id, name, description, parameters, created_at, updated_at, last_run_at)
    SELECT id, name, description, parameters, created_at, updated_at, last_run_at FROM saved_queries;
DROP TABLE saved_queries;
ALTER TABLE saved_queries_v4 RENAME TO saved_queries;
"#,
        r#"
DROP TABLE roll_history_events;
DROP TABLE roll_history;
CREATE TABLE roll_history (
    id            INTEGER PRIMARY KEY,
    root          TEXT NOT NULL,
    rule          TEXT NOT NULL,
    fixed_dates   TEXT NOT NULL,
    roll_offset   INTEGER NOT NULL,
    anchor        TEXT NOT NULL,
    contract_rank INTEGER NOT NULL,
    roll_price    TEXT NOT NULL,
    adjust        TEXT NOT NULL,
    base          INTEGER NOT NULL,
    fingerprint   TEXT NOT NULL,
    computed_at   INTEGER NOT NULL,
    warnings      TEXT NOT NULL,
    UNIQUE (root, rule, fixed_dates, roll_offset, anchor, contract_rank, roll_price, adjust, base)
);

CREATE TABLE roll_history_events (
    history_id    INTEGER NOT NULL REFERENCES roll_history (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    date          TEXT NOT NULL,
    ts            INTEGER NOT NULL,
    from_contract TEXT NOT NULL,
    to_contract   TEXT NOT NULL,
    from_price    REAL NOT NULL,
    to_price      REAL NOT NULL,
    trigger_kind  TEXT NOT NULL,
    trigger_date  TEXT,
    trigger_front REAL,
    trigger_next  REAL,
    PRIMARY KEY (history_id, seq)
) WITHOUT ROWID;
CREATE TABLE saved_queries_v3 (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    parameters  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    last_run_at INTEGER
);
INSERT INTO saved_queries_v3 (id, name, description, parameters, created_at, updated_at, last_run_at)
    SELECT id, name, description, parameters, created_at, updated_at, last_run_at FROM saved_queries;
DROP TABLE saved_queries;
ALTER TABLE saved_queries_v3 RENAME TO saved_queries;
"#,
    ),
    (
        5,
        r#"
-- What every ingest, factor import and delete changed, appended in the same transaction:
-- servers follow it to invalidate exactly the cached answers that depend on the change.
CREATE TABLE change_log (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    instrument_id INTEGER NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('bars', 'factors', 'instrument')),
    first_ts      INTEGER NOT NULL,
    end_ts        INTEGER NOT NULL
);
"#,
        r#"
DROP TABLE change_log;
"#,
    ),
    (
        6,
        r#"
-- API tokens: only the SHA-256 of each secret is kept.
CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('read', 'write', 'admin')),
    secret_hash TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
"#,
        r#"
DROP TABLE api_tokens;
"#,
    ),
];

/// Bring the schema to the newest version.
pub(crate) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)")?;
    let current: i64 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )?;
    for (version, up, _) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        let tx = conn.transaction()?;
        tx.execute_batch(up)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [version],
        )?;
        tx.commit()?;
    }
    Ok(())
}

/// Undo migrations down to `target` (exclusive), newest first.
pub(crate) fn migrate_down(conn: &mut Connection, target: i64) -> rusqlite::Result<()> {
    let current: i64 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )?;
    for (version, _, down) in MIGRATIONS
        .iter()
        .rev()
        .filter(|m| m.0 > target && m.0 <= current)
    {
        let tx = conn.transaction()?;
        tx.execute_batch(down)?;
        tx.execute("DELETE FROM schema_version WHERE version = ?1", [version])?;
        tx.commit()?;
    }
    Ok(())
}
