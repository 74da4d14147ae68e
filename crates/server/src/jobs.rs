//! Query jobs: a long query (many symbols, long ranges) runs in the background and writes its
//! result to a file; clients poll or follow its progress, fetch the finished result, or cancel.
//!
//! - Bounded: at most `max_running` jobs run at once and `max_queued` wait; more are refused.
//! - A job is planned when submitted, so bad parameters are refused before it is queued.
//! - Cancel is prompt: the running read is dropped between chunks (a chunk is one export piece
//!   of at most ~50 k base bars), the partial file is deleted, the state says `cancelled`.
//! - Results are written to `<dir>/<id>.<ext>.part` and renamed when complete, so a result is
//!   whole or absent; finished jobs and their files are removed `keep` after they finished.
//! - Each job belongs to the client that created it (its IP address until tokens exist);
//!   other clients see 404.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::sync::{Semaphore, watch};
use tradeassist_service::{Export, Query, Service, ServiceError};
use utoipa::ToSchema;

use crate::export::{ExportEncoder, ExportFormat};

/// Limits of the job runner (`[jobs]`).
#[derive(Debug, Clone)]
pub struct JobSettings {
    pub max_running: usize,
    pub max_queued: usize,
    /// How long a finished job and its result are kept.
    pub keep: Duration,
    /// Parent of the directory results are written to (the system temp dir by default).
    pub dir: Option<PathBuf>,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            max_running: 2,
            max_queued: 16,
            keep: Duration::from_secs(3_600),
            dir: None,
        }
    }
}

/// Lifecycle of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,
}

impl JobState {
    /// The name as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn finished(self) -> bool {
        matches!(
            self,
            JobState::Done | JobState::Failed | JobState::Cancelled
        )
    }
}

/// What a running query is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Waiting for a slot.
    Queued,
    /// Counting the stored bars to read.
    Resolving,
    /// Reading and deriving the next piece.
    Reading,
    /// Writing derived bars out.
    Streaming,
    /// Finished (any end state).
    Finished,
}

impl Stage {
    /// The name as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Queued => "queued",
            Stage::Resolving => "resolving",
            Stage::Reading => "reading",
            Stage::Streaming => "streaming",
            Stage::Finished => "finished",
        }
    }
}

/// Why a job failed.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct JobError {
    pub code: String,
    pub message: String,
}

/// What `GET .../jobs/{id}` says about a job.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct JobStatus {
    pub id: String,
    pub state: JobState,
    pub stage: Stage,
    /// Share of the stored bars read, 0 to 100 (100 exactly when done).
    pub percent: f64,
    /// Stored base bars read so far.
    pub bars_done: u64,
    /// Stored base bars the query reads in all.
    pub bars_expected: u64,
    /// Derived bars written to the result.
    pub bars_written: u64,
    /// The symbol being read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// Milliseconds since the job was created.
    pub elapsed_ms: u64,
    /// `csv`, `ndjson` or `parquet`.
    pub format: String,
    /// Where the finished result is (done jobs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_url: Option<String>,
    /// Size of the finished result in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<JobError>,
}

/// Why a job could not be created or read.
#[derive(Debug)]
pub enum JobsError {
    /// Too many jobs queued and running.
    Full { limit: usize },
    /// No such job for this client.
    NotFound,
    /// The query was refused when planned.
    Service(ServiceError),
}

struct Job {
    owner: String,
    format: ExportFormat,
    status: watch::Sender<JobStatus>,
    cancel: watch::Sender<bool>,
    created: Instant,
    finished: Mutex<Option<Instant>>,
    path: PathBuf,
}

impl Job {
    fn update(&self, f: impl FnOnce(&mut JobStatus)) {
        let elapsed = self.created.elapsed().as_millis() as u64;
        self.status.send_modify(|s| {
            f(s);
            s.elapsed_ms = elapsed;
        });
    }

    fn finish(&self, state: JobState, f: impl FnOnce(&mut JobStatus)) {
        *self.finished.lock().expect("job") = Some(Instant::now());
        let name = match state {
            JobState::Done => "done",
            JobState::Failed => "failed",
            _ => "cancelled",
        };
        metrics::counter!(crate::api::metrics::JOBS_FINISHED, "state" => name).increment(1);
        metrics::gauge!(crate::api::metrics::JOBS_ACTIVE).decrement(1.0);
        self.update(|s| {
            s.state = state;
            s.stage = Stage::Finished;
            f(s);
        });
    }
}

/// The job runner of one server.
#[derive(Clone)]
pub struct Jobs {
    inner: Arc<Inner>,
}

struct Inner {
    settings: JobSettings,
    slots: Arc<Semaphore>,
    jobs: Mutex<HashMap<String, Arc<Job>>>,
    next: AtomicU64,
    dir: tempfile::TempDir,
}

