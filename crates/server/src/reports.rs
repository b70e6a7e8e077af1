//! Attendance over time, from finalised registers: a class's table (pupils × lessons, JSON and
//! CSV) and a pupil's history. The counting is the attendance crate's (`report`); this reads the
//! store and answers.

use crate::error::AppError;
use crate::scope::{self, teaches, Caller};
use crate::wire::{
    ClassReport, HistoryLesson, PupilHistory, RangeQuery, ReportCounts, ReportLesson, ReportRow, Status,
};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use facenet_attendance::report::{self, Counts, Lesson, Pupil, Recorded};
use facenet_attendance::{time, Mark};
use rusqlite::{params, Connection};

/// A CSV download.
pub(crate) fn csv_answer(filename: &str, csv: String) -> Response {
    let disposition = format!("attachment; filename=\"{filename}\"");
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)], csv)
        .into_response()
}

/// The range's days, checked: `(from, to)`, each `None` when not given.
fn range(query: &RangeQuery) -> Result<(Option<String>, Option<String>), AppError> {
    let day = |d: &Option<String>| d.as_deref().map(time::day).transpose().map_err(AppError::InvalidRequest);
    let (from, to) = (day(&query.from)?, day(&query.to)?);
    if let (Some(f), Some(t)) = (&from, &to) {
        if f > t {
            return Err(AppError::InvalidRequest(format!("from {f} is after to {t}")));
        }
    }
    Ok((from, to))
}

/// `starts_at`'s day within `?2`..`?3` (either open).
const IN_RANGE: &str =
    "(?2 IS NULL OR substr(s.starts_at, 1, 10) >= ?2) AND (?3 IS NULL OR substr(s.starts_at, 1, 10) <= ?3)";

fn counts(c: Counts) -> ReportCounts {
    ReportCounts { present: c.present, late: c.late, excused: c.excused, absent: c.absent, rate: c.rate() }
}

/// The class report (the crate's, which the JSON answer and the CSV are both made from): its
/// lessons in the range, its roster and anyone on a finalised register of the range since taken
/// off it, and the finalised marks. With the range as checked.
fn class_table(
    db: &Connection,
    caller: &Caller,
    class: i64,
    query: &RangeQuery,
) -> Result<(report::ClassReport, Option<String>, Option<String>), AppError> {
    let (from, to) = range(query)?;
    scope::class(db, caller, class)?;
    let lessons: Vec<Lesson> = {
        let sql = format!(
            "SELECT s.id, s.name, s.starts_at, EXISTS (SELECT 1 FROM registers r WHERE r.session_id = s.id)
             FROM sessions s WHERE s.class_id = ?1 AND {IN_RANGE} ORDER BY s.starts_at, s.id"
        );
        let mut stmt = db.prepare(&sql)?;
        let rows = stmt.query_map(params![class, from, to], |r| {
            Ok(Lesson { session_id: r.get(0)?, name: r.get(1)?, starts_at: r.get(2)?, finalized: r.get(3)? })
        })?;
        rows.collect::<Result<_, _>>()?
    };
    let recorded: Vec<Recorded> = {
        let sql = format!(
            "SELECT m.session_id, m.person_id, m.mark FROM register_marks m JOIN sessions s ON s.id = m.session_id
             WHERE s.class_id = ?1 AND {IN_RANGE}"
        );
        let mut stmt = db.prepare(&sql)?;
        let rows = stmt.query_map(params![class, from, to], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?))
        })?;
        let rows: Vec<(i64, i64, String)> = rows.collect::<Result<_, _>>()?;
        rows.into_iter()
            .filter_map(|(s, p, m)| Some(Recorded { session_id: s, person_id: p, mark: Mark::parse(&m)? }))
            .collect()
    };
    let pupils: Vec<Pupil> = {
        let sql = format!(
            "SELECT p.id, p.name, p.external_id FROM people p
             WHERE p.id IN (SELECT person_id FROM roster WHERE class_id = ?1)
                OR p.id IN (SELECT m.person_id FROM register_marks m JOIN sessions s ON s.id = m.session_id
                            WHERE s.class_id = ?1 AND {IN_RANGE})
             ORDER BY p.name, p.id"
        );
        let mut stmt = db.prepare(&sql)?;
        let rows = stmt.query_map(params![class, from, to], |r| {
            Ok(Pupil { person_id: r.get(0)?, name: r.get(1)?, external_id: r.get(2)? })
        })?;
        rows.collect::<Result<_, _>>()?
    };
    Ok((report::class_report(lessons, pupils, &recorded), from, to))
}

