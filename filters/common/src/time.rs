//! Time formatting for templates, without a date crate (module size matters).

use std::time::{SystemTime, UNIX_EPOCH};

/// Whole seconds since the Unix epoch; instants before it count as 0.
pub fn epoch_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// RFC 3339 in UTC with seconds precision, e.g. `2026-11-25T08:30:00Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = epoch_seconds(t);
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's civil_from_days, for days since 1970-01-01 (never
/// negative here, so unsigned arithmetic throughout). Returns (year, month,
/// day).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01 so leap days fall at the end of a year.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn known_instants() {
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (59, "1970-01-01T00:00:59Z"),
            (86_399, "1970-01-01T23:59:59Z"),
            (86_400, "1970-01-02T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (951_868_800, "2000-03-01T00:00:00Z"),
            (1_078_012_800, "2004-02-29T00:00:00Z"),
            (4_102_444_800, "2100-01-01T00:00:00Z"),
            (4_107_456_000, "2100-02-28T00:00:00Z"),
            (4_107_542_400, "2100-03-01T00:00:00Z"), // 2100 is not a leap year
            (1_795_595_400, "2026-11-25T08:30:00Z"),
            (1_735_689_599, "2024-12-31T23:59:59Z"),
            (253_402_300_799, "9999-12-31T23:59:59Z"),
        ];
        for (secs, want) in cases {
            assert_eq!(rfc3339(at(secs)), want, "{secs}");
            assert_eq!(epoch_seconds(at(secs)), secs);
        }
    }

    #[test]
    fn sub_second_is_truncated() {
        let t = at(1_795_595_400) + Duration::from_millis(999);
        assert_eq!(rfc3339(t), "2026-11-25T08:30:00Z");
        assert_eq!(epoch_seconds(t), 1_795_595_400);
    }

    #[test]
    fn before_epoch_is_epoch() {
        let t = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(epoch_seconds(t), 0);
        assert_eq!(rfc3339(t), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn every_day_round_trips_against_a_naive_calendar() {
        // Walk 1970..2400 day by day with a straightforward calendar.
        let (mut y, mut m, mut d) = (1970u64, 1u64, 1u64);
        for days in 0..157_000u64 {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let len = match m {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            d += 1;
            if d > len {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }
}
