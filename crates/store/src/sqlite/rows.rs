//! Row <-> domain conversions for SQLite. Invariants are re-checked on the way out.

use chrono::NaiveDate;
use rusqlite::Row;
use tradeassist_model::{
    Bar, FuturesContract, Instrument, NewInstrument, SavedQuery, instrument::parse_timezone,
};

use crate::{RollupRow, StoreError};

pub(crate) const INSTRUMENT_COLUMNS: &str = "id, symbol, asset_class, exchange, timezone, calendar, currency, \
     tick_size, multiplier, description, root, contract_month, last_trade_date, first_notice_date";

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn date(s: Option<String>) -> Result<Option<NaiveDate>, StoreError> {
    s.map(|s| {
        s.parse::<NaiveDate>()
            .map_err(|e| corrupt(format!("date {s}: {e}")))
    })
    .transpose()
}

pub(crate) fn instrument_from_row(r: &Row<'_>) -> Result<Instrument, StoreError> {
    let get_err = |e: rusqlite::Error| StoreError::from(e);
    let asset_class: String = r.get(2).map_err(get_err)?;
    let timezone: String = r.get(4).map_err(get_err)?;
    let root: Option<String> = r.get(10).map_err(get_err)?;
    let month: Option<String> = r.get(11).map_err(get_err)?;
    let contract = match (root, month) {
        (Some(root), Some(month)) => Some(FuturesContract {
            root,
            month: month.parse().map_err(corrupt)?,
            last_trade_date: date(r.get(12).map_err(get_err)?)?,
            first_notice_date: date(r.get(13).map_err(get_err)?)?,
        }),
        _ => None,
    };
    Ok(Instrument {
        id: r.get(0).map_err(get_err)?,
        def: NewInstrument {
            symbol: r.get(1).map_err(get_err)?,
            asset_class: asset_class.parse().map_err(corrupt)?,
            exchange: r.get(3).map_err(get_err)?,
            timezone: parse_timezone(&timezone).map_err(corrupt)?,
            calendar: r.get(5).map_err(get_err)?,
            currency: r.get(6).map_err(get_err)?,
            tick_size: r.get(7).map_err(get_err)?,
            multiplier: r.get(8).map_err(get_err)?,
            description: r.get(9).map_err(get_err)?,
            contract,
        },
    })
}

/// Columns: ts, open, high, low, close, volume, open_interest, trade_count, vwap.
pub(crate) fn bar_from_row(r: &Row<'_>) -> Result<Bar, StoreError> {
    let g = |e: rusqlite::Error| StoreError::from(e);
    let ts: i64 = r.get(0).map_err(g)?;
    let bar = Bar::new(
        ts,
        r.get(1).map_err(g)?,
        r.get(2).map_err(g)?,
        r.get(3).map_err(g)?,
        r.get(4).map_err(g)?,
        r.get(5).map_err(g)?,
    )
    .and_then(|b| b.with_open_interest(r.get(6).ok().flatten()))
    .and_then(|b| b.with_vwap(r.get(8).ok().flatten()))
    .map_err(|e| corrupt(format!("bar at {ts}: {e}")))?;
    let trades: Option<i64> = r.get(7).map_err(g)?;
    Ok(bar.with_trade_count(trades.map(|t| t as u64)))
}

pub(crate) fn saved_query_from_row(r: &Row<'_>) -> rusqlite::Result<SavedQuery> {
    Ok(SavedQuery {
        id: r.get(0)?,
        name: r.get(1)?,
        description: r.get(2)?,
        parameters_json: r.get(3)?,
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
        last_run_at: r.get(6)?,
    })
}

pub(crate) const ROLLUP_COLUMNS: &str = "start, end_ts, date, open, high, low, close, volume, \
     open_interest, vwap_typical, vwap_vendor, all_vendor, count, last_ts";

/// Columns: [`ROLLUP_COLUMNS`].
pub(crate) fn rollup_from_row(r: &Row<'_>) -> Result<RollupRow, StoreError> {
    let g = |e: rusqlite::Error| StoreError::from(e);
    Ok(RollupRow {
        start: r.get(0).map_err(g)?,
        end: r.get(1).map_err(g)?,
        date: date(r.get(2).map_err(g)?)?,
        open: r.get(3).map_err(g)?,
        high: r.get(4).map_err(g)?,
        low: r.get(5).map_err(g)?,
        close: r.get(6).map_err(g)?,
        volume: r.get(7).map_err(g)?,
        open_interest: r.get(8).map_err(g)?,
        vwap_typical: r.get(9).map_err(g)?,
        vwap_vendor: r.get(10).map_err(g)?,
        all_vendor: r.get(11).map_err(g)?,
        count: r.get(12).map_err(g)?,
        last_ts: r.get(13).map_err(g)?,
    })
}
