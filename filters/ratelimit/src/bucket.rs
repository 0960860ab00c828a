//! Token-bucket math on plain values with explicit time (nanoseconds since
//! the Unix epoch, from the host clock). Two refill rules, both Envoy's
//! `token_bucket` vocabulary:
//!
//! - [`Refill::Continuous`] (the default; Envoy's local_ratelimit since 1.31,
//!   its `AtomicTokenBucket`): tokens accrue at `tokens_per_fill /
//!   fill_interval`, computed when the bucket is read, capped at
//!   `max_tokens`. With 3 tokens per 60 s a spent token is back 20 s later.
//! - [`Refill::Interval`]: every whole `fill_interval` since the bucket's
//!   last fill adds `tokens_per_fill` at once (fills counted on a grid
//!   anchored where the bucket was created).
//!
//! A bucket is exact integers in both: its `credit` counts tokens in units
//! of `1 / fill_interval_ns` of a token, so one token is `fill_interval_ns`
//! units and one nanosecond adds `tokens_per_fill` units. No division on the
//! way in, so no rounding and no drift however often, or by how many
//! workers, the bucket is read. All arithmetic saturates: no input panics.

/// How a bucket refills (`token_bucket.refill`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Refill {
    /// `tokens_per_fill / fill_interval`, continuously (Envoy 1.31+).
    #[default]
    Continuous,
    /// `tokens_per_fill` at once, every whole `fill_interval`.
    Interval,
}

/// One bucket's limits, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_tokens: u32,
    pub tokens_per_fill: u32,
    pub fill_interval_ns: u64,
    pub refill: Refill,
}

/// A bucket as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    /// Tokens held, in units of `1 / fill_interval_ns` token (so always a
    /// multiple of `fill_interval_ns` under [`Refill::Interval`]).
    pub credit: u128,
    /// Continuous: the instant `credit` was computed for. Interval: the grid
    /// instant of the last fill.
    pub at_ns: u64,
}

/// What a bucket tells a client at some instant (the rate-limit headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    /// Whole tokens in the bucket.
    pub remaining: u32,
    /// Nanoseconds until the bucket holds one more whole token (> 0).
    /// Continuous: until `remaining + 1` tokens have accrued, or, when full,
    /// the time one token takes to accrue. Interval: until the next fill.
    pub wait_ns: u64,
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
    /// The bucket just after this request.
    pub view: View,
}

impl Limits {
    fn interval(&self) -> u64 {
        self.fill_interval_ns.max(1)
    }

    fn per_fill(&self) -> u128 {
        u128::from(self.tokens_per_fill.max(1))
    }

    /// Credit units of one token.
    fn unit(&self) -> u128 {
        u128::from(self.interval())
    }

    /// The credit of a full bucket.
    fn cap(&self) -> u128 {
        u128::from(self.max_tokens).saturating_mul(self.unit())
    }

    /// Nanoseconds an empty bucket takes to fill up (the IETF policy window).
    pub fn window_ns(&self) -> u64 {
        match self.refill {
            Refill::Continuous => sat_u64(self.cap().div_ceil(self.per_fill())),
            Refill::Interval => {
                let fills =
                    u64::from(self.max_tokens).div_ceil(u64::from(self.tokens_per_fill.max(1)));
                fills.max(1).saturating_mul(self.interval())
            }
        }
    }
}

