use super::*;

const S: u64 = 1_000_000_000;
const T0: u64 = 1_795_595_400 * S;

fn limits(max: u32, per_fill: u32, interval: u64, refill: Refill) -> Limits {
    Limits {
        max_tokens: max,
        tokens_per_fill: per_fill,
        fill_interval_ns: interval,
        refill,
    }
}

fn interval(max: u32, per_fill: u32, ns: u64) -> Limits {
    limits(max, per_fill, ns, Refill::Interval)
}

fn continuous(max: u32, per_fill: u32, ns: u64) -> Limits {
    limits(max, per_fill, ns, Refill::Continuous)
}

/// Runs `n` takes at `now`, threading the state; returns allowed count.
fn drain(state: &mut Option<State>, l: &Limits, now: u64, n: u32) -> u32 {
    let mut allowed = 0;
    for _ in 0..n {
        let d = take(*state, l, now);
        allowed += u32::from(d.allowed);
        *state = Some(d.state);
    }
    allowed
}

/// The example: 3 tokens per 60 s, a burst of 3, then one request
/// every second for two minutes.
fn admitted_each_second(l: &Limits) -> Vec<u64> {
    let mut st = None;
    assert_eq!(drain(&mut st, l, T0, 4), 3);
    (1..=120)
        .filter(|s| drain(&mut st, l, T0 + s * S, 1) == 1)
        .collect()
}

#[test]
fn continuous_returns_a_token_every_twenty_seconds() {
    let l = continuous(3, 3, 60 * S);
    assert_eq!(admitted_each_second(&l), [20, 40, 60, 80, 100, 120]);
    // To the nanosecond: the token is there at 20 s, not before.
    let mut st = None;
    drain(&mut st, &l, T0, 3);
    assert_eq!(drain(&mut st, &l, T0 + 20 * S - 1, 1), 0);
    assert_eq!(drain(&mut st, &l, T0 + 20 * S, 2), 1);
    assert_eq!(drain(&mut st, &l, T0 + 40 * S - 1, 1), 0);
    assert_eq!(drain(&mut st, &l, T0 + 40 * S, 2), 1);
}

#[test]
fn interval_admits_nothing_until_the_whole_interval() {
    let l = interval(3, 3, 60 * S);
    let mut st = None;
    assert_eq!(drain(&mut st, &l, T0, 4), 3);
    assert_eq!(drain(&mut st, &l, T0 + 20 * S, 1), 0);
    assert_eq!(drain(&mut st, &l, T0 + 40 * S, 1), 0);
    assert_eq!(drain(&mut st, &l, T0 + 60 * S - 1, 1), 0);
    assert_eq!(drain(&mut st, &l, T0 + 60 * S, 4), 3);
    // One request a second: the refill comes only at each whole minute.
    let admitted = admitted_each_second(&l);
    assert_eq!(admitted, [60, 61, 62, 120]);
}

#[test]
fn continuous_view_and_waits() {
    let l = continuous(3, 3, 60 * S);
    let d = take(None, &l, T0);
    assert!(d.allowed);
    assert_eq!(d.view.remaining, 2);
    // Not full: 20 s to the next whole token above the 2 left.
    assert_eq!(d.view.wait_ns, 20 * S);
    let full = State::fresh(&l, T0).view(&l, T0);
    assert_eq!((full.remaining, full.wait_ns), (3, 20 * S));
    let mut st = Some(d.state);
    drain(&mut st, &l, T0, 2);
    let denied = take(st, &l, T0 + 5 * S);
    assert!(!denied.allowed && !denied.changed);
    assert_eq!((denied.view.remaining, denied.view.wait_ns), (0, 15 * S));
    // A rate that is not a whole number of nanoseconds per token: 7 per
    // 3 s is 428,571,428.57 ns per token; the wait is rounded up.
    let l = continuous(1, 7, 3 * S);
    let empty = State {
        credit: 0,
        at_ns: T0,
    };
    assert_eq!(empty.view(&l, T0).wait_ns, 428_571_429);
    assert!(!take(Some(empty), &l, T0 + 428_571_428).allowed);
    assert!(take(Some(empty), &l, T0 + 428_571_429).allowed);
}

