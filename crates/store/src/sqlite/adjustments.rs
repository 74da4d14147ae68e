//! SQLite side of corporate-action factors and the roll history (schema versions 3 and 4).

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, ToSql, params, params_from_iter};

use super::SqliteStore;
use crate::adjustments::{KeyColumns, join_warnings, split_warnings};
use crate::{FactorRecord, FactorSet, Result, RollHistory, RollHistoryKey, StoreError, StoredRoll};

fn parse_date(s: &str) -> Result<NaiveDate> {
    s.parse::<NaiveDate>()
        .map_err(|e| StoreError::Corrupt(format!("date {s}: {e}")))
}

fn write_factors_blocking(conn: &mut Connection, sets: &[FactorSet]) -> Result<u64> {
    let tx = conn.transaction()?;
    let mut written = 0u64;
    for set in sets {
        let id: i64 = tx
            .query_row(
                "SELECT id FROM instruments WHERE symbol = ?1",
                [set.symbol.to_ascii_uppercase()],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| {
                StoreError::NotFound(format!("instrument {} is not stored", set.symbol))
            })?;
        tx.execute(
            "DELETE FROM corporate_factors WHERE instrument_id = ?1",
            [id],
        )?;
        super::log_change(&tx, id, crate::ChangeKind::Factors, i64::MIN, i64::MAX)?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO corporate_factors (instrument_id, date, price_factor, split_factor, reference_price)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for r in &set.rows {
            insert.execute(params![
                id,
                r.date.to_string(),
                r.price_factor,
                r.split_factor,
                r.reference_price
            ])?;
        }
        written += set.rows.len() as u64;
    }
    tx.commit()?;
    Ok(written)
}

fn read_factors(conn: &Connection, instrument_id: i64) -> Result<Vec<FactorRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT date, price_factor, split_factor, reference_price FROM corporate_factors
         WHERE instrument_id = ?1 ORDER BY date",
    )?;
    let rows = stmt.query_map([instrument_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, f64>(1)?,
            r.get::<_, f64>(2)?,
            r.get::<_, f64>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (date, price_factor, split_factor, reference_price) = row?;
        out.push(FactorRecord {
            date: parse_date(&date)?,
            price_factor,
            split_factor,
            reference_price,
        });
    }
    Ok(out)
}

const KEY_WHERE: &str =
    "root = ?1 AND rule = ?2 AND fixed_dates = ?3 AND roll_offset = ?4 AND anchor = ?5
     AND contract_rank = ?6 AND roll_price = ?7 AND adjust = ?8 AND options = ?9 AND base = ?10";

/// The ten key columns of a roll history (`?1`..`?10`, as in [`KEY_WHERE`]), then `rest`.
fn key_params<'a>(key: &'a KeyColumns, rest: &[&'a dyn ToSql]) -> Vec<&'a dyn ToSql> {
    let mut out: Vec<&'a dyn ToSql> = vec![
        &key.root,
        &key.rule,
        &key.fixed_dates,
        &key.roll_offset,
        &key.anchor,
        &key.rank,
        &key.roll_price,
        &key.adjust,
        &key.options,
        &key.base,
    ];
    out.extend_from_slice(rest);
    out
}

fn read_history(
    conn: &Connection,
    key: &RollHistoryKey,
    fingerprint: &str,
) -> Result<Option<RollHistory>> {
    let columns = key.columns();
    let head = conn
        .query_row(
            &format!(
                "SELECT id, computed_at, warnings FROM roll_history WHERE {KEY_WHERE} AND fingerprint = ?11"
            ),
            params_from_iter(key_params(&columns, &[&fingerprint])),
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                ))
            },
        )
        .optional()?;
    let Some((id, computed_at, warnings)) = head else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT date, ts, from_contract, to_contract, from_price, to_price, trigger
         FROM roll_history_events WHERE history_id = ?1 ORDER BY seq",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, f64>(4)?,
            r.get::<_, f64>(5)?,
            r.get::<_, String>(6)?,
        ))
    })?;
    let mut events = Vec::new();
    for row in rows {
        let (date, ts, from, to, from_price, to_price, trigger) = row?;
        events.push(StoredRoll {
            date: parse_date(&date)?,
            ts,
            from,
            to,
            from_price,
            to_price,
            trigger,
        });
    }
    Ok(Some(RollHistory {
        fingerprint: fingerprint.to_string(),
        computed_at,
        events,
        warnings: split_warnings(&warnings),
    }))
}

fn write_history_blocking(
    conn: &mut Connection,
    key: &RollHistoryKey,
    history: &RollHistory,
) -> Result<()> {
    let columns = key.columns();
    let warnings = join_warnings(&history.warnings);
    let tx = conn.transaction()?;
    let id: i64 = tx.query_row(
        "INSERT INTO roll_history (root, rule, fixed_dates, roll_offset, anchor, contract_rank, roll_price,
             adjust, options, base, fingerprint, computed_at, warnings)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT (root, rule, fixed_dates, roll_offset, anchor, contract_rank, roll_price, adjust, options, base)
         DO UPDATE SET fingerprint = excluded.fingerprint, computed_at = excluded.computed_at,
             warnings = excluded.warnings
         RETURNING id",
        params_from_iter(key_params(
            &columns,
            &[&history.fingerprint, &history.computed_at, &warnings],
        )),
        |r| r.get(0),
    )?;
    tx.execute(
        "DELETE FROM roll_history_events WHERE history_id = ?1",
        [id],
    )?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO roll_history_events (history_id, seq, date, ts, from_contract, to_contract, from_price,
                 to_price, trigger)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for (seq, e) in history.events.iter().enumerate() {
            insert.execute(params![
                id,
                seq as i64,
                e.date.to_string(),
                e.ts,
                e.from,
                e.to,
                e.from_price,
                e.to_price,
                e.trigger,
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

impl SqliteStore {
    pub(super) async fn write_factors_impl(&self, sets: Vec<FactorSet>) -> Result<u64> {
        self.try_write(move |c| write_factors_blocking(c, &sets))
            .await
    }

    pub(super) async fn factors_impl(&self, instrument_id: i64) -> Result<Vec<FactorRecord>> {
        self.try_read(move |c| read_factors(c, instrument_id)).await
    }

    pub(super) async fn roll_history_impl(
        &self,
        key: &RollHistoryKey,
        fingerprint: &str,
    ) -> Result<Option<RollHistory>> {
        let (key, fingerprint) = (key.clone(), fingerprint.to_string());
        self.try_read(move |c| read_history(c, &key, &fingerprint))
            .await
    }

    pub(super) async fn write_roll_history_impl(
        &self,
        key: &RollHistoryKey,
        history: RollHistory,
    ) -> Result<()> {
        let key = key.clone();
        self.try_write(move |c| write_history_blocking(c, &key, &history))
            .await
    }
}
