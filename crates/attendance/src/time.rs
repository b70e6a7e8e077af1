//! The times and days the attendance system reads: a lesson's start, a report's range. Stored
//! and answered as `YYYY-MM-DD HH:MM:SS` (UTC), the form SQLite's `datetime()` writes, so that
//! text order is time order in both backends' databases.

/// A lesson's start as stored, from `YYYY-MM-DD HH:MM[:SS]` or `YYYY-MM-DDTHH:MM[:SS][Z]`
/// (UTC; a fraction of a second is dropped). The error says what is accepted.
///
/// ```
/// use facenet_attendance::time::lesson_start;
/// assert_eq!(lesson_start("2026-12-07T09:05Z").unwrap(), "2026-12-07 09:05:00");
/// assert!(lesson_start("2026-02-30 09:00").is_err());
/// ```
pub fn lesson_start(text: &str) -> Result<String, String> {
    let refuse = || format!("starts_at must be YYYY-MM-DD HH:MM[:SS] (UTC), got {text:?}");
    let t = text.trim().trim_end_matches('Z');
    let (date, clock) = t.split_once(['T', ' ']).ok_or_else(refuse)?;
    let date = day(date).map_err(|_| refuse())?;
    let clock = clock.split('.').next().unwrap_or_default();
    let parts: Vec<&str> = clock.split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit())) {
        return Err(refuse());
    }
    let n = |i: usize| parts.get(i).map_or(Ok(0), |p| p.parse::<u32>()).unwrap_or(99);
    let (h, m, s) = (n(0), n(1), n(2));
    if h > 23 || m > 59 || s > 59 {
        return Err(refuse());
    }
    Ok(format!("{date} {h:02}:{m:02}:{s:02}"))
}

/// A calendar day `YYYY-MM-DD`, checked (month, day of month, leap years).
///
/// ```
/// use facenet_attendance::time::day;
/// assert_eq!(day("2028-02-29").unwrap(), "2028-02-29");
/// assert!(day("2027-02-29").is_err() && day("2027-2-1").is_err());
/// ```
pub fn day(text: &str) -> Result<String, String> {
    let refuse = || format!("a day is YYYY-MM-DD, got {text:?}");
    let t = text.trim();
    let b = t.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(refuse());
    }
    let num = |r: std::ops::Range<usize>| t[r].parse::<u32>().ok();
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return Err(refuse());
    };
    if !t.bytes().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit()) {
        return Err(refuse());
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(refuse()),
    };
    if d == 0 || d > days || y < 1900 {
        return Err(refuse());
    }
    Ok(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lesson_starts_in_the_forms_a_page_and_a_script_send() {
        assert_eq!(lesson_start("2026-12-07 09:05").unwrap(), "2026-12-07 09:05:00");
        assert_eq!(lesson_start("2026-12-07T09:05:30.123Z").unwrap(), "2026-12-07 09:05:30");
        for bad in ["2026-12-07", "2026-12-07 24:00", "2026-12-07 9:00", "monday", "2026-13-01 09:00", ""] {
            assert!(lesson_start(bad).is_err(), "{bad}");
        }
    }
}