fn sat_u64(n: u128) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl State {
    /// A bucket seen for the first time: full (Envoy's buckets start full),
    /// and under [`Refill::Interval`] its grid starting now.
    pub fn fresh(limits: &Limits, now_ns: u64) -> State {
        State {
            credit: limits.cap(),
            at_ns: now_ns,
        }
    }

    /// The bucket at `now_ns`. A clock that went backwards adds nothing and
    /// moves nothing (the bucket waits for the clock to catch up). Refills
    /// compose: refilling to `t1` then to `t2` is refilling to `t2`.
    pub fn refill(self, limits: &Limits, now_ns: u64) -> State {
        let cap = limits.cap();
        let credit = self.credit.min(cap);
        let elapsed = now_ns.saturating_sub(self.at_ns);
        match limits.refill {
            Refill::Continuous => State {
                credit: credit
                    .saturating_add(u128::from(elapsed).saturating_mul(limits.per_fill()))
                    .min(cap),
                at_ns: self.at_ns.max(now_ns),
            },
            Refill::Interval => {
                let interval = limits.interval();
                let fills = elapsed / interval;
                if fills == 0 {
                    return State { credit, ..self };
                }
                let added = u128::from(fills)
                    .saturating_mul(limits.per_fill())
                    .saturating_mul(limits.unit());
                State {
                    credit: credit.saturating_add(added).min(cap),
                    // fills * interval <= elapsed, so this never passes now_ns.
                    at_ns: self.at_ns.saturating_add(fills.saturating_mul(interval)),
                }
            }
        }
    }

    /// True when the bucket is full at `now_ns`: it is then exactly a fresh
    /// bucket (under both rules), so forgetting it changes no decision.
    pub fn is_full(self, limits: &Limits, now_ns: u64) -> bool {
        self.refill(limits, now_ns).credit >= limits.cap()
    }

    /// Which active bucket to evict first (smallest first): continuous, the
    /// one closest to full (evicting it forgives the fewest tokens);
    /// interval, the least recently filled.
    pub fn eviction_rank(self, limits: &Limits, now_ns: u64) -> u128 {
        match limits.refill {
            Refill::Continuous => limits
                .cap()
                .saturating_sub(self.refill(limits, now_ns).credit),
            Refill::Interval => u128::from(self.at_ns),
        }
    }

    /// What the bucket (already refilled to `now_ns`) tells a client.
    fn view_refilled(self, limits: &Limits, now_ns: u64) -> View {
        let unit = limits.unit();
        let credit = self.credit.min(limits.cap());
        let whole = credit / unit;
        let remaining = u32::try_from(whole).unwrap_or(limits.max_tokens);
        let wait_ns = match limits.refill {
            Refill::Continuous => {
                // Units still missing for one more token (a full bucket:
                // the time a spent token takes to come back).
                let missing = if remaining >= limits.max_tokens {
                    unit
                } else {
                    whole.saturating_add(1).saturating_mul(unit) - credit
                };
                sat_u64(missing.div_ceil(limits.per_fill()))
            }
            Refill::Interval => {
                // The next fill is one interval after the last; a clock
                // behind the grid is treated as standing on it, so the wait
                // is never above one interval.
                let now = now_ns.max(self.at_ns);
                self.at_ns
                    .saturating_add(limits.interval())
                    .saturating_sub(now)
            }
        };
        View {
            remaining,
            wait_ns: wait_ns.max(1),
        }
    }

    /// What the bucket tells a client at `now_ns` (no token taken).
    pub fn view(self, limits: &Limits, now_ns: u64) -> View {
        self.refill(limits, now_ns).view_refilled(limits, now_ns)
    }
}

/// Takes one token from `state` (a fresh bucket when `None`) at `now_ns`.
pub fn take(state: Option<State>, limits: &Limits, now_ns: u64) -> Decision {
    let before = state.unwrap_or_else(|| State::fresh(limits, now_ns));
    let refilled = before.refill(limits, now_ns);
    let unit = limits.unit();
    let allowed = refilled.credit >= unit;
    let after = if allowed {
        State {
            credit: refilled.credit - unit,
            ..refilled
        }
    } else {
        // Nothing to write: a refill is a pure function of time.
        before
    };
    Decision {
        allowed,
        state: after,
        changed: state != Some(after),
        view: if allowed { after } else { refilled }.view_refilled(limits, now_ns),
    }
}

/// Whole seconds covering `ns`, at least 1 (`Retry-After`).
pub fn ceil_secs(ns: u64) -> u64 {
    ns.div_ceil(1_000_000_000).max(1)
}

#[cfg(test)]
mod tests;
