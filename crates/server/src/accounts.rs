//! Accounts and their tokens: who a request is ([`require_token`]), the admins' calls on
//! accounts, and what the `facenet-server users …` commands do.
//!
//! A token is 128 random bits as 32 hex digits, shown once; the database keeps only its SHA-256,
//! so a copy of the file opens nothing. A token is revoked or expires; an account has any number.
//! The server's own `--token` / `FACENET_TOKEN` is an admin without an account (today's scripts
//! and single-teacher setups go on working); records name it "admin (--token)".

use crate::audit::{self, About};
use crate::body::parse;
use crate::error::AppError;
use crate::scope::Caller;
use crate::wire::{Me, NewToken, NewUser, Status, TokenCreated, TokensRevoked, User, UserCreated};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What records name the server's own `--token` by.
pub const SERVER_TOKEN_NAME: &str = "admin (--token)";

/// The longest a token may be set to live, in days (about five school years).
pub const MAX_TOKEN_DAYS: u32 = 2000;

/// A new random token: 32 hex digits.
pub fn random_token() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The token of an `Authorization: Bearer <token>` header; the scheme is case-insensitive
/// (RFC 9110 §11.1).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The account of a token that is neither revoked nor expired.
fn caller_of(db: &Connection, token: &str) -> Result<Option<Caller>, AppError> {
    Ok(db
        .query_row(
            "SELECT u.id, u.name, u.admin FROM tokens t JOIN users u ON u.id = t.user_id
             WHERE t.hash = ?1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > datetime('now'))",
            [token_hash(token)],
            |r| Ok(Caller { id: Some(r.get(0)?), name: r.get(1)?, admin: r.get(2)? }),
        )
        .optional()?)
}