/// However often the bucket is read, and whatever the rate, the number of
/// tokens handed out over a long run is exactly `max_tokens` plus the
/// tokens accrued: no drift. (Reads come faster than tokens, and buckets
/// hold at least 2, so the bucket never sits full and loses accrual.)
#[test]
fn continuous_never_drifts() {
    for (max, per_fill, ns, step, horizon) in [
        (3u32, 7u32, 3 * S, 1_000_000u64, 1_000 * S), // every ms for 1000 s
        (10, 3, S, 999_983, 1_000 * S),               // a step prime to the rate
        (2, 1, 60 * S, 7 * S + 3, 100_000 * S),
        (100, 100, S, 1_234_567, 1_000 * S),
        (5, 1_000_000, S, 333, S), // a million per second, read every 333 ns
        (4_000_000_000, 3, 7, 1, 1_000_000),
    ] {
        let l = continuous(max, per_fill, ns);
        let mut st = None;
        let mut allowed = 0u64;
        let mut t = T0;
        while t <= T0 + horizon {
            let d = take(st, &l, t);
            allowed += u64::from(d.allowed);
            st = Some(d.state);
            t += step;
        }
        // The last read is at the last step at or before the horizon.
        let last = T0 + (horizon / step) * step;
        let accrued = u128::from(last - T0) * u128::from(per_fill) / u128::from(ns);
        // Demand always exceeded supply (every read takes what is there),
        // so every accrued token was handed out, minus at most the tokens
        // still in the bucket at the end.
        let left = st.map_or(0, |s| s.view(&l, last).remaining);
        assert_eq!(
            u128::from(allowed) + u128::from(left),
            u128::from(max) + accrued,
            "{max} {per_fill} {ns} {step}"
        );
    }
}

/// Reading a bucket (a denied request, or a peek for the headers) changes
/// nothing: the same takes with and without reads in between admit the
/// same requests with the same states.
#[test]
fn reads_do_not_change_the_outcome() {
    for refill in [Refill::Continuous, Refill::Interval] {
        let l = limits(4, 3, 2 * S + 17, refill);
        let takes: Vec<u64> = (0..400u64)
            .map(|i| T0 + i * i * 7_919_113 % (900 * S))
            .collect();
        let mut sorted = takes.clone();
        sorted.sort_unstable();
        let (mut a, mut b) = (None, None);
        for (i, &t) in sorted.iter().enumerate() {
            // b is also read (peeked and denied-probed) at odd moments.
            if let Some(s) = b {
                let _ = State::view(s, &l, t.saturating_sub(i as u64 * 1_000));
            }
            let da = take(a, &l, t);
            let db = take(b, &l, t);
            assert_eq!(da, db, "{refill:?} at {i}");
            a = Some(da.state);
            b = Some(db.state);
        }
    }
}

#[test]
fn refill_composes() {
    for refill in [Refill::Continuous, Refill::Interval] {
        let l = limits(50, 7, 300_000_000, refill);
        let s = State {
            credit: 3 * 300_000_000,
            at_ns: T0,
        };
        for (a, b) in [(1, 2), (0, 5), (3, 3), (2, 40), (7, 1_000)] {
            let t1 = T0 + a * 300_000_000 + 17;
            let t2 = t1 + b * 123_456_789;
            assert_eq!(
                s.refill(&l, t1).refill(&l, t2),
                s.refill(&l, t2),
                "{refill:?} {a} {b}"
            );
        }
    }
}

#[test]
fn interval_partial_fills_and_cap() {
    let l = interval(10, 3, S);
    let mut st = None;
    assert_eq!(drain(&mut st, &l, T0, 10), 10);
    // 2.9 intervals later: 2 fills = 6 tokens, grid at T0 + 2s.
    let d = take(st, &l, T0 + 2 * S + 9 * S / 10);
    assert!(d.allowed);
    assert_eq!(d.view.remaining, 5);
    assert_eq!(d.state.at_ns, T0 + 2 * S);
    assert_eq!(d.view.wait_ns, S / 10);
    // A long idle caps at max_tokens and is then "full".
    let s = d.state;
    assert!(!s.is_full(&l, T0 + 3 * S));
    assert!(s.is_full(&l, T0 + 4 * S));
    assert_eq!(s.view(&l, T0 + 1_000 * S).remaining, 10);
}

