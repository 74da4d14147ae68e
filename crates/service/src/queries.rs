//! Saved queries: named fetch requests that can be listed, loaded, updated and re-run.

use tradeassist_model::{NewSavedQuery, SavedQuery};

use crate::{Service, ServiceError, now};

const MAX_NAME: usize = 200;
const MAX_DESCRIPTION: usize = 2_000;

fn check(q: &NewSavedQuery) -> Result<NewSavedQuery, ServiceError> {
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
        ..q.clone()
    })
}

impl Service {
    /// Save a query. The parameters must already be validated by the caller.
    pub async fn save_query(&self, q: NewSavedQuery) -> Result<SavedQuery, ServiceError> {
        Ok(self.store.create_saved_query(check(&q)?, now()).await?)
    }

    pub async fn load_query(&self, id: i64) -> Result<SavedQuery, ServiceError> {
        self.store
            .saved_query(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("saved query {id} does not exist")))
    }

    pub async fn list_queries(
        &self,
        search: Option<&str>,
    ) -> Result<Vec<SavedQuery>, ServiceError> {
        Ok(self
            .store
            .list_saved_queries(search.filter(|s| !s.trim().is_empty()))
            .await?)
    }

    pub async fn update_query(
        &self,
        id: i64,
        q: NewSavedQuery,
    ) -> Result<SavedQuery, ServiceError> {
        Ok(self.store.update_saved_query(id, check(&q)?, now()).await?)
    }

    pub async fn delete_query(&self, id: i64) -> Result<(), ServiceError> {
        Ok(self.store.delete_saved_query(id).await?)
    }

    /// Record that a saved query was run now.
    pub async fn mark_query_run(&self, id: i64) -> Result<(), ServiceError> {
        Ok(self.store.mark_saved_query_run(id, now()).await?)
    }
}
