//! The page and its files: content types, gzip, cache headers, COOP/COEP, the Content-Security-Policy.

use crate::AppState;
use axum::http::{header, HeaderValue};
use axum::response::Redirect;
use axum::routing::get;
use axum::Router;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

/// The session page.
const SESSION_PAGE: &str = "/www/app/index.html";

/// What the page may load and run: its own files only, WebAssembly compiled from them, the
/// threaded build's workers (wasm-bindgen-rayon starts them from blob: URLs), thumbnails made
/// from blobs; never framed by another site. The Django example project sends the same.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     worker-src 'self' blob:; img-src 'self' blob: data:; connect-src 'self'; style-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// `/` → the session page (`www/app/`); `/www` (the app and the reusable client in `www/client/`),
/// `/pkg`, and the model files of `/models` (nothing else: test fixtures are not served);
/// the model also under its hashed name `/models/facenet.<version>.onnx`, cacheable for a year.
pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    let root = &state.root;
    let no_cache = SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let immutable = SetResponseHeaderLayer::overriding(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    let models = Router::new()
        .route_service(
            &format!("/facenet.{}.onnx", state.model_version),
            tower::ServiceBuilder::new().layer(immutable).service(ServeFile::new(root.join("models/facenet.onnx"))),
        )
        // Only the shipped models and their manifests: models/ also holds the Python tools (and
        // a .venv or build/ where someone made the models).
        .route_service("/facenet.onnx", ServeFile::new(root.join("models/facenet.onnx")))
        .route_service("/facenet.json", ServeFile::new(root.join("models/facenet.json")))
        .route_service("/retinaface.onnx", ServeFile::new(root.join("models/retinaface.onnx")))
        .route_service("/retinaface.json", ServeFile::new(root.join("models/retinaface.json")));
    // The model's int8 weights barely compress, and gzipping 24 MB per download costs seconds of CPU.
    let compress = DefaultPredicate::new().and(NotForContentType::const_new("application/octet-stream"));
    Router::new()
        .route("/", get(|| async { Redirect::temporary(SESSION_PAGE) }))
        // The page's service worker at the root, so that its scope covers the page, the client's
        // worker and the builds it loads (www/app/sw.js).
        .route_service("/sw.js", ServeFile::new(root.join("www/app/sw.js")))
        .nest_service("/www", ServeDir::new(root.join("www")))
        .nest_service("/pkg", ServeDir::new(root.join("pkg")))
        .nest("/models", models)
        .layer(no_cache)
        .layer(CompressionLayer::new().compress_when(compress))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        // Cross-origin isolation, so workers may use threads where a build has them.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::HeaderName::from_static("cross-origin-embedder-policy"),
            HeaderValue::from_static("require-corp"),
        ))
}
