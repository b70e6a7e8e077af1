//! facenet-server: the reference backend of facenet-wasm.
//!
//! Serves the session page (`www/`, `pkg/`, `models/`) and the HTTP API of the README ("The backend") over a
//! SQLite file. Browsers compute the vectors; this server only validates and stores them, then
//! assigns crops to enrolled people and clusters the rest. Nothing here runs a model.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // The server's own admin token (None: accounts' tokens only, `facenet-server users add`).
//! let state = facenet_server::AppState::open("data".as_ref(), Some("secret-token"), "/path/to/facenet-wasm".as_ref())?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//! axum::serve(listener, facenet_server::app(state)).await?;
//! # Ok(()) }
//! ```

pub mod accounts;
pub use accounts::FAILED_SIGN_INS_PER_MINUTE;
mod answers;
pub use answers::MAX_NAME_LEN;
mod api;
mod audit;
pub use api::{paths, API_BASE, MAX_BATCH_ITEMS, MAX_IMAGE_BODY, MAX_JSON_BODY, ROUTES};
mod body;
mod classes;
mod codes;
mod db;
mod error;
mod idempotency;
mod privacy;
mod purge;
mod record;
mod register;
pub use register::MAX_CLUSTERED;
mod reports;
mod scope;
pub mod serve;
mod settings;
pub use scope::Caller;
mod statics;
pub use statics::CONTENT_SECURITY_POLICY;
pub mod wire;
mod zip;
pub use facenet_attendance::retention::Schedule;

pub use codes::{core_status, ApiErrorCode, ErrorType};
pub use error::AppError;

use axum::Router;
use facenet_wasm::Manifest;
use rusqlite::Connection;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Shared by every request: the database, the token, and what the served model is.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The fields behind [`AppState`].
pub struct Inner {
    db: db::Db,
    /// The server's own admin token (`--token`), if it has one; accounts' tokens are in the database.
    pub token: Option<String>,
    /// First 12 hex digits of the served model's sha256; posted vectors must carry it.
    pub model_version: String,
    /// Model name → vector length, from the served manifest.
    pub dimensions: HashMap<String, usize>,
    /// The same as a list, for the attendance crate's vector check.
    models: Vec<(String, usize)>,
    /// Model name → default "same person" cosine distance, from the served manifest.
    pub thresholds: HashMap<String, f32>,
    /// The checkout whose `www/`, `pkg/` and `models/` are served.
    pub root: PathBuf,
    /// Permits for large clusterings (register.rs): one per core.
    heavy: tokio::sync::Semaphore,
    /// How long faces, photos and enrolment faces are kept (purge.rs enforces it).
    pub retention: Schedule,
    /// Failed sign-ins in the current minute: (its start, how many) (accounts.rs).
    failed_sign_ins: std::sync::Mutex<(std::time::Instant, u32)>,
    /// The database's identity (`GET /me/`'s `database_id`).
    pub database_id: String,
    /// Idempotency keys whose first request is being answered: (caller, key) (idempotency.rs).
    in_flight: std::sync::Mutex<std::collections::HashSet<(String, String)>>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Opens (creating and migrating) `data_dir/facenet.sqlite3`; reads `root/models/facenet.json`.
    /// `token` is the server's own admin token, if any. The default retention schedule.
    pub fn open(data_dir: &Path, token: Option<&str>, root: &Path) -> Result<AppState, Box<dyn std::error::Error>> {
        AppState::open_with(data_dir, token, root, Schedule::default())
    }

    /// [`AppState::open`] with a retention schedule of the school's.
    pub fn open_with(
        data_dir: &Path,
        token: Option<&str>,
        root: &Path,
        retention: Schedule,
    ) -> Result<AppState, Box<dyn std::error::Error>> {
        let manifest_path = root.join("models/facenet.json");
        let manifest = Manifest::from_json(
            &std::fs::read_to_string(&manifest_path).map_err(|e| format!("{}: {e}", manifest_path.display()))?,
        )?;
        if let Some(token) = token.filter(|t| t.len() < MIN_TOKEN_LEN) {
            return Err(format!(
                "the token is {} characters; use at least {MIN_TOKEN_LEN} (or none: accounts' tokens only)",
                token.len()
            )
            .into());
        }
        let sha = manifest.sha256.clone().ok_or("models/facenet.json has no sha256")?;
        if sha.len() < facenet_wasm::MODEL_VERSION_LEN || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("{}: sha256 {sha:?} is not a hex digest", manifest_path.display()).into());
        }
        let models: Vec<(String, usize)> =
            manifest.outputs.iter().filter_map(|o| Some((o.model.clone(), o.dimension?))).collect();
        let dimensions = models.iter().cloned().collect();
        let thresholds =
            manifest.outputs.iter().filter_map(|o| Some((o.model.clone(), o.same_person_threshold?))).collect();
        let db = db::Db::open(data_dir)?;
        let database_id = db.read(db::database_id).map_err(|e| e.to_string())?;
        Ok(AppState(Arc::new(Inner {
            db,
            database_id,
            in_flight: std::sync::Mutex::new(std::collections::HashSet::new()),
            token: token.map(str::to_string),
            models,
            model_version: sha[..facenet_wasm::MODEL_VERSION_LEN].to_string(),
            dimensions,
            thresholds,
            root: root.to_path_buf(),
            heavy: tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())),
            retention,
            failed_sign_ins: std::sync::Mutex::new((std::time::Instant::now(), 0)),
        })))
    }

    /// The retention purge now (what is due is erased), then every day in the background: call
    /// once, from the runtime the server runs on.
    pub async fn start_purging(&self) -> Result<(), AppError> {
        let done = self.write(|db, state| purge::purge(db, &state.retention, false, "retention schedule")).await?;
        let counts: Vec<String> = done.iter().map(|c| format!("{} {}", c.kind, c.count)).collect();
        tracing::info!("retention purge at start: {}", counts.join(", "));
        purge::schedule_daily(self.clone());
        Ok(())
    }

    /// At shutdown, after the last request: the write-ahead log written back into the database
    /// file and truncated.
    pub async fn close(&self) -> Result<(), AppError> {
        self.write(|db, _| privacy::checkpoint(db)).await?;
        tracing::info!("database checkpointed; stopped");
        Ok(())
    }

    /// Runs `work` on a reader connection, on a blocking thread.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection, &AppState) -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let state = self.clone();
        blocking(move || state.db.read(|conn| work(conn, &state))).await
    }

    /// Runs `work` on the writer connection, on a blocking thread.
    pub(crate) async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection, &AppState) -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let state = self.clone();
        blocking(move || state.db.write(|conn| work(conn, &state))).await
    }
}

