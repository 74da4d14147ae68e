//! Row <-> domain conversions for PostgreSQL. Invariants are re-checked on the way out.

use tokio_postgres::Row;
use tradeassist_model::{
    Bar, DataSource, FuturesContract, Instrument, NewInstrument, SavedQuery,
    instrument::parse_timezone,
};

use crate::{RollupRow, StoreError};

pub(crate) const INSTRUMENT_COLUMNS: &str = "id, symbol, asset_class, exchange, timezone, calendar, currency, \
     tick_size, multiplier, description, root, contract_month, last_trade_date, first_notice_date";

pub(crate) const BAR_COLUMNS: &str =
    "ts, open, high, low, close, volume, open_interest, trade_count, vwap";

pub(crate) const SAVED_QUERY_COLUMNS: &str =
    "id, name, description, parameters, created_at, updated_at, last_run_at";

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

pub(crate) fn instrument_from_row(r: &Row) -> Result<Instrument, StoreError> {
    let asset_class: String = r.try_get(2)?;
    let timezone: String = r.try_get(4)?;
    let root: Option<String> = r.try_get(10)?;
    let month: Option<String> = r.try_get(11)?;
    let contract = match (root, month) {
        (Some(root), Some(month)) => Some(FuturesContract {
            root,
            month: month.parse().map_err(corrupt)?,
            last_trade_date: r.try_get(12)?,
            first_notice_date: r.try_get(13)?,
        }),
        _ => None,
    };
    Ok(Instrument {
        id: r.try_get(0)?,
        def: NewInstrument {
            symbol: r.try_get(1)?,
            asset_class: asset_class.parse().map_err(corrupt)?,
            exchange: r.try_get(3)?,
            timezone: parse_timezone(&timezone).map_err(corrupt)?,
            calendar: r.try_get(5)?,
            currency: r.try_get(6)?,
            tick_size: r.try_get(7)?,
            multiplier: r.try_get(8)?,
            description: r.try_get(9)?,
            contract,
        },
    })
}

/// Columns: [`BAR_COLUMNS`].
pub(crate) fn bar_from_row(r: &Row) -> Result<Bar, StoreError> {
    let ts: i64 = r.try_get(0)?;
    let trades: Option<i64> = r.try_get(7)?;
    let open_interest: Option<f64> = r.try_get(6)?;
    let vwap: Option<f64> = r.try_get(8)?;
    let bar = Bar::new(
        ts,
        r.try_get(1)?,
        r.try_get(2)?,
        r.try_get(3)?,
        r.try_get(4)?,
        r.try_get(5)?,
    )
    .and_then(|b| b.with_open_interest(open_interest))
    .and_then(|b| b.with_vwap(vwap))
    .map_err(|e| corrupt(format!("bar at {ts}: {e}")))?;
    Ok(bar.with_trade_count(trades.map(|t| t as u64)))
}

/// Columns: [`SAVED_QUERY_COLUMNS`].
pub(crate) fn saved_query_from_row(r: &Row) -> Result<SavedQuery, StoreError> {
    Ok(SavedQuery {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        description: r.try_get(2)?,
        parameters_json: r.try_get(3)?,
        created_at: r.try_get(4)?,
        updated_at: r.try_get(5)?,
        last_run_at: r.try_get(6)?,
    })
}

pub(crate) fn data_source_from_row(r: &Row) -> Result<DataSource, StoreError> {
    Ok(DataSource {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        kind: r.try_get(2)?,
        enabled: r.try_get(3)?,
        circuit_state: r.try_get(4)?,
        last_success_at: r.try_get(5)?,
        last_error: r.try_get(6)?,
        bars_ingested: r.try_get::<_, i64>(7)? as u64,
    })
}

pub(crate) const ROLLUP_COLUMNS: &str = "start, end_ts, date, open, high, low, close, volume, \
     open_interest, vwap_typical, vwap_vendor, all_vendor, count, last_ts";

/// Columns: [`ROLLUP_COLUMNS`].
pub(crate) fn rollup_from_row(r: &Row) -> Result<RollupRow, StoreError> {
    let count: i32 = r.try_get(12)?;
    Ok(RollupRow {
        start: r.try_get(0)?,
        end: r.try_get(1)?,
        date: r.try_get(2)?,
        open: r.try_get(3)?,
        high: r.try_get(4)?,
        low: r.try_get(5)?,
        close: r.try_get(6)?,
        volume: r.try_get(7)?,
        open_interest: r.try_get(8)?,
        vwap_typical: r.try_get(9)?,
        vwap_vendor: r.try_get(10)?,
        all_vendor: r.try_get(11)?,
        count: u32::try_from(count).map_err(|_| corrupt(format!("rollup count {count}")))?,
        last_ts: r.try_get(13)?,
    })
}
