//! The register: every person of the list present or absent, with the faces that decided it,
//! and its CSV export.

use crate::assignment::Decision;

/// One person's line of the register.
#[derive(Debug, Clone, PartialEq)]
pub struct RosterLine {
    /// The person's id.
    pub person_id: i64,
    /// Their display name.
    pub name: String,
    /// Whether any face of the lesson is theirs.
    pub present: bool,
    /// Those faces (enrolled or matched), by crop id.
    pub faces: Vec<Decision>,
}

/// The register over `people` (id, name), in their order, from a lesson's decisions.
pub fn register(people: &[(i64, String)], decisions: &[Decision]) -> Vec<RosterLine> {
    people
        .iter()
        .map(|(id, name)| {
            let faces: Vec<Decision> = decisions.iter().filter(|d| d.person_id == Some(*id)).copied().collect();
            RosterLine { person_id: *id, name: name.clone(), present: !faces.is_empty(), faces }
        })
        .collect()
}

/// The register as CSV, one row per person; `best_distance` is the nearest of their faces
/// (0.000 for an enrolled one), empty when absent.
///
/// ```text
/// person_id,name,present,crop_ids,best_distance
/// 1,Ana,yes,12 17,0.213
/// 2,Ben,no,,
/// ```
pub fn register_csv(lines: &[RosterLine]) -> String {
    let mut csv = String::from("person_id,name,present,crop_ids,best_distance\n");
    for line in lines {
        let ids: Vec<String> = line.faces.iter().map(|f| f.crop_id.to_string()).collect();
        let best = line.faces.iter().map(|f| f.distance).filter(|d| d.is_finite()).fold(f32::INFINITY, f32::min);
        let best = if best.is_finite() { format!("{best:.3}") } else { String::new() };
        let present = if line.present { "yes" } else { "no" };
        csv.push_str(&format!("{},{},{present},{},{best}\n", line.person_id, csv_field(&line.name), ids.join(" ")));
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
            enrolled,
        };
        let decisions = [
            decision(12, Some(1), 0.2134, false),
            decision(17, Some(1), 0.3, false),
            decision(18, None, f32::NAN, false),
        ];
        let lines = register(&[(1, "Ana".into()), (2, "=Ben, B".into())], &decisions);
        assert_eq!(lines.iter().map(|l| l.present).collect::<Vec<_>>(), [true, false]);
        assert_eq!(
            register_csv(&lines),
            "person_id,name,present,crop_ids,best_distance\n1,Ana,yes,12 17,0.213\n2,\"'=Ben, B\",no,,\n"
        );
        let enrolled = register(&[(1, "Ana".into())], &[decision(5, Some(1), 0.0, true)]);
        assert!(register_csv(&enrolled).ends_with("1,Ana,yes,5,0.000\n"));
    }
}
