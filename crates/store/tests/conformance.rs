//! One conformance suite, the same test bodies for every backend: `cases::*` are generic over
//! the store, `conformance!` instantiates each of them for SQLite and for PostgreSQL (each test
//! on a fresh temp file / fresh schema).

mod common;

use async_trait::async_trait;
use tradeassist_store::postgres::PostgresStore;
use tradeassist_store::sqlite::SqliteStore;
use tradeassist_store::{Maintenance, Result};

/// What the suite needs beyond [`Store`]: the migration controls both backends have.
#[async_trait]
pub trait Backend: Maintenance {
    async fn schema_version(&self) -> Result<i64>;
    async fn migrate_down(&self, target: i64) -> Result<()>;
    async fn migrate_up(&self) -> Result<()>;
}

macro_rules! impl_backend {
    ($t:ty) => {
        #[async_trait]
        impl Backend for $t {
            async fn schema_version(&self) -> Result<i64> {
                <$t>::schema_version(self).await
            }
            async fn migrate_down(&self, target: i64) -> Result<()> {
                <$t>::migrate_down(self, target).await
            }
            async fn migrate_up(&self) -> Result<()> {
                <$t>::migrate_up(self).await
            }
        }
    };
}
impl_backend!(SqliteStore);
impl_backend!(PostgresStore);

mod cases {
    use chrono::NaiveDate;
    use tradeassist_model::{
        Adjust, AssetClass, NewInstrument, NewSavedQuery, Resolution, RollAnchor, RollPrice,
        RollRule, TimeRange,
    };
    use tradeassist_store::{
        BarQuery, IngestBatch, IngestMessage, IngestStats, InstrumentFilter, NewestBar,
        OpenInterestReading, RollupKey, RollupRow, RollupSet, RollupSlice, RollupWrite,
        SchemaStatus, SeriesInfo, StoreError,
    };
    use tradeassist_store::{ChangeKind, ChangeRecord};
    use tradeassist_store::{FactorRecord, FactorSet, RollHistory, RollHistoryKey, StoredRoll};

    use super::Backend;

    /// The newest schema version of both backends.
    const LATEST: i64 = 6;
    use crate::common::*;

    const T0: i64 = 1_381_152_600; // 2013-10-07 13:30 UTC
    const DAY0: i64 = 1_381_104_000; // 2013-10-07 00:00 UTC

    async fn id_of<S: Backend>(s: &S, symbol: &str) -> i64 {
        s.instrument(symbol)
            .await
            .unwrap()
            .expect("instrument stored")
            .id
    }

    fn all() -> TimeRange {
        TimeRange::new(0, 4_000_000_000).unwrap()
    }

    fn query(id: i64, range: TimeRange) -> BarQuery {
        BarQuery {
            instrument_id: id,
            resolution: Resolution::Minute,
            range,
            last: None,
            max_rows: 1_000_000,
        }
    }

    async fn read_all<S: Backend>(s: &S, id: i64) -> Vec<tradeassist_model::Bar> {
        s.read_bars(query(id, all())).await.unwrap()
    }

    async fn bars_ingested<S: Backend>(s: &S, source: &str) -> u64 {
        s.data_sources()
            .await
            .unwrap()
            .into_iter()
            .find(|d| d.name == source)
            .unwrap()
            .bars_ingested
    }

    pub async fn ingest_round_trips_every_field<S: Backend>(s: &S) {
        let minute = bars(T0, 60, 500, 1);
        let daily = bars(DAY0, 86_400, 20, 2);
        let stats = s
            .ingest(batch(
                vec![spy()],
                vec![
                    series("SPY", Resolution::Minute, minute.clone()),
                    series("SPY", Resolution::Day, daily.clone()),
                ],
            ))
            .await
            .unwrap();
        assert_eq!(
            stats,
            IngestStats {
                instruments_created: 1,
                bars_written: 520,
                open_interest_written: 0
            }
        );
        let spy_row = s.instrument("spy").await.unwrap().unwrap();
        assert_eq!(spy_row.def, spy());
        let back = read_all(s, spy_row.id).await;
        assert_eq!(bits(&back), bits(&minute));
        let day_back = s
            .read_bars(BarQuery {
                resolution: Resolution::Day,
                ..query(spy_row.id, all())
            })
            .await
            .unwrap();
        assert_eq!(bits(&day_back), bits(&daily));
        assert!(s.instrument("NOPE").await.unwrap().is_none());
    }

    pub async fn reingest_is_idempotent<S: Backend>(s: &S) {
        let minute = bars(T0, 60, 300, 3);
        let b = batch(
            vec![spy(), es(2013, 12, None)],
            vec![series("SPY", Resolution::Minute, minute.clone())],
        );
        s.ingest(b.clone()).await.unwrap();
        let id = id_of(s, "SPY").await;
        let first = s.series(id).await.unwrap();
        let again = s.ingest(b).await.unwrap();
        assert_eq!(again.instruments_created, 0);
        assert_eq!(again.bars_written, 300);
        assert_eq!(s.series(id).await.unwrap(), first);
        assert_eq!(bits(&read_all(s, id).await), bits(&minute));
        assert_eq!(
            s.search_instruments(&InstrumentFilter::default())
                .await
                .unwrap()
                .len(),
            2
        );

        // Within one batch, a later duplicate of a bar replaces the earlier one.
        let mut changed = bars(T0, 60, 2, 99);
        changed.insert(0, minute[1]);
        s.ingest(batch(
            vec![],
            vec![series("SPY", Resolution::Minute, changed.clone())],
        ))
        .await
        .unwrap();
        let back = read_all(s, id).await;
        assert_eq!(back.len(), 300);
        assert_eq!(bits(&back[..2]), bits(&changed[1..]));
    }

    /// Send `chunks` through [`Store::ingest_stream`], then commit (or not).
    async fn stream<S: Backend>(
        s: &S,
        chunks: Vec<IngestBatch>,
        commit: bool,
    ) -> tradeassist_store::Result<tradeassist_store::IngestStats> {
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let sender = async move {
            for c in chunks {
                tx.send(IngestMessage::Chunk(c)).await.unwrap();
            }
            if commit {
                tx.send(IngestMessage::Commit).await.unwrap();
            }
        };
        let (out, ()) = tokio::join!(s.ingest_stream("file".into(), rx), sender);
        out
    }

    /// A streamed ingest lands whole in one transaction: every chunk, later rows of a time
    /// winning, exact series extents; re-streaming changes nothing.
    pub async fn streamed_ingest_commits_every_chunk<S: Backend>(s: &S) {
        let all = bars(T0, 60, 30, 21);
        let mut fix = all[5];
        fix = tradeassist_model::Bar::new(fix.ts(), 7.0, 8.0, 6.0, 7.5, 1.0).unwrap();
        let chunks = vec![
            batch(
                vec![spy()],
                vec![series("SPY", Resolution::Minute, all[..10].to_vec())],
            ),
            batch(
                vec![],
                vec![series("SPY", Resolution::Minute, all[10..20].to_vec())],
            ),
            // Out of order and overlapping: the later row of T0 + 300 wins.
            batch(
                vec![],
                vec![series(
                    "SPY",
                    Resolution::Minute,
                    [vec![fix], all[20..].to_vec()].concat(),
                )],
            ),
        ];
        let stats = stream(s, chunks.clone(), true).await.unwrap();
        assert_eq!(stats.bars_written, 31);
        assert_eq!(stats.instruments_created, 1);
        let id = id_of(s, "SPY").await;
        let mut want = all.clone();
        want[5] = fix;
        assert_eq!(bits(&read_all(s, id).await), bits(&want));
        let info = s.series(id).await.unwrap();
        assert_eq!(
            (info[0].count, info[0].first_ts, info[0].last_ts),
            (30, T0, T0 + 29 * 60)
        );
        stream(s, chunks, true).await.unwrap();
        assert_eq!(bits(&read_all(s, id).await), bits(&want));
        assert_eq!(s.series(id).await.unwrap()[0].count, 30);
    }

