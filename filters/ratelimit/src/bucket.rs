//! Token-bucket math on plain values with explicit time (nanoseconds since
//! the Unix epoch, from the host clock). Envoy's local_ratelimit semantics:
//! a bucket holds at most `max_tokens`, and every whole `fill_interval` since
//! its last fill adds `tokens_per_fill`. Fills are counted on a grid anchored
//! where the bucket was created, so the arithmetic is exact integers: no
//! rounding drift however requests interleave. All arithmetic saturates: no
//! input panics.

/// One bucket's limits, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_tokens: u32,
    pub tokens_per_fill: u32,
    pub fill_interval_ns: u64,
}

/// A bucket as stored: tokens left and the grid instant of its last fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    pub tokens: u32,
    pub last_fill_ns: u64,
}

/// The outcome of asking a bucket for one token at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The bucket after the decision (refilled, and one token fewer when
    /// allowed). Storing it is needed only when `changed`.
    pub state: State,
    /// False when `state` is what was read (nothing to write back).
    pub changed: bool,
    /// Tokens left after this request.
    pub remaining: u32,
    /// Nanoseconds until the next fill adds tokens (> 0, at most one
    /// interval): `x-ratelimit-reset`, and `Retry-After` when denied.
    pub next_fill_ns: u64,
}

impl Limits {
    fn interval(&self) -> u64 {
        self.fill_interval_ns.max(1)
    }

    /// Nanoseconds an empty bucket takes to fill up (the IETF policy window).
    pub fn window_ns(&self) -> u64 {
        let fills = u64::from(self.max_tokens).div_ceil(u64::from(self.tokens_per_fill.max(1)));
        fills.max(1).saturating_mul(self.interval())
    }
}

impl State {
    /// A bucket seen for the first time: full, its grid starting now.
    pub fn fresh(limits: &Limits, now_ns: u64) -> State {
        State {
            tokens: limits.max_tokens,
            last_fill_ns: now_ns,
        }
    }

    /// The bucket at `now_ns`. A clock that went backwards adds nothing and
    /// moves nothing (the grid waits for the clock to catch up).
    pub fn refill(self, limits: &Limits, now_ns: u64) -> State {
        let interval = limits.interval();
        let elapsed = now_ns.saturating_sub(self.last_fill_ns);
        let fills = elapsed / interval;
        if fills == 0 {
            return State {
                tokens: self.tokens.min(limits.max_tokens),
                ..self
            };
        }
        let added = u128::from(fills) * u128::from(limits.tokens_per_fill);
        let tokens = (u128::from(self.tokens) + added).min(u128::from(limits.max_tokens));
        State {
            tokens: u32::try_from(tokens).unwrap_or(limits.max_tokens),
            // fills * interval <= elapsed, so this never passes now_ns.
            last_fill_ns: self
                .last_fill_ns
                .saturating_add(fills.saturating_mul(interval)),
        }
    }

    /// True when the bucket is full at `now_ns`: it is then exactly a fresh
    /// bucket, so forgetting it changes no decision.
    pub fn is_full(self, limits: &Limits, now_ns: u64) -> bool {
        self.refill(limits, now_ns).tokens >= limits.max_tokens
    }
}

/// Takes one token from `state` (a fresh bucket when `None`) at `now_ns`.
pub fn take(state: Option<State>, limits: &Limits, now_ns: u64) -> Decision {
    let before = state.unwrap_or_else(|| State::fresh(limits, now_ns));
    let refilled = before.refill(limits, now_ns);
    let allowed = refilled.tokens > 0;
    let after = if allowed {
        State {
            tokens: refilled.tokens - 1,
            ..refilled
        }
    } else {
        refilled
    };
    // The next fill is one interval after the last; a clock behind the grid
    // is treated as standing on it, so the wait is never above one interval.
    let now = now_ns.max(after.last_fill_ns);
    let next_fill = after.last_fill_ns.saturating_add(limits.interval());
    Decision {
        allowed,
        state: after,
        changed: state != Some(after),
        remaining: after.tokens,
        next_fill_ns: next_fill.saturating_sub(now).max(1),
    }
}

