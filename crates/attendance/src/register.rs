//! The register: every pupil of the roster with their mark — what the lesson's faces say, or
//! what the teacher set by hand — and the faces behind it; its CSV export.

use crate::assignment::Decision;
use crate::mark::Mark;

/// One person's line of the register.
#[derive(Debug, Clone, PartialEq)]
pub struct RosterLine {
    /// The person's id.
    pub person_id: i64,
    /// Their display name.
    pub name: String,
    /// Whether they were in the lesson: their mark is present or late.
    pub present: bool,
    /// Their mark: the teacher's when [`RosterLine::by_hand`], else present when a face of the
    /// lesson is theirs and absent when none is.
    pub mark: Mark,
    /// Whether the teacher set the mark by hand.
    pub by_hand: bool,
    /// The faces of the lesson that are theirs (enrolled, matched or given by the teacher), by crop id.
    pub faces: Vec<Decision>,
    /// The faces that look like them but are in doubt ([`Decision::unsure`]): shown to the
    /// teacher to confirm, not counted.
    pub unsure: Vec<Decision>,
}

/// The register over `people` (id, name), in their order, from a lesson's decisions and the
/// teacher's marks by hand (person id → mark; a mark for someone not in `people` is ignored).
pub fn register(people: &[(i64, String)], decisions: &[Decision], marks: &[(i64, Mark)]) -> Vec<RosterLine> {
    people
        .iter()
        .map(|(id, name)| {
            let faces: Vec<Decision> = decisions.iter().filter(|d| d.person_id == Some(*id)).copied().collect();
            let unsure = decisions.iter().filter(|d| d.unsure.is_some_and(|u| u.person_id == *id)).copied().collect();
            let by_hand = marks.iter().rev().find(|(p, _)| p == id).map(|(_, m)| *m);
            let mark = by_hand.unwrap_or(if faces.is_empty() { Mark::Absent } else { Mark::Present });
            RosterLine {
                person_id: *id,
                name: name.clone(),
                present: mark.attended(),
                mark,
                by_hand: by_hand.is_some(),
                faces,
                unsure,
            }
        })
        .collect()
}

/// A UTF-8 byte order mark: spreadsheet programs read a CSV that starts with it as UTF-8, so
/// that "Zoë" and "Łukasz" open as written.
pub const BOM: &str = "\u{feff}";

/// The register as CSV (after a [`BOM`]), one row per person; `best_distance` is the nearest of
/// their faces (0.000 for an enrolled one or one the teacher gave), empty when none; `mark` is
/// theirs, `by_hand` says whether the teacher set it; `unsure_crop_ids` the faces in doubt that
/// look like them (each `crop:doubt code`).
///
/// ```text
/// person_id,name,present,crop_ids,best_distance,mark,by_hand,unsure_crop_ids
/// 1,Ana,yes,12 17,0.213,present,no,
/// 2,Ben,no,,,absent,no,19:close_call
/// 3,Cleo,yes,,,late,yes,
/// ```
pub fn register_csv(lines: &[RosterLine]) -> String {
    let mut csv = format!("{BOM}person_id,name,present,crop_ids,best_distance,mark,by_hand,unsure_crop_ids\n");
    for line in lines {
        let ids: Vec<String> = line.faces.iter().map(|f| f.crop_id.to_string()).collect();
        let best = line.faces.iter().map(|f| f.distance).filter(|d| d.is_finite()).fold(f32::INFINITY, f32::min);
        let best = if best.is_finite() { format!("{best:.3}") } else { String::new() };
        let yes = |b: bool| if b { "yes" } else { "no" };
        let unsure: Vec<String> =
            line.unsure.iter().map(|f| format!("{}:{}", f.crop_id, f.unsure.map_or("", |u| u.doubt.code()))).collect();
        csv.push_str(&format!(
            "{},{},{},{},{best},{},{},{}\n",
            line.person_id,
            csv_field(&line.name),
            yes(line.present),
            ids.join(" "),
            line.mark,
            yes(line.by_hand),
            unsure.join(" ")
        ));
    }
    csv
}

/// A CSV field, quoted when it holds a comma, quote or line break; a leading `=`, `+`, `-` or
/// `@` is prefixed with `'` so that spreadsheets do not run a name as a formula.
pub fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) { format!("'{value}") } else { value.to_string() };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assignment::{Doubt, Unsure};

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("Ana"), "Ana");
        assert_eq!(csv_field("Doe, Jane"), "\"Doe, Jane\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
    }

    #[test]
    fn the_register_lists_everybody_and_the_csv_their_nearest_face() {
        let decision = |crop_id, person_id, distance, enrolled| Decision {
            crop_id,
            photo_id: Some(1),
            person_id,
            distance,
            margin: None,
            unsure: None,
            enrolled,
            by_teacher: false,
        };
        let doubted = Decision {
            unsure: Some(Unsure { person_id: 2, doubt: Doubt::CloseCall }),
            ..decision(19, None, 0.31, false)
        };
        let decisions = [
            decision(12, Some(1), 0.2134, false),
            decision(17, Some(1), 0.3, false),
            decision(18, None, f32::NAN, false),
            doubted,
        ];
        let lines = register(&[(1, "Ana".into()), (2, "=Ben, B".into())], &decisions, &[]);
        assert_eq!(lines.iter().map(|l| l.present).collect::<Vec<_>>(), [true, false], "an unsure face does not count");
        assert_eq!(lines[1].unsure, [doubted]);
        assert_eq!(
            register_csv(&lines),
            "\u{feff}person_id,name,present,crop_ids,best_distance,mark,by_hand,unsure_crop_ids\n\
             1,Ana,yes,12 17,0.213,present,no,\n2,\"'=Ben, B\",no,,,absent,no,19:close_call\n"
        );
        let enrolled = register(&[(1, "Ana".into())], &[decision(5, Some(1), 0.0, true)], &[]);
        assert!(register_csv(&enrolled).ends_with("1,Ana,yes,5,0.000,present,no,\n"));
    }

    #[test]
    fn a_mark_by_hand_wins_over_the_faces_and_the_last_one_counts() {
        let seen = Decision {
            crop_id: 12,
            photo_id: Some(1),
            person_id: Some(1),
            distance: 0.2,
            margin: None,
            unsure: None,
            enrolled: false,
            by_teacher: false,
        };
        let people = [(1, "Ana".to_string()), (2, "Ben".to_string()), (3, "Cleo".to_string())];
        let marks = [(1, Mark::Absent), (2, Mark::Present), (2, Mark::Late), (9, Mark::Present)];
        let lines = register(&people, &[seen], &marks);
        let got: Vec<(Mark, bool, bool, usize)> =
            lines.iter().map(|l| (l.mark, l.by_hand, l.present, l.faces.len())).collect();
        assert_eq!(
            got,
            vec![(Mark::Absent, true, false, 1), (Mark::Late, true, true, 0), (Mark::Absent, false, false, 0)]
        );
    }
}