    /// A stream that ends without its commit message writes nothing, not even the chunks that
    /// were applied before.
    pub async fn abandoned_stream_writes_nothing<S: Backend>(s: &S) {
        let before = bars_ingested(s, "file").await;
        let chunks = vec![
            batch(
                vec![spy()],
                vec![series("SPY", Resolution::Minute, bars(T0, 60, 10, 3))],
            ),
            batch(
                vec![es(2013, 12, None)],
                vec![series("ESZ13", Resolution::Minute, bars(T0, 60, 10, 4))],
            ),
        ];
        assert!(matches!(
            stream(s, chunks, false).await,
            Err(StoreError::Aborted)
        ));
        assert!(s.instrument("SPY").await.unwrap().is_none());
        assert!(s.instrument("ESZ13").await.unwrap().is_none());
        assert_eq!(bars_ingested(s, "file").await, before);
        // The store is usable afterwards.
        stream(
            s,
            vec![batch(
                vec![spy()],
                vec![series("SPY", Resolution::Minute, bars(T0, 60, 3, 5))],
            )],
            true,
        )
        .await
        .unwrap();
        assert_eq!(read_all(s, id_of(s, "SPY").await).await.len(), 3);
    }

    pub async fn failed_ingest_writes_nothing<S: Backend>(s: &S) {
        s.ingest(batch(
            vec![spy()],
            vec![series("SPY", Resolution::Minute, bars(T0, 60, 10, 4))],
        ))
        .await
        .unwrap();
        let before = bars_ingested(s, "file").await;
        let spy_id = id_of(s, "SPY").await;

        // Fails late: instrument and bars are written before the open interest names a symbol
        // that is neither stored nor in the batch.
        let mut bad = batch(
            vec![es(2013, 12, None)],
            vec![
                series("ESZ13", Resolution::Minute, bars(T0, 60, 1000, 5)),
                series("SPY", Resolution::Minute, bars(T0 + 600, 60, 1000, 6)),
            ],
        );
        bad.open_interest = vec![(
            "NOPE".into(),
            vec![OpenInterestReading {
                ts: DAY0,
                value: 1.0,
            }],
        )];
        assert!(matches!(s.ingest(bad).await, Err(StoreError::NotFound(_))));

        // Fails on a series: the new instrument of the batch must not survive either.
        let bad = batch(
            vec![NewInstrument::equity("QQQ", AssetClass::Stock).unwrap()],
            vec![
                series("QQQ", Resolution::Minute, bars(T0, 60, 10, 7)),
                series("MISSING", Resolution::Minute, bars(T0, 60, 10, 8)),
            ],
        );
        assert!(matches!(s.ingest(bad).await, Err(StoreError::NotFound(_))));

        assert!(s.instrument("ESZ13").await.unwrap().is_none());
        assert!(s.instrument("QQQ").await.unwrap().is_none());
        assert_eq!(read_all(s, spy_id).await.len(), 10);
        assert_eq!(bits(&read_all(s, spy_id).await), bits(&bars(T0, 60, 10, 4)));
        assert_eq!(bars_ingested(s, "file").await, before);
    }

    /// Counting bars of a range is half-open like reads and stops after `cap + 1`.
    pub async fn count_bars_is_half_open_and_capped<S: Backend>(s: &S) {
        s.ingest(batch(
            vec![spy()],
            vec![series("SPY", Resolution::Minute, bars(T0, 60, 10, 9))],
        ))
        .await
        .unwrap();
        let id = id_of(s, "SPY").await;
        let r = |a: i64, b: i64| TimeRange::new(T0 + a * 60, T0 + b * 60).unwrap();
        let count = |range, cap| s.count_bars(id, Resolution::Minute, range, cap);
        assert_eq!(count(r(2, 5), 100).await.unwrap(), 3);
        assert_eq!(count(r(0, 10), 100).await.unwrap(), 10);
        assert_eq!(count(r(0, 10), 4).await.unwrap(), 5, "stops at cap + 1");
        assert_eq!(count(r(10, 20), 100).await.unwrap(), 0);
        assert_eq!(
            s.count_bars(id, Resolution::Day, r(0, 10), 100)
                .await
                .unwrap(),
            0
        );
    }

    pub async fn range_reads_are_half_open<S: Backend>(s: &S) {
        let all_bars = bars(T0, 60, 10, 9);
        s.ingest(batch(
            vec![spy()],
            vec![series("SPY", Resolution::Minute, all_bars.clone())],
        ))
        .await
        .unwrap();
        let id = id_of(s, "SPY").await;
        let r = |a: i64, b: i64| TimeRange::new(T0 + a * 60, T0 + b * 60).unwrap();
        let got = s.read_bars(query(id, r(2, 5))).await.unwrap();
        assert_eq!(
            got.iter().map(|b| b.ts()).collect::<Vec<_>>(),
            vec![T0 + 120, T0 + 180, T0 + 240]
        );
        // One second either side moves the edges.
        let got = s
            .read_bars(query(id, TimeRange::new(T0 + 121, T0 + 301).unwrap()))
            .await
            .unwrap();
        assert_eq!(
            got.iter().map(|b| b.ts()).collect::<Vec<_>>(),
            vec![T0 + 180, T0 + 240, T0 + 300]
        );
        assert!(s.read_bars(query(id, r(-5, 0))).await.unwrap().is_empty());
        assert!(s.read_bars(query(id, r(10, 20))).await.unwrap().is_empty());
        assert_eq!(s.read_bars(query(id, r(9, 10))).await.unwrap().len(), 1);
        // The other resolution and another instrument are separate series.
        assert!(
            s.read_bars(BarQuery {
                resolution: Resolution::Day,
                ..query(id, all())
            })
            .await
            .unwrap()
            .is_empty()
        );
        assert!(
            s.read_bars(query(id + 1000, all()))
                .await
                .unwrap()
                .is_empty()
        );
    }

    pub async fn last_n_and_max_rows<S: Backend>(s: &S) {
        let all_bars = bars(T0, 60, 10, 10);
        s.ingest(batch(
            vec![spy()],
            vec![series("SPY", Resolution::Minute, all_bars.clone())],
        ))
        .await
        .unwrap();
        let id = id_of(s, "SPY").await;
        let last3 = s
            .read_bars(BarQuery {
                last: Some(3),
                ..query(id, all())
            })
            .await
            .unwrap();
        assert_eq!(bits(&last3), bits(&all_bars[7..]));
        let window = TimeRange::new(T0, T0 + 5 * 60).unwrap();
        let last2 = s
            .read_bars(BarQuery {
                last: Some(2),
                ..query(id, window)
            })
            .await
            .unwrap();
        assert_eq!(bits(&last2), bits(&all_bars[3..5]));
        let more = s
            .read_bars(BarQuery {
                last: Some(50),
                ..query(id, all())
            })
            .await
            .unwrap();
        assert_eq!(more.len(), 10);
        let capped = s
            .read_bars(BarQuery {
                max_rows: 4,
                ..query(id, all())
            })
            .await
            .unwrap();
        assert_eq!(bits(&capped), bits(&all_bars[..4]));
        let capped_last = s
            .read_bars(BarQuery {
                last: Some(5),
                max_rows: 2,
                ..query(id, all())
            })
            .await
            .unwrap();
        assert_eq!(bits(&capped_last), bits(&all_bars[8..]));
        assert!(
            s.read_bars(BarQuery {
                max_rows: 0,
                ..query(id, all())
            })
            .await
            .unwrap()
            .is_empty()
        );
    }

    pub async fn bar_before_is_strict<S: Backend>(s: &S) {
        let all_bars = bars(T0, 60, 10, 11);
        s.ingest(batch(
            vec![spy()],
            vec![series("SPY", Resolution::Minute, all_bars.clone())],
        ))
        .await
        .unwrap();
        let id = id_of(s, "SPY").await;
        let before = |ts| s.bar_before(id, Resolution::Minute, ts);
        assert_eq!(before(T0).await.unwrap(), None);
        assert_eq!(before(T0 + 1).await.unwrap(), Some(all_bars[0]));
        assert_eq!(before(T0 + 300).await.unwrap(), Some(all_bars[4]));
        assert_eq!(before(T0 + 1_000_000).await.unwrap(), Some(all_bars[9]));
        assert_eq!(
            s.bar_before(id, Resolution::Day, T0 + 1_000_000)
                .await
                .unwrap(),
            None
        );
    }