/// Whole seconds covering `ns`, at least 1 (`Retry-After`, reset headers).
pub fn ceil_secs(ns: u64) -> u64 {
    ns.div_ceil(1_000_000_000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;
    const T0: u64 = 1_795_595_400 * S;

    fn limits(max: u32, per_fill: u32, interval: u64) -> Limits {
        Limits {
            max_tokens: max,
            tokens_per_fill: per_fill,
            fill_interval_ns: interval,
        }
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

    #[test]
    fn twenty_then_limited_then_refilled() {
        let l = limits(20, 20, S);
        let mut st = None;
        assert_eq!(drain(&mut st, &l, T0, 30), 20);
        let d = take(st, &l, T0 + S / 2);
        assert!(!d.allowed && !d.changed);
        assert_eq!(d.next_fill_ns, S / 2);
        assert_eq!(ceil_secs(d.next_fill_ns), 1);
        assert_eq!(drain(&mut st, &l, T0 + S, 30), 20);
    }

    #[test]
    fn partial_fills_and_cap() {
        let l = limits(10, 3, S);
        let mut st = None;
        assert_eq!(drain(&mut st, &l, T0, 10), 10);
        // 2.9 intervals later: 2 fills = 6 tokens, grid at T0 + 2s.
        let d = take(st, &l, T0 + 2 * S + 9 * S / 10);
        assert!(d.allowed);
        assert_eq!(d.remaining, 5);
        assert_eq!(d.state.last_fill_ns, T0 + 2 * S);
        assert_eq!(d.next_fill_ns, S / 10);
        // A long idle caps at max_tokens and is then "full".
        let s = d.state;
        assert!(!s.is_full(&l, T0 + 3 * S));
        assert!(s.is_full(&l, T0 + 4 * S));
        assert_eq!(s.refill(&l, T0 + 1_000 * S).tokens, 10);
    }

    #[test]
    fn refill_composes() {
        let l = limits(50, 7, 300_000_000);
        let s = State {
            tokens: 3,
            last_fill_ns: T0,
        };
        for (a, b) in [(1, 2), (0, 5), (3, 3), (2, 40), (7, 1_000)] {
            let t1 = T0 + a * 300_000_000 + 17;
            let t2 = t1 + b * 123_456_789;
            assert_eq!(s.refill(&l, t1).refill(&l, t2), s.refill(&l, t2), "{a} {b}");
        }
    }

    #[test]
    fn time_going_backwards_adds_nothing() {
        let l = limits(5, 5, S);
        let mut st = None;
        assert_eq!(drain(&mut st, &l, T0, 5), 5);
        let d = take(st, &l, T0 - 3_600 * S);
        assert!(!d.allowed);
        assert_eq!(d.state.last_fill_ns, T0);
        assert_eq!(d.next_fill_ns, S); // never more than one interval
        assert_eq!(take(st, &l, 0).next_fill_ns, S);
        assert!(take(st, &l, T0 + S).allowed);
    }

    #[test]
    fn extreme_values_never_panic() {
        let values = [0u64, 1, 999, S, T0, u64::MAX / 2, u64::MAX - 1, u64::MAX];
        let counts = [0u32, 1, 2, 1_000, u32::MAX - 1, u32::MAX];
        for &interval in &values {
            for &max in &counts {
                for &per in &counts {
                    let l = limits(max, per, interval);
                    let _ = l.window_ns();
                    for &last in &values {
                        for &now in &values {
                            let st = State {
                                tokens: max,
                                last_fill_ns: last,
                            };
                            let d = take(Some(st), &l, now);
                            assert!(d.remaining <= max);
                            assert!(d.next_fill_ns >= 1);
                            let _ = st.is_full(&l, now);
                            let _ = ceil_secs(d.next_fill_ns);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn stored_tokens_above_max_are_capped() {
        // A state written under a larger max (a reconfiguration) is capped.
        let l = limits(3, 1, S);
        let d = take(
            Some(State {
                tokens: 100,
                last_fill_ns: T0,
            }),
            &l,
            T0,
        );
        assert_eq!(d.remaining, 2);
    }

    #[test]
    fn window() {
        assert_eq!(limits(20, 20, S).window_ns(), S);
        assert_eq!(limits(10, 3, S).window_ns(), 4 * S);
        assert_eq!(limits(1, 1, 60 * S).window_ns(), 60 * S);
        assert_eq!(ceil_secs(0), 1);
        assert_eq!(ceil_secs(S + 1), 2);
    }
}
