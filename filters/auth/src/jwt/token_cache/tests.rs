use super::*;
use tollgate_common::testing::MemoryStore;

#[test]
fn round_trip_expiry_and_slots() {
    let store = MemoryStore::default();
    let cache = TokenCache { slots: 4 };
    let k = key("ns", "p", "token");
    let e = Entry {
        identity: Some("alice".into()),
        headers: vec![("x-org".into(), "acme".into())],
    };
    assert_eq!(cache.get(&store, &k, 10), None);
    cache.insert(&store, &k, &e, 20, 10);
    assert_eq!(cache.get(&store, &k, 19), Some((e.clone(), 20)));
    assert_eq!(cache.get(&store, &k, 20), None);
    // Another token in the same slot evicts it; the first is then a miss.
    let other = (0..200)
        .map(|i| key("ns", "p", &format!("t{i}")))
        .find(|o| cache.slot(o) == cache.slot(&k) && *o != k)
        .unwrap();
    cache.insert(&store, &other, &e, 20, 10);
    assert_eq!(cache.get(&store, &k, 11), None);
    assert_ne!(key("ns", "p", "token"), key("ns", "q", "token"));
    assert_ne!(key("ns", "p", "token"), key("other", "p", "token"));
    cache.insert(&store, &k, &e, 10, 10);
    assert_eq!(cache.get(&store, &k, 10), None);
}
