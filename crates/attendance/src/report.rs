//! Attendance over time, from finalised registers only: a class's table (pupils × lessons) with
//! its CSV, and the counts and rate any list of marks gives (a pupil's history). A lesson whose
//! register is not finalised is listed, marked so, and counts for nobody.
//!
//! ```text
//!               Mon 1 Dec   Tue 2 Dec   Wed 3 Dec (not finalised)   present late excused absent rate
//! Ana           present     late        ·                           1       1    0       0      1.000
//! Ben           absent      excused     ·                           0       0    1       1      0.000
//! ```

use crate::mark::Mark;
use crate::register::{csv_field, BOM};

/// A lesson of the report's range, in the order the table shows them (by start).
#[derive(Debug, Clone, PartialEq)]
pub struct Lesson {
    /// The session's id.
    pub session_id: i64,
    /// Its name.
    pub name: String,
    /// When it starts (`YYYY-MM-DD HH:MM:SS`).
    pub starts_at: String,
    /// Whether its register is finalised: only then do its marks count.
    pub finalized: bool,
}

/// A pupil of the report: its row.
#[derive(Debug, Clone, PartialEq)]
pub struct Pupil {
    /// The pupil's id.
    pub person_id: i64,
    /// Display name.
    pub name: String,
    /// The school's own number for them (its MIS), if given.
    pub external_id: Option<String>,
}

/// One mark of a finalised register.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recorded {
    /// The lesson.
    pub session_id: i64,
    /// The pupil.
    pub person_id: i64,
    /// Their mark, as finalised.
    pub mark: Mark,
}

/// How many lessons a pupil had each mark in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Present.
    pub present: u32,
    /// Late.
    pub late: u32,
    /// Excused.
    pub excused: u32,
    /// Absent.
    pub absent: u32,
}

impl Counts {
    /// The counts of `marks`.
    pub fn of(marks: impl IntoIterator<Item = Mark>) -> Counts {
        let mut counts = Counts::default();
        for mark in marks {
            *match mark {
                Mark::Present => &mut counts.present,
                Mark::Late => &mut counts.late,
                Mark::Excused => &mut counts.excused,
                Mark::Absent => &mut counts.absent,
            } += 1;
        }
        counts
    }

    /// Lessons attended over lessons that counted: (present + late) / (present + late + absent);
    /// an excused lesson counts for neither side. `None` when no lesson counted.
    pub fn rate(&self) -> Option<f64> {
        let attended = self.present + self.late;
        let counted = attended + self.absent;
        (counted > 0).then(|| f64::from(attended) / f64::from(counted))
    }
}

/// One pupil's row of a class report.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Whose row.
    pub pupil: Pupil,
    /// Their mark in each lesson of [`ClassReport::lessons`], in order; `None` where the register
    /// is not finalised, or was finalised without them (not on the roster then).
    pub marks: Vec<Option<Mark>>,
    /// Their counts over the finalised lessons.
    pub counts: Counts,
}

/// A class's attendance over a range: pupils × lessons.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassReport {
    /// The lessons, as given.
    pub lessons: Vec<Lesson>,
    /// One row per pupil, as given.
    pub rows: Vec<Row>,
}

/// The table of `pupils` × `lessons` from the finalised registers' marks (marks of lessons or
/// pupils not listed, or of lessons not finalised, are ignored).
pub fn class_report(lessons: Vec<Lesson>, pupils: Vec<Pupil>, recorded: &[Recorded]) -> ClassReport {
    let rows = pupils
        .into_iter()
        .map(|pupil| {
            let marks: Vec<Option<Mark>> = lessons
                .iter()
                .map(|lesson| {
                    let found =
                        recorded.iter().find(|r| r.session_id == lesson.session_id && r.person_id == pupil.person_id);
                    found.filter(|_| lesson.finalized).map(|r| r.mark)
                })
                .collect();
            let counts = Counts::of(marks.iter().flatten().copied());
            Row { pupil, marks, counts }
        })
        .collect();
    ClassReport { lessons, rows }
}