impl Jobs {
    /// A runner writing results below `settings.dir` (created now).
    pub fn new(settings: JobSettings) -> std::io::Result<Jobs> {
        let dir = match &settings.dir {
            Some(parent) => {
                std::fs::create_dir_all(parent)?;
                tempfile::Builder::new()
                    .prefix("tradeassist-jobs-")
                    .tempdir_in(parent)?
            }
            None => tempfile::Builder::new()
                .prefix("tradeassist-jobs-")
                .tempdir()?,
        };
        Ok(Jobs {
            inner: Arc::new(Inner {
                slots: Arc::new(Semaphore::new(settings.max_running.max(1))),
                settings,
                jobs: Mutex::new(HashMap::new()),
                next: AtomicU64::new(1),
                dir,
            }),
        })
    }

    /// Forget finished jobs older than `keep` and delete their results.
    fn expire(&self) {
        let keep = self.inner.settings.keep;
        let mut jobs = self.inner.jobs.lock().expect("jobs");
        jobs.retain(|_, job| {
            let old = job
                .finished
                .lock()
                .expect("job")
                .is_some_and(|at| at.elapsed() >= keep);
            if old {
                let _ = std::fs::remove_file(&job.path);
            }
            !old
        });
    }

    /// Plan `query` and queue it; the job writes the query's bars in `format`.
    pub async fn submit(
        &self,
        service: &Service,
        owner: &str,
        query: Query,
        format: ExportFormat,
    ) -> Result<JobStatus, JobsError> {
        self.expire();
        let export = service
            .export(&query, tradeassist_service::now())
            .await
            .map_err(JobsError::Service)?;
        let expected = service
            .expected_reads(export.plan())
            .await
            .map_err(JobsError::Service)?;
        let limit = self.inner.settings.max_running + self.inner.settings.max_queued;
        let mut jobs = self.inner.jobs.lock().expect("jobs");
        let active = jobs
            .values()
            .filter(|j| !j.status.borrow().state.finished())
            .count();
        if active >= limit {
            return Err(JobsError::Full { limit });
        }
        let n = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let id = format!("job-{n}-{:08x}", fastrand_u32());
        let status = JobStatus {
            id: id.clone(),
            state: JobState::Queued,
            stage: Stage::Queued,
            percent: 0.0,
            bars_done: 0,
            bars_expected: expected.iter().sum(),
            bars_written: 0,
            symbol: None,
            elapsed_ms: 0,
            format: format.extension().to_string(),
            result_url: None,
            result_bytes: None,
            error: None,
        };
        let job = Arc::new(Job {
            owner: owner.to_string(),
            format,
            status: watch::Sender::new(status.clone()),
            cancel: watch::Sender::new(false),
            created: Instant::now(),
            finished: Mutex::new(None),
            path: self
                .inner
                .dir
                .path()
                .join(format!("{id}.{}", format.extension())),
        });
        jobs.insert(id, job.clone());
        drop(jobs);
        metrics::gauge!(crate::api::metrics::JOBS_ACTIVE).increment(1.0);
        tokio::spawn(run(self.inner.slots.clone(), job, export));
        Ok(status)
    }

    fn job(&self, owner: &str, id: &str) -> Result<Arc<Job>, JobsError> {
        self.expire();
        let jobs = self.inner.jobs.lock().expect("jobs");
        match jobs.get(id) {
            Some(job) if job.owner == owner => Ok(job.clone()),
            _ => Err(JobsError::NotFound),
        }
    }

    /// The status of one of `owner`'s jobs.
    pub fn status(&self, owner: &str, id: &str) -> Result<JobStatus, JobsError> {
        Ok(self.job(owner, id)?.status.borrow().clone())
    }

    /// Follow one of `owner`'s jobs: every change of its status.
    pub fn watch(&self, owner: &str, id: &str) -> Result<watch::Receiver<JobStatus>, JobsError> {
        Ok(self.job(owner, id)?.status.subscribe())
    }

    /// `owner`'s jobs, newest first.
    pub fn list(&self, owner: &str) -> Vec<JobStatus> {
        self.expire();
        let jobs = self.inner.jobs.lock().expect("jobs");
        let mut out: Vec<(Instant, JobStatus)> = jobs
            .values()
            .filter(|j| j.owner == owner)
            .map(|j| (j.created, j.status.borrow().clone()))
            .collect();
        out.sort_by_key(|(created, _)| std::cmp::Reverse(*created));
        out.into_iter().map(|(_, s)| s).collect()
    }

    /// Cancel a queued or running job (its state becomes `cancelled` within a chunk), or
    /// remove a finished one and its result. Returns the status at that moment.
    pub fn cancel(&self, owner: &str, id: &str) -> Result<JobStatus, JobsError> {
        let job = self.job(owner, id)?;
        let status = job.status.borrow().clone();
        if status.state.finished() {
            self.inner.jobs.lock().expect("jobs").remove(id);
            let _ = std::fs::remove_file(&job.path);
        } else {
            job.cancel.send_replace(true);
        }
        Ok(status)
    }

