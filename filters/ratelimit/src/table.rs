//! Buckets in proxy-wasm shared data, one fixed table of slots per limit,
//! updated with compare-and-swap so every Envoy worker draws on the same
//! bucket. Plain code over the [`Store`] trait: the glue implements it with
//! `get_shared_data` / `set_shared_data`, tests with a map.
//!
//! - A limit keyed by request values owns `max_keys` slots
//!   (`<namespace>/<limit>/<slot>`); a limit without key values owns [`WAYS`].
//!   Memory is therefore bounded by configuration, whatever clients send
//!   (shared data has no delete).
//!   Unkeyed limits own more than one slot so that filter instances
//!   sharing a table (one root id, other configurations) each keep theirs.
//! - The slots outlive a configuration: the namespace is the filter's root
//!   id, not its configuration, so a new configuration (every Istio
//!   `pluginConfig` change, every ECDS or LDS update) reuses the slots of
//!   the last one instead of adding its own, and shared data stays bounded
//!   by the largest configuration, however often it changes. Each record is
//!   tagged with its configuration's [`Table::tag`]: a key of another
//!   configuration never matches, so a new configuration starts from full
//!   buckets (as Envoy's local_ratelimit does when its filter configuration
//!   is replaced), and another configuration's records are reclaimed
//!   before any active bucket of this one, without counting an eviction.
//! - A key lives in one of [`WAYS`] consecutive slots starting at
//!   `fnv1a(key) % max_keys`. A request reads them in order and uses the
//!   first that holds its key.
//! - A new key takes the first empty slot of its window; when none is empty,
//!   the first whose bucket is full again (idle for a whole refill: exactly a
//!   fresh bucket, so nothing is lost) or that holds a record of an unknown
//!   version; when none is, an active bucket is evicted (`keys_evicted`):
//!   under continuous refill the one closest to full (the fewest tokens
//!   forgiven), under interval refill the least recently filled. That key
//!   starts again from a full bucket, so eviction can only make a limit
//!   more lenient, and only when more than `WAYS` keys of one window are
//!   active at once.
//! - Records are versioned: version 2 (`[2][credit u128][at_ns u64][key]`,
//!   both refill rules) is written; version 1 (`[1][tokens u32]
//!   [last_fill_ns u64][key]`, earlier modules) is read and rewritten as
//!   version 2 on its next use; a record of any other version is never read
//!   as a bucket (a newer module's), and its slot may be reused.
//! - Every write is a CAS against the version read; a lost race re-reads
//!   and retries, up to `max_tries` attempts. A denied request writes
//!   nothing (a refill is a pure function of time), so limited traffic adds
//!   no contention.

use crate::bucket::{self, Decision, Limits, State, View};
pub use tollgate_common::store::Store;

/// Slots a key may occupy.
pub const WAYS: u32 = 4;

/// One limit's slots: `<prefix>/<slot>`.
#[derive(Debug, Clone)]
pub struct Table {
    pub prefix: String,
    pub slots: u32,
    /// Prepended to every key this table stores: the configuration's
    /// fingerprint, so configurations sharing the slots never share buckets.
    pub tag: String,
}

/// What [`acquire`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// `None` when every attempt lost its CAS race (the caller must not
    /// treat that as an allow).
    pub decision: Option<Decision>,
    /// Attempts that lost a CAS race and were retried.
    pub cas_retries: u32,
    /// True when an active bucket of another key was evicted.
    pub evicted: bool,
    /// The slot that holds the key's bucket after the decision.
    pub slot: Option<u32>,
}

/// The record this module writes: `[2][credit u128 LE][at_ns u64 LE][key]`.
const VERSION: u8 = 2;
/// The record of earlier modules (whole-interval buckets):
/// `[1][tokens u32 LE][last_fill_ns u64 LE][key]`, still read.
const VERSION_1: u8 = 1;

/// A bucket as a slot holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// This module's record.
    Credit(State),
    /// A record of an earlier module: whole tokens at its last fill.
    Tokens { tokens: u32, last_fill_ns: u64 },
}

