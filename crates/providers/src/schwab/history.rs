//! The price-history endpoint's wire format: request windows and parameters, and the checked
//! reading of an answer into bars.
//!
//! * Minute bars: `periodType=day&frequencyType=minute&frequency=1&needExtendedHoursData=true`,
//!   at most [`MINUTE_WINDOW_DAYS`] days per request, history about [`MINUTE_HISTORY_DAYS`]
//!   days back from now. A candle's `datetime` is the start of its minute.
//! * Daily bars: `periodType=year&frequencyType=daily&frequency=1`, at most
//!   [`DAILY_WINDOW_YEARS`] years per request. Schwab stamps a daily candle at midnight of the
//!   exchange (US Central or Eastern, i.e. 04:00–06:00 UTC); our daily bars are keyed by their
//!   date at 00:00 UTC, so the stamp is rounded to the nearest UTC midnight.
//!
//! `startDate`/`endDate` are sent (epoch milliseconds) and `period` is not: Schwab ignores or
//! refuses `period` when both dates are given. Whatever the vendor returns outside the
//! requested half-open window is dropped, so candles on a window edge are never doubled.

use serde::Deserialize;
use tradeassist_model::{Bar, Resolution, TimeRange};

use crate::provider::{DataProblem, ProviderError};

/// Longest window of one minute request.
pub const MINUTE_WINDOW_DAYS: i64 = 10;
/// Longest window of one daily request.
pub const DAILY_WINDOW_YEARS: i64 = 20;
/// How far back minute history reaches.
pub const MINUTE_HISTORY_DAYS: i64 = 48;
/// Largest price-history body read (a hostile server cannot make us allocate more).
pub const BODY_LIMIT: usize = 64 << 20;

const DAY: i64 = 86_400;

/// The window length of one request at `resolution`, seconds.
pub fn window_seconds(resolution: Resolution) -> i64 {
    match resolution {
        Resolution::Minute => MINUTE_WINDOW_DAYS * DAY,
        Resolution::Day => DAILY_WINDOW_YEARS * 365 * DAY,
    }
}

/// `range` cut into consecutive windows of at most [`window_seconds`].
pub fn windows(resolution: Resolution, range: TimeRange) -> Vec<TimeRange> {
    let step = window_seconds(resolution);
    let mut out = Vec::new();
    let mut start = range.start();
    while start < range.end() {
        let end = start.saturating_add(step).min(range.end());
        out.push(TimeRange::new(start, end).expect("start < end"));
        start = end;
    }
    out
}

/// Query parameters of one request.
pub fn query(
    schwab_symbol: &str,
    resolution: Resolution,
    window: TimeRange,
) -> Vec<(&'static str, String)> {
    let (period_type, frequency_type, extended) = match resolution {
        Resolution::Minute => ("day", "minute", "true"),
        Resolution::Day => ("year", "daily", "false"),
    };
    vec![
        ("symbol", schwab_symbol.to_string()),
        ("periodType", period_type.to_string()),
        ("frequencyType", frequency_type.to_string()),
        ("frequency", "1".to_string()),
        (
            "startDate",
            (window.start().saturating_mul(1000)).to_string(),
        ),
        ("endDate", (window.end().saturating_mul(1000)).to_string()),
        ("needExtendedHoursData", extended.to_string()),
        ("needPreviousClose", "false".to_string()),
    ]
}

#[derive(Deserialize)]
struct Answer {
    candles: Option<Vec<Candle>>,
    #[serde(default)]
    empty: bool,
    error: Option<serde_json::Value>,
    errors: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Candle {
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    volume: f64,
    datetime: i64,
}

/// What a 200 answer said.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// Bars inside the window, ascending (possibly none: no data in range).
    Bars(Vec<Bar>),
    /// `empty: true` with an error: the vendor does not know the symbol.
    UnknownSymbol,
}

