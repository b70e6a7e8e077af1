//! How long the attendance system keeps what it keeps: the schedule a school sets, its defaults,
//! and the text a parent reads. The backends enforce it (a purge at start and daily, a dry run on
//! request); this is the one place the defaults and their meaning are written.

use crate::time;

/// A retention schedule, in days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// A lesson's faces that are no pupil's reference face (matched, unknown or not in the
    /// class): long enough to review and finalise the register. Its marks stay.
    pub lesson_faces_days: u32,
    /// A whole photo's image, when the teacher uploaded one (its record stays).
    pub photos_days: u32,
    /// A pupil's reference faces after they left their last class (0: at once).
    pub leavers_days: u32,
    /// The oldest a reference face (and its vectors) may be: the pupil enrols again after.
    pub template_max_days: u32,
    /// Whether an erased pupil's attendance marks are kept (schools keep attendance records).
    pub keep_attendance_of_erased: bool,
}

impl Default for Schedule {
    /// 30 days, 7 days, at once, 3 years (BIPA's cap), marks kept.
    fn default() -> Self {
        Schedule {
            lesson_faces_days: 30,
            photos_days: 7,
            leavers_days: 0,
            template_max_days: 3 * 365,
            keep_attendance_of_erased: true,
        }
    }
}

/// How long before a pupil's reference face reaches [`Schedule::template_max_days`] the
/// teacher is asked to enrol them again: two months, so that a holiday does not hide it.
pub const REENROL_NOTICE_DAYS: u32 = 60;

/// When a pupil enrols again: the day their oldest reference face is erased, and whether that
/// is close enough to ask now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reenrolment {
    /// `YYYY-MM-DD`: the purge erases the oldest reference face from this day on.
    pub by: String,
    /// Within [`REENROL_NOTICE_DAYS`] of `by` (or past it).
    pub due: bool,
}

/// The kinds of data a purge erases, as answered (`{"kind", "count"}`).
pub const PURGE_KINDS: [&str; 4] = ["lesson_faces", "photos", "leavers", "templates"];

impl Schedule {
    /// When a pupil whose oldest reference face was taken at `oldest` (a day or a stored time)
    /// must enrol again, seen on `today` (`YYYY-MM-DD`).
    ///
    /// ```
    /// use facenet_attendance::retention::Schedule;
    /// let r = Schedule::default().reenrolment("2026-12-02 09:00:00", "2029-10-01").unwrap();
    /// assert_eq!((r.by.as_str(), r.due), ("2029-12-01", false));
    /// assert!(Schedule::default().reenrolment("2026-12-02", "2029-10-02").unwrap().due);
    /// ```
    pub fn reenrolment(&self, oldest: &str, today: &str) -> Result<Reenrolment, String> {
        let by = time::add_days(oldest, i64::from(self.template_max_days))?;
        let ask_from = time::add_days(&by, -i64::from(REENROL_NOTICE_DAYS))?;
        Ok(Reenrolment { due: time::day(today)? >= ask_from, by })
    }

    /// The schedule in words, one line per rule, for a notice to parents.
    pub fn describe(&self) -> Vec<String> {
        let days = |n: u32| match n {
            0 => "at once".to_string(),
            1 => "after 1 day".to_string(),
            n => format!("after {n} days"),
        };
        vec![
            format!(
                "Faces found in lesson photos are erased {} (the register's marks are kept).",
                days(self.lesson_faces_days)
            ),
            format!("Whole lesson photos, when a teacher uploads one, are erased {}.", days(self.photos_days)),
            format!(
                "A pupil's enrolment faces are erased {} after they leave their last class.",
                days(self.leavers_days)
            ),
            format!(
                "No enrolment face is kept longer than {} days; the teacher is asked to enrol the pupil again {} days before.",
                self.template_max_days, REENROL_NOTICE_DAYS
            ),
            if self.keep_attendance_of_erased {
                "When a pupil is erased, their attendance marks are kept as the school's attendance record.".to_string()
            } else {
                "When a pupil is erased, their attendance marks are erased too.".to_string()
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_read_as_a_notice() {
        let lines = Schedule::default().describe();
        assert_eq!(lines[0], "Faces found in lesson photos are erased after 30 days (the register's marks are kept).");
        assert_eq!(lines[2], "A pupil's enrolment faces are erased at once after they leave their last class.");
        assert!(lines[3].contains("1095 days"));
    }
}