impl Stored {
    /// The bucket under `limits`. A version-1 record becomes its tokens at
    /// its last fill (continuous refill then accrues from there: at most
    /// one interval's tokens early, once, when a module is upgraded in a
    /// running Envoy).
    pub fn state(self, limits: &Limits) -> State {
        match self {
            Stored::Credit(s) => s,
            Stored::Tokens {
                tokens,
                last_fill_ns,
            } => State {
                credit: u128::from(tokens)
                    .saturating_mul(u128::from(limits.fill_interval_ns.max(1))),
                at_ns: last_fill_ns,
            },
        }
    }
}

/// What a slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot<'a> {
    /// Empty, or a record of a known version that does not parse.
    Free,
    /// A record of a version this module does not know (a newer module in
    /// the same Envoy): never read as a bucket; reused like a full bucket.
    Foreign,
    /// A key and its bucket.
    Bucket(&'a [u8], Stored),
}

/// This module's record of `key`'s bucket; empty is a free slot.
pub fn encode(key: &str, state: State) -> Vec<u8> {
    let mut v = Vec::with_capacity(25 + key.len());
    v.push(VERSION);
    v.extend_from_slice(&state.credit.to_le_bytes());
    v.extend_from_slice(&state.at_ns.to_le_bytes());
    v.extend_from_slice(key.as_bytes());
    v
}

/// A version-1 record (what earlier modules wrote), for tests.
pub fn encode_v1(key: &str, tokens: u32, last_fill_ns: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(13 + key.len());
    v.push(VERSION_1);
    v.extend_from_slice(&tokens.to_le_bytes());
    v.extend_from_slice(&last_fill_ns.to_le_bytes());
    v.extend_from_slice(key.as_bytes());
    v
}

fn le_u64(b: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(b.try_into().ok()?))
}

fn decode_v2(rest: &[u8]) -> Option<(&[u8], Stored)> {
    let credit = u128::from_le_bytes(rest.get(..16)?.try_into().ok()?);
    let at_ns = le_u64(rest.get(16..24)?)?;
    Some((rest.get(24..)?, Stored::Credit(State { credit, at_ns })))
}

fn decode_v1(rest: &[u8]) -> Option<(&[u8], Stored)> {
    let tokens = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?);
    let last_fill_ns = le_u64(rest.get(4..12)?)?;
    Some((
        rest.get(12..)?,
        Stored::Tokens {
            tokens,
            last_fill_ns,
        },
    ))
}

/// What slot value `v` holds.
pub fn decode(v: &[u8]) -> Slot<'_> {
    let Some((&version, rest)) = v.split_first() else {
        return Slot::Free;
    };
    let parsed = match version {
        VERSION => decode_v2(rest),
        VERSION_1 => decode_v1(rest),
        _ => return Slot::Foreign,
    };
    match parsed {
        Some((key, stored)) => Slot::Bucket(key, stored),
        None => Slot::Free,
    }
}

/// 64-bit FNV-1a.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Table {
    /// `key` as this table stores it: behind its configuration's tag.
    pub fn tagged(&self, key: &str) -> String {
        format!("{}{key}", self.tag)
    }

    pub fn slot_key(&self, slot: u32) -> String {
        format!("{}/{slot}", self.prefix)
    }

    /// The slots `key` may live in, in probe order.
    fn window(&self, key: &str) -> impl Iterator<Item = u32> {
        let n = self.slots.max(1);
        let start = fnv1a(key.as_bytes()) % u64::from(n);
        let start = u32::try_from(start).unwrap_or(0);
        (0..WAYS.min(n)).map(move |i| ((u64::from(start) + u64::from(i)) % u64::from(n)) as u32)
    }

    /// Creates every slot that does not exist yet, as a free slot (at plugin
    /// start, so that later writes are all CAS writes). `<prefix>/ready`
    /// records how many slots exist, so the first VM of a configuration that
    /// needs no more slots than an earlier one creates none.
    pub fn init(&self, store: &impl Store) {
        let marker = format!("{}/ready", self.prefix);
        let ready = store
            .entry(&marker)
            .and_then(|(v, _)| std::str::from_utf8(&v).ok()?.parse::<u32>().ok())
            .unwrap_or(0);
        if ready >= self.slots {
            return;
        }
        for slot in ready..self.slots {
            let key = self.slot_key(slot);
            if store.entry(&key).is_none() {
                store.set(&key, &[], None);
            }
        }
        store.set(&marker, self.slots.to_string().as_bytes(), None);
    }
}

