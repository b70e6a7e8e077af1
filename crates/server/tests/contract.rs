//! The contract is defined once, in Rust: the core's `ErrorCode`, the API's `ApiErrorCode` with
//! their HTTP statuses, the API's paths and the model-version length. www/client/contract.js (for
//! the browser client) and integrations/django/facenet_attendance/contract.json (for the Django
//! app: the same plus the routes and limits) are generated from them and checked in; this test
//! fails when either differs, when the README's API table misses a call or a code, or when the
//! router does not answer a listed call.
//!
//! Regenerate: FACENET_BLESS=1 cargo test --release -p facenet-server --test contract

use axum::body::Body;
use axum::http::Request;
use facenet_attendance::Doubt;
use facenet_server::{
    core_status, paths, ApiErrorCode, AppState, API_BASE, MAX_BATCH_ITEMS, MAX_CLUSTERED, MAX_IMAGE_BODY,
    MAX_JSON_BODY, MAX_NAME_LEN, MIN_TOKEN_LEN, REQUEST_TIMEOUT, ROUTES,
};
use facenet_wasm::{ErrorCode, Limits, MODEL_VERSION_LEN};
use http_body_util::BodyExt;
use std::path::PathBuf;
use tower::ServiceExt;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

/// Every code on the wire: the core's (and the browser client's), then the API's.
fn codes() -> Vec<(&'static str, Option<u16>)> {
    let core = ErrorCode::ALL.iter().map(|&c| (c.as_str(), core_status(c).map(|s| s.as_u16())));
    let api = ApiErrorCode::ALL.iter().map(|c| (c.as_str(), Some(c.status().as_u16())));
    core.chain(api).collect()
}

/// `items` as lines of at most `per` items, joined by `sep`, each line indented by `indent`.
fn wrapped(items: &[String], per: usize, sep: &str, indent: &str) -> String {
    let lines: Vec<String> = items.chunks(per).map(|chunk| chunk.join(sep)).collect();
    lines.join(&format!("{}\n{indent}", sep.trim_end()))
}

/// The JavaScript module for the current Rust definitions.
fn generated() -> String {
    let codes = codes();
    let quoted: Vec<String> = codes.iter().map(|(c, _)| format!("'{c}'")).collect();
    let statuses: Vec<String> = codes.iter().filter_map(|(c, s)| Some(format!("{c}: {}", (*s)?))).collect();
    let client_only: Vec<String> = codes.iter().filter(|(_, s)| s.is_none()).map(|(c, _)| format!("'{c}'")).collect();
    let paths: Vec<String> = paths::ALL.iter().map(|(name, path)| format!("  {name}: '{path}',")).collect();
    let doubts: Vec<String> =
        Doubt::all().map(|d| format!("  {}: '{}',", d.code(), d.describe().replace('\'', "\\'"))).collect();
    format!(
        "// Generated from the Rust definitions (facenet-wasm's ErrorCode and MODEL_VERSION_LEN, facenet-server's\n\
         // ApiErrorCode and paths, facenet-attendance's Doubt and GALLERY_SIZE) by crates/server/tests/contract.rs: do not edit.\n\
         // Regenerate: FACENET_BLESS=1 cargo test --release -p facenet-server --test contract\n\
         \n\
         /**\n \
         * The stable error codes: `error.code` in the client, `error_type` in the HTTP API.\n \
         * @typedef {{{typedef}}} ErrorCode\n \
         */\n\
         \n\
         /** @type {{readonly ErrorCode[]}} */\n\
         export const ERROR_CODES = Object.freeze([\n  {list},\n]);\n\
         \n\
         /**\n \
         * The HTTP status each code is answered with by the API. The browser client alone raises\n \
         * {client_only}.\n \
         * @type {{Readonly<Partial<Record<ErrorCode, number>>>}}\n \
         */\n\
         export const HTTP_STATUS = Object.freeze({{\n  {statuses},\n}});\n\
         \n\
         /** Hex digits of the weights' sha256 that make a vector's `model_version`. */\n\
         export const MODEL_VERSION_LENGTH = {MODEL_VERSION_LEN};\n\
         \n\
         /** Where the HTTP API lives. */\n\
         export const API_BASE = '{API_BASE}';\n\
         \n\
         /** The API's paths under `API_BASE`, `{{id}}` standing for a number. */\n\
         export const API_PATHS = Object.freeze({{\n{paths}\n}});\n\
         \n\
         /** Why a face of a register's `unsure` list is in doubt: its `doubt` code → what a teacher reads. */\n\
         export const DOUBTS = Object.freeze({{\n{doubts}\n}});\n\
         \n\
         /** The most faces finalised registers confirmed that a pupil's references keep (facenet-attendance's gallery). */\n\
         export const GALLERY_SIZE = {gallery_size};\n",
        gallery_size = facenet_attendance::gallery::GALLERY_SIZE,
        typedef = wrapped(&quoted, 5, "|", " *   "),
        list = wrapped(&quoted, 5, ", ", "  "),
        client_only = wrapped(&client_only, 5, ", ", " * "),
        statuses = wrapped(&statuses, 5, ", ", "  "),
        paths = paths.join("\n"),
        doubts = doubts.join("\n"),
    )
}

