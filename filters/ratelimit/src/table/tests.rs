use super::*;
use crate::bucket::Refill;
use tollgate_common::testing::MemoryStore;

const S: u64 = 1_000_000_000;
const T0: u64 = 1_795_595_400 * S;

/// The table's mechanics, on whole-interval buckets (easy to count).
fn limits(max: u32) -> Limits {
    Limits {
        max_tokens: max,
        tokens_per_fill: max,
        fill_interval_ns: S,
        refill: Refill::Interval,
    }
}

fn continuous(max: u32, per_fill: u32, interval: u64) -> Limits {
    Limits {
        max_tokens: max,
        tokens_per_fill: per_fill,
        fill_interval_ns: interval,
        refill: Refill::Continuous,
    }
}

fn table(slots: u32) -> (MemoryStore, Table) {
    let m = MemoryStore::default();
    let t = Table {
        prefix: "ns/0".into(),
        slots,
        tag: "c1|".into(),
    };
    t.init(&m);
    (m, t)
}

fn allowed(m: &MemoryStore, t: &Table, key: &str, l: &Limits, now: u64, n: u32) -> u32 {
    (0..n)
        .filter(|_| {
            acquire(m, t, key, l, now, 64)
                .decision
                .is_some_and(|d| d.allowed)
        })
        .count() as u32
}

#[test]
fn encoding_round_trips_and_rejects_garbage() {
    let st = State {
        credit: 7 * u128::from(S) + 12_345,
        at_ns: T0,
    };
    let v = encode("k:1", st);
    assert_eq!(v[0], 2);
    assert_eq!(decode(&v), Slot::Bucket(&b"k:1"[..], Stored::Credit(st)));
    assert_eq!(
        decode(&encode("", st)),
        Slot::Bucket(&b""[..], Stored::Credit(st))
    );
    for bad in [
        &[][..],
        &[1][..],
        &[2][..],
        &[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0][..],
        &[2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0][..],
        &v[..24],
    ] {
        assert_eq!(decode(bad), Slot::Free, "{bad:?}");
    }
    // An unknown version (a newer module's record) is never a bucket.
    for version in [0u8, 3, 9, 255] {
        let mut other = v.clone();
        other[0] = version;
        assert_eq!(decode(&other), Slot::Foreign, "{version}");
    }
}

#[test]
fn version_1_records_are_read_and_rewritten() {
    let v1 = encode_v1("k", 2, T0);
    assert_eq!(
        decode(&v1),
        Slot::Bucket(
            &b"k"[..],
            Stored::Tokens {
                tokens: 2,
                last_fill_ns: T0
            }
        )
    );
    for l in [limits(5), continuous(5, 5, S)] {
        let (m, t) = table(1);
        // Stored behind the table's configuration tag, as keys are.
        m.data
            .borrow_mut()
            .insert("ns/0/0".into(), (encode_v1(&t.tagged("k"), 2, T0), 50));
        // The 2 tokens it held are taken, then the bucket is empty (no
        // refill at the same instant), and the slot is version 2 now.
        assert_eq!(allowed(&m, &t, "k", &l, T0, 5), 2, "{l:?}");
        assert!(matches!(
            decode(&m.data.borrow()["ns/0/0"].0),
            Slot::Bucket(b"c1|k", Stored::Credit(_))
        ));
        assert!(!acquire(&m, &t, "k", &l, T0, 64).evicted);
    }
    // Even a denied request rewrites it (once).
    let (m, t) = table(1);
    m.data
        .borrow_mut()
        .insert("ns/0/0".into(), (encode_v1(&t.tagged("k"), 0, T0), 50));
    assert_eq!(allowed(&m, &t, "k", &limits(5), T0, 1), 0);
    assert_eq!(m.data.borrow()["ns/0/0"].0[0], 2);
}

#[test]
fn foreign_records_are_never_read_as_buckets() {
    let (m, t) = table(1);
    let mut foreign = encode(
        "k",
        State {
            credit: 0,
            at_ns: T0,
        },
    );
    foreign[0] = 3;
    m.data.borrow_mut().insert("ns/0/0".into(), (foreign, 50));
    // Not the key's (empty) bucket: the slot is reused for a fresh one,
    // and that is not counted as evicting an active bucket.
    let o = acquire(&m, &t, "k", &limits(5), T0, 64);
    assert!(o
        .decision
        .is_some_and(|d| d.allowed && d.view.remaining == 4));
    assert!(!o.evicted);
    assert_eq!(m.data.borrow()["ns/0/0"].0[0], 2);
}