/// A class report as answered in JSON.
fn answer(class: i64, table: report::ClassReport, from: Option<String>, to: Option<String>) -> ClassReport {
    ClassReport {
        status: Status::Success,
        class_id: class,
        from,
        to,
        lessons: table
            .lessons
            .iter()
            .map(|l| ReportLesson {
                session_id: l.session_id,
                name: l.name.clone(),
                starts_at: l.starts_at.clone(),
                finalized: l.finalized,
            })
            .collect(),
        pupils: table
            .rows
            .into_iter()
            .map(|row| ReportRow {
                person_id: row.pupil.person_id,
                name: row.pupil.name,
                external_id: row.pupil.external_id,
                marks: row.marks.iter().map(|m| m.map(Mark::as_str)).collect(),
                counts: counts(row.counts),
            })
            .collect(),
    }
}

/// `GET /classes/{id}/attendance/?from=&to=`.
pub(crate) async fn class_report(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(class): Path<i64>,
    Query(query): Query<RangeQuery>,
) -> Result<Json<ClassReport>, AppError> {
    let (table, from, to) = state.read(move |db, _| class_table(db, &caller, class, &query)).await?;
    Ok(Json(answer(class, table, from, to)))
}

/// `GET /classes/{id}/attendance.csv?from=&to=`: the same table as CSV (`report_csv`: UTF-8 with
/// a BOM, formula-safe).
pub(crate) async fn class_report_csv(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(class): Path<i64>,
    Query(query): Query<RangeQuery>,
) -> Result<Response, AppError> {
    let (table, _, _) = state.read(move |db, _| class_table(db, &caller, class, &query)).await?;
    Ok(csv_answer(&format!("class-{class}-attendance.csv"), report::report_csv(&table)))
}

/// `GET /people/{id}/attendance/?from=&to=`: the pupil's lessons in the range, of the classes the
/// caller reaches where the pupil is on the roster or on a finalised register, with their marks.
pub(crate) async fn pupil_history(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(person): Path<i64>,
    Query(query): Query<RangeQuery>,
) -> Result<Json<PupilHistory>, AppError> {
    let (from, to) = range(&query)?;
    state
        .read(move |db, _| {
            scope::person(db, &caller, person)?;
            let name: String = db.query_row("SELECT name FROM people WHERE id = ?1", [person], |r| r.get(0))?;
            let sql = format!(
                "SELECT s.id, s.class_id, s.name, s.starts_at,
                        EXISTS (SELECT 1 FROM registers r WHERE r.session_id = s.id),
                        (SELECT m.mark FROM register_marks m WHERE m.session_id = s.id AND m.person_id = ?1)
                 FROM sessions s
                 WHERE (s.class_id IN (SELECT class_id FROM roster WHERE person_id = ?1)
                        OR EXISTS (SELECT 1 FROM register_marks m WHERE m.session_id = s.id AND m.person_id = ?1))
                   AND {IN_RANGE} AND {teaches}
                 ORDER BY s.starts_at, s.id",
                teaches = teaches!("s.class_id", "?4"),
            );
            let mut stmt = db.prepare(&sql)?;
            let rows = stmt.query_map(params![person, from, to, caller.restriction()], |r| {
                let finalized: bool = r.get(4)?;
                let mark: Option<String> = r.get(5)?;
                Ok(HistoryLesson {
                    session_id: r.get(0)?,
                    class_id: r.get(1)?,
                    name: r.get(2)?,
                    starts_at: r.get(3)?,
                    finalized,
                    mark: mark.as_deref().filter(|_| finalized).and_then(Mark::parse).map(Mark::as_str),
                })
            })?;
            let lessons: Vec<HistoryLesson> = rows.collect::<Result<_, _>>()?;
            let total = Counts::of(lessons.iter().filter_map(|l| l.mark.and_then(Mark::parse)));
            Ok(PupilHistory {
                status: Status::Success,
                person_id: person,
                name,
                from,
                to,
                lessons,
                counts: counts(total),
            })
        })
        .await
        .map(Json)
}
