//! Saved queries and data sources.

/// A named, re-runnable query. `parameters_json` is the fetch request document exactly as the
/// API accepted it; the server validates it on save and on load, the store keeps it opaque.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedQuery {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub parameters_json: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_run_at: Option<i64>,
}

/// A saved query before it has an id.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSavedQuery {
    pub name: String,
    pub description: String,
    pub parameters_json: String,
}

/// A provider of bars with its live status.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSource {
    pub id: i64,
    /// Unique name, e.g. `file` or `schwab`.
    pub name: String,
    /// Provider kind, e.g. `file_import`, `schwab`, `replay`.
    pub kind: String,
    pub enabled: bool,
    /// Circuit state of the provider: `closed`, `open` or `half_open`.
    pub circuit_state: String,
    pub last_success_at: Option<i64>,
    pub last_error: Option<String>,
    /// Bars written by this source so far.
    pub bars_ingested: u64,
}

/// Validated parameters shared by everything that reads bars.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySpec {
    pub symbols: Vec<String>,
    pub frequency: crate::Timeframe,
    pub range: crate::time::RangeSpec,
}
