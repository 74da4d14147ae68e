//! `/api/v1/historical-data/jobs`: long queries run in the background (see `crate::jobs`).

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;
use utoipa::ToSchema;

use super::audit::Client;
use super::dto::FetchRequestDto;
use super::error::ErrorBody;
use super::{ApiError, ApiJson, ApiPath, AppState};
use crate::export::{ExportFormat, file_name};
use crate::jobs::{JobStatus, JobsError};

const TAG: &str = "historical-data";

/// A job: the fetch document of the query and the format of its result.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    /// `csv`, `ndjson` (default) or `parquet`.
    #[serde(default)]
    pub format: Option<String>,
    pub query: FetchRequestDto,
}

/// A client's jobs, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobList {
    pub jobs: Vec<JobStatus>,
}

/// Who owns the jobs a request creates and sees: its API token, or in open mode the client's
/// IP address.
pub fn owner(client: &Client) -> String {
    match client.1 {
        Some(token) => format!("token:{token}"),
        None => client
            .0
            .map_or_else(|| "-".to_string(), |a| a.ip().to_string()),
    }
}

impl From<JobsError> for ApiError {
    fn from(e: JobsError) -> Self {
        match e {
            JobsError::Full { limit } => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_jobs",
                format!("{limit} jobs are queued or running; try again when one has finished"),
            ),
            JobsError::NotFound => ApiError::not_found("no such job"),
            JobsError::Service(e) => e.into(),
        }
    }
}

/// Start a job: the query is planned now (bad parameters are refused here), then queued.
#[utoipa::path(post, path = "/api/v1/historical-data/jobs", tag = TAG, request_body = JobRequest,
    responses(
        (status = 202, description = "Queued; follow it at `GET jobs/{id}` or over WebSocket", body = JobStatus),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 404, description = "Unknown symbol", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid parameters or format", body = ErrorBody),
        (status = 429, description = "Too many jobs queued or running", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    client: Client,
    ApiJson(req): ApiJson<JobRequest>,
) -> Result<Response, ApiError> {
    let format: ExportFormat = req
        .format
        .as_deref()
        .unwrap_or("ndjson")
        .parse()
        .map_err(|e: String| tradeassist_service::ServiceError::invalid("format", e))?;
    let query = req.query.into_query()?;
    let status = state
        .jobs
        .submit(&state.service, &owner(&client), query, format)
        .await?;
    let location = format!("/api/v1/historical-data/jobs/{}", status.id);
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(status),
    )
        .into_response())
}

/// The client's jobs (finished ones until they expire).
#[utoipa::path(get, path = "/api/v1/historical-data/jobs", tag = TAG,
    responses((status = 200, body = JobList)))]
pub async fn list(State(state): State<AppState>, client: Client) -> Json<JobList> {
    Json(JobList {
        jobs: state.jobs.list(&owner(&client)),
    })
}

/// State, stage and progress of a job.
#[utoipa::path(get, path = "/api/v1/historical-data/jobs/{id}", tag = TAG, params(("id" = String, Path)),
    responses((status = 200, body = JobStatus), (status = 404, description = "No such job for this client", body = ErrorBody)))]
pub async fn status(
    State(state): State<AppState>,
    client: Client,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<JobStatus>, ApiError> {
    Ok(Json(state.jobs.status(&owner(&client), &id)?))
}

/// Cancel a queued or running job, or delete a finished one and its result.
#[utoipa::path(delete, path = "/api/v1/historical-data/jobs/{id}", tag = TAG, params(("id" = String, Path)),
    responses((status = 200, description = "The status when the cancel was received", body = JobStatus),
        (status = 404, description = "No such job for this client", body = ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    client: Client,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<JobStatus>, ApiError> {
    Ok(Json(state.jobs.cancel(&owner(&client), &id)?))
}

/// The result of a done job, streamed in its format.
#[utoipa::path(get, path = "/api/v1/historical-data/jobs/{id}/result", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 200, description = "The result file", content((String = "text/csv"), (String = "application/x-ndjson"), (Vec<u8> = "application/vnd.apache.parquet"))),
        (status = 404, description = "No such job for this client", body = ErrorBody),
        (status = 409, description = "The job is not done (queued, running, failed or cancelled)", body = ErrorBody),
    ))]
pub async fn result(
    State(state): State<AppState>,
    client: Client,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let (path, format) = match state.jobs.result(&owner(&client), &id)? {
        Ok(done) => done,
        Err(status) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "job_not_done",
                format!("the job is {:?}, not done", status.state).to_lowercase(),
            )
            .with_details(serde_json::to_value(&status).unwrap_or_default()));
        }
    };
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|_| ApiError::not_found("the job's result is gone"))?;
    let stream = futures::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buf = vec![0u8; 256 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(Bytes::from(buf)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    });
    let name = file_name(&[id], "result", format);
    // Fused: the compression layer polls the body once more after its end.
    Ok(super::export::attachment(
        &name,
        format,
        Body::from_stream(futures::StreamExt::fuse(stream)),
    ))
}
