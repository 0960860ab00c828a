use super::*;
use tollgate_common::testing::MemoryStore;

#[test]
fn digest_separates_parts() {
    assert_ne!(digest(&[b"ab", b"c"]), digest(&[b"a", b"bc"]));
    assert_eq!(digest(&[b"a"]), digest(&[b"a"]));
}

#[test]
fn success_cache_expires_and_is_bounded() {
    let store = MemoryStore::default();
    let cache = SuccessCache {
        slots: 4,
        ttl_secs: 10,
    };
    let k = digest(&[b"alice", b"pw"]);
    assert!(!cache.hit(&store, &k, 100));
    cache.insert(&store, &k, 100);
    assert!(cache.hit(&store, &k, 109));
    assert!(!cache.hit(&store, &k, 110));
    assert!(!cache.hit(&store, &digest(&[b"alice", b"other"]), 105));
    for i in 0..100u32 {
        cache.insert(&store, &digest(&[&i.to_be_bytes()]), 100);
    }
    assert!(store.data.borrow().len() <= 4);
    let off = SuccessCache {
        slots: 4,
        ttl_secs: 0,
    };
    off.insert(&store, &k, 100);
    assert!(!off.hit(&store, &k, 100));
}

#[test]
fn failure_counter_locks_for_the_window() {
    let store = MemoryStore::default();
    let f = FailureCounter {
        slots: 16,
        max_failures: 3,
        window_secs: 60,
    };
    let s = digest(&[b"u", b"bob"]);
    assert_eq!(f.locked_for(&store, &s, 1000), None);
    assert_eq!(f.record(&store, &s, 1000), 1);
    assert_eq!(f.record(&store, &s, 1010), 2);
    assert_eq!(f.locked_for(&store, &s, 1010), None);
    store.conflicts.set(3); // lost races are retried
    assert_eq!(f.record(&store, &s, 1020), 3);
    assert_eq!(f.locked_for(&store, &s, 1020), Some(40));
    assert_eq!(f.locked_for(&store, &s, 1059), Some(1));
    assert_eq!(f.locked_for(&store, &s, 1060), None);
    // A new window starts from one.
    assert_eq!(f.record(&store, &s, 1060), 1);
    // Another subject does not share the count.
    assert_eq!(f.locked_for(&store, &digest(&[b"u", b"eve"]), 1061), None);
}

#[test]
fn no_lockout_check_needed_once_every_failure_is_a_window_old() {
    let store = MemoryStore::default();
    let f = FailureCounter {
        slots: 16,
        max_failures: 1,
        window_secs: 60,
    };
    assert!(!f.any_recent(&store, 1000));
    let s = digest(&[b"u", b"bob"]);
    f.record(&store, &s, 1000);
    assert!(f.any_recent(&store, 1000));
    assert!(f.any_recent(&store, 1059));
    assert_eq!(f.locked_for(&store, &s, 1059), Some(1));
    assert!(!f.any_recent(&store, 1060));
    assert_eq!(f.locked_for(&store, &s, 1060), None);
    // An older time (another worker's clock) never lowers the mark.
    f.record(&store, &digest(&[b"u", b"eve"]), 990);
    assert!(f.any_recent(&store, 1059));
    // Unreadable: check the subjects.
    store.set("tollgate.auth.fail.last", b"junk", None);
    assert!(f.any_recent(&store, 5000));
}

#[test]
fn garbage_values_are_ignored() {
    let store = MemoryStore::default();
    let f = FailureCounter {
        slots: 1,
        max_failures: 1,
        window_secs: 60,
    };
    let s = digest(&[b"x"]);
    store.set("tollgate.auth.fail.0", b"\xff junk", None);
    assert_eq!(f.locked_for(&store, &s, 5), None);
    assert_eq!(f.record(&store, &s, 5), 1);
    assert_eq!(f.locked_for(&store, &s, 5), Some(60));
}

#[test]
fn hex_is_lower_case_two_digits_a_byte() {
    assert_eq!(super::hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    assert_eq!(super::hex(&[]), "");
}
