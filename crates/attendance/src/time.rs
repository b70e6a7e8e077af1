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

/// Days since 1970-01-01 of a checked day (the proleptic Gregorian calendar; H. Hinnant's
/// `days_from_civil`), so that day arithmetic needs no date library.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The day `days` since 1970-01-01 (the inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The day `n` days after the day (or time) `text` starts with: `YYYY-MM-DD`.
///
/// ```
/// use facenet_attendance::time::add_days;
/// assert_eq!(add_days("2026-12-02 09:00:00", 1095).unwrap(), "2029-12-01");
/// assert_eq!(add_days("2028-02-28", 1).unwrap(), "2028-02-29");
/// ```
pub fn add_days(text: &str, n: i64) -> Result<String, String> {
    let d = day(text.get(..10).unwrap_or(text))?;
    let num = |r: std::ops::Range<usize>| d[r].parse::<i64>().unwrap_or_default();
    let (y, m, dd) = civil_from_days(days_from_civil(num(0..4), num(5..7), num(8..10)) + n);
    Ok(format!("{y:04}-{m:02}-{dd:02}"))
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

    #[test]
    fn days_add_over_months_years_and_leap_days() {
        // Every day from 1900 to 2100 round-trips, and the next day is one more.
        let mut last = days_from_civil(1900, 1, 1) - 1;
        for y in 1900..=2100 {
            for m in 1..=12 {
                for d in 1..=31 {
                    let text = format!("{y:04}-{m:02}-{d:02}");
                    if day(&text).is_err() {
                        continue;
                    }
                    let n = days_from_civil(y, m, d);
                    assert_eq!(n, last + 1, "{text}");
                    assert_eq!(civil_from_days(n), (y, m, d));
                    last = n;
                }
            }
        }
        assert_eq!(add_days("2026-12-31", 1).unwrap(), "2027-01-01");
        assert_eq!(add_days("2027-03-01", -1).unwrap(), "2027-02-28");
        assert!(add_days("2026-02-30", 1).is_err());
    }
}