#[test]
fn init_creates_free_slots_once() {
    let (m, t) = table(8);
    assert_eq!(m.data.borrow().len(), 8 + 1, "eight slots and the marker");
    assert_eq!(m.data.borrow()["ns/0/ready"].0, b"8");
    assert!(m
        .data
        .borrow()
        .iter()
        .all(|(k, (v, _))| k.ends_with("/ready") || v.is_empty()));
    m.data.borrow_mut().insert(
        "ns/0/3".into(),
        (
            encode(
                "x",
                State {
                    credit: 1,
                    at_ns: 0,
                },
            ),
            99,
        ),
    );
    t.init(&m);
    assert!(
        !m.data.borrow()["ns/0/3"].0.is_empty(),
        "init must not overwrite"
    );
}

#[test]
fn keys_have_their_own_buckets() {
    let (m, t) = table(64);
    let l = limits(3);
    assert_eq!(allowed(&m, &t, "a", &l, T0, 5), 3);
    assert_eq!(allowed(&m, &t, "b", &l, T0, 5), 3);
    assert_eq!(allowed(&m, &t, "a", &l, T0 + S, 5), 3);
    let used = m
        .data
        .borrow()
        .iter()
        .filter(|(k, (v, _))| !k.ends_with("/ready") && !v.is_empty())
        .count();
    assert_eq!(used, 2);
}

#[test]
fn single_slot_limit() {
    let (m, t) = table(1);
    let l = limits(20);
    assert_eq!(allowed(&m, &t, "", &l, T0, 30), 20);
    assert_eq!(allowed(&m, &t, "", &l, T0 + S - 1, 1), 0);
    assert_eq!(allowed(&m, &t, "", &l, T0 + S, 30), 20);
}

#[test]
fn full_buckets_are_reused_before_active_ones_are_evicted() {
    // One slot per window of WAYS keys: a table of WAYS slots.
    let (m, t) = table(WAYS);
    let l = limits(2);
    for k in ["a", "b", "c", "d"] {
        let o = acquire(&m, &t, k, &l, T0, 64);
        assert!(!o.evicted);
    }
    // A fifth active key evicts the least recently filled one.
    let o = acquire(&m, &t, "e", &l, T0 + 1, 64);
    assert!(o.evicted && o.decision.is_some_and(|d| d.allowed));
    // Two intervals later every bucket is full again: no eviction counted.
    let o = acquire(&m, &t, "f", &l, T0 + 2 * S, 64);
    assert!(!o.evicted && o.decision.is_some_and(|d| d.allowed));
}

#[test]
fn lost_races_are_retried_and_never_allow_silently() {
    let (m, t) = table(16);
    let l = limits(10);
    m.conflicts.set(3);
    let o = acquire(&m, &t, "k", &l, T0, 64);
    assert_eq!(o.cas_retries, 3);
    assert!(o.decision.is_some_and(|d| d.allowed));
    // Every attempt loses: no decision at all.
    m.conflicts.set(1_000);
    let o = acquire(&m, &t, "k", &l, T0, 64);
    assert_eq!(o.decision, None);
    assert_eq!(o.cas_retries, 63);
}

#[test]
fn missing_slot_is_created_then_used() {
    let m = MemoryStore::default();
    let t = Table {
        prefix: "ns/1".into(),
        slots: 4,
        tag: "c1|".into(),
    };
    let o = acquire(&m, &t, "k", &limits(1), T0, 64);
    assert!(o.decision.is_some_and(|d| d.allowed));
    assert!(o.cas_retries >= 1);
}

#[test]
fn denied_requests_write_nothing() {
    let (m, t) = table(4);
    let l = limits(1);
    assert_eq!(allowed(&m, &t, "k", &l, T0, 1), 1);
    let before = m.next.get();
    assert_eq!(allowed(&m, &t, "k", &l, T0 + 1, 10), 0);
    assert_eq!(m.next.get(), before);
}

#[test]
fn many_keys_stay_within_the_table() {
    let (m, t) = table(32);
    let l = limits(1);
    for i in 0..1_000 {
        let o = acquire(&m, &t, &format!("key-{i}"), &l, T0 + i, 64);
        assert!(o.decision.is_some());
    }
    assert_eq!(m.data.borrow().len(), 32 + 1);
}

/// Configurations follow each other on the same slots (ECDS, LDS, Istio
/// pushes): shared data stays at the largest configuration's size, a new
/// configuration starts from full buckets, and its keys take the old
/// configuration's slots without counting evictions of live keys.
#[test]
fn configurations_share_slots_but_never_buckets() {
    let m = MemoryStore::default();
    let l = limits(2);
    let config = |n: u32, slots: u32| Table {
        prefix: "ns/0".into(),
        slots,
        tag: format!("c{n}|"),
    };
    for n in 0..100u32 {
        let t = config(n, 16 + n % 4);
        t.init(&m);
        for k in 0..40 {
            let key = format!("key-{k}");
            let now = T0 + u64::from(n) * S / 1000 + k;
            // Each configuration sees its own full bucket for every key.
            assert_eq!(allowed(&m, &t, &key, &l, now, 3), 2, "config {n} {key}");
        }
    }
    assert_eq!(
        m.data.borrow().len(),
        19 + 1,
        "the largest configuration's slots"
    );
    // Two live configurations keep separate buckets on one table.
    let (a, b) = (config(200, 16), config(201, 16));
    assert_eq!(allowed(&m, &a, "k", &l, T0 + 500 * S, 2), 2);
    assert_eq!(allowed(&m, &b, "k", &l, T0 + 500 * S, 3), 2);
    assert_eq!(allowed(&m, &a, "k", &l, T0 + 500 * S, 1), 0);
}