/// Read a 200 answer for `symbol` (ours, for messages) over `window`. Every candle is
/// checked; any problem refuses the whole answer. `secrets` are scrubbed from messages.
pub fn parse(
    body: &[u8],
    symbol: &str,
    resolution: Resolution,
    window: TimeRange,
    secrets: &[&str],
) -> Result<Parsed, ProviderError> {
    let invalid = |problem| ProviderError::InvalidData {
        symbol: symbol.to_string(),
        window,
        problem,
    };
    let answer: Answer = serde_json::from_slice(body).map_err(|e| {
        invalid(DataProblem::Malformed {
            line: e.line(),
            column: e.column(),
            message: scrub(&e.to_string(), secrets),
        })
    })?;
    let has_error = answer.error.is_some() || answer.errors.is_some();
    let Some(candles) = answer.candles else {
        return match (answer.empty, has_error) {
            (_, true) => Ok(Parsed::UnknownSymbol),
            (true, false) => Ok(Parsed::Bars(Vec::new())),
            (false, false) => Err(invalid(DataProblem::Malformed {
                line: 1,
                column: 1,
                message: "no `candles` in a non-empty answer".to_string(),
            })),
        };
    };
    if candles.is_empty() && has_error {
        return Ok(Parsed::UnknownSymbol);
    }
    let mut bars = Vec::with_capacity(candles.len());
    let mut previous: Option<(i64, i64)> = None; // (our ts, vendor datetime)
    for (index, c) in candles.iter().enumerate() {
        let datetime = c.datetime;
        let ts = match resolution {
            Resolution::Minute => {
                if datetime.rem_euclid(60_000) != 0 {
                    return Err(invalid(DataProblem::Misaligned {
                        index,
                        datetime,
                        resolution,
                    }));
                }
                datetime.div_euclid(1000)
            }
            Resolution::Day => day_key(datetime),
        };
        if let Some((prev_ts, prev_datetime)) = previous {
            if ts == prev_ts {
                return Err(invalid(DataProblem::Duplicate { index, datetime }));
            }
            if ts < prev_ts {
                return Err(invalid(DataProblem::OutOfOrder {
                    index,
                    datetime,
                    previous: prev_datetime,
                }));
            }
        }
        previous = Some((ts, datetime));
        let bar = Bar::new(ts, c.open, c.high, c.low, c.close, c.volume).map_err(|reason| {
            invalid(DataProblem::InvalidCandle {
                index,
                datetime,
                reason,
            })
        })?;
        if window.contains(ts) {
            bars.push(bar);
        }
    }
    Ok(Parsed::Bars(bars))
}

/// The date key (00:00 UTC) nearest to a vendor daily stamp in epoch milliseconds.
pub fn day_key(datetime_ms: i64) -> i64 {
    let secs = datetime_ms.div_euclid(1000);
    (secs + DAY / 2).div_euclid(DAY) * DAY
}

/// A vendor-provided text made safe for an error: secrets replaced, control characters
/// dropped, at most 200 characters.
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(secret, "[redacted]");
    }
    let mut clean: String = out
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    if out.chars().count() > 200 {
        clean.push('…');
    }
    clean
}

