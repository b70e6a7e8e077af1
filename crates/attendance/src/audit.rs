//! The audit log as a spreadsheet: one row per entry, as both backends' `/audit.csv` answer it.
//! The entries themselves (who, when, what, about whom) are each backend's to store, append-only.
//!
//! ```text
//! id,at,actor,action,person_id,session_id,class_id,detail
//! 41,2026-12-07 09:40:17,Ms Rivera,mark,4411,812,7,"{""mark"":""late""}"
//! ```

use crate::register::{csv_field, BOM};

/// One entry of the audit log; `detail` is its JSON text (never a vector or an image).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditLine {
    /// The entry's id: the order entries were written in.
    pub id: i64,
    /// `YYYY-MM-DD HH:MM:SS` (UTC).
    pub at: String,
    /// The account that acted, or the server itself ("retention schedule").
    pub actor: String,
    /// What was done: `enrol`, `verdict`, `mark`, `finalize`, `erase`, `consent`, …
    pub action: String,
    /// The pupil it was about, if one.
    pub person_id: Option<i64>,
    /// The lesson it was about, if one.
    pub session_id: Option<i64>,
    /// The class it was about, if one.
    pub class_id: Option<i64>,
    /// The entry's detail as compact JSON.
    pub detail: String,
}

/// The log as CSV after a [`BOM`], every text field formula-safe.
///
/// ```
/// use facenet_attendance::audit::{audit_csv, AuditLine};
/// let line = AuditLine { id: 1, at: "2026-12-07 09:40:17".into(), actor: "=cmd".into(), action: "mark".into(),
///     person_id: Some(4), session_id: None, class_id: Some(7), detail: r#"{"mark":"late"}"#.into() };
/// let csv = audit_csv(&[line]);
/// assert_eq!(csv.lines().nth(1).unwrap(), r#"1,2026-12-07 09:40:17,'=cmd,mark,4,,7,"{""mark"":""late""}""#);
/// ```
pub fn audit_csv(lines: &[AuditLine]) -> String {
    let id = |v: Option<i64>| v.map_or(String::new(), |v| v.to_string());
    let mut out = format!("{BOM}id,at,actor,action,person_id,session_id,class_id,detail\n");
    for e in lines {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            e.id,
            csv_field(&e.at),
            csv_field(&e.actor),
            csv_field(&e.action),
            id(e.person_id),
            id(e.session_id),
            id(e.class_id),
            csv_field(&e.detail)
        ));
    }
    out
}
