//! The connections: accepted here rather than by `axum::serve`, so that a client cannot hold the
//! server with sockets that send nothing. Measured before: a connection that sent half its
//! request headers was still open after 100 s, and a few hundred of them would have taken every
//! file descriptor a teacher's request needs.
//!
//! ```text
//! accept ── at most MAX_CONNECTIONS at once (the next waits in the kernel's backlog)
//!   └─ HTTP/1: request headers within HEADER_READ_TIMEOUT, else the connection is closed
//!        └─ the app: under /api, a body that stalls for BODY_IDLE_TIMEOUT is 408
//!           (idle, not total: a 16 MiB photo on a slow uplink finishes), then the
//!           request's own REQUEST_TIMEOUT for the work
//! ```

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use http_body_util::BodyExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Open connections at most; a school's classrooms need tens.
pub const MAX_CONNECTIONS: usize = 512;

/// The longest a client may take to send a request's headers (also a kept-alive connection's
/// next request).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(15);

/// The longest a request's body may go without a byte.
pub const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `app` on `listener` until `shutdown` resolves, then finishes the requests under way.
pub async fn serve(listener: TcpListener, app: Router, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.map_err(std::io::Error::other)?,
            () = &mut shutdown => break,
        };
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors, a connection reset before accept: not the server's end.
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // A client that went away mid-request, or sent headers too slowly: its own end.
            if let Err(e) = connection.await {
                tracing::debug!("connection closed: {e}");
            }
            drop(permit);
        });
    }
    graceful.shutdown().await;
    Ok(())
}

/// Under `/api`: the request body read here, each chunk within [`BODY_IDLE_TIMEOUT`] of the
/// last (`408` when one is not), at most the largest body any call takes (`413`), and handed on
/// whole — so that the request timeout counts the work, not a slow uplink.
pub(crate) async fn read_body(request: Request, next: Next) -> Response {
    let (parts, mut body) = request.into_parts();
    let limit = crate::api::MAX_IMAGE_BODY;
    let mut bytes = Vec::new();
    loop {
        match tokio::time::timeout(BODY_IDLE_TIMEOUT, body.frame()).await {
            Err(_) => {
                tracing::info!(path = %parts.uri.path(), received = bytes.len(), "a request body stalled for {} s", BODY_IDLE_TIMEOUT.as_secs());
                return StatusCode::REQUEST_TIMEOUT.into_response();
            }
            Ok(None) => break,
            Ok(Some(Err(_))) => return StatusCode::BAD_REQUEST.into_response(),
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    if bytes.len() + data.len() > limit {
                        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
                    }
                    bytes.extend_from_slice(&data);
                }
            }
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}
