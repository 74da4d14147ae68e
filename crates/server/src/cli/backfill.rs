//! `tradeassist backfill`: fill the gaps of stored series from the configured provider
//! (`[providers.schwab]`), with a progress bar on stderr and a summary on stdout.

use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use tradeassist_model::{AssetClass, Resolution, TimeRange, rfc3339};
use tradeassist_service::{BackfillReport, BackfillRequest, Service, SourceProvider, now};

use super::{RangeArgs, parse_asset_class};
use crate::config::Config;

#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// Symbol to backfill (repeat for several): our notation (`AAPL`, `ESZ24`) or Schwab's
    /// futures notation (`/ESZ24`).
    #[arg(long = "symbol", required = true)]
    pub symbols: Vec<String>,
    /// Stored resolution to fill: 1m or 1d.
    #[arg(long, default_value = "1m")]
    pub frequency: Resolution,
    /// Dates are UTC days (an end date includes that day).
    #[command(flatten)]
    pub range: RangeArgs,
    /// The provider to fetch from.
    #[arg(long, default_value = "schwab")]
    pub source: String,
    /// Asset class of symbols not stored yet (default: futures for contract symbols,
    /// stocks otherwise).
    #[arg(long, value_parser = parse_asset_class)]
    pub asset_class: Option<AssetClass>,
}

/// The configured provider, when `[providers.schwab] enabled = true`.
pub fn provider_of(config: &Config) -> Result<Option<Arc<dyn SourceProvider>>> {
    let schwab = &config.providers.schwab;
    if !schwab.enabled {
        return Ok(None);
    }
    let provider = tradeassist_providers::schwab::resilient(schwab)
        .context("invalid [providers.schwab] configuration")?;
    Ok(Some(Arc::new(provider)))
}

pub async fn run(config: Config, args: BackfillArgs, service: Service) -> Result<()> {
    if args.source != "schwab" {
        anyhow::bail!(
            "unknown source `{}`: the only provider is schwab",
            args.source
        );
    }
    let range = BackfillRequest::utc_range(&args.range.range()?, now())?;
    let provider = provider_of(&config)?.context(
        "no provider is configured: set [providers.schwab] enabled = true, client_id, \
         client_secret and refresh_token (or TRADEASSIST_PROVIDERS__SCHWAB__*)",
    )?;
    let service = service.with_provider(provider);
    let request = BackfillRequest {
        symbols: args.symbols,
        resolution: args.frequency,
        range,
        asset_class: args.asset_class,
    };
    let bar =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        indicatif::ProgressStyle::with_template("backfill {msg} {bar:30} {pos}/{len} requests")
            .expect("valid template"),
    );
    let progress = {
        let bar = bar.clone();
        move |p: &tradeassist_service::BackfillProgress| {
            bar.set_length(p.requests_total as u64);
            bar.set_position(p.requests_done as u64);
            bar.set_message(format!("{} ({} bars)", p.symbol, p.bars_stored));
        }
    };
    let report = service.backfill(&request, &progress).await?;
    bar.finish_and_clear();
    print_summary(&report);
    if report.symbols.iter().all(|s| s.error.is_some()) {
        anyhow::bail!("no symbol could be backfilled");
    }
    Ok(())
}

fn span(r: &TimeRange) -> String {
    format!("{}..{}", rfc3339(r.start()), rfc3339(r.end()))
}

fn print_summary(report: &BackfillReport) {
    for s in &report.symbols {
        println!(
            "{}: {} missing range(s), {} request(s), {} bars stored{}",
            s.symbol,
            s.missing.len(),
            s.requests,
            s.bars_stored,
            if s.created {
                ", instrument created"
            } else {
                ""
            }
        );
        for r in &s.no_data {
            println!("  no data from {}: {}", report.provider, span(r));
        }
        for r in &s.unavailable {
            println!(
                "  before {}'s history, not asked: {}",
                report.provider,
                span(r)
            );
        }
        if let Some(e) = &s.error {
            println!("  error: {e}");
        }
    }
    println!(
        "backfill from {}: {} bars stored for {} symbol(s)",
        report.provider,
        report.bars_stored(),
        report.symbols.len()
    );
}