    /// The finished result of a done job: its file and format, or the status when it is not
    /// done.
    pub fn result(
        &self,
        owner: &str,
        id: &str,
    ) -> Result<Result<(PathBuf, ExportFormat), JobStatus>, JobsError> {
        let job = self.job(owner, id)?;
        let status = job.status.borrow().clone();
        if status.state == JobState::Done {
            Ok(Ok((job.path.clone(), job.format)))
        } else {
            Ok(Err(status))
        }
    }
}

fn fastrand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    h.finish() as u32
}

/// Resolves when the flag `cancel` says true (or its sender is gone).
pub async fn cancelled(cancel: &mut watch::Receiver<bool>) {
    let _ = cancel.wait_for(|c| *c).await;
}

async fn run(slots: Arc<Semaphore>, job: Arc<Job>, export: Export) {
    let mut cancel = job.cancel.subscribe();
    let permit = tokio::select! {
        biased;
        _ = cancelled(&mut cancel) => None,
        p = slots.acquire_owned() => p.ok(),
    };
    let Some(_permit) = permit else {
        job.finish(JobState::Cancelled, |_| {});
        return;
    };
    job.update(|s| {
        s.state = JobState::Running;
        s.stage = Stage::Reading;
    });
    let part = job
        .path
        .with_extension(format!("{}.part", job.format.extension()));
    let outcome = tokio::select! {
        biased;
        _ = cancelled(&mut cancel) => Outcome::Cancelled,
        r = write_result(&job, export, &part) => match r {
            Ok(bytes) => Outcome::Done(bytes),
            Err(e) => Outcome::Failed(e),
        },
    };
    match outcome {
        Outcome::Done(bytes) => match std::fs::rename(&part, &job.path) {
            Ok(()) => {
                let id = job.status.borrow().id.clone();
                job.finish(JobState::Done, |s| {
                    s.percent = 100.0;
                    s.result_bytes = Some(bytes);
                    s.result_url = Some(format!("/api/v1/historical-data/jobs/{id}/result"));
                });
            }
            Err(e) => job.finish(JobState::Failed, |s| {
                s.error = Some(JobError {
                    code: "internal".into(),
                    message: format!("cannot keep the result: {e}"),
                })
            }),
        },
        Outcome::Cancelled => {
            let _ = std::fs::remove_file(&part);
            job.finish(JobState::Cancelled, |_| {});
        }
        Outcome::Failed(error) => {
            let _ = std::fs::remove_file(&part);
            tracing::warn!(code = %error.code, message = %error.message, "job failed");
            job.finish(JobState::Failed, |s| s.error = Some(error));
        }
    }
}

enum Outcome {
    Done(u64),
    Cancelled,
    Failed(JobError),
}

fn io_error(e: std::io::Error) -> JobError {
    JobError {
        code: "internal".into(),
        message: format!("writing the result failed: {e}"),
    }
}

/// Export into `part`, updating the job's progress; returns the bytes written.
async fn write_result(
    job: &Job,
    mut export: Export,
    part: &std::path::Path,
) -> Result<u64, JobError> {
    let mut file = tokio::fs::File::create(part).await.map_err(io_error)?;
    let mut encoder = ExportEncoder::new(job.format, export.series()).map_err(io_error)?;
    let mut bytes = 0u64;
    let header = encoder.header().map_err(io_error)?;
    file.write_all(&header).await.map_err(io_error)?;
    bytes += header.len() as u64;
    loop {
        let chunk = match export.next_chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => {
                let api = crate::api::ApiError::from(e);
                return Err(JobError {
                    code: api.code.to_string(),
                    message: api.message,
                });
            }
        };
        let symbol = export.series()[chunk.series].symbol.clone();
        let out = encoder.chunk(&chunk).map_err(io_error)?;
        job.update(|s| {
            s.stage = Stage::Streaming;
            s.symbol = Some(symbol);
            s.bars_done += chunk.result.base_bars as u64;
            s.bars_written += chunk.result.bars.len() as u64;
            s.percent = percent(s.bars_done, s.bars_expected);
        });
        file.write_all(&out).await.map_err(io_error)?;
        bytes += out.len() as u64;
        job.update(|s| s.stage = Stage::Reading);
    }
    let tail = encoder.finish().map_err(io_error)?;
    file.write_all(&tail).await.map_err(io_error)?;
    file.sync_all().await.map_err(io_error)?;
    Ok(bytes + tail.len() as u64)
}

/// `done` of `expected` as a percentage below 100 (100 is kept for the end).
pub fn percent(done: u64, expected: u64) -> f64 {
    if expected == 0 {
        return 0.0;
    }
    let p = done as f64 * 100.0 / expected as f64;
    (p * 100.0).round().min(9_999.0) / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_serialized_names() {
        use JobState::*;
        for state in [Queued, Running, Done, Failed, Cancelled] {
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
        }
        for stage in [
            Stage::Queued,
            Stage::Resolving,
            Stage::Reading,
            Stage::Streaming,
            Stage::Finished,
        ] {
            assert_eq!(serde_json::to_value(stage).unwrap(), stage.as_str());
        }
    }
}