    pub async fn series_extents<S: Backend>(s: &S) {
        s.ingest(batch(
            vec![spy()],
            vec![
                series("SPY", Resolution::Day, bars(DAY0, 86_400, 5, 12)),
                series("SPY", Resolution::Minute, bars(T0, 60, 7, 13)),
            ],
        ))
        .await
        .unwrap();
        let id = id_of(s, "SPY").await;
        assert_eq!(
            s.series(id).await.unwrap(),
            vec![
                SeriesInfo {
                    resolution: Resolution::Minute,
                    first_ts: T0,
                    last_ts: T0 + 360,
                    count: 7
                },
                SeriesInfo {
                    resolution: Resolution::Day,
                    first_ts: DAY0,
                    last_ts: DAY0 + 4 * 86_400,
                    count: 5
                },
            ]
        );
        assert!(s.series(id + 1000).await.unwrap().is_empty());
    }

    pub async fn open_interest_readings<S: Backend>(s: &S) {
        let mut b = batch(vec![es(2013, 12, None)], vec![]);
        b.open_interest = vec![(
            "ESZ13".into(),
            (0..5)
                .map(|i| OpenInterestReading {
                    ts: DAY0 + i * 86_400,
                    value: 1000.5 + i as f64,
                })
                .collect(),
        )];
        assert_eq!(s.ingest(b.clone()).await.unwrap().open_interest_written, 5);
        let id = id_of(s, "ESZ13").await;
        let range = TimeRange::new(DAY0 + 86_400, DAY0 + 3 * 86_400).unwrap();
        let got = s.read_open_interest(id, range).await.unwrap();
        assert_eq!(
            got,
            vec![
                OpenInterestReading {
                    ts: DAY0 + 86_400,
                    value: 1001.5
                },
                OpenInterestReading {
                    ts: DAY0 + 2 * 86_400,
                    value: 1002.5
                },
            ]
        );
        // A re-import with a corrected value replaces it.
        b.open_interest[0].1 = vec![OpenInterestReading {
            ts: DAY0 + 86_400,
            value: 7.25,
        }];
        s.ingest(b).await.unwrap();
        assert_eq!(
            s.read_open_interest(id, range).await.unwrap()[0].value,
            7.25
        );
        assert_eq!(s.read_open_interest(id, all()).await.unwrap().len(), 5);
    }

    pub async fn instrument_search<S: Backend>(s: &S) {
        let mut cotton = NewInstrument::equity("AB_C", AssetClass::Stock).unwrap();
        cotton.description = "100% cotton".into();
        let mut plain = NewInstrument::equity("ABXC", AssetClass::Stock).unwrap();
        plain.description = "100 cotton".into();
        let spx = NewInstrument::equity("SPX", AssetClass::Index).unwrap();
        s.ingest(batch(
            vec![
                cotton,
                plain,
                spy(),
                spx,
                es(2013, 12, None),
                es(2014, 3, None),
            ],
            vec![],
        ))
        .await
        .unwrap();
        let find = |text: Option<&str>, asset_class, limit| {
            let filter = InstrumentFilter {
                text: text.map(String::from),
                asset_class,
                limit,
            };
            async move {
                s.search_instruments(&filter)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|i| i.def.symbol)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            find(None, None, None).await,
            ["ESH14", "ESZ13", "SPX", "ABXC", "AB_C", "SPY"]
        );
        assert_eq!(find(Some("es"), None, None).await, ["ESH14", "ESZ13"]);
        assert_eq!(find(Some(" sp "), None, None).await, ["SPX", "SPY"]);
        assert_eq!(
            find(Some("sp"), Some(AssetClass::Stock), None).await,
            ["SPY"]
        );
        assert_eq!(
            find(None, Some(AssetClass::Future), Some(1)).await,
            ["ESH14"]
        );
        assert_eq!(find(Some("e-mini"), None, None).await, ["ESH14", "ESZ13"]);
        assert_eq!(find(Some("cotton"), None, None).await, ["ABXC", "AB_C"]);
        // LIKE metacharacters are literal.
        assert_eq!(find(Some("AB_"), None, None).await, ["AB_C"]);
        assert_eq!(find(Some("100%"), None, None).await, ["AB_C"]);
        assert_eq!(find(Some("%"), None, None).await, ["AB_C"]);
        assert!(find(Some("\\"), None, None).await.is_empty());
        assert!(find(Some("zzz"), None, None).await.is_empty());
    }

    pub async fn explicit_last_trade_date_wins<S: Backend>(s: &S) {
        let d1 = NaiveDate::from_ymd_opt(2013, 12, 20);
        let d2 = NaiveDate::from_ymd_opt(2013, 12, 19);
        async fn ltd<S: Backend>(s: &S) -> Option<NaiveDate> {
            s.instrument("ESZ13")
                .await
                .unwrap()
                .unwrap()
                .def
                .contract
                .unwrap()
                .last_trade_date
        }
        s.ingest(batch(vec![es(2013, 12, None)], vec![]))
            .await
            .unwrap();
        assert_eq!(ltd(s).await, None);
        let stats = s
            .ingest(batch(vec![es(2013, 12, d1)], vec![]))
            .await
            .unwrap();
        assert_eq!(stats.instruments_created, 0);
        assert_eq!(ltd(s).await, d1);
        s.ingest(batch(vec![es(2013, 12, None)], vec![]))
            .await
            .unwrap();
        assert_eq!(
            ltd(s).await,
            d1,
            "a definition without a date keeps the stored one"
        );
        s.ingest(batch(vec![es(2013, 12, d2)], vec![]))
            .await
            .unwrap();
        assert_eq!(ltd(s).await, d2);
        let mut other = es(2013, 12, None);
        other.description = "changed".into();
        s.ingest(batch(vec![other], vec![])).await.unwrap();
        assert_eq!(
            s.instrument("ESZ13")
                .await
                .unwrap()
                .unwrap()
                .def
                .description,
            "E-mini S&P 500 2013-12"
        );
    }

