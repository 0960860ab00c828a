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