/// Runs synchronous work (SQLite, decoding, clustering) on tokio's blocking threads, so that a
/// long assignment or a large image never holds up the async threads serving everyone else.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, error::AppError> + Send + 'static,
) -> Result<T, error::AppError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| error::AppError::Internal(format!("a blocking task failed: {e}")))?
}

/// How long one API request may take once its body is in (serve.rs reads the body first, each
/// chunk within `BODY_IDLE_TIMEOUT`: a client that stops sending half-way is answered `408`).
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The shortest bearer token accepted: a short one is guessable.
pub const MIN_TOKEN_LEN: usize = 8;

/// The whole application: static files and `/api/attendance/…`, every request logged.
pub fn app(state: AppState) -> Router {
    Router::new()
        .nest(
            API_BASE,
            api::routes(state.clone())
                .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                    axum::http::StatusCode::REQUEST_TIMEOUT,
                    REQUEST_TIMEOUT,
                ))
                // Outside the timeout: the body is read first, each chunk on time (serve.rs).
                .layer(axum::middleware::from_fn(serve::read_body))
                // Answers hold pupils' names, marks and faces: no cache keeps them.
                .layer(tower_http::set_header::SetResponseHeaderLayer::if_not_present(
                    axum::http::header::CACHE_CONTROL,
                    axum::http::HeaderValue::from_static("no-store"),
                )),
        )
        .merge(statics::routes(&state))
        .layer(axum::extract::DefaultBodyLimit::max(api::MAX_JSON_BODY))
        // No answer is ever sniffed into another type (a crop served as image/jpeg stays one).
        .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            axum::http::header::X_CONTENT_TYPE_OPTIONS,
            axum::http::HeaderValue::from_static("nosniff"),
        ))
        .layer(axum::middleware::from_fn(json_errors))
        .layer(axum::middleware::from_fn(log_request))
        .with_state(state)
}

/// One line per request: `POST /api/attendance/face-crops/253/embedding/ → 422 InvalidEmbedding
/// (0.4 ms)`, with method, path, status, duration and error type as fields. API calls at
/// `info`, static files at `debug`.
async fn log_request(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let ms = (started.elapsed().as_secs_f64() * 1e4).round() / 10.0;
    let error_type = response.extensions().get::<ErrorType>().map(|c| c.as_str());
    let (session, crop, photo) =
        (id_after(&path, "sessions"), id_after(&path, "face-crops"), id_after(&path, "photos"));
    let api = path.starts_with("/api/");
    match (error_type, api) {
        (Some(e), _) => tracing::info!(
            %method, path, status, ms, session, crop, photo, error_type = e,
            "{method} {path} → {status} {e} ({ms} ms)"
        ),
        (None, true) => {
            tracing::info!(%method, path, status, ms, session, crop, photo, "{method} {path} → {status} ({ms} ms)")
        }
        (None, false) => tracing::debug!(%method, path, status, ms, "{method} {path} → {status} ({ms} ms)"),
    }
    response
}

/// Under `/api/`, an error answer that is not JSON yet (axum's own rejections: a body over the
/// limit, a path id that is not a number, a wrong method, the timeout) becomes the error shape.
async fn json_errors(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::http::{header, StatusCode};
    use ApiErrorCode as A;
    let api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !api || is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            ErrorType::Api(A::PayloadTooLarge),
            format!(
                "the request body is too large: {} MiB for images, {} MiB for JSON",
                MAX_IMAGE_BODY >> 20,
                MAX_JSON_BODY >> 20
            ),
        ),
        StatusCode::METHOD_NOT_ALLOWED => {
            (ErrorType::Api(A::MethodNotAllowed), "this call does not take that method".into())
        }
        StatusCode::NOT_FOUND => (ErrorType::Api(A::NotFound), "no such API call".into()),
        StatusCode::REQUEST_TIMEOUT => (
            ErrorType::Core(facenet_wasm::ErrorCode::Timeout),
            "the request took too long (body sent too slowly?)".into(),
        ),
        s if s.is_server_error() => (ErrorType::Api(A::InternalError), "internal error; see the server log".into()),
        _ => (ErrorType::Api(A::InvalidRequest), "malformed request (a path id must be a number)".into()),
    };
    error::answer(code, message)
}

/// The id after `segment` in a path: `/api/attendance/face-crops/253/embedding/`, `face-crops`
/// → 253 (a field of the request's log line, for log searches by crop or session).
fn id_after(path: &str, segment: &str) -> Option<i64> {
    let mut parts = path.split('/');
    parts.by_ref().find(|p| *p == segment)?;
    parts.next()?.parse().ok()
}