/// Every `/api` call but the old URLs: the caller from the bearer token, into the request's
/// extensions, or `Unauthorized`.
pub(crate) async fn require_token(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, AppError> {
    let given = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(bearer);
    let Some(token) = given.filter(|t| !t.is_empty()).map(str::to_string) else {
        return Err(AppError::Unauthorized);
    };
    // The server's token is compared in constant time: how much of a guess matches must not
    // show in the answer's timing. Accounts' tokens are looked up by hash, which shows nothing.
    let server = state.token.as_ref().is_some_and(|t| bool::from(token.as_bytes().ct_eq(t.as_bytes())));
    let caller = if server {
        Caller { id: None, name: SERVER_TOKEN_NAME.into(), admin: true }
    } else {
        match state.read(move |db, _| caller_of(db, &token)).await? {
            Some(caller) => caller,
            None => return Err(failed_sign_in(&state).await),
        }
    };
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}

/// The most failed sign-ins answered (and audited) per minute, from anyone: past it, `429` until
/// the minute is over. A token is 128 random bits, so this is not what keeps it from being
/// guessed; it keeps a guessing client from filling the log and the audit (5 entries a second).
pub const FAILED_SIGN_INS_PER_MINUTE: u32 = 300;

/// A failed sign-in: audited and answered `Unauthorized` while under the limit, `TooManyRequests` past it.
async fn failed_sign_in(state: &AppState) -> AppError {
    let count = {
        let mut window = state.failed_sign_ins.lock().unwrap_or_else(|p| p.into_inner());
        if window.0.elapsed() >= std::time::Duration::from_secs(60) {
            *window = (std::time::Instant::now(), 0);
        }
        window.1 += 1;
        window.1
    };
    if count > FAILED_SIGN_INS_PER_MINUTE {
        return AppError::TooManyRequests;
    }
    let written = state
        .write(move |db, _| {
            audit::record(
                db,
                "(no account)",
                "sign_in_failed",
                About::default(),
                serde_json::json!({"in_this_minute": count}),
            )
        })
        .await;
    if let Err(e) = written {
        tracing::error!("the audit of a failed sign-in failed: {e}");
    }
    AppError::Unauthorized
}

/// Creates a token for `user` (living `days` if given): the token, and when it expires.
fn issue_token(db: &Connection, user: i64, days: Option<u32>) -> Result<(String, Option<String>), AppError> {
    if let Some(days) = days {
        if days == 0 || days > MAX_TOKEN_DAYS {
            return Err(AppError::InvalidRequest(format!("expires_in_days must be 1–{MAX_TOKEN_DAYS}, got {days}")));
        }
    }
    let token = random_token();
    db.execute(
        "INSERT INTO tokens (user_id, hash, expires_at) VALUES (?1, ?2, CASE WHEN ?3 IS NULL THEN NULL ELSE datetime('now', '+' || ?3 || ' days') END)",
        params![user, token_hash(&token), days],
    )?;
    let expires: Option<String> =
        db.query_row("SELECT expires_at FROM tokens WHERE id = ?1", [db.last_insert_rowid()], |r| r.get(0))?;
    Ok((token, expires))
}

/// Creates an account with its first token.
fn create_user(
    db: &mut Connection,
    actor: &str,
    name: &str,
    admin: bool,
    days: Option<u32>,
) -> Result<UserCreated, AppError> {
    let name = crate::answers::checked_name(name, "a user's name")?;
    let tx = db.transaction()?;
    let taken: Option<i64> = tx.query_row("SELECT id FROM users WHERE name = ?1", [&name], |r| r.get(0)).optional()?;
    if taken.is_some() {
        return Err(AppError::Conflict(format!("there is a user named {name:?} already")));
    }
    tx.execute("INSERT INTO users (name, admin) VALUES (?1, ?2)", params![name, admin])?;
    let id = tx.last_insert_rowid();
    let (token, expires_at) = issue_token(&tx, id, days)?;
    audit::record(
        &tx,
        actor,
        "account",
        About::default(),
        serde_json::json!({"created": name, "user_id": id, "admin": admin}),
    )?;
    tx.commit()?;
    tracing::info!(user = id, admin, "account {id} ({name}) created{}", if admin { " as an admin" } else { "" });
    Ok(UserCreated { status: Status::Success, id, name, admin, token, expires_at })
}

/// `POST /users/` (admins).
pub(crate) async fn add_user(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Result<Response, AppError> {
    caller.admin_only("creating accounts")?;
    let new: NewUser = parse(&body)?;
    let created =
        state.write(move |db, _| create_user(db, &caller.name, &new.name, new.admin, new.expires_in_days)).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// `GET /users/` (admins): every account, with how many live tokens it has.
pub(crate) async fn list_users(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Vec<User>>, AppError> {
    caller.admin_only("listing accounts")?;
    state.read(|db, _| users(db)).await.map(Json)
}

fn users(db: &Connection) -> Result<Vec<User>, AppError> {
    let mut stmt = db.prepare(
        "SELECT u.id, u.name, u.admin, u.created_at,
                (SELECT COUNT(*) FROM tokens t WHERE t.user_id = u.id AND t.revoked_at IS NULL
                 AND (t.expires_at IS NULL OR t.expires_at > datetime('now'))),
                (SELECT json_group_array(class_id) FROM (SELECT class_id FROM class_teachers ct WHERE ct.user_id = u.id ORDER BY class_id))
         FROM users u ORDER BY u.name",
    )?;
    let rows = stmt.query_map([], |r| {
        let classes: String = r.get(5)?;
        Ok(User {
            id: r.get(0)?,
            name: r.get(1)?,
            admin: r.get(2)?,
            created_at: r.get(3)?,
            tokens: r.get(4)?,
            class_ids: serde_json::from_str(&classes).unwrap_or_default(),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn user_exists(db: &Connection, id: i64) -> Result<(), AppError> {
    let found: Option<i64> = db.query_row("SELECT id FROM users WHERE id = ?1", [id], |r| r.get(0)).optional()?;
    found.map(|_| ()).ok_or_else(|| AppError::NotFound(format!("no user {id}")))
}

/// `POST /users/{id}/tokens/` (admins): a new token for the account (the old ones stay).
pub(crate) async fn add_token(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(user): Path<i64>,
    body: Bytes,
) -> Result<Response, AppError> {
    caller.admin_only("issuing tokens")?;
    let new: NewToken = if body.is_empty() { NewToken::default() } else { parse(&body)? };
    let created = state
        .write(move |db, _| {
            user_exists(db, user)?;
            let (token, expires_at) = issue_token(db, user, new.expires_in_days)?;
            audit::record(db, &caller.name, "token", About::default(), serde_json::json!({"issued_for": user}))?;
            tracing::info!(user, "account {user}: a new token issued");
            Ok(TokenCreated { status: Status::Success, user_id: user, token, expires_at })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Every working token of `user` revoked: how many.
fn revoke(db: &Connection, user: i64) -> rusqlite::Result<usize> {
    db.execute("UPDATE tokens SET revoked_at = datetime('now') WHERE user_id = ?1 AND revoked_at IS NULL", [user])
}

/// `DELETE /users/{id}/tokens/` (admins): every token of the account stops working at once.
pub(crate) async fn revoke_tokens(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(user): Path<i64>,
) -> Result<Json<TokensRevoked>, AppError> {
    caller.admin_only("revoking tokens")?;
    state
        .write(move |db, _| {
            user_exists(db, user)?;
            let revoked = revoke(db, user)?;
            audit::record(
                db,
                &caller.name,
                "token",
                About::default(),
                serde_json::json!({"revoked_for": user, "revoked": revoked}),
            )?;
            tracing::info!(user, revoked, "account {user}: {revoked} tokens revoked");
            Ok(TokensRevoked { status: Status::Success, user_id: user, revoked })
        })
        .await
        .map(Json)
}

/// `GET /me/`: who the token is, and the classes they teach (an admin reaches every class).
pub(crate) async fn me(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Me>, AppError> {
    state
        .read(move |db, state| {
            let class_ids = crate::scope::class_ids(db, &caller)?;
            Ok(Me {
                id: caller.id,
                name: caller.name,
                admin: caller.admin,
                class_ids,
                database_id: state.database_id.clone(),
            })
        })
        .await
        .map(Json)
}

/// `facenet-server users add NAME [--admin]`: the new account's token (printed, never stored).
pub fn add_user_to(
    data_dir: &std::path::Path,
    name: &str,
    admin: bool,
    days: Option<u32>,
) -> Result<UserCreated, String> {
    let mut db = crate::db::open(data_dir)?;
    create_user(&mut db, "facenet-server users add", name, admin, days).map_err(|e| e.to_string())
}

/// `facenet-server users list`: every account.
pub fn users_in(data_dir: &std::path::Path) -> Result<Vec<User>, String> {
    users(&crate::db::open(data_dir)?).map_err(|e| e.to_string())
}

/// `facenet-server users revoke NAME`: every token of the account; how many.
pub fn revoke_in(data_dir: &std::path::Path, name: &str) -> Result<usize, String> {
    let db = crate::db::open(data_dir)?;
    let id: Option<i64> = db
        .query_row("SELECT id FROM users WHERE name = ?1", [name], |r| r.get(0))
        .optional()
        .map_err(|e| e.to_string())?;
    let id = id.ok_or_else(|| format!("no user named {name:?}"))?;
    revoke(&db, id).map_err(|e| e.to_string())
}

/// The first start of a server without accounts and without `--token`: an admin named `admin`,
/// whose token is printed once. `None` when there are accounts already.
pub fn first_admin(data_dir: &std::path::Path) -> Result<Option<UserCreated>, String> {
    let mut db = crate::db::open(data_dir)?;
    let users: i64 = db.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0)).map_err(|e| e.to_string())?;
    if users > 0 {
        return Ok(None);
    }
    create_user(&mut db, "facenet-server (first start)", "admin", true, None).map(Some).map_err(|e| e.to_string())
}
