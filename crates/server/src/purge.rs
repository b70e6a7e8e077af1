//! The retention schedule enforced (`facenet_attendance::retention::Schedule`, set at start):
//! a purge at start and every day, a dry run on request, each kind counted.
//!
//! ```text
//! lesson_faces  crops that are no pupil's reference face, older than lesson_faces_days
//! photos        stored photo images older than photos_days (the record stays)
//! leavers       reference faces of pupils on no roster since leavers_days
//! templates     reference faces older than template_max_days
//! ```

use crate::audit::{self, About};
use crate::error::AppError;
use crate::privacy::checkpoint;
use crate::scope::Caller;
use crate::wire::{PurgeAnswer, PurgeCount, PurgeQuery, RetentionAnswer, Status};
use crate::AppState;
use axum::extract::{Query, State};
use axum::{Extension, Json};
use facenet_attendance::retention::{Schedule, PURGE_KINDS};
use rusqlite::Connection;

/// What each kind erases: its table, the condition on it (`?1` the days), and its days in the
/// schedule.
fn rule(kind: &str, schedule: &Schedule) -> (&'static str, &'static str, u32) {
    match kind {
        "lesson_faces" => (
            "face_crops c",
            "c.person_id IS NULL AND c.created_at < datetime('now', '-' || ?1 || ' days')",
            schedule.lesson_faces_days,
        ),
        "photos" => (
            "photos p",
            "p.image IS NOT NULL AND p.created_at < datetime('now', '-' || ?1 || ' days')",
            schedule.photos_days,
        ),
        "leavers" => (
            "face_crops c",
            "c.person_id IN (SELECT id FROM people WHERE left_at IS NOT NULL AND left_at <= datetime('now', '-' || ?1 || ' days'))",
            schedule.leavers_days,
        ),
        _ => (
            "face_crops c",
            "c.person_id IS NOT NULL AND c.created_at < datetime('now', '-' || ?1 || ' days')",
            schedule.template_max_days,
        ),
    }
}

/// Counts (`dry_run`) or erases what the schedule says is due, kind by kind, in one transaction.
pub(crate) fn purge(
    db: &mut Connection,
    schedule: &Schedule,
    dry_run: bool,
    actor: &str,
) -> Result<Vec<PurgeCount>, AppError> {
    let tx = db.transaction()?;
    let mut counts = Vec::new();
    for kind in PURGE_KINDS {
        let (table, cond, n) = rule(kind, schedule);
        let count: usize = tx.query_row(&format!("SELECT COUNT(*) FROM {table} WHERE {cond}"), [n], |r| r.get(0))?;
        if !dry_run && count > 0 {
            let table = table.replace(' ', " AS ");
            if kind == "photos" {
                tx.execute(&format!("UPDATE {table} SET image = NULL, content_type = NULL WHERE {cond}"), [n])?;
            } else {
                tx.execute(&format!("DELETE FROM {table} WHERE {cond}"), [n])?;
            }
        }
        counts.push(PurgeCount { kind, count });
    }
    let erased: usize = counts.iter().map(|c| c.count).sum();
    if !dry_run && erased > 0 {
        let detail =
            serde_json::json!(counts.iter().map(|c| (c.kind, c.count)).collect::<std::collections::BTreeMap<_, _>>());
        audit::record(&tx, actor, "purge", About::default(), detail)?;
    }
    if !dry_run {
        // Housekeeping, not the schedule's: answers kept for Idempotency-Key retries.
        tx.execute(
            "DELETE FROM idempotency WHERE created_at < datetime('now', '-' || ?1 || ' hours')",
            [crate::idempotency::KEEP_HOURS],
        )?;
    }
    tx.commit()?;
    if !dry_run && erased > 0 {
        checkpoint(db)?;
        tracing::info!(erased, "retention purge: {erased} rows erased ({counts:?})");
    }
    Ok(counts)
}

/// `GET /retention/`: the schedule in force, in numbers and in words.
pub(crate) async fn schedule(State(state): State<AppState>) -> Json<RetentionAnswer> {
    Json(answer(&state.retention))
}

/// A schedule, answered.
pub(crate) fn answer(s: &Schedule) -> RetentionAnswer {
    RetentionAnswer {
        lesson_faces_days: s.lesson_faces_days,
        photos_days: s.photos_days,
        leavers_days: s.leavers_days,
        template_max_days: s.template_max_days,
        keep_attendance_of_erased: s.keep_attendance_of_erased,
        notice: s.describe(),
    }
}

/// `POST /retention/purge/?dry_run=true|false` (admins; a dry run unless `false`).
pub(crate) async fn run(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<PurgeQuery>,
) -> Result<Json<PurgeAnswer>, AppError> {
    caller.admin_only("purging")?;
    let dry_run = query.dry_run.unwrap_or(true);
    let erased = state.write(move |db, state| purge(db, &state.retention, dry_run, &caller.name)).await?;
    Ok(Json(PurgeAnswer { status: Status::Success, dry_run, erased }))
}

/// The purge every day from now on, in the background (the one at start is `start_purging`'s).
pub(crate) fn schedule_daily(state: AppState) {
    tokio::spawn(async move {
        let day = std::time::Duration::from_secs(24 * 3600);
        // Not `interval`: its first tick is at once, a second purge right after the start's.
        let mut every = tokio::time::interval_at(tokio::time::Instant::now() + day, day);
        loop {
            every.tick().await;
            let done = state.write(|db, state| purge(db, &state.retention, false, "retention schedule")).await;
            if let Err(e) = done {
                tracing::error!("retention purge failed: {e}");
            }
        }
    });
}
