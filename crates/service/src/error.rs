use tradeassist_engine::ContinuousError;
use tradeassist_providers::file::{ImportError, RowError};
use tradeassist_store::StoreError;

/// Why a use case failed. Each variant maps to one error code at the edge.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request is well-formed but a value is not acceptable.
    #[error("{message}")]
    InvalidInput {
        field: &'static str,
        message: String,
    },
    #[error("unknown symbol(s): {}", .0.join(", "))]
    UnknownSymbols(Vec<String>),
    /// A short contract symbol fits several stored contracts.
    #[error("`{symbol}` is ambiguous: it matches {}; give the year in full", .candidates.join(", "))]
    AmbiguousSymbol {
        symbol: String,
        candidates: Vec<String>,
    },
    /// The instrument's trading calendar is not known to this build.
    #[error("{symbol} uses a trading calendar this server does not know: {message}")]
    UnknownCalendar { symbol: String, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The result would exceed a request limit.
    #[error("{0}")]
    TooLarge(String),
    /// The frequency is valid but cannot be served from the stored data.
    #[error("{0}")]
    UnsupportedFrequency(String),
    /// A file to import is invalid; nothing was written.
    #[error("{file}: {error}")]
    Import { file: String, error: ImportError },
    #[error(transparent)]
    Store(StoreError),
    /// The database cannot be reached right now (the cause, for the log).
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// A defect on our side (e.g. stored data the engine refuses).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ServiceError::InvalidInput {
            field,
            message: message.into(),
        }
    }

    /// The same error for another caller (waiters of a single-flight computation share its
    /// error): every variant is reproduced, except that the source chain of store and import
    /// errors is flattened into an internal error's message.
    pub fn replay(&self) -> ServiceError {
        match self {
            ServiceError::InvalidInput { field, message } => ServiceError::InvalidInput {
                field,
                message: message.clone(),
            },
            ServiceError::UnknownSymbols(s) => ServiceError::UnknownSymbols(s.clone()),
            ServiceError::AmbiguousSymbol { symbol, candidates } => ServiceError::AmbiguousSymbol {
                symbol: symbol.clone(),
                candidates: candidates.clone(),
            },
            ServiceError::UnknownCalendar { symbol, message } => ServiceError::UnknownCalendar {
                symbol: symbol.clone(),
                message: message.clone(),
            },
            ServiceError::NotFound(m) => ServiceError::NotFound(m.clone()),
            ServiceError::Conflict(m) => ServiceError::Conflict(m.clone()),
            ServiceError::TooLarge(m) => ServiceError::TooLarge(m.clone()),
            ServiceError::UnsupportedFrequency(m) => ServiceError::UnsupportedFrequency(m.clone()),
            ServiceError::Internal(m) => ServiceError::Internal(m.clone()),
            ServiceError::Unavailable(m) => ServiceError::Unavailable(m.clone()),
            other @ (ServiceError::Import { .. } | ServiceError::Store(_)) => {
                ServiceError::Internal(error_chain(other))
            }
        }
    }

    /// Row errors of an import failure, if any.
    pub fn row_errors(&self) -> &[RowError] {
        match self {
            ServiceError::Import {
                error: ImportError::InvalidRows(rows),
                ..
            } => rows,
            _ => &[],
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => ServiceError::NotFound(m),
            StoreError::Conflict(m) => ServiceError::Conflict(m),
            other if other.is_unavailable() => ServiceError::Unavailable(error_chain(&other)),
            other => ServiceError::Store(other),
        }
    }
}

/// The error's text followed by each of its sources' (`a: b: c`).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Map engine errors to client errors where the request is at fault.
pub(crate) fn continuous_error(e: ContinuousError) -> ServiceError {
    match e {
        ContinuousError::RankUnavailable { .. } => ServiceError::invalid("rank", e.to_string()),
        ContinuousError::NonPositivePrice { .. } => ServiceError::invalid("adjust", e.to_string()),
        ContinuousError::FixedDatesUnordered(_) => {
            ServiceError::invalid("roll_dates", e.to_string())
        }
        ContinuousError::OutOfRange { option, .. } => ServiceError::invalid(option, e.to_string()),
        ContinuousError::NoContractsInCycle { .. } => {
            ServiceError::invalid("months", e.to_string())
        }
        ContinuousError::NoContracts => ServiceError::NotFound(e.to_string()),
        ContinuousError::Expiry(_) => ServiceError::invalid("symbols", e.to_string()),
        // The stored data cannot support the roll (e.g. a contract without a bar before its
        // roll date): the request cannot be served as asked, which is not a server fault.
        ContinuousError::NoRollPrice { .. } => ServiceError::invalid(
            "symbols",
            format!(
                "{e}: the stored data of the contracts does not cover this roll; pick another range or roll rule"
            ),
        ),
        _ => ServiceError::Internal(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waiters of a single-flight computation get the same answer as its caller: the same
    /// variant and text, store causes flattened with their whole chain.
    #[test]
    fn replay_keeps_variant_and_text() {
        let cases = [
            ServiceError::invalid("fill", "bad fill"),
            ServiceError::UnknownSymbols(vec!["NOPE".into(), "ZZZ".into()]),
            ServiceError::AmbiguousSymbol {
                symbol: "ESZ3".into(),
                candidates: vec!["ESZ13".into(), "ESZ23".into()],
            },
            ServiceError::UnknownCalendar {
                symbol: "X".into(),
                message: "no calendar".into(),
            },
            ServiceError::NotFound("gone".into()),
            ServiceError::Conflict("taken".into()),
            ServiceError::TooLarge("too many bars".into()),
            ServiceError::UnsupportedFrequency("tick:5".into()),
            ServiceError::Internal("defect".into()),
            ServiceError::Unavailable("connection refused".into()),
        ];
        for e in &cases {
            let again = e.replay();
            assert_eq!(again.to_string(), e.to_string());
            assert_eq!(
                std::mem::discriminant(&again),
                std::mem::discriminant(e),
                "{e:?}"
            );
        }
        let store = ServiceError::from(StoreError::Io {
            context: "cannot write the database file /x.db".into(),
            source: std::io::Error::other("Read-only file system"),
        });
        match store.replay() {
            ServiceError::Internal(m) => {
                assert!(
                    m.contains("/x.db") && m.contains("Read-only file system"),
                    "{m}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn store_errors_keep_their_meaning() {
        assert!(matches!(
            ServiceError::from(StoreError::NotFound("q".into())),
            ServiceError::NotFound(_)
        ));
        assert!(matches!(
            ServiceError::from(StoreError::Conflict("q".into())),
            ServiceError::Conflict(_)
        ));
        assert!(matches!(
            ServiceError::from(StoreError::Corrupt("row".into())),
            ServiceError::Store(_)
        ));
        assert!(ServiceError::invalid("x", "y").row_errors().is_empty());
    }

    #[test]
    fn continuous_errors_name_the_option_at_fault() {
        let e = continuous_error(ContinuousError::NoContracts);
        assert!(matches!(e, ServiceError::NotFound(_)), "{e:?}");
        let e = continuous_error(ContinuousError::FixedDatesUnordered(
            chrono::NaiveDate::from_ymd_opt(2013, 3, 1).unwrap(),
        ));
        assert!(
            matches!(
                e,
                ServiceError::InvalidInput {
                    field: "roll_dates",
                    ..
                }
            ),
            "{e:?}"
        );
    }
}