/// The most telling message of an error body: a JSON `message`, `error_description`,
/// `error`, or the first entry of `errors` (`detail`, `title`, `message`); else the text.
pub fn error_message(body: &[u8], secrets: &[&str]) -> String {
    let text = String::from_utf8_lossy(body);
    let from_json = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            let field = |v: &serde_json::Value, keys: &[&str]| {
                keys.iter()
                    .find_map(|k| v.get(k).and_then(|m| m.as_str()).map(str::to_string))
            };
            field(&v, &["message", "error_description", "error"]).or_else(|| {
                v.get("errors")
                    .and_then(|e| e.get(0))
                    .and_then(|e| field(e, &["detail", "title", "message"]))
            })
        });
    scrub(from_json.as_deref().unwrap_or(text.trim()), secrets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradeassist_model::BarError;

    const T0: i64 = 1_700_000_040; // a minute boundary

    fn window() -> TimeRange {
        TimeRange::new(T0, T0 + 600).unwrap()
    }

    fn body(candles: &[(f64, f64, f64, f64, f64, i64)]) -> Vec<u8> {
        let candles: Vec<_> = candles
            .iter()
            .map(|(o, h, l, c, v, t)| {
                serde_json::json!({"open": o, "high": h, "low": l, "close": c, "volume": v, "datetime": t})
            })
            .collect();
        serde_json::to_vec(
            &serde_json::json!({"symbol": "SPY", "empty": candles.is_empty(), "candles": candles}),
        )
        .unwrap()
    }

    fn minutes(body: &[u8]) -> Result<Parsed, ProviderError> {
        parse(body, "SPY", Resolution::Minute, window(), &[])
    }

    fn problem(r: Result<Parsed, ProviderError>) -> DataProblem {
        match r {
            Err(ProviderError::InvalidData {
                problem, symbol, ..
            }) => {
                assert_eq!(symbol, "SPY");
                problem
            }
            other => panic!("expected invalid data, got {other:?}"),
        }
    }

    #[test]
    fn windows_cover_the_range_exactly() {
        let day = 86_400;
        let range = TimeRange::new(0, 30 * day + 5).unwrap();
        let w = windows(Resolution::Minute, range);
        assert_eq!(w.len(), 4);
        assert_eq!(w[0], TimeRange::new(0, 10 * day).unwrap());
        assert_eq!(w[3], TimeRange::new(30 * day, 30 * day + 5).unwrap());
        assert!(w.windows(2).all(|p| p[0].end() == p[1].start()));
        let short = TimeRange::new(0, 60).unwrap();
        assert_eq!(windows(Resolution::Minute, short), vec![short]);
        let century = TimeRange::new(0, 100 * 365 * day).unwrap();
        assert_eq!(windows(Resolution::Day, century).len(), 5);
    }

    #[test]
    fn query_of_minute_and_daily_requests() {
        let q = query("/ESZ24", Resolution::Minute, window());
        let get = |q: &[(&str, String)], k: &str| q.iter().find(|p| p.0 == k).unwrap().1.clone();
        assert_eq!(get(&q, "symbol"), "/ESZ24");
        assert_eq!(get(&q, "periodType"), "day");
        assert_eq!(get(&q, "frequencyType"), "minute");
        assert_eq!(get(&q, "frequency"), "1");
        assert_eq!(get(&q, "startDate"), (T0 * 1000).to_string());
        assert_eq!(get(&q, "endDate"), ((T0 + 600) * 1000).to_string());
        assert_eq!(get(&q, "needExtendedHoursData"), "true");
        assert!(q.iter().all(|p| p.0 != "period"));
        let q = query("AAPL", Resolution::Day, window());
        assert_eq!(get(&q, "periodType"), "year");
        assert_eq!(get(&q, "frequencyType"), "daily");
        assert_eq!(get(&q, "needExtendedHoursData"), "false");
    }

    #[test]
    fn reads_candles_inside_the_window_only() {
        let ms = |t: i64| t * 1000;
        let b = body(&[
            (1.0, 2.0, 0.5, 1.5, 10.0, ms(T0 - 60)),
            (1.0, 2.0, 0.5, 1.5, 10.0, ms(T0)),
            (1.5, 3.0, 1.0, 2.5, 0.0, ms(T0 + 60)),
            (1.0, 2.0, 0.5, 1.5, 10.0, ms(T0 + 600)),
        ]);
        let Parsed::Bars(bars) = minutes(&b).unwrap() else {
            panic!()
        };
        assert_eq!(bars.iter().map(Bar::ts).collect::<Vec<_>>(), [T0, T0 + 60]);
        assert_eq!(bars[1].close(), 2.5);
    }

    #[test]
    fn empty_answers_and_unknown_symbols() {
        let no_data = br#"{"symbol":"SPY","empty":true,"candles":[]}"#;
        assert_eq!(minutes(no_data).unwrap(), Parsed::Bars(vec![]));
        assert_eq!(
            minutes(br#"{"symbol":"SPY","empty":true}"#).unwrap(),
            Parsed::Bars(vec![])
        );
        for unknown in [
            &br#"{"symbol":"NOPE","empty":true,"error":"Symbol not found"}"#[..],
            br#"{"empty":true,"candles":[],"errors":[{"detail":"bad symbol"}]}"#,
        ] {
            assert_eq!(minutes(unknown).unwrap(), Parsed::UnknownSymbol);
        }
        assert!(matches!(
            problem(minutes(br#"{"symbol":"SPY","empty":false}"#)),
            DataProblem::Malformed { .. }
        ));
    }

    #[test]
    fn malformed_and_truncated_json_say_where() {
        let full = body(&[(1.0, 2.0, 0.5, 1.5, 10.0, T0 * 1000)]);
        let cut = &full[..full.len() / 2];
        let DataProblem::Malformed { line, column, .. } = problem(minutes(cut)) else {
            panic!()
        };
        assert_eq!((line, column), (1, cut.len()));
        let p = problem(minutes(b"<html>502 Bad Gateway</html>"));
        assert!(
            matches!(
                p,
                DataProblem::Malformed {
                    line: 1,
                    column: 1,
                    ..
                }
            ),
            "{p}"
        );
        let p = problem(minutes(
            br#"{"candles":[{"open":"x","high":1,"low":1,"close":1,"volume":1,"datetime":0}]}"#,
        ));
        assert!(p.to_string().contains("invalid type"), "{p}");
    }

    #[test]
    fn a_broken_candle_refuses_the_batch_naming_index_and_time() {
        let t = |i: i64| (T0 + 60 * i) * 1000;
        let ok = (1.0, 2.0, 0.5, 1.5, 10.0, 0);
        let with = |i: usize, c: (f64, f64, f64, f64, f64, i64)| {
            let mut cs: Vec<_> = (0..4)
                .map(|k| (ok.0, ok.1, ok.2, ok.3, ok.4, t(k)))
                .collect();
            cs[i] = c;
            body(&cs)
        };
        assert_eq!(
            problem(minutes(&with(2, (1.0, 0.4, 0.5, 1.0, 1.0, t(2))))),
            DataProblem::InvalidCandle {
                index: 2,
                datetime: t(2),
                reason: BarError::HighBelowLow {
                    high: 0.4,
                    low: 0.5
                }
            }
        );
        assert!(matches!(
            problem(minutes(&with(1, (3.0, 2.0, 0.5, 1.0, 1.0, t(1))))),
            DataProblem::InvalidCandle {
                index: 1,
                reason: BarError::OpenOutsideRange { .. },
                ..
            }
        ));
        assert!(matches!(
            problem(minutes(&with(3, (1.0, 2.0, 0.5, 9.0, 1.0, t(3))))),
            DataProblem::InvalidCandle {
                index: 3,
                reason: BarError::CloseOutsideRange { .. },
                ..
            }
        ));
        assert!(matches!(
            problem(minutes(&with(0, (1.0, 2.0, 0.5, 1.0, -1.0, t(0))))),
            DataProblem::InvalidCandle {
                index: 0,
                reason: BarError::BadVolume(_),
                ..
            }
        ));
        // A number too large for f64 is not valid JSON for serde_json: malformed.
        let huge =
            br#"{"candles":[{"open":1e999,"high":1,"low":1,"close":1,"volume":1,"datetime":0}]}"#;
        assert!(matches!(
            problem(minutes(huge)),
            DataProblem::Malformed { .. }
        ));
        assert_eq!(
            problem(minutes(&with(2, (1.0, 2.0, 0.5, 1.5, 10.0, t(1))))),
            DataProblem::Duplicate {
                index: 2,
                datetime: t(1)
            }
        );
        assert_eq!(
            problem(minutes(&with(2, (1.0, 2.0, 0.5, 1.5, 10.0, t(0))))),
            DataProblem::OutOfOrder {
                index: 2,
                datetime: t(0),
                previous: t(1)
            }
        );
        assert_eq!(
            problem(minutes(&with(1, (1.0, 2.0, 0.5, 1.5, 10.0, t(1) + 1)))),
            DataProblem::Misaligned {
                index: 1,
                datetime: t(1) + 1,
                resolution: Resolution::Minute
            }
        );
        // Even a broken candle outside the window refuses the batch.
        let outside = body(&[(1.0, 0.1, 0.5, 1.0, 1.0, (T0 - 60) * 1000)]);
        assert!(matches!(
            problem(minutes(&outside)),
            DataProblem::InvalidCandle { index: 0, .. }
        ));
    }

    #[test]
    fn daily_stamps_become_date_keys() {
        // 2021-12-09 at midnight Chicago (06:00 UTC) and New York (05:00 UTC), and in summer.
        let key = 1_639_008_000; // 2021-12-09T00:00:00Z
        assert_eq!(day_key(1_639_029_600_000), key);
        assert_eq!(day_key(1_639_026_000_000), key);
        assert_eq!(day_key(key * 1000), key);
        assert_eq!(day_key(1_625_202_000_000), 1_625_184_000); // 2021-07-02T05:00Z
        let range = TimeRange::new(key, key + 2 * 86_400).unwrap();
        let b = body(&[
            (1.0, 2.0, 0.5, 1.5, 10.0, 1_639_029_600_000),
            (1.0, 2.0, 0.5, 1.5, 10.0, 1_639_116_000_000),
            (1.0, 2.0, 0.5, 1.5, 10.0, 1_639_202_400_000),
        ]);
        let Parsed::Bars(bars) = parse(&b, "SPY", Resolution::Day, range, &[]).unwrap() else {
            panic!()
        };
        assert_eq!(
            bars.iter().map(Bar::ts).collect::<Vec<_>>(),
            [key, key + 86_400]
        );
        // Two candles of the same date are duplicates.
        let twice = body(&[
            (1.0, 2.0, 0.5, 1.5, 10.0, 1_639_029_600_000),
            (1.0, 2.0, 0.5, 1.5, 10.0, 1_639_026_000_000),
        ]);
        assert!(matches!(
            problem(parse(&twice, "SPY", Resolution::Day, range, &[])),
            DataProblem::Duplicate { index: 1, .. }
        ));
    }

    #[test]
    fn vendor_text_is_scrubbed() {
        let secrets = ["topsecret-token"];
        let m = error_message(
            br#"{"errors":[{"title":"Bad","detail":"token topsecret-token is bad\n"}]}"#,
            &secrets,
        );
        assert_eq!(m, "token [redacted] is bad ");
        assert_eq!(
            error_message(br#"{"message":"Symbol not found"}"#, &[]),
            "Symbol not found"
        );
        assert_eq!(error_message(b"  plain text  ", &[]), "plain text");
        let long = "x".repeat(500);
        assert_eq!(scrub(&long, &[]).chars().count(), 201);
    }
}
