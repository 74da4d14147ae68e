//! `tradeassist maintain ...`: operator commands over the configured store.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use tradeassist_model::{Resolution, TimeBound, TimeRange};
use tradeassist_store::{BarQuery, InstrumentFilter};

use super::Backend;
use crate::config::Config;

#[derive(Debug, Args)]
pub struct MaintainArgs {
    #[command(subcommand)]
    pub command: MaintainCommand,
}

#[derive(Debug, Subcommand)]
pub enum MaintainCommand {
    /// Refresh planner statistics.
    Analyze,
    /// Reclaim space and refresh statistics (SQLite: PRAGMA optimize + VACUUM; PostgreSQL: VACUUM ANALYZE).
    Optimize,
    /// Delete bars older than a date or instant.
    Retention {
        /// Bars with a timestamp before this (YYYY-MM-DD or RFC 3339) are deleted.
        #[arg(long)]
        older_than: String,
    },
    /// Move bars older than a date to Parquet files (written first, then deleted, atomically).
    Archive {
        #[arg(long)]
        before: String,
        /// Directory for the Parquet files.
        #[arg(long)]
        to: PathBuf,
    },
    /// Re-import Parquet files written by `archive`.
    Restore {
        /// Directory holding the archive.
        dir: PathBuf,
    },
    /// Print the query plans of the hot queries (PostgreSQL).
    Explain {
        /// Instrument whose series the plans are computed for (default: the first with 1-minute bars).
        #[arg(long)]
        symbol: Option<String>,
    },
}

/// A date (00:00 UTC) or an RFC 3339 instant.
fn instant(field: &str, value: &str) -> Result<i64> {
    Ok(
        match value
            .parse::<TimeBound>()
            .with_context(|| format!("--{field}"))?
        {
            TimeBound::Instant(t) => t,
            TimeBound::Date(d) => tradeassist_model::date_key(d),
        },
    )
}

pub async fn run(config: Config, args: MaintainArgs) -> Result<()> {
    let backend = Backend::open(&config).await?;
    let m = backend.maintenance();
    match args.command {
        MaintainCommand::Analyze => {
            m.analyze().await?;
            eprintln!("statistics refreshed");
        }
        MaintainCommand::Optimize => {
            m.optimize().await?;
            eprintln!("database optimized");
        }
        MaintainCommand::Retention { older_than } => {
            let removed = m.retention(instant("older-than", &older_than)?).await?;
            eprintln!("{removed} bars older than {older_than} deleted");
        }
        MaintainCommand::Archive { before, to } => {
            let report = m.archive(instant("before", &before)?, &to).await?;
            for f in &report.files {
                println!("{}", f.display());
            }
            eprintln!(
                "{} bars archived to {} file(s) in {}",
                report.bars,
                report.files.len(),
                to.display()
            );
        }
        MaintainCommand::Restore { dir } => {
            if !dir.is_dir() {
                bail!("{} is not a directory", dir.display());
            }
            let restored = m.restore(&dir).await?;
            eprintln!("{restored} bars restored from {}", dir.display());
        }
        MaintainCommand::Explain { symbol } => explain(&backend, symbol).await?,
    }
    Ok(())
}

async fn explain(backend: &Backend, symbol: Option<String>) -> Result<()> {
    let Backend::Postgres(pg) = backend else {
        bail!(
            "explain prints PostgreSQL plans; the embedded SQLite store reads every series through its clustered primary key (instrument, resolution, ts)"
        );
    };
    let store = backend.store();
    let mut candidates = match symbol {
        Some(s) => vec![
            store
                .instrument(&s)
                .await?
                .with_context(|| format!("unknown symbol {s}"))?,
        ],
        None => {
            store
                .search_instruments(&InstrumentFilter::default())
                .await?
        }
    };
    let mut chosen = None;
    for instrument in candidates.drain(..) {
        let series = store.series(instrument.id).await?;
        if let Some(s) = series
            .iter()
            .find(|s| s.resolution == Resolution::Minute)
            .or(series.first())
        {
            chosen = Some((instrument, *s));
            break;
        }
    }
    let Some((instrument, series)) = chosen else {
        bail!("no stored series to explain")
    };
    let day = series.last_ts - series.last_ts.rem_euclid(86_400);
    let range = TimeRange::new(day, day + 86_400)?;
    let query = BarQuery {
        instrument_id: instrument.id,
        resolution: series.resolution,
        range,
        last: None,
        max_rows: 100_000,
    };
    println!(
        "# {} {} {}..{}",
        instrument.symbol,
        series.resolution,
        tradeassist_model::rfc3339(range.start()),
        tradeassist_model::rfc3339(range.end())
    );
    for plan in pg.explain_hot_queries(query).await? {
        println!("## {}\n{}", plan.name, plan.plan);
    }
    Ok(())
}
