//! PostgreSQL side of corporate-action factors and the roll history (schema versions 3 and 4).

use tokio_postgres::types::ToSql;

use super::PostgresStore;
use crate::adjustments::{KeyColumns, join_warnings, split_warnings};
use crate::{FactorRecord, FactorSet, Result, RollHistory, RollHistoryKey, StoreError, StoredRoll};

const KEY_WHERE: &str =
    "root = $1 AND rule = $2 AND fixed_dates = $3 AND roll_offset = $4 AND anchor = $5
     AND contract_rank = $6 AND roll_price = $7 AND adjust = $8 AND options = $9 AND base = $10";

/// The key as statement parameters `$1..$10` (integers as the column types).
struct KeyParams {
    key: KeyColumns,
    offset: i32,
    rank: i32,
    base: i32,
}

impl KeyParams {
    fn new(key: &RollHistoryKey) -> Result<Self> {
        let int = |v: u32, what: &str| {
            i32::try_from(v).map_err(|_| StoreError::Backend(format!("{what} {v} is too large")))
        };
        let key = key.columns();
        Ok(KeyParams {
            offset: int(key.roll_offset, "roll offset")?,
            rank: int(key.rank, "rank")?,
            base: key.base as i32,
            key,
        })
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 10] {
        [
            &self.key.root,
            &self.key.rule,
            &self.key.fixed_dates,
            &self.offset,
            &self.key.anchor,
            &self.rank,
            &self.key.roll_price,
            &self.key.adjust,
            &self.key.options,
            &self.base,
        ]
    }
}

impl PostgresStore {
    pub(super) async fn write_factors_impl(&self, sets: Vec<FactorSet>) -> Result<u64> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let mut written = 0u64;
        let mut changes = Vec::new();
        for set in &sets {
            let id: i64 = tx
                .query_opt(
                    "SELECT id FROM instruments WHERE symbol = $1",
                    &[&set.symbol.to_ascii_uppercase()],
                )
                .await?
                .ok_or_else(|| {
                    StoreError::NotFound(format!("instrument {} is not stored", set.symbol))
                })?
                .try_get(0)?;
            tx.execute(
                "DELETE FROM corporate_factors WHERE instrument_id = $1",
                &[&id],
            )
            .await?;
            changes.push((id, crate::ChangeKind::Factors, i64::MIN, i64::MAX));
            let dates: Vec<chrono::NaiveDate> = set.rows.iter().map(|r| r.date).collect();
            let price: Vec<f64> = set.rows.iter().map(|r| r.price_factor).collect();
            let split: Vec<f64> = set.rows.iter().map(|r| r.split_factor).collect();
            let reference: Vec<f64> = set.rows.iter().map(|r| r.reference_price).collect();
            tx.execute(
                "INSERT INTO corporate_factors (instrument_id, date, price_factor, split_factor, reference_price)
                 SELECT $1, * FROM unnest($2::DATE[], $3::DOUBLE PRECISION[], $4::DOUBLE PRECISION[],
                                          $5::DOUBLE PRECISION[])",
                &[&id, &dates, &price, &split, &reference],
            )
            .await?;
            written += set.rows.len() as u64;
        }
        if !changes.is_empty() {
            super::insert_changes(&tx, &changes).await?;
        }
        tx.commit().await?;
        Ok(written)
    }

    pub(super) async fn factors_impl(&self, instrument_id: i64) -> Result<Vec<FactorRecord>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT date, price_factor, split_factor, reference_price FROM corporate_factors
                 WHERE instrument_id = $1 ORDER BY date",
                &[&instrument_id],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(FactorRecord {
                    date: r.try_get(0)?,
                    price_factor: r.try_get(1)?,
                    split_factor: r.try_get(2)?,
                    reference_price: r.try_get(3)?,
                })
            })
            .collect()
    }

    pub(super) async fn roll_history_impl(
        &self,
        key: &RollHistoryKey,
        fingerprint: &str,
    ) -> Result<Option<RollHistory>> {
        let client = self.client().await?;
        let kp = KeyParams::new(key)?;
        let mut params: Vec<&(dyn ToSql + Sync)> = kp.params().to_vec();
        let fingerprint = fingerprint.to_string();
        params.push(&fingerprint);
        let head = client
            .query_opt(
                &format!(
                    "SELECT id, computed_at, warnings FROM roll_history WHERE {KEY_WHERE} AND fingerprint = $11"
                ),
                &params,
            )
            .await?;
        let Some(head) = head else {
            return Ok(None);
        };
        let id: i64 = head.try_get(0)?;
        let rows = client
            .query(
                "SELECT date, ts, from_contract, to_contract, from_price, to_price, trigger
                 FROM roll_history_events WHERE history_id = $1 ORDER BY seq",
                &[&id],
            )
            .await?;
        let events = rows
            .iter()
            .map(|r| {
                Ok(StoredRoll {
                    date: r.try_get(0)?,
                    ts: r.try_get(1)?,
                    from: r.try_get(2)?,
                    to: r.try_get(3)?,
                    from_price: r.try_get(4)?,
                    to_price: r.try_get(5)?,
                    trigger: r.try_get(6)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(RollHistory {
            fingerprint,
            computed_at: head.try_get(1)?,
            events,
            warnings: split_warnings(&head.try_get::<_, String>(2)?),
        }))
    }

    pub(super) async fn write_roll_history_impl(
        &self,
        key: &RollHistoryKey,
        history: RollHistory,
    ) -> Result<()> {
        let kp = KeyParams::new(key)?;
        let warnings = join_warnings(&history.warnings);
        let mut params: Vec<&(dyn ToSql + Sync)> = kp.params().to_vec();
        params.extend([
            &history.fingerprint as &(dyn ToSql + Sync),
            &history.computed_at,
            &warnings,
        ]);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // The upsert locks the spec's row: concurrent writers of one spec take turns.
        let id: i64 = tx
            .query_one(
                "INSERT INTO roll_history (root, rule, fixed_dates, roll_offset, anchor, contract_rank,
                     roll_price, adjust, options, base, fingerprint, computed_at, warnings)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                 ON CONFLICT (root, rule, fixed_dates, roll_offset, anchor, contract_rank, roll_price, adjust, options, base)
                 DO UPDATE SET fingerprint = EXCLUDED.fingerprint, computed_at = EXCLUDED.computed_at,
                     warnings = EXCLUDED.warnings
                 RETURNING id",
                &params,
            )
            .await?
            .try_get(0)?;
        tx.execute(
            "DELETE FROM roll_history_events WHERE history_id = $1",
            &[&id],
        )
        .await?;
        let insert = tx
            .prepare(
                "INSERT INTO roll_history_events (history_id, seq, date, ts, from_contract, to_contract,
                     from_price, to_price, trigger)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .await?;
        for (seq, e) in history.events.iter().enumerate() {
            let seq = seq as i32;
            tx.execute(
                &insert,
                &[
                    &id,
                    &seq,
                    &e.date,
                    &e.ts,
                    &e.from,
                    &e.to,
                    &e.from_price,
                    &e.to_price,
                    &e.trigger,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