/// A class report as CSV (after a [`BOM`]): one row per pupil, one column per lesson (its start
/// and name; "(not finalised)" and empty cells where the register is not), then the counts and
/// the rate (0–1, three decimals; empty when no lesson counted). Formula-safe like every CSV here.
///
/// ```text
/// person_id,external_id,name,2026-12-01 09:00 Maths,2026-12-02 09:00 Maths (not finalised),present,late,excused,absent,rate
/// 4,MIS-0042,Ana,late,,0,1,0,0,1.000
/// ```
pub fn report_csv(report: &ClassReport) -> String {
    let mut header = vec!["person_id".to_string(), "external_id".into(), "name".into()];
    for lesson in &report.lessons {
        let starts = lesson.starts_at.get(..16).unwrap_or(&lesson.starts_at);
        let pending = if lesson.finalized { "" } else { " (not finalised)" };
        header.push(csv_field(&format!("{starts} {}{pending}", lesson.name)));
    }
    header.extend(["present", "late", "excused", "absent", "rate"].map(String::from));
    let mut csv = format!("{BOM}{}\n", header.join(","));
    for row in &report.rows {
        let mut cells = vec![
            row.pupil.person_id.to_string(),
            csv_field(row.pupil.external_id.as_deref().unwrap_or("")),
            csv_field(&row.pupil.name),
        ];
        cells.extend(row.marks.iter().map(|m| m.map_or(String::new(), |m| m.to_string())));
        let c = row.counts;
        cells.extend([c.present, c.late, c.excused, c.absent].map(|n| n.to_string()));
        cells.push(c.rate().map_or(String::new(), |r| format!("{r:.3}")));
        csv.push_str(&cells.join(","));
        csv.push('\n');
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lesson(session_id: i64, day: u32, finalized: bool) -> Lesson {
        Lesson { session_id, name: "Maths".into(), starts_at: format!("2026-12-0{day} 09:00:00"), finalized }
    }

    fn pupil(person_id: i64, name: &str) -> Pupil {
        Pupil { person_id, name: name.into(), external_id: (person_id == 1).then(|| "MIS-1".into()) }
    }

    #[test]
    fn the_rate_counts_attended_over_counted_and_excused_for_neither() {
        let c = Counts::of([Mark::Present, Mark::Late, Mark::Excused, Mark::Absent]);
        assert_eq!(c, Counts { present: 1, late: 1, excused: 1, absent: 1 });
        assert_eq!(c.rate(), Some(2.0 / 3.0));
        assert_eq!(Counts::of([Mark::Excused]).rate(), None);
        assert_eq!(Counts::default().rate(), None);
    }

    #[test]
    fn a_report_takes_marks_of_finalised_lessons_only_and_says_which_are_not() {
        let recorded = [
            Recorded { session_id: 10, person_id: 1, mark: Mark::Present },
            Recorded { session_id: 10, person_id: 2, mark: Mark::Absent },
            Recorded { session_id: 11, person_id: 1, mark: Mark::Late },
            // Lesson 12 was finalised, then reopened: a stale mark must not count.
            Recorded { session_id: 12, person_id: 1, mark: Mark::Absent },
            Recorded { session_id: 99, person_id: 1, mark: Mark::Absent },
        ];
        let report = class_report(
            vec![lesson(10, 1, true), lesson(11, 2, true), lesson(12, 3, false)],
            vec![pupil(1, "Ana"), pupil(2, "=Ben")],
            &recorded,
        );
        assert_eq!(report.rows[0].marks, vec![Some(Mark::Present), Some(Mark::Late), None]);
        assert_eq!(report.rows[1].marks, vec![Some(Mark::Absent), None, None], "Ben was not on lesson 11's register");
        assert_eq!(report.rows[0].counts.rate(), Some(1.0));
        assert_eq!(
            report_csv(&report),
            "\u{feff}person_id,external_id,name,2026-12-01 09:00 Maths,2026-12-02 09:00 Maths,\
             2026-12-03 09:00 Maths (not finalised),present,late,excused,absent,rate\n\
             1,MIS-1,Ana,present,late,,1,1,0,0,1.000\n\
             2,,'=Ben,absent,,,0,0,0,1,0.000\n"
        );
    }
}
