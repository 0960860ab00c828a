use super::*;
use crate::bucket::take;

const S: u64 = 1_000_000_000;

fn limits(max: u32, per_fill: u32, interval: u64, refill: Refill) -> Limits {
    Limits {
        max_tokens: max,
        tokens_per_fill: per_fill,
        fill_interval_ns: interval,
        refill,
    }
}

#[test]
fn interval_mode() {
    let l = limits(10, 3, 2 * S, Refill::Interval);
    let d = take(None, &l, 5 * S);
    assert_eq!(
        values(HeaderMode::DraftVersion03, "n", &l, &d.view),
        vec![
            ("x-ratelimit-limit", "10".to_string()),
            ("x-ratelimit-remaining", "9".to_string()),
            ("x-ratelimit-reset", "2".to_string()),
        ]
    );
    assert_eq!(
        values(HeaderMode::Ietf, "per_key", &l, &d.view),
        vec![
            ("ratelimit-policy", "\"per_key\";q=10;w=8".to_string()),
            ("ratelimit", "\"per_key\";r=9;t=2".to_string()),
        ]
    );
    assert!(values(HeaderMode::Off, "n", &l, &d.view).is_empty());
}

#[test]
fn continuous_mode_reports_as_envoy() {
    // 3 per 60 s: a token every 20 s.
    let l = limits(3, 3, 60 * S, Refill::Continuous);
    let mut st = None;
    let mut resets = vec![];
    for _ in 0..3 {
        let d = take(st, &l, 0);
        st = Some(d.state);
        resets.push(
            values(HeaderMode::DraftVersion03, "n", &l, &d.view)[2]
                .1
                .clone(),
        );
    }
    // 0 while a token is left; once empty, seconds to the next token.
    assert_eq!(resets, ["0", "0", "20"]);
    let denied = take(st, &l, 5 * S + 1);
    assert!(!denied.allowed);
    assert_eq!(reset(&l, &denied.view), 15);
    assert_eq!(retry_after(&denied.view), 15);
    let denied = take(st, &l, 5 * S - 1);
    assert_eq!(reset(&l, &denied.view), 16, "rounded up");
    // IETF: w is the time an empty bucket takes to fill (60 s), t the
    // time to one more token.
    assert_eq!(
        values(HeaderMode::Ietf, "p", &l, &denied.view),
        vec![
            ("ratelimit-policy", "\"p\";q=3;w=60".to_string()),
            ("ratelimit", "\"p\";r=0;t=16".to_string()),
        ]
    );
    // 3 per 2 s: under a second to each token.
    let l = limits(3, 3, 2 * S, Refill::Continuous);
    let d = take(
        Some(State {
            credit: 0,
            at_ns: 0,
        }),
        &l,
        S / 10,
    );
    assert!(!d.allowed);
    assert_eq!(reset(&l, &d.view), 1);
    assert_eq!(retry_after(&d.view), 1);
}

use crate::bucket::State;

#[test]
fn retry_after_rounds_up() {
    let l = limits(1, 1, 1_500_000_000, Refill::Interval);
    let first = take(None, &l, 0);
    let denied = take(Some(first.state), &l, 1);
    assert!(!denied.allowed);
    assert_eq!(retry_after(&denied.view), 2);
    let l = Limits {
        fill_interval_ns: S / 10,
        ..l
    };
    let denied = take(Some(take(None, &l, 0).state), &l, 0);
    assert_eq!(retry_after(&denied.view), 1);
    assert_eq!(
        values(HeaderMode::DraftVersion03, "n", &l, &denied.view)[2].1,
        "1"
    );
}