/// The JSON contract for the Django app (integrations/django/facenet_attendance/contract.json).
fn generated_json() -> String {
    let codes: serde_json::Map<String, serde_json::Value> =
        codes().into_iter().map(|(c, s)| (c.to_string(), s.map_or(serde_json::Value::Null, Into::into))).collect();
    let value = serde_json::json!({
        "_generated": "from the Rust definitions by crates/server/tests/contract.rs: do not edit; \
                       regenerate with FACENET_BLESS=1 cargo test --release -p facenet-server --test contract",
        "error_codes": codes,
        "api_base": API_BASE,
        "paths": paths::ALL.iter().map(|(name, path)| (name.to_string(), serde_json::Value::from(*path))).collect::<serde_json::Map<_, _>>(),
        "routes": ROUTES.iter().map(|(method, path)| serde_json::json!([method, path])).collect::<Vec<_>>(),
        "model_version_length": MODEL_VERSION_LEN,
        // The most confirmed faces a pupil's gallery keeps (facenet_attendance::gallery).
        "gallery_size": facenet_attendance::gallery::GALLERY_SIZE,
        // The page's Content-Security-Policy: the Django example project sends facenet-server's.
        "content_security_policy": facenet_server::CONTENT_SECURITY_POLICY,
        "limits": {
            "failed_sign_ins_per_minute": facenet_server::FAILED_SIGN_INS_PER_MINUTE,
            "max_image_body": MAX_IMAGE_BODY,
            "max_json_body": MAX_JSON_BODY,
            "max_batch_items": MAX_BATCH_ITEMS,
            "max_name_len": MAX_NAME_LEN,
            "max_clustered": MAX_CLUSTERED,
            "min_token_len": MIN_TOKEN_LEN,
            "request_timeout_seconds": REQUEST_TIMEOUT.as_secs(),
        },
        // What an uploaded image must pass (facenet-wasm's default decode limits).
        "decode_limits": {
            "max_width": Limits::default().max_width,
            "max_height": Limits::default().max_height,
            "max_alloc": Limits::default().max_alloc,
            "min_side": Limits::default().min_side,
        },
    });
    serde_json::to_string_pretty(&value).unwrap() + "\n"
}

/// `path` holds `want`, or with FACENET_BLESS set is made to.
fn check_generated(path: &str, want: &str) {
    let full = repo(path);
    if std::env::var_os("FACENET_BLESS").is_some() {
        std::fs::write(&full, want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&full).unwrap_or_default();
    assert!(
        have == want,
        "{path} is not what the Rust definitions give; regenerate it: \
         FACENET_BLESS=1 cargo test --release -p facenet-server --test contract\n--- expected ---\n{want}"
    );
}

#[test]
fn the_javascript_contract_is_generated_from_the_rust_definitions() {
    check_generated("www/client/contract.js", &generated());
}

#[test]
fn the_django_contract_is_generated_from_the_rust_definitions() {
    check_generated("integrations/django/facenet_attendance/contract.json", &generated_json());
}

#[test]
fn every_code_has_one_name_and_every_api_code_a_client_or_server_error_status() {
    let codes = codes();
    let mut names: Vec<&str> = codes.iter().map(|(c, _)| *c).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), codes.len(), "a code is defined twice");
    for (code, status) in codes {
        if let Some(status) = status {
            assert!((400..600).contains(&status), "{code}: {status}");
        }
    }
}

#[test]
fn the_readme_lists_every_call_and_every_code() {
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    for (name, path) in paths::ALL {
        assert!(readme.contains(path), "README.md does not document {name} ({path})");
    }
    for (code, _) in codes() {
        assert!(readme.contains(&format!("`{code}`")), "README.md does not document the error code `{code}`");
    }
}

#[tokio::test]
async fn the_router_answers_every_listed_call() {
    let dir = std::env::temp_dir().join(format!("facenet-contract-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let state = AppState::open(&dir, Some("contract-token"), &repo("")).unwrap();
    for (method, path) in ROUTES {
        let uri = format!("{API_BASE}{}", path.replace("{id}", "1").replace("{person_id}", "1"));
        let request = Request::builder()
            .method(method)
            .uri(&uri)
            .header("authorization", "Bearer contract-token")
            .body(Body::empty())
            .unwrap();
        let response = facenet_server::app(state.clone()).oneshot(request).await.unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&body);
        // Session 1 does not exist: the call is routed when the answer is ours, not the fallback's.
        assert!(!text.contains("no API call") && !text.contains("does not take that method"), "{method} {uri}: {text}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