/// Two filter instances with one root id and unkeyed limits (the twin
/// test's two listeners) share a table of WAYS slots and keep their own
/// buckets; a replaced configuration's record is reclaimed first, without
/// counting an eviction.
#[test]
fn unkeyed_limits_of_two_configurations_coexist() {
    let m = MemoryStore::default();
    let t = |tag: &str| Table {
        prefix: "ns/default".into(),
        slots: WAYS,
        tag: tag.into(),
    };
    let (a, b) = (t("a|"), t("b|"));
    a.init(&m);
    let l = limits(3);
    for round in 0..3 {
        let now = T0 + round;
        assert_eq!(allowed(&m, &a, "", &l, now, 1), 1, "a {round}");
        assert_eq!(allowed(&m, &b, "", &l, now, 1), 1, "b {round}");
    }
    assert_eq!(
        allowed(&m, &a, "", &l, T0 + 5, 1),
        0,
        "a's own bucket is empty"
    );
    let fresh = t("c|");
    let o = acquire(&m, &fresh, "", &l, T0 + 6, 64);
    assert!(o.decision.is_some_and(|d| d.allowed) && !o.evicted);
}

#[test]
fn a_larger_configuration_adds_only_its_extra_slots() {
    let (m, _) = table(4);
    let before: Vec<u32> = (0..4)
        .map(|i| m.data.borrow()[&format!("ns/0/{i}")].1)
        .collect();
    let t = Table {
        prefix: "ns/0".into(),
        slots: 6,
        tag: "c2|".into(),
    };
    t.init(&m);
    let after: Vec<u32> = (0..4)
        .map(|i| m.data.borrow()[&format!("ns/0/{i}")].1)
        .collect();
    assert_eq!(before, after, "existing slots untouched");
    assert_eq!(m.data.borrow().len(), 6 + 1);
    assert_eq!(m.data.borrow()["ns/0/ready"].0, b"6");
}

#[test]
fn continuous_buckets_through_the_table() {
    // The example through shared data: 3 per 60 s.
    let (m, t) = table(64);
    let l = continuous(3, 3, 60 * S);
    assert_eq!(allowed(&m, &t, "k", &l, T0, 4), 3);
    assert_eq!(allowed(&m, &t, "k", &l, T0 + 20 * S - 1, 1), 0);
    assert_eq!(allowed(&m, &t, "k", &l, T0 + 20 * S, 2), 1);
    assert_eq!(allowed(&m, &t, "k", &l, T0 + 40 * S, 2), 1);
    // Peeking reads without writing, and sees refill since.
    let o = acquire(&m, &t, "j", &l, T0, 64);
    let slot = o.slot.expect("slot");
    let before = m.next.get();
    let v = peek(&m, &t, slot, "j", &l, T0 + 20 * S).expect("view");
    assert_eq!(v.remaining, 3);
    assert_eq!(m.next.get(), before);
    assert_eq!(peek(&m, &t, slot, "other", &l, T0), None);
}

/// Two workers sharing a bucket through CAS, their requests interleaved
/// and racing, admit exactly what one bucket would.
#[test]
fn continuous_is_exact_across_workers_with_races() {
    let l = continuous(5, 7, 3 * S);
    let (shared, t) = table(1);
    let mut alone = None;
    let mut admitted = (0u32, 0u32);
    let mut now = T0;
    for i in 0..20_000u64 {
        now += 1_000_000 + (i % 7) * 131_071;
        // Every third request loses one race to the other worker first.
        shared.conflicts.set(u32::from(i % 3 == 0));
        let o = acquire(&shared, &t, "", &l, now, 64);
        admitted.0 += u32::from(o.decision.is_some_and(|d| d.allowed));
        let d = bucket::take(alone, &l, now);
        alone = Some(d.state);
        admitted.1 += u32::from(d.allowed);
    }
    assert_eq!(admitted.0, admitted.1);
    // 5 to start with, then 7 per 3 s.
    let accrued = u128::from(now - T0) * 7 / u128::from(3 * S);
    let left = alone.map_or(0, |s| s.view(&l, now).remaining);
    assert_eq!(u128::from(admitted.1 + left), 5 + accrued);
}