#[test]
fn interval_twenty_then_limited_then_refilled() {
    let l = interval(20, 20, S);
    let mut st = None;
    assert_eq!(drain(&mut st, &l, T0, 30), 20);
    let d = take(st, &l, T0 + S / 2);
    assert!(!d.allowed && !d.changed);
    assert_eq!(d.view.wait_ns, S / 2);
    assert_eq!(ceil_secs(d.view.wait_ns), 1);
    assert_eq!(drain(&mut st, &l, T0 + S, 30), 20);
}

#[test]
fn time_going_backwards_adds_nothing() {
    for refill in [Refill::Continuous, Refill::Interval] {
        let l = limits(5, 5, S, refill);
        let mut st = None;
        assert_eq!(drain(&mut st, &l, T0, 5), 5);
        let d = take(st, &l, T0 - 3_600 * S);
        assert!(!d.allowed, "{refill:?}");
        assert_eq!(d.state, st.unwrap_or(d.state));
        // Never more than one interval (or one token) to wait.
        assert!(d.view.wait_ns <= S, "{refill:?}");
        assert!(take(st, &l, 0).view.wait_ns <= S);
        assert!(take(st, &l, T0 + S).allowed);
        // An allowed take with a clock behind the bucket keeps its instant:
        // the time between is not counted twice.
        let later = take(st, &l, T0 + S).state;
        let behind = take(Some(later), &l, T0 + S / 2);
        assert!(behind.state.at_ns >= later.at_ns, "{refill:?}");
    }
}

#[test]
fn extreme_values_never_panic() {
    let values = [0u64, 1, 999, S, T0, u64::MAX / 2, u64::MAX - 1, u64::MAX];
    let counts = [0u32, 1, 2, 1_000, u32::MAX - 1, u32::MAX];
    let credits = [0u128, 1, u128::from(u64::MAX), u128::MAX - 1, u128::MAX];
    for refill in [Refill::Continuous, Refill::Interval] {
        for &ns in &values {
            for &max in &counts {
                for &per in &counts {
                    let l = limits(max, per, ns, refill);
                    let _ = l.window_ns();
                    for &at in &values {
                        for &now in &values {
                            for &credit in &credits {
                                let st = State { credit, at_ns: at };
                                let d = take(Some(st), &l, now);
                                assert!(d.view.remaining <= max);
                                assert!(d.view.wait_ns >= 1);
                                let _ = st.is_full(&l, now);
                                let _ = st.eviction_rank(&l, now);
                                let _ = ceil_secs(d.view.wait_ns);
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn stored_credit_above_max_is_capped() {
    // A state written under a larger max (a reconfiguration) is capped.
    for refill in [Refill::Continuous, Refill::Interval] {
        let l = limits(3, 1, S, refill);
        let d = take(
            Some(State {
                credit: 100 * u128::from(S),
                at_ns: T0,
            }),
            &l,
            T0,
        );
        assert_eq!(d.view.remaining, 2, "{refill:?}");
    }
}

#[test]
fn window() {
    assert_eq!(interval(20, 20, S).window_ns(), S);
    assert_eq!(interval(10, 3, S).window_ns(), 4 * S);
    assert_eq!(interval(1, 1, 60 * S).window_ns(), 60 * S);
    assert_eq!(continuous(20, 20, S).window_ns(), S);
    assert_eq!(continuous(10, 3, S).window_ns(), 3_333_333_334);
    assert_eq!(continuous(3, 3, 60 * S).window_ns(), 60 * S);
    assert_eq!(ceil_secs(0), 1);
    assert_eq!(ceil_secs(S + 1), 2);
}

#[test]
fn eviction_prefers_the_bucket_closest_to_full() {
    let l = continuous(10, 10, S);
    let nearly = State {
        credit: 9 * u128::from(S),
        at_ns: T0,
    };
    let empty = State {
        credit: 0,
        at_ns: T0 + S / 2,
    };
    assert!(nearly.eviction_rank(&l, T0 + S / 2) < empty.eviction_rank(&l, T0 + S / 2));
    // Interval: the least recently filled.
    let l = interval(10, 10, S);
    assert!(nearly.eviction_rank(&l, T0) < empty.eviction_rank(&l, T0));
}