    pub async fn saved_queries_crud<S: Backend>(s: &S) {
        let q = |name: &str, description: &str| NewSavedQuery {
            name: name.into(),
            description: description.into(),
            parameters_json: format!(r#"{{"symbols":["{name}"]}}"#),
        };
        let a = s
            .create_saved_query(q("Beta", "daily spy"), 100)
            .await
            .unwrap();
        assert_eq!(
            (a.created_at, a.updated_at, a.last_run_at),
            (100, 100, None)
        );
        assert_eq!(a.parameters_json, r#"{"symbols":["Beta"]}"#);
        let b = s
            .create_saved_query(q("alpha", "ES minute"), 101)
            .await
            .unwrap();
        assert_ne!(a.id, b.id);
        assert!(matches!(
            s.create_saved_query(q("Beta", "again"), 102).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(s.saved_query(a.id).await.unwrap(), Some(a.clone()));
        let names = |v: Vec<tradeassist_model::SavedQuery>| {
            v.into_iter().map(|q| q.name).collect::<Vec<_>>()
        };
        assert_eq!(
            names(s.list_saved_queries(None).await.unwrap()),
            ["alpha", "Beta"]
        );
        assert_eq!(
            names(s.list_saved_queries(Some(" SPY ")).await.unwrap()),
            ["Beta"]
        );
        assert_eq!(
            names(s.list_saved_queries(Some("alp")).await.unwrap()),
            ["alpha"]
        );

        let updated = s
            .update_saved_query(a.id, q("Gamma", "renamed"), 200)
            .await
            .unwrap();
        assert_eq!(
            (
                updated.name.as_str(),
                updated.created_at,
                updated.updated_at
            ),
            ("Gamma", 100, 200)
        );
        assert!(matches!(
            s.update_saved_query(a.id, q("alpha", "x"), 201).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            s.update_saved_query(9999, q("Delta", "x"), 201).await,
            Err(StoreError::NotFound(_))
        ));

        s.mark_saved_query_run(a.id, 300).await.unwrap();
        assert_eq!(
            s.saved_query(a.id).await.unwrap().unwrap().last_run_at,
            Some(300)
        );
        assert!(matches!(
            s.mark_saved_query_run(9999, 300).await,
            Err(StoreError::NotFound(_))
        ));

        s.delete_saved_query(a.id).await.unwrap();
        assert_eq!(s.saved_query(a.id).await.unwrap(), None);
        assert!(matches!(
            s.delete_saved_query(a.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(names(s.list_saved_queries(None).await.unwrap()), ["alpha"]);
        // The name is free again.
        s.create_saved_query(q("Gamma", ""), 400).await.unwrap();
    }

    pub async fn data_sources_count_ingested_bars<S: Backend>(s: &S) {
        let sources = s.data_sources().await.unwrap();
        let summary: Vec<_> = sources
            .iter()
            .map(|d| {
                (
                    d.name.as_str(),
                    d.kind.as_str(),
                    d.enabled,
                    d.circuit_state.as_str(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("file", "file_import", true, "closed"),
                ("schwab", "schwab", false, "closed")
            ]
        );
        assert!(
            sources
                .iter()
                .all(|d| d.bars_ingested == 0 && d.last_success_at.is_none())
        );
        let b = batch(
            vec![spy()],
            vec![series("SPY", Resolution::Minute, bars(T0, 60, 25, 14))],
        );
        s.ingest(b.clone()).await.unwrap();
        s.ingest(b).await.unwrap();
        let file = s
            .data_sources()
            .await
            .unwrap()
            .into_iter()
            .find(|d| d.name == "file")
            .unwrap();
        assert_eq!(file.bars_ingested, 50);
        assert!(file.last_success_at.is_some());
        assert_eq!(bars_ingested(s, "schwab").await, 0);
    }

    pub async fn migrations_down_and_up<S: Backend>(s: &S) {
        assert_eq!(s.schema_version().await.unwrap(), LATEST);
        s.ingest(batch(
            vec![spy()],
            vec![series("SPY", Resolution::Minute, bars(T0, 60, 5, 15))],
        ))
        .await
        .unwrap();
        s.migrate_down(0).await.unwrap();
        assert_eq!(s.schema_version().await.unwrap(), 0);
        assert!(s.instrument("SPY").await.is_err(), "tables are gone");
        s.migrate_down(0).await.unwrap(); // nothing left to undo
        s.migrate_up().await.unwrap();
        s.migrate_up().await.unwrap(); // nothing left to do
        assert_eq!(s.schema_version().await.unwrap(), LATEST);
        assert!(s.instrument("SPY").await.unwrap().is_none());
        assert_eq!(s.data_sources().await.unwrap().len(), 2);
        let fresh = bars(T0, 60, 5, 16);
        s.ingest(batch(
            vec![spy()],
            vec![series("SPY", Resolution::Minute, fresh.clone())],
        ))
        .await
        .unwrap();
        assert_eq!(
            bits(&read_all(s, id_of(s, "SPY").await).await),
            bits(&fresh)
        );
    }

    pub async fn schema_status_and_newest_bars_per_class<S: Backend>(s: &S) {
        let status = s.schema_status().await.unwrap();
        assert_eq!(
            status,
            SchemaStatus {
                applied: LATEST,
                expected: LATEST
            }
        );
        assert!(status.current());
        assert!(s.newest_bars().await.unwrap().is_empty(), "no bars yet");
        s.ingest(batch(
            vec![spy(), es(2013, 12, None)],
            vec![
                series("SPY", Resolution::Minute, bars(T0, 60, 5, 40)),
                series("SPY", Resolution::Day, bars(DAY0, 86_400, 3, 41)),
                series("ESZ13", Resolution::Minute, bars(T0 + 600, 60, 2, 42)),
            ],
        ))
        .await
        .unwrap();
        assert_eq!(
            s.newest_bars().await.unwrap(),
            vec![
                NewestBar {
                    asset_class: AssetClass::Future,
                    ts: T0 + 600 + 60,
                },
                NewestBar {
                    asset_class: AssetClass::Stock,
                    ts: DAY0 + 2 * 86_400,
                },
            ]
        );
        s.migrate_down(LATEST - 1).await.unwrap();
        let behind = s.schema_status().await.unwrap();
        assert_eq!((behind.applied, behind.current()), (LATEST - 1, false));
    }

    fn key(timeframe: &str) -> RollupKey {
        RollupKey {
            base: Resolution::Minute,
            timeframe: timeframe.parse().expect("timeframe"),
            sessions: tradeassist_model::SessionFilter::Regular,
        }
    }

    /// A row with awkward floats and every optional field exercised (by `i`).
    fn rollup(start: i64, len: i64, i: u32) -> RollupRow {
        let f = 1.0 / 3.0 + f64::from(i);
        RollupRow {
            start,
            end: start + len,
            date: i
                .is_multiple_of(2)
                .then(|| NaiveDate::from_ymd_opt(2013, 10, 7 + i).unwrap()),
            open: 100.0 + f,
            high: 101.0 + f,
            low: 99.0 + f,
            close: 100.5 + f,
            volume: 1e4 * f,
            open_interest: i.is_multiple_of(3).then_some(0.1 + 0.2),
            vwap_typical: (i % 4 != 3).then_some(100.25 + f),
            vwap_vendor: (i % 2 == 1).then_some(100.125 + f),
            all_vendor: i % 2 == 1,
            count: 60 + i,
            last_ts: start + len - 60,
        }
    }

    fn row_bits(rows: &[RollupRow]) -> Vec<String> {
        rows.iter()
            .map(|r| {
                let b = |x: f64| x.to_bits();
                let o = |x: Option<f64>| x.map(f64::to_bits);
                format!(
                    "{} {} {:?} {} {} {} {} {} {:?} {:?} {:?} {} {} {}",
                    r.start,
                    r.end,
                    r.date,
                    b(r.open),
                    b(r.high),
                    b(r.low),
                    b(r.close),
                    b(r.volume),
                    o(r.open_interest),
                    o(r.vwap_typical),
                    o(r.vwap_vendor),
                    r.all_vendor,
                    r.count,
                    r.last_ts
                )
            })
            .collect()
    }

    fn slice(k: RollupKey, lo: i64, hi: i64, rows: Vec<RollupRow>, covered: i64) -> RollupSlice {
        RollupSlice {
            key: k,
            replace: TimeRange::new(lo, hi).unwrap(),
            rows,
            covered_until: covered,
        }
    }

    pub async fn ingest_records_rollup_backlog<S: Backend>(s: &S) {
        assert!(s.rollup_backlog().await.unwrap().is_empty());
        let mut minute = bars(T0, 60, 10, 30);
        minute.reverse(); // the range is min..max whatever the order
        s.ingest(batch(
            vec![spy(), es(2013, 12, None)],
            vec![
                series("SPY", Resolution::Minute, minute),
                series("SPY", Resolution::Day, bars(DAY0, 86_400, 3, 31)),
                series("ESZ13", Resolution::Minute, vec![]),
            ],
        ))
        .await
        .unwrap();
        let id = id_of(s, "SPY").await;
        let backlog = s.rollup_backlog().await.unwrap();
        let summary: Vec<_> = backlog
            .iter()
            .map(|b| {
                (
                    b.instrument_id,
                    b.symbol.as_str(),
                    b.resolution,
                    b.first_ts,
                    b.last_ts,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (id, "SPY", Resolution::Minute, T0, T0 + 540),
                (id, "SPY", Resolution::Day, DAY0, DAY0 + 2 * 86_400),
            ]
        );
        assert!(backlog[0].seq < backlog[1].seq);
        let pending = s.read_rollups(id, &key("1h"), all()).await.unwrap();
        assert_eq!(
            pending,
            RollupSet {
                covered_until: None,
                pending: true,
                rows: vec![]
            }
        );

        // A failed ingest leaves no backlog entry behind.
        let bad = batch(
            vec![],
            vec![
                series("SPY", Resolution::Minute, bars(T0 + 6_000, 60, 5, 32)),
                series("MISSING", Resolution::Minute, bars(T0, 60, 5, 33)),
            ],
        );
        assert!(s.ingest(bad).await.is_err());
        assert_eq!(s.rollup_backlog().await.unwrap(), backlog);

        // Resolving the minute entry clears `pending` for the minute base only; a later
        // ingest adds a newer entry that an older refresh cannot resolve.
        s.ingest(batch(
            vec![],
            vec![series("SPY", Resolution::Minute, bars(T0 + 600, 60, 2, 34))],
        ))
        .await
        .unwrap();
        s.write_rollups(RollupWrite {
            instrument_id: id,
            slices: vec![],
            resolved: vec![backlog[0].seq],
        })
        .await
        .unwrap();
        let left = s.rollup_backlog().await.unwrap();
        assert_eq!(left.len(), 2);
        // A refresh that resolves an entry someone else resolved writes nothing.
        let stale = RollupWrite {
            instrument_id: id,
            slices: vec![slice(
                key("1h"),
                T0,
                T0 + 3_600,
                vec![rollup(T0, 3_600, 0)],
                T0,
            )],
            resolved: vec![left[1].seq, backlog[0].seq],
        };
        assert!(matches!(
            s.write_rollups(stale).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(s.rollup_backlog().await.unwrap(), left);
        assert_eq!(
            s.read_rollups(id, &key("1h"), all())
                .await
                .unwrap()
                .covered_until,
            None
        );
        assert_eq!(left[0], backlog[1]);
        assert_eq!((left[1].first_ts, left[1].last_ts), (T0 + 600, T0 + 660));
        assert!(s.read_rollups(id, &key("1h"), all()).await.unwrap().pending);
        s.write_rollups(RollupWrite {
            instrument_id: id,
            slices: vec![],
            resolved: vec![left[1].seq],
        })
        .await
        .unwrap();
        assert!(!s.read_rollups(id, &key("1h"), all()).await.unwrap().pending);
        assert_eq!(s.rollup_backlog().await.unwrap(), [backlog[1].clone()]);
    }

    pub async fn rollups_replace_ranges_atomically<S: Backend>(s: &S) {
        s.ingest(batch(vec![spy(), es(2013, 12, None)], vec![]))
            .await
            .unwrap();
        let id = id_of(s, "SPY").await;
        let other = id_of(s, "ESZ13").await;
        let hours: Vec<RollupRow> = (0..6)
            .map(|i| rollup(T0 + i64::from(i) * 3_600, 3_600, i))
            .collect();
        let day = vec![rollup(T0, 23_400, 0)];
        s.write_rollups(RollupWrite {
            instrument_id: id,
            slices: vec![
                slice(key("1h"), T0, T0 + 6 * 3_600, hours.clone(), T0 + 6 * 3_600),
                slice(key("1d"), T0, T0 + 23_400, day.clone(), T0 + 23_400),
            ],
            resolved: vec![],
        })
        .await
        .unwrap();
        let read = |k: RollupKey, id: i64, lo: i64, hi: i64| async move {
            s.read_rollups(id, &k, TimeRange::new(lo, hi).unwrap())
                .await
                .unwrap()
        };
        let got = read(key("1h"), id, 0, 4_000_000_000).await;
        assert_eq!(got.covered_until, Some(T0 + 6 * 3_600));
        assert!(!got.pending);
        assert_eq!(row_bits(&got.rows), row_bits(&hours));
        assert_eq!(
            row_bits(&read(key("1d"), id, 0, 4_000_000_000).await.rows),
            row_bits(&day)
        );
        // Only rows wholly inside the range: [T0+1h, T0+3h+1) holds hours 1 and 2.
        let part = read(key("1h"), id, T0 + 3_600, T0 + 3 * 3_600 + 1).await;
        assert_eq!(row_bits(&part.rows), row_bits(&hours[1..3]));
        // Keys and instruments are separate.
        let regular_ext = RollupKey {
            sessions: tradeassist_model::SessionFilter::Extended,
            ..key("1h")
        };
        assert_eq!(
            read(regular_ext, id, 0, 4_000_000_000).await,
            RollupSet::default()
        );
        assert_eq!(
            read(key("1h"), other, 0, 4_000_000_000).await,
            RollupSet::default()
        );

        // Replace hours 2..4 by one changed row: 2 and 3 go, the straddling 4 stays.
        let changed = rollup(T0 + 2 * 3_600, 3_600, 9);
        s.write_rollups(RollupWrite {
            instrument_id: id,
            slices: vec![slice(
                key("1h"),
                T0 + 2 * 3_600,
                T0 + 4 * 3_600 + 1_800,
                vec![changed],
                T0 + 7 * 3_600,
            )],
            resolved: vec![],
        })
        .await
        .unwrap();
        let got = read(key("1h"), id, 0, 4_000_000_000).await;
        let want: Vec<RollupRow> = [hours[0], hours[1], changed, hours[4], hours[5]].into();
        assert_eq!(row_bits(&got.rows), row_bits(&want));
        assert_eq!(got.covered_until, Some(T0 + 7 * 3_600));
        assert_eq!(
            row_bits(&read(key("1d"), id, 0, 4_000_000_000).await.rows),
            row_bits(&day)
        );

        // A bad write (row outside its range, or out of order) changes nothing.
        for rows in [
            vec![rollup(T0, 3_600, 1)],
            vec![
                rollup(T0 + 3 * 3_600, 3_600, 1),
                rollup(T0 + 2 * 3_600, 3_600, 1),
            ],
        ] {
            let bad = RollupWrite {
                instrument_id: id,
                slices: vec![
                    slice(key("1d"), 0, 4_000_000_000, vec![], 1),
                    slice(key("1h"), T0 + 3_600, T0 + 6 * 3_600, rows, 1),
                ],
                resolved: vec![],
            };
            assert!(s.write_rollups(bad).await.is_err());
        }
        assert_eq!(
            row_bits(&read(key("1h"), id, 0, 4_000_000_000).await.rows),
            row_bits(&want)
        );
        assert_eq!(
            row_bits(&read(key("1d"), id, 0, 4_000_000_000).await.rows),
            row_bits(&day)
        );

        // Retention drops every row that starts before the cut, also a straddling one.
        s.retention(T0 + 3_600 + 1).await.unwrap();
        let got = read(key("1h"), id, 0, 4_000_000_000).await;
        assert_eq!(row_bits(&got.rows), row_bits(&want[2..]));
        assert!(read(key("1d"), id, 0, 4_000_000_000).await.rows.is_empty());
    }

    pub async fn migration_marks_existing_series_pending<S: Backend>(s: &S) {
        s.ingest(batch(
            vec![spy()],
            vec![series("SPY", Resolution::Minute, bars(T0, 60, 5, 35))],
        ))
        .await
        .unwrap();
        let id = id_of(s, "SPY").await;
        let seq = s.rollup_backlog().await.unwrap()[0].seq;
        s.write_rollups(RollupWrite {
            instrument_id: id,
            slices: vec![slice(
                key("1h"),
                T0,
                T0 + 3_600,
                vec![rollup(T0, 3_600, 0)],
                T0,
            )],
            resolved: vec![seq],
        })
        .await
        .unwrap();
        assert!(s.rollup_backlog().await.unwrap().is_empty());
        s.migrate_down(1).await.unwrap();
        assert_eq!(s.schema_version().await.unwrap(), 1);
        assert!(s.rollup_backlog().await.is_err(), "rollup tables are gone");
        s.migrate_up().await.unwrap();
        let backlog = s.rollup_backlog().await.unwrap();
        assert_eq!(backlog.len(), 1);
        assert_eq!((backlog[0].first_ts, backlog[0].last_ts), (T0, T0 + 240));
        let set = s.read_rollups(id, &key("1h"), all()).await.unwrap();
        assert!(set.pending && set.rows.is_empty() && set.covered_until.is_none());
    }

    /// `series()` is kept by ingest, not counted: appends, overlaps, in-batch duplicates,
    /// re-ingests and retention all leave it equal to the stored bars.
    pub async fn series_counts_stay_exact<S: Backend>(s: &S) {
        let check = |label: &'static str| async move {
            let id = id_of(s, "SPY").await;
            let stored = read_all(s, id).await;
            let info = s.series(id).await.unwrap();
            let minute = info
                .iter()
                .find(|i| i.resolution == Resolution::Minute)
                .unwrap();
            assert_eq!(
                (minute.first_ts, minute.last_ts, minute.count),
                (
                    stored[0].ts(),
                    stored.last().unwrap().ts(),
                    stored.len() as u64
                ),
                "{label}"
            );
        };
        s.ingest(batch(
            vec![spy()],
            vec![series("SPY", Resolution::Minute, bars(T0, 60, 100, 40))],
        ))
        .await
        .unwrap();
        check("first").await;
        s.ingest(batch(
            vec![],
            vec![series(
                "SPY",
                Resolution::Minute,
                bars(T0 + 6_000, 60, 50, 41),
            )],
        ))
        .await
        .unwrap();
        check("append").await;
        // Overlaps the end and extends it, arrives descending, with a duplicate inside.
        let mut mixed = bars(T0 + 9_000, 60, 40, 42);
        mixed.push(mixed[3]);
        mixed.reverse();
        s.ingest(batch(
            vec![],
            vec![series("SPY", Resolution::Minute, mixed)],
        ))
        .await
        .unwrap();
        check("overlap").await;
        // Backfill before the first bar, and the same series twice in one batch.
        s.ingest(batch(
            vec![],
            vec![
                series("SPY", Resolution::Minute, bars(T0 - 600, 60, 5, 43)),
                series("SPY", Resolution::Minute, bars(T0 - 300, 60, 10, 44)),
            ],
        ))
        .await
        .unwrap();
        check("backfill").await;
        s.ingest(batch(
            vec![],
            vec![series("SPY", Resolution::Minute, bars(T0, 60, 100, 40))],
        ))
        .await
        .unwrap();
        check("re-ingest").await;
        s.retention(T0 + 30).await.unwrap();
        check("retention").await;
    }

    /// Three months of minute bars for two instruments plus daily bars.
    async fn three_months<S: Backend>(s: &S) -> IngestBatch {
        let oct = 1_380_585_600; // 2013-10-01
        let b = batch(
            vec![spy(), es(2013, 12, None)],
            vec![
                series("SPY", Resolution::Minute, bars(oct, 3_600, 24 * 92, 17)),
                series(
                    "ESZ13",
                    Resolution::Minute,
                    bars(oct + 1_800, 7_200, 12 * 92, 18),
                ),
                series("SPY", Resolution::Day, bars(oct, 86_400, 92, 19)),
            ],
        );
        s.ingest(b.clone()).await.unwrap();
        b
    }

    const DEC: i64 = 1_385_856_000; // 2013-12-01

    pub async fn archive_then_restore_is_bit_exact<S: Backend>(s: &S) {
        let original = three_months(s).await;
        let dir = tempfile::tempdir().unwrap();
        let report = s.archive(DEC, dir.path()).await.unwrap();
        let old: usize = original
            .series
            .iter()
            .map(|x| x.bars.iter().filter(|b| b.ts() < DEC).count())
            .sum();
        assert_eq!(report.bars, old as u64);
        assert_eq!(report.files.len(), 3);
        assert!(report.files.iter().all(|f| f.exists()));
        for x in &original.series {
            let id = id_of(s, &x.symbol).await;
            let left = s
                .read_bars(BarQuery {
                    resolution: x.resolution,
                    ..query(id, all())
                })
                .await
                .unwrap();
            assert!(!left.is_empty() && left.iter().all(|b| b.ts() >= DEC));
        }
        // Archiving the same cut again finds nothing to write.
        assert_eq!(s.archive(DEC, dir.path()).await.unwrap().bars, 0);
        let ingested = bars_ingested(s, "file").await;
        assert_eq!(s.restore(dir.path()).await.unwrap(), old as u64);
        assert_eq!(
            bars_ingested(s, "file").await,
            ingested,
            "a restore is not an ingest of a source"
        );
        for x in &original.series {
            let id = id_of(s, &x.symbol).await;
            let back = s
                .read_bars(BarQuery {
                    resolution: x.resolution,
                    ..query(id, all())
                })
                .await
                .unwrap();
            assert_eq!(bits(&back), bits(&x.bars), "{} {}", x.symbol, x.resolution);
        }
    }

    pub async fn retention_and_maintenance<S: Backend>(s: &S) {
        let original = three_months(s).await;
        s.analyze().await.unwrap();
        s.optimize().await.unwrap();
        let nov15 = 1_384_473_600; // mid-month cut: one month dropped whole, one partly
        let old: usize = original
            .series
            .iter()
            .map(|x| x.bars.iter().filter(|b| b.ts() < nov15).count())
            .sum();
        assert_eq!(s.retention(nov15).await.unwrap(), old as u64);
        assert_eq!(s.retention(nov15).await.unwrap(), 0);
        for x in &original.series {
            let id = id_of(s, &x.symbol).await;
            let left = s
                .read_bars(BarQuery {
                    resolution: x.resolution,
                    ..query(id, all())
                })
                .await
                .unwrap();
            let want: Vec<_> = x.bars.iter().copied().filter(|b| b.ts() >= nov15).collect();
            assert_eq!(bits(&left), bits(&want));
        }
        s.optimize().await.unwrap();
        // Ingest into a month that was dropped works again.
        let oct = bars(1_380_585_600, 60, 10, 20);
        s.ingest(batch(
            vec![],
            vec![series("SPY", Resolution::Minute, oct.clone())],
        ))
        .await
        .unwrap();
        let id = id_of(s, "SPY").await;
        assert_eq!(
            bits(
                &s.read_bars(query(id, TimeRange::new(0, nov15).unwrap()))
                    .await
                    .unwrap()
            ),
            bits(&oct)
        );
    }

    fn factor(
        date: &str,
        price_factor: f64,
        split_factor: f64,
        reference_price: f64,
    ) -> FactorRecord {
        FactorRecord {
            date: date.parse().unwrap(),
            price_factor,
            split_factor,
            reference_price,
        }
    }

    /// Writing factors replaces an instrument's whole table, atomically over all sets.
    pub async fn factors_replace_atomically<S: Backend>(s: &S) {
        let qqq = NewInstrument::equity("QQQ", AssetClass::Stock).unwrap();
        s.ingest(batch(vec![spy(), qqq], vec![])).await.unwrap();
        let (spy_id, qqq_id) = (id_of(s, "SPY").await, id_of(s, "QQQ").await);
        assert!(s.factors(spy_id).await.unwrap().is_empty());
        // Awkward floats survive bit for bit.
        let first = vec![
            factor("2012-08-08", 0.8613657, 0.0357143, 619.86),
            factor("2014-06-06", 0.9011818, 1.0 / 28.0, 645.57),
            factor("2050-12-31", 1.0, 1.0, 0.0),
        ];
        let written = s
            .write_factors(vec![
                FactorSet {
                    symbol: "spy".into(),
                    rows: first.clone(),
                },
                FactorSet {
                    symbol: "QQQ".into(),
                    rows: first[2..].to_vec(),
                },
            ])
            .await
            .unwrap();
        assert_eq!(written, 4);
        assert_eq!(s.factors(spy_id).await.unwrap(), first);
        assert_eq!(s.factors(qqq_id).await.unwrap(), first[2..].to_vec());

        // A second write replaces the rows (not merges), and leaves other instruments alone.
        let second = vec![factor("2014-06-06", 1.0, 0.25, 0.1 + 0.2)];
        s.write_factors(vec![FactorSet {
            symbol: "SPY".into(),
            rows: second.clone(),
        }])
        .await
        .unwrap();
        assert_eq!(s.factors(spy_id).await.unwrap(), second);
        assert_eq!(s.factors(qqq_id).await.unwrap().len(), 1);

        // An unknown symbol anywhere in the batch writes nothing.
        let err = s
            .write_factors(vec![
                FactorSet {
                    symbol: "SPY".into(),
                    rows: first.clone(),
                },
                FactorSet {
                    symbol: "NOPE".into(),
                    rows: first.clone(),
                },
            ])
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
        assert_eq!(s.factors(spy_id).await.unwrap(), second);

        // An empty set clears the table of that instrument.
        s.write_factors(vec![FactorSet {
            symbol: "QQQ".into(),
            rows: vec![],
        }])
        .await
        .unwrap();
        assert!(s.factors(qqq_id).await.unwrap().is_empty());
        assert!(s.factors(qqq_id + 1000).await.unwrap().is_empty());
    }

    fn history_key(rank: u32) -> RollHistoryKey {
        RollHistoryKey {
            root: "ES".into(),
            rule: RollRule::Fixed(vec![
                NaiveDate::from_ymd_opt(2013, 12, 13).unwrap(),
                NaiveDate::from_ymd_opt(2014, 3, 14).unwrap(),
            ]),
            roll_offset: 2,
            anchor: RollAnchor::LastTrade,
            rank,
            roll_price: RollPrice::LastCloseBoth,
            adjust: Adjust::None,
            cycle: None,
            grace_sessions: Some(7),
            skip_to_most_active: false,
            base: Resolution::Day,
        }
    }

    fn history(fingerprint: &str) -> RollHistory {
        RollHistory {
            fingerprint: fingerprint.into(),
            computed_at: 1_700_000_000,
            events: vec![
                StoredRoll {
                    date: NaiveDate::from_ymd_opt(2013, 12, 16).unwrap(),
                    ts: DAY0 + 86_400 * 70,
                    from: "ESZ13".into(),
                    to: "ESH14".into(),
                    from_price: 1775.0,
                    to_price: 1768.75,
                    trigger: "v1 volume session=2013-12-13 front=0.3333333333333333 next=2000000"
                        .into(),
                },
                StoredRoll {
                    date: NaiveDate::from_ymd_opt(2014, 3, 17).unwrap(),
                    ts: DAY0 + 86_400 * 160,
                    from: "ESH14".into(),
                    to: "ESM14".into(),
                    from_price: -0.1 - 0.2,
                    to_price: 1850.5,
                    trigger: "v1 expired last_trade=2014-03-14".into(),
                },
            ],
            warnings: vec![
                "RollPriceFallback { date: 2014-03-17 }".into(),
                "second".into(),
            ],
        }
    }

    /// The roll history is found by spec and fingerprint; a new write replaces the old one.
    pub async fn roll_history_by_spec_and_fingerprint<S: Backend>(s: &S) {
        assert_eq!(s.roll_history(&history_key(0), "a").await.unwrap(), None);
        s.write_roll_history(&history_key(0), history("a"))
            .await
            .unwrap();
        let got = s.roll_history(&history_key(0), "a").await.unwrap().unwrap();
        assert_eq!(got, history("a"));
        assert_eq!(
            got.events[1].from_price.to_bits(),
            (-0.1f64 - 0.2).to_bits(),
            "prices round-trip bit for bit"
        );
        // Another fingerprint or any other part of the key does not match.
        assert_eq!(s.roll_history(&history_key(0), "b").await.unwrap(), None);
        assert_eq!(s.roll_history(&history_key(1), "a").await.unwrap(), None);
        let mut other = history_key(0);
        other.adjust = Adjust::DifferenceBack;
        assert_eq!(s.roll_history(&other, "a").await.unwrap(), None);
        other = history_key(0);
        other.rule = RollRule::Fixed(vec![NaiveDate::from_ymd_opt(2013, 12, 13).unwrap()]);
        assert_eq!(s.roll_history(&other, "a").await.unwrap(), None);
        other = history_key(0);
        other.cycle = Some("HMUZ".parse().unwrap());
        assert_eq!(s.roll_history(&other, "a").await.unwrap(), None);
        other = history_key(0);
        other.grace_sessions = None;
        assert_eq!(s.roll_history(&other, "a").await.unwrap(), None);
        other = history_key(0);
        other.skip_to_most_active = true;
        assert_eq!(s.roll_history(&other, "a").await.unwrap(), None);
        other = history_key(0);
        other.base = Resolution::Minute;
        assert_eq!(s.roll_history(&other, "a").await.unwrap(), None);

        // Recomputed with new inputs: the old fingerprint no longer matches.
        let mut fresh = history("b");
        fresh.events.truncate(1);
        fresh.warnings.clear();
        s.write_roll_history(&history_key(0), fresh.clone())
            .await
            .unwrap();
        assert_eq!(s.roll_history(&history_key(0), "a").await.unwrap(), None);
        assert_eq!(
            s.roll_history(&history_key(0), "b").await.unwrap(),
            Some(fresh)
        );

        // A spec without rolls is history too; keys are independent.
        let empty = RollHistory {
            events: vec![],
            warnings: vec![],
            ..history("c")
        };
        s.write_roll_history(&history_key(1), empty.clone())
            .await
            .unwrap();
        assert_eq!(
            s.roll_history(&history_key(1), "c").await.unwrap(),
            Some(empty)
        );
        assert!(
            s.roll_history(&history_key(0), "b")
                .await
                .unwrap()
                .is_some()
        );
    }

    /// Version 3 adds the factor and roll-history tables; its down migration removes them and
    /// leaves the data of versions 1 and 2.
    pub async fn migration_3_down_and_up<S: Backend>(s: &S) {
        s.ingest(batch(
            vec![spy()],
            vec![series("SPY", Resolution::Minute, bars(T0, 60, 5, 41))],
        ))
        .await
        .unwrap();
        let id = id_of(s, "SPY").await;
        s.write_factors(vec![FactorSet {
            symbol: "SPY".into(),
            rows: vec![factor("2014-01-01", 1.0, 0.5, 0.0)],
        }])
        .await
        .unwrap();
        s.write_roll_history(&history_key(0), history("a"))
            .await
            .unwrap();
        s.migrate_down(2).await.unwrap();
        assert_eq!(s.schema_version().await.unwrap(), 2);
        assert!(s.factors(id).await.is_err(), "factor table is gone");
        assert!(
            s.roll_history(&history_key(0), "a").await.is_err(),
            "history is gone"
        );
        assert_eq!(read_all(s, id).await.len(), 5);
        s.migrate_up().await.unwrap();
        assert_eq!(s.schema_version().await.unwrap(), LATEST);
        assert!(s.factors(id).await.unwrap().is_empty());
        assert_eq!(s.roll_history(&history_key(0), "a").await.unwrap(), None);
    }

    /// Regression: a deleted saved query's id came back for the next query (SQLite reused the
    /// highest rowid). Ids are never reused, also across a reopen of the store.
    pub async fn saved_query_ids_are_never_reused<S: Backend>(s: &S) {
        let q = |name: &str| NewSavedQuery {
            name: name.into(),
            description: String::new(),
            parameters_json: "{}".into(),
        };
        let a = s.create_saved_query(q("a"), 1).await.unwrap().id;
        let b = s.create_saved_query(q("b"), 2).await.unwrap().id;
        s.delete_saved_query(b).await.unwrap();
        let c = s.create_saved_query(q("c"), 3).await.unwrap().id;
        assert!(c > b && b > a, "ids {a} {b} {c}");
        s.delete_saved_query(c).await.unwrap();
        s.delete_saved_query(a).await.unwrap();
        let d = s.create_saved_query(q("d"), 4).await.unwrap().id;
        assert!(d > c, "ids {c} {d}");
    }

    /// Version 4 keys roll histories by the whole spec and keeps saved-query ids unique for
    /// good; down to 3 and up again keeps the saved queries (histories are recomputable).
    pub async fn migration_4_down_and_up<S: Backend>(s: &S) {
        let q = NewSavedQuery {
            name: "kept".into(),
            description: "across migrations".into(),
            parameters_json: r#"{"version":1,"query":"symbols=SPY&frequency=1d&start=2013-01-01"}"#
                .into(),
        };
        let saved = s.create_saved_query(q, 7).await.unwrap();
        s.write_roll_history(&history_key(0), history("a"))
            .await
            .unwrap();
        s.migrate_down(3).await.unwrap();
        assert_eq!(s.schema_version().await.unwrap(), 3);
        assert_eq!(s.saved_query(saved.id).await.unwrap(), Some(saved.clone()));
        s.migrate_up().await.unwrap();
        assert_eq!(s.schema_version().await.unwrap(), LATEST);
        assert_eq!(s.saved_query(saved.id).await.unwrap(), Some(saved));
        assert_eq!(s.roll_history(&history_key(0), "a").await.unwrap(), None);
        s.write_roll_history(&history_key(0), history("a"))
            .await
            .unwrap();
        assert_eq!(
            s.roll_history(&history_key(0), "a").await.unwrap(),
            Some(history("a"))
        );
    }

    fn changes_of(log: &[ChangeRecord]) -> Vec<(i64, Option<&str>, ChangeKind, i64, i64)> {
        log.iter()
            .map(|c| {
                (
                    c.instrument_id,
                    c.root.as_deref(),
                    c.kind,
                    c.first_ts,
                    c.end_ts,
                )
            })
            .collect()
    }

    pub async fn change_log_records_every_write<S: Backend>(s: &S) {
        assert_eq!(s.change_seq().await.unwrap(), 0);
        assert!(s.changes_since(0).await.unwrap().is_empty());
        // An ingest: one entry per written series, [first, last + 1).
        s.ingest(batch(
            vec![spy(), es(2013, 12, None)],
            vec![
                series("SPY", Resolution::Minute, bars(T0, 60, 10, 1)),
                series("ESZ13", Resolution::Minute, bars(T0, 60, 3, 2)),
            ],
        ))
        .await
        .unwrap();
        let spy_id = id_of(s, "SPY").await;
        let es_id = id_of(s, "ESZ13").await;
        let log = s.changes_since(0).await.unwrap();
        let mut got = changes_of(&log);
        got.sort();
        let mut want = vec![
            (spy_id, None, ChangeKind::Bars, T0, T0 + 9 * 60 + 1),
            (es_id, Some("ES"), ChangeKind::Bars, T0, T0 + 2 * 60 + 1),
        ];
        want.sort();
        assert_eq!(got, want);
        let seq = s.change_seq().await.unwrap();
        assert_eq!(seq, log.last().unwrap().seq);
        assert!(log.windows(2).all(|w| w[0].seq < w[1].seq));
        // The same re-import logs again (a reader cannot know it was identical), nothing else
        // is touched; a failed ingest logs nothing.
        let failed = s
            .ingest(batch(
                vec![],
                vec![series("NOPE", Resolution::Minute, bars(T0, 60, 1, 1))],
            ))
            .await;
        assert!(failed.is_err());
        assert_eq!(s.change_seq().await.unwrap(), seq);
        // A streamed ingest logs its series too.
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tx.send(IngestMessage::Chunk(batch(
            vec![],
            vec![series("SPY", Resolution::Day, bars(DAY0, 86_400, 2, 3))],
        )))
        .await
        .unwrap();
        tx.send(IngestMessage::Commit).await.unwrap();
        s.ingest_stream("file".into(), rx).await.unwrap();
        let log = s.changes_since(seq).await.unwrap();
        assert_eq!(
            changes_of(&log),
            vec![(spy_id, None, ChangeKind::Bars, DAY0, DAY0 + 86_400 + 1)]
        );
        let seq = s.change_seq().await.unwrap();
        // Factors: one entry per instrument, the whole time line.
        s.write_factors(vec![FactorSet {
            symbol: "SPY".into(),
            rows: vec![FactorRecord {
                date: NaiveDate::from_ymd_opt(2013, 10, 8).unwrap(),
                price_factor: 0.9,
                split_factor: 1.0,
                reference_price: 1.0,
            }],
        }])
        .await
        .unwrap();
        let log = s.changes_since(seq).await.unwrap();
        assert_eq!(
            changes_of(&log),
            vec![(spy_id, None, ChangeKind::Factors, i64::MIN, i64::MAX)]
        );
        let seq = s.change_seq().await.unwrap();
        // A new last trade date of a stored contract changes its definition; the same date
        // again does not.
        let dated = es(2013, 12, NaiveDate::from_ymd_opt(2013, 12, 20));
        s.ingest(batch(vec![dated.clone()], vec![])).await.unwrap();
        let log = s.changes_since(seq).await.unwrap();
        assert_eq!(
            changes_of(&log),
            vec![(
                es_id,
                Some("ES"),
                ChangeKind::Instrument,
                i64::MIN,
                i64::MAX
            )]
        );
        let seq = s.change_seq().await.unwrap();
        s.ingest(batch(vec![dated], vec![])).await.unwrap();
        assert_eq!(s.change_seq().await.unwrap(), seq);
        // Open-interest readings.
        let mut b = batch(vec![], vec![]);
        b.open_interest = vec![(
            "ESZ13".into(),
            vec![OpenInterestReading {
                ts: DAY0,
                value: 5.0,
            }],
        )];
        s.ingest(b).await.unwrap();
        let log = s.changes_since(seq).await.unwrap();
        assert_eq!(
            changes_of(&log),
            vec![(es_id, Some("ES"), ChangeKind::Bars, DAY0, DAY0 + 1)]
        );
        let seq = s.change_seq().await.unwrap();
        // Retention deletes: every instrument with bars before the cut, up to the cut.
        s.retention(T0 + 60).await.unwrap();
        let log = s.changes_since(seq).await.unwrap();
        let mut got = changes_of(&log);
        got.sort();
        let mut want = vec![
            (spy_id, None, ChangeKind::Bars, DAY0, T0 + 60),
            (es_id, Some("ES"), ChangeKind::Bars, T0, T0 + 60),
        ];
        want.sort();
        assert_eq!(got, want);
    }

    pub async fn migration_5_down_and_up<S: Backend>(s: &S) {
        s.ingest(batch(
            vec![spy()],
            vec![series("SPY", Resolution::Minute, bars(T0, 60, 10, 1))],
        ))
        .await
        .unwrap();
        assert!(s.change_seq().await.unwrap() > 0);
        s.migrate_down(4).await.unwrap();
        assert_eq!(s.schema_version().await.unwrap(), 4);
        // Version 4 has no change log; its data is untouched.
        let id = id_of(s, "SPY").await;
        assert_eq!(read_all(s, id).await.len(), 10);
        s.migrate_up().await.unwrap();
        assert_eq!(s.schema_version().await.unwrap(), LATEST);
        // The log starts empty again and records the next write.
        assert!(s.changes_since(0).await.unwrap().is_empty());
        s.ingest(batch(
            vec![],
            vec![series("SPY", Resolution::Minute, bars(T0 + 600, 60, 2, 1))],
        ))
        .await
        .unwrap();
        let log = s.changes_since(0).await.unwrap();
        assert_eq!(
            changes_of(&log),
            vec![(id, None, ChangeKind::Bars, T0 + 600, T0 + 660 + 1)]
        );
        assert_eq!(s.change_seq().await.unwrap(), log[0].seq);
    }

    pub async fn tokens_create_list_revoke<S: Backend>(s: &S) {
        use tradeassist_model::Role;
        let a = s
            .create_token("ci", Role::Read, &"a".repeat(64), 100)
            .await
            .unwrap();
        let b = s
            .create_token("ops", Role::Admin, &"b".repeat(64), 101)
            .await
            .unwrap();
        assert_eq!(
            (a.name.as_str(), a.role, a.created_at),
            ("ci", Role::Read, 100)
        );
        assert!(a.active() && b.id > a.id);
        // The same secret twice is refused and writes nothing.
        assert!(matches!(
            s.create_token("again", Role::Write, &"a".repeat(64), 102)
                .await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(s.list_tokens().await.unwrap(), vec![a.clone(), b.clone()]);
        assert_eq!(
            s.token_by_hash(&"b".repeat(64)).await.unwrap(),
            Some(b.clone())
        );
        assert_eq!(s.token_by_hash(&"c".repeat(64)).await.unwrap(), None);
        let revoked = s.revoke_token(a.id, 200).await.unwrap();
        assert_eq!(revoked.revoked_at, Some(200));
        // Revoking again keeps the first time; an unknown id is NotFound.
        assert_eq!(
            s.revoke_token(a.id, 300).await.unwrap().revoked_at,
            Some(200)
        );
        assert!(matches!(
            s.revoke_token(b.id + 100, 300).await,
            Err(StoreError::NotFound(_))
        ));
        let found = s.token_by_hash(&"a".repeat(64)).await.unwrap().unwrap();
        assert!(!found.active());
        assert!(
            s.token_by_hash(&"b".repeat(64))
                .await
                .unwrap()
                .unwrap()
                .active()
        );
    }

    pub async fn migration_6_down_and_up<S: Backend>(s: &S) {
        use tradeassist_model::Role;
        s.create_token("ci", Role::Read, &"a".repeat(64), 100)
            .await
            .unwrap();
        s.migrate_down(5).await.unwrap();
        assert_eq!(s.schema_version().await.unwrap(), 5);
        s.migrate_up().await.unwrap();
        assert_eq!(s.schema_version().await.unwrap(), LATEST);
        // Tokens do not survive a downgrade: none is left to be used by accident.
        assert!(s.list_tokens().await.unwrap().is_empty());
    }
}

macro_rules! conformance {
    ($backend:ident, $harness:path, $($case:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let h = $harness().await;
                    super::cases::$case(&h.store).await;
                }
            )*
        }
    };
}

macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        conformance!(sqlite, crate::common::sqlite, $($case),*);
        conformance!(postgres, crate::common::postgres, $($case),*);
    };
}

suite!(
    ingest_round_trips_every_field,
    reingest_is_idempotent,
    failed_ingest_writes_nothing,
    streamed_ingest_commits_every_chunk,
    abandoned_stream_writes_nothing,
    range_reads_are_half_open,
    count_bars_is_half_open_and_capped,
    last_n_and_max_rows,
    bar_before_is_strict,
    series_extents,
    open_interest_readings,
    instrument_search,
    explicit_last_trade_date_wins,
    saved_queries_crud,
    data_sources_count_ingested_bars,
    migrations_down_and_up,
    schema_status_and_newest_bars_per_class,
    archive_then_restore_is_bit_exact,
    retention_and_maintenance,
    ingest_records_rollup_backlog,
    rollups_replace_ranges_atomically,
    migration_marks_existing_series_pending,
    series_counts_stay_exact,
    factors_replace_atomically,
    roll_history_by_spec_and_fingerprint,
    migration_3_down_and_up,
    saved_query_ids_are_never_reused,
    migration_4_down_and_up,
    change_log_records_every_write,
    migration_5_down_and_up,
    tokens_create_list_revoke,
    migration_6_down_and_up,
);
