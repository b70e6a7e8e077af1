//! Who is calling, and what they may reach. An admin reaches everything; a teacher reaches the
//! classes they are assigned to and what hangs off them: their sessions, photos, crops, vectors,
//! registers, and the pupils on their rosters. Everything reached by id is checked here, once per
//! request, with one query; an id the caller may not reach answers exactly as one that does not
//! exist (404), so ids of other classes are not confirmed.
//!
//! Each check binds the caller as `?2`: NULL for an admin (no restriction), the user's id for a
//! teacher, tested against `class_teachers`.

use crate::error::AppError;
use rusqlite::{params, Connection, OptionalExtension};

/// The account a request's token belongs to (put in the request's extensions by the token check).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user's id; `None` for the server's own `--token` (an admin without an account).
    pub id: Option<i64>,
    /// The user's name, as records say who did what.
    pub name: String,
    /// Whether the account is an admin's.
    pub admin: bool,
}

impl Caller {
    /// What `?2` of the checks is bound to: no restriction for an admin.
    pub(crate) fn restriction(&self) -> Option<i64> {
        if self.admin {
            None
        } else {
            // A teacher always has an account; -1 matches no class should that ever not hold.
            Some(self.id.unwrap_or(-1))
        }
    }

    /// `Forbidden` unless the caller is an admin.
    pub(crate) fn admin_only(&self, what: &str) -> Result<(), AppError> {
        if self.admin {
            Ok(())
        } else {
            Err(AppError::Forbidden(what.to_string()))
        }
    }
}

/// The SQL condition "the caller teaches class `column`", the restriction bound as `?2` (or as
/// the parameter given second).
macro_rules! teaches {
    ($column:literal) => {
        $crate::scope::teaches!($column, "?2")
    };
    ($column:literal, $param:literal) => {
        concat!(
            "(",
            $param,
            " IS NULL OR EXISTS (SELECT 1 FROM class_teachers t WHERE t.class_id = ",
            $column,
            " AND t.user_id = ",
            $param,
            "))"
        )
    };
}
pub(crate) use teaches;

/// A session the caller reaches: its class and whether its register is finalised.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionScope {
    pub(crate) class_id: i64,
    pub(crate) finalized: bool,
}

/// The ids of the classes the caller reaches, in order.
pub(crate) fn class_ids(db: &Connection, caller: &Caller) -> Result<Vec<i64>, AppError> {
    let mut stmt =
        db.prepare(concat!("SELECT c.id FROM classes c WHERE ", teaches!("c.id", "?1"), " ORDER BY c.id"))?;
    let rows = stmt.query_map([caller.restriction()], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// `NotFound` unless the caller reaches class `id`.
pub(crate) fn class(db: &Connection, caller: &Caller, id: i64) -> Result<(), AppError> {
    let sql = concat!("SELECT 1 FROM classes c WHERE c.id = ?1 AND ", teaches!("c.id"));
    let found: Option<i64> = db.query_row(sql, params![id, caller.restriction()], |r| r.get(0)).optional()?;
    found.map(|_| ()).ok_or_else(|| AppError::NotFound(format!("no class {id}")))
}

/// `NotFound` unless the caller reaches session `id`.
pub(crate) fn session(db: &Connection, caller: &Caller, id: i64) -> Result<SessionScope, AppError> {
    let sql = concat!(
        "SELECT s.class_id, EXISTS (SELECT 1 FROM registers r WHERE r.session_id = s.id) FROM sessions s
         WHERE s.id = ?1 AND ",
        teaches!("s.class_id")
    );
    let found = db
        .query_row(sql, params![id, caller.restriction()], |r| {
            Ok(SessionScope { class_id: r.get(0)?, finalized: r.get(1)? })
        })
        .optional()?;
    found.ok_or_else(|| AppError::NotFound(format!("no session {id}")))
}

/// `NotFound` unless the caller reaches session `id` and its register is open.
pub(crate) fn open_session(db: &Connection, caller: &Caller, id: i64) -> Result<SessionScope, AppError> {
    let scope = session(db, caller, id)?;
    if scope.finalized {
        return Err(AppError::RegisterFinalized(id));
    }
    Ok(scope)
}

/// `CropNotFound` unless the caller reaches crop `id`; its session.
pub(crate) fn crop(db: &Connection, caller: &Caller, id: i64) -> Result<i64, AppError> {
    let sql = concat!(
        "SELECT c.session_id FROM face_crops c JOIN sessions s ON s.id = c.session_id WHERE c.id = ?1 AND ",
        teaches!("s.class_id")
    );
    let found: Option<i64> = db.query_row(sql, params![id, caller.restriction()], |r| r.get(0)).optional()?;
    found.ok_or(AppError::CropNotFound(id))
}

/// `NotFound` unless the caller reaches photo `id`.
pub(crate) fn photo(db: &Connection, caller: &Caller, id: i64) -> Result<(), AppError> {
    let sql = concat!(
        "SELECT 1 FROM photos p JOIN sessions s ON s.id = p.session_id WHERE p.id = ?1 AND ",
        teaches!("s.class_id")
    );
    let found: Option<i64> = db.query_row(sql, params![id, caller.restriction()], |r| r.get(0)).optional()?;
    found.map(|_| ()).ok_or_else(|| AppError::NotFound(format!("no photo {id}")))
}

/// `NotFound` unless the caller reaches pupil `id`: an admin any, a teacher those on a roster of
/// theirs.
pub(crate) fn person(db: &Connection, caller: &Caller, id: i64) -> Result<(), AppError> {
    let sql = concat!(
        "SELECT 1 FROM people p WHERE p.id = ?1 AND (?2 IS NULL OR EXISTS (SELECT 1 FROM roster r WHERE r.person_id = p.id AND ",
        teaches!("r.class_id"),
        "))"
    );
    let found: Option<i64> = db.query_row(sql, params![id, caller.restriction()], |r| r.get(0)).optional()?;
    found.map(|_| ()).ok_or_else(|| AppError::NotFound(format!("no pupil {id}")))
}

/// `NotFound` unless pupil `person` is on class `class`'s roster.
pub(crate) fn on_roster(db: &Connection, class: i64, person: i64) -> Result<(), AppError> {
    let found: Option<i64> = db
        .query_row("SELECT 1 FROM roster WHERE class_id = ?1 AND person_id = ?2", [class, person], |r| r.get(0))
        .optional()?;
    found.map(|_| ()).ok_or_else(|| AppError::NotFound(format!("no pupil {person} on the roster of class {class}")))
}
