//! Saved queries: named queries that can be listed, loaded, updated and re-run.
//!
//! The parameters are stored in a versioned form of their own, `{"version": 1, "query":
//! "<the query's text form>"}`, independent of the HTTP document. Rows written before the
//! versioned form (the wire fetch document itself) are read as version 0. A row that cannot be
//! read any more is listed with its error; it never fails the list.

use serde_json::Value;
use tradeassist_model::{NewSavedQuery, SavedQuery};

use crate::{Query, Service, ServiceError, now};

const MAX_NAME: usize = 200;
const MAX_DESCRIPTION: usize = 2_000;
const MAX_SEARCH: usize = 200;
/// The version of the stored form this build writes.
pub const SAVED_QUERY_VERSION: u64 = 1;

/// What a user saves: a name, a description and the query.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedQueryInput {
    pub name: String,
    pub description: String,
    pub query: Query,
}

/// A stored saved query with its parameters decoded (or why they cannot be).
#[derive(Debug, Clone, PartialEq)]
pub struct SavedEntry {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_run_at: Option<i64>,
    pub query: Result<Query, String>,
}

/// The stored form of a query.
pub fn encode_saved(query: &Query) -> String {
    serde_json::json!({ "version": SAVED_QUERY_VERSION, "query": query.to_string() }).to_string()
}

/// Read a stored form (any version this build knows).
pub fn decode_saved(text: &str) -> Result<Query, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let object = value.as_object().ok_or("not a JSON object")?;
    match object.get("version") {
        Some(v) if v.as_u64() == Some(1) => {
            let text = object
                .get("query")
                .and_then(Value::as_str)
                .ok_or("version 1 without a query")?;
            text.parse::<Query>().map_err(|e| e.to_string())
        }
        Some(v) => Err(format!(
            "stored with version {v}; this build reads versions 0 and 1"
        )),
        // Version 0: the fetch document of the API as it was saved.
        None => {
            let mut pairs: Vec<(String, String)> = Vec::new();
            for (k, v) in object {
                match v {
                    Value::Null | Value::Bool(false) => {}
                    Value::Array(items) => {
                        for item in items {
                            pairs.push((k.clone(), scalar(item)?));
                        }
                    }
                    v => pairs.push((k.clone(), scalar(v)?)),
                }
            }
            Query::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .map_err(|e| e.to_string())
        }
    }
}

fn scalar(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!("unexpected value {other}")),
    }
}

fn entry(q: SavedQuery) -> SavedEntry {
    SavedEntry {
        query: decode_saved(&q.parameters_json),
        id: q.id,
        name: q.name,
        description: q.description,
        created_at: q.created_at,
        updated_at: q.updated_at,
        last_run_at: q.last_run_at,
    }
}

fn check(q: &SavedQueryInput) -> Result<NewSavedQuery, ServiceError> {
    let name = q.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(ServiceError::invalid(
            "name",
            format!("a name of 1 to {MAX_NAME} characters is required"),
        ));
    }
    if q.description.chars().count() > MAX_DESCRIPTION {
        return Err(ServiceError::invalid(
            "description",
            format!("at most {MAX_DESCRIPTION} characters"),
        ));
    }
    Ok(NewSavedQuery {
        name: name.to_string(),
        description: q.description.clone(),
        parameters_json: encode_saved(&q.query),
    })
}

impl Service {
    /// Save a query under a unique name.
    pub async fn save_query(&self, q: SavedQueryInput) -> Result<SavedEntry, ServiceError> {
        Ok(entry(
            self.store.create_saved_query(check(&q)?, now()).await?,
        ))
    }

    pub async fn load_query(&self, id: i64) -> Result<SavedEntry, ServiceError> {
        self.store
            .saved_query(id)
            .await?
            .map(entry)
            .ok_or_else(|| ServiceError::NotFound(format!("saved query {id} does not exist")))
    }

    /// Saved queries whose name or description holds `search` (case-insensitive).
    pub async fn list_queries(
        &self,
        search: Option<&str>,
    ) -> Result<Vec<SavedEntry>, ServiceError> {
        let search = search.map(str::trim).filter(|s| !s.is_empty());
        if search.is_some_and(|s| s.chars().count() > MAX_SEARCH) {
            return Err(ServiceError::invalid(
                "search",
                format!("at most {MAX_SEARCH} characters"),
            ));
        }
        let rows = self.store.list_saved_queries(search).await?;
        Ok(rows.into_iter().map(entry).collect())
    }

    pub async fn update_query(
        &self,
        id: i64,
        q: SavedQueryInput,
    ) -> Result<SavedEntry, ServiceError> {
        Ok(entry(
            self.store.update_saved_query(id, check(&q)?, now()).await?,
        ))
    }

    pub async fn delete_query(&self, id: i64) -> Result<(), ServiceError> {
        Ok(self.store.delete_saved_query(id).await?)
    }

    /// Run a saved query at `now` and record the run: the query and its answer, through the
    /// response cache as bytes made by `encoder` (a saved query shares its entry with the
    /// same query fetched directly).
    pub async fn run_saved_query(
        &self,
        id: i64,
        now: i64,
        encoder: &dyn crate::Encoder,
    ) -> Result<(Query, crate::Encoded), ServiceError> {
        let query = self.saved_query_of(id).await?;
        let encoded = self.fetch_encoded(&query, now, encoder).await?;
        self.store.mark_saved_query_run(id, now).await?;
        Ok((query, encoded))
    }

    async fn saved_query_of(&self, id: i64) -> Result<Query, ServiceError> {
        let saved = self.load_query(id).await?;
        saved.query.map_err(|e| {
            ServiceError::invalid(
                "parameters",
                format!("the stored parameters of query {id} cannot be read: {e}"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_round_trips_and_reads_version_0() {
        let q: Query = "symbols=AAPL&frequency=1w&start=2013-01-01&end=2013-12-31"
            .parse()
            .unwrap();
        assert_eq!(decode_saved(&encode_saved(&q)).unwrap(), q);
        let v0 = r#"{"symbols":["AAPL"],"frequency":"1w","start":"2013-01-01","end":"2013-12-31","session_vwap":false}"#;
        assert_eq!(decode_saved(v0).unwrap(), q);
    }

    #[test]
    fn unreadable_forms_say_why() {
        assert!(decode_saved("{").unwrap_err().contains("JSON"));
        assert!(
            decode_saved(r#"{"version":9}"#)
                .unwrap_err()
                .contains("version 9")
        );
        assert!(
            decode_saved(
                r#"{"symbols":["A"],"frequency":"1d","start":"2013-01-01","colour":"red"}"#
            )
            .unwrap_err()
            .contains("colour")
        );
    }
}
