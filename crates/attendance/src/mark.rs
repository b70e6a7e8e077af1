//! A pupil's mark in a lesson's register: what the faces said, or what the teacher set by hand.

use std::fmt;

/// A register mark. On the wire and in storage: `present`, `absent`, `late`, `excused`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mark {
    /// There (seen in the lesson's photos, or marked by hand).
    Present,
    /// Not there.
    Absent,
    /// There, but came late (by hand only).
    Late,
    /// Not there, with leave (by hand only): counts for neither side of the rate.
    Excused,
}

impl Mark {
    /// Every mark, in the order reports list their counts.
    pub const ALL: [Mark; 4] = [Mark::Present, Mark::Late, Mark::Excused, Mark::Absent];

    /// The mark's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::Present => "present",
            Mark::Absent => "absent",
            Mark::Late => "late",
            Mark::Excused => "excused",
        }
    }

    /// The mark named `name` (as [`Mark::as_str`] spells it), or `None`.
    pub fn parse(name: &str) -> Option<Mark> {
        Mark::ALL.into_iter().find(|m| m.as_str() == name)
    }

    /// Whether the pupil was in the lesson (present or late).
    pub fn attended(self) -> bool {
        matches!(self, Mark::Present | Mark::Late)
    }
}

impl fmt::Display for Mark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_round_trip_by_name_and_only_present_and_late_attend() {
        for mark in Mark::ALL {
            assert_eq!(Mark::parse(mark.as_str()), Some(mark));
        }
        assert_eq!(Mark::parse("Present"), None);
        assert_eq!(Mark::ALL.iter().filter(|m| m.attended()).count(), 2);
    }
}