enum Victim {
    Free,
    /// A full bucket, or a foreign record.
    Full,
    /// Another configuration's bucket (most often a replaced configuration's,
    /// left behind): taken before any of this one's active buckets, and not
    /// counted as an eviction. Its state means nothing under these limits.
    Other,
    /// An active bucket and its [`State::eviction_rank`].
    Active(u128),
}

/// Takes one token for `key` at `now_ns`, retrying lost CAS races up to
/// `max_tries` attempts in all.
pub fn acquire(
    store: &impl Store,
    table: &Table,
    key: &str,
    limits: &Limits,
    now_ns: u64,
    max_tries: u32,
) -> Outcome {
    let mut out = Outcome {
        decision: None,
        cas_retries: 0,
        evicted: false,
        slot: None,
    };
    let key = table.tagged(key);
    for attempt in 0..max_tries {
        if attempt > 0 {
            out.cas_retries += 1;
        }
        match try_once(store, table, &key, limits, now_ns) {
            Some((decision, evicted, slot)) => {
                out.decision = Some(decision);
                out.evicted = evicted;
                out.slot = Some(slot);
                return out;
            }
            None => continue,
        }
    }
    out
}

/// One attempt: `None` when a CAS race was lost.
fn try_once(
    store: &impl Store,
    table: &Table,
    key: &str,
    limits: &Limits,
    now: u64,
) -> Option<(Decision, bool, u32)> {
    // (slot, slot key, cas, kind) of the best place for a new key.
    let mut victim: Option<(u32, String, u32, Victim)> = None;
    for slot in table.window(key) {
        let slot_key = table.slot_key(slot);
        let Some((value, cas)) = store.entry(&slot_key) else {
            // Not created at start (should not happen): create it free, then
            // treat this as a lost race so the next attempt reads a version.
            store.set(&slot_key, &[], None);
            return None;
        };
        let kind = match decode(&value) {
            Slot::Bucket(k, stored) if k == key.as_bytes() => {
                let d = bucket::take(Some(stored.state(limits)), limits, now);
                // A version-1 record is rewritten in this module's format
                // even when nothing else changed.
                let rewrite = d.changed || matches!(stored, Stored::Tokens { .. });
                if rewrite && !store.set(&slot_key, &encode(key, d.state), Some(cas)) {
                    return None;
                }
                return Some((d, false, slot));
            }
            Slot::Free => Victim::Free,
            Slot::Foreign => Victim::Full,
            Slot::Bucket(k, _) if !k.starts_with(table.tag.as_bytes()) => Victim::Other,
            Slot::Bucket(_, stored) => {
                let state = stored.state(limits);
                if state.is_full(limits, now) {
                    Victim::Full
                } else {
                    Victim::Active(state.eviction_rank(limits, now))
                }
            }
        };
        let better = match (&victim, &kind) {
            (None, _) => true,
            (Some((_, _, _, Victim::Free)), _) => false,
            (Some(_), Victim::Free) => true,
            (Some((_, _, _, Victim::Full)), _) => false,
            (Some(_), Victim::Full) => true,
            (Some((_, _, _, Victim::Other)), _) => false,
            (Some(_), Victim::Other) => true,
            (Some((_, _, _, Victim::Active(old))), Victim::Active(r)) => r < old,
        };
        if better {
            victim = Some((slot, slot_key, cas, kind));
        }
    }
    let (slot, slot_key, cas, kind) = victim?;
    let d = bucket::take(None, limits, now);
    if !store.set(&slot_key, &encode(key, d.state), Some(cas)) {
        return None;
    }
    Some((d, matches!(kind, Victim::Active(_)), slot))
}

/// `key`'s bucket in `slot` at `now_ns`, read without a write (the
/// rate-limit headers when the response passes, as Envoy computes them);
/// `None` when the slot no longer holds `key`.
pub fn peek(
    store: &impl Store,
    table: &Table,
    slot: u32,
    key: &str,
    limits: &Limits,
    now_ns: u64,
) -> Option<View> {
    let (value, _) = store.entry(&table.slot_key(slot))?;
    let key = table.tagged(key);
    match decode(&value) {
        Slot::Bucket(k, stored) if k == key.as_bytes() => {
            Some(stored.state(limits).view(limits, now_ns))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
