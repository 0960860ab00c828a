use super::*;
use tollgate_common::testing::MemoryStore;

#[test]
fn set_round_trip_and_times() {
    let s = MemoryStore::default();
    let k = key("idp", "https://idp/jwks");
    assert_eq!(read(&s, &k), None);
    // Named by where the set comes from, never by the configuration.
    assert_eq!(k, key("idp", "https://idp/jwks"));
    assert_ne!(k, key("idp2", "https://idp/jwks"));
    assert_ne!(k, key("idp", "https://idp/jwks2"));
    assert_ne!(key("a", "bc"), key("ab", "c"));
    assert!(write(&s, &k, 1234, "{\"keys\":[]}"));
    assert_eq!(read(&s, &k), Some((1234, "{\"keys\":[]}".into())));
    assert_eq!(fetched_at(&s, &k), Some(1234));
    assert!(usable(1000, 1999, 1000) && !usable(1000, 2000, 1000));
    assert!(!refresh_due(0, 899, 1000) && refresh_due(0, 900, 1000));
    assert!(!refresh_due(0, 539_999, 600_000) && refresh_due(0, 540_000, 600_000));
}

#[test]
fn one_lease_holder_at_a_time() {
    let s = MemoryStore::default();
    let l = lease_key("idp", "https://idp/jwks");
    assert!(!take_lease(&s, &l, 10, 100), "no key: no CAS, no lease");
    init_lease(&s, &l);
    assert!(take_lease(&s, &l, 10, 100));
    assert!(!take_lease(&s, &l, 50, 100));
    assert!(take_lease(&s, &l, 110, 100));
    release_lease(&s, &l, 120, false);
    assert!(!take_lease(&s, &l, 500, 100));
    assert!(take_lease(&s, &l, 1120, 100));
    release_lease(&s, &l, 1130, true);
    s.conflicts.set(1);
    assert!(!take_lease(&s, &l, 1140, 100), "another VM won the CAS");
    assert!(take_lease(&s, &l, 1140, 100));
}
