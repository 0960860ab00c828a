use super::*;
use std::cell::Cell;
use tollgate_common::testing::request;

thread_local! {
    /// Digest comparisons made on this thread (see `KeyDigest`).
    pub(super) static COMPARISONS: Cell<u64> = const { Cell::new(0) };
}

fn comparisons<T>(f: impl FnOnce() -> T) -> (T, u64) {
    COMPARISONS.with(|c| c.set(0));
    let out = f();
    (out, COMPARISONS.with(Cell::get))
}

fn config(json: serde_json::Value) -> ApiKeyConfig {
    serde_json::from_value(json).unwrap()
}

fn cfg() -> ApiKeyConfig {
    config(serde_json::json!({
        "credentials": [
            {"key": "k-one", "client": "one"},
            // printf %s k-secret | sha256sum
            {"key_sha256": "a9d47e48fea8e20cd2893475a2dfdbf3af90a947e7b66cdcb18dffe77c77d2b9", "client": "hashed"},
            {"key": "k-two", "client": "two"}
        ],
        "key_sources": [{"header": "X-API-Key"}, {"query": "api_key"}, {"cookie": "api_key"}],
        "forwarding": {"header": "x-api-client", "hide_credentials": true}
    }))
}

#[test]
fn key_sources_in_order() {
    let c = cfg();
    let key = |h: &[(&str, &str)]| c.extract(&request(h));
    assert_eq!(key(&[("x-api-key", "k-one")]), Some("k-one".into()));
    assert_eq!(key(&[("x-api-key", "Bearer k-one")]), Some("k-one".into()));
    // Only Envoy's exact prefix: anything else is the key as sent.
    assert_eq!(
        key(&[("x-api-key", "bearer k-one")]),
        Some("bearer k-one".into())
    );
    assert_eq!(
        key(&[("x-api-key", "Bearer  k-one")]),
        Some(" k-one".into())
    );
    assert_eq!(
        key(&[(":path", "/x?a=1&api_key=k%2Dtwo&b")]),
        Some("k-two".into())
    );
    assert_eq!(key(&[(":path", "/x?api_keyx=1")]), None);
    assert_eq!(
        key(&[("cookie", "a=b; api_key=\"k-one\"; c=d")]),
        Some("k-one".into())
    );
    // The header wins over the query.
    assert_eq!(
        key(&[("x-api-key", "k-one"), (":path", "/?api_key=k-two")]),
        Some("k-one".into())
    );
    assert_eq!(key(&[("x-api-key", "")]), None);
    assert_eq!(key(&[(":path", "/x")]), None);
    // An empty source carries no key: the next one that does is used.
    assert_eq!(
        key(&[("x-api-key", ""), (":path", "/?api_key=k-two")]),
        Some("k-two".into())
    );
    assert_eq!(
        key(&[
            ("x-api-key", ""),
            (":path", "/?api_key="),
            ("cookie", "api_key=k-one")
        ]),
        Some("k-one".into())
    );
}

#[test]
fn identify_by_digest() {
    let c = cfg();
    assert_eq!(c.identify("k-one"), Some("one"));
    assert_eq!(c.identify("k-two"), Some("two"));
    assert_eq!(c.identify("k-secret"), Some("hashed"));
    assert_eq!(c.identify("k-one "), None);
    assert_eq!(c.identify("k-on"), None);
    assert_eq!(c.identify(""), None);
    assert!(c.has_client("hashed") && !c.has_client("nobody"));
}

/// The cost of a lookup does not grow with the number of credentials: with
/// 100,000 keys a request compares its digest with about one stored digest
/// (a linear scan made 100,000 comparisons), and loading them makes about
/// one comparison per key, not one per pair.
#[test]
fn lookups_and_loading_stay_flat_in_the_number_of_keys() {
    const N: usize = 100_000;
    let credentials: Vec<serde_json::Value> = (0..N)
        .map(|i| serde_json::json!({"key": format!("key-{i}"), "client": format!("c{i}")}))
        .collect();
    let json =
        serde_json::json!({"credentials": credentials, "key_sources": [{"header": "x-api-key"}]});
    let (c, loading) = comparisons(|| config(json));
    assert!(
        loading < 2 * N as u64,
        "{loading} comparisons to load {N} keys"
    );
    for probe in ["key-0", "key-54321", "key-99999", "no-such-key"] {
        let (found, made) = comparisons(|| c.identify(probe).map(str::to_string));
        assert_eq!(found.is_some(), probe != "no-such-key");
        assert!(made <= 2, "{probe}: {made} comparisons among {N} keys");
    }
    // Duplicates are still found, naming the second listing.
    let dup = serde_json::json!({"credentials": [
        {"key": "a", "client": "x"}, {"key": "b", "client": "y"}, {"key": "a", "client": "z"}],
        "key_sources": [{"header": "x-api-key"}]});
    let e = serde_json::from_value::<ApiKeyConfig>(dup)
        .map(|_| ())
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("credentials[2]: the same key is listed twice"),
        "{e}"
    );
}

#[test]
fn key_sha256_credentials() {
    let c = config(
        serde_json::json!({
            "credentials": [{"key_sha256": "SHA", "client": "hashed"}],
            "key_sources": [{"header": "x-api-key"}]
        })
        .to_string()
        .replace("SHA", &"ab".repeat(32))
        .parse::<serde_json::Value>()
        .unwrap(),
    );
    assert_eq!(c.identify("k-one"), None);
    let digest: String = Sha256::digest(b"k-secret")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let c = config(serde_json::json!({
        "credentials": [{"key_sha256": digest.to_uppercase(), "client": "hashed"}],
        "key_sources": [{"header": "x-api-key"}]
    }));
    assert_eq!(c.identify("k-secret"), Some("hashed"));
}

#[test]
fn hide_credentials_edits() {
    let c = cfg();
    let hide = |h: &[(&str, &str)]| {
        let mut e = Edits::default();
        c.hide(&request(h), &mut e);
        e
    };
    let e = hide(&[
        ("x-api-key", "k"),
        (":path", "/a?x=1&api_key=k&y=2"),
        ("cookie", "s=1; api_key=k"),
    ]);
    assert_eq!(
        e.0,
        vec![
            crate::edits::Op::Remove("x-api-key".into()),
            crate::edits::Op::Set(":path".into(), "/a?x=1&y=2".into()),
            crate::edits::Op::Set("cookie".into(), "s=1".into()),
        ]
    );
    let e = hide(&[(":path", "/a?api_key=k"), ("cookie", "api_key=k")]);
    assert_eq!(
        e.0,
        vec![
            crate::edits::Op::Set(":path".into(), "/a".into()),
            crate::edits::Op::Remove("cookie".into()),
        ]
    );
    assert!(hide(&[(":path", "/a?b=1")]).0.is_empty());
    let mut keep = cfg();
    keep.forwarding.hide_credentials = false;
    let mut e = Edits::default();
    keep.hide(&request(&[("x-api-key", "k")]), &mut e);
    assert!(e.0.is_empty());
}

#[test]
fn config_errors() {
    let err = |j: serde_json::Value| {
        serde_json::from_value::<ApiKeyConfig>(j)
            .err()
            .unwrap()
            .to_string()
    };
    let src = serde_json::json!([{"header": "x"}]);
    assert!(
        err(serde_json::json!({"credentials": [], "key_sources": src}))
            .contains("credentials must not be empty")
    );
    assert!(err(serde_json::json!({"credentials": [{"key": "a", "key_sha256": "b", "client": "c"}], "key_sources": src})).contains("exactly one"));
    assert!(err(serde_json::json!({"credentials": [{"key_sha256": "zz", "client": "c"}], "key_sources": src})).contains("64 hex"));
    assert!(err(
        serde_json::json!({"credentials": [{"key": "a", "client": ""}], "key_sources": src})
    )
    .contains("client"));
    assert!(err(serde_json::json!({"credentials": [{"key": "a", "client": "x"}, {"key": "a", "client": "y"}], "key_sources": src})).contains("twice"));
    assert!(err(
        serde_json::json!({"credentials": [{"key": "a", "client": "x"}], "key_sources": []})
    )
    .contains("key_sources must not be empty"));
    assert!(err(
        serde_json::json!({"credentials": [{"key": "a", "client": "x"}], "key_sources": [{}]})
    )
    .contains("needs one of"));
    assert!(err(serde_json::json!({"credentials": [{"key": "a", "client": "x"}], "key_sources": [{"header": "bad name"}]})).contains("invalid header name"));
    assert!(err(serde_json::json!({"credentials": [{"key": "a", "client": "x"}], "key_sources": [{"param": "k"}]})).contains("unknown field"));
}

#[test]
fn helpers() {
    use query::*;
    assert_eq!(percent_decode("a%2Db%zz%4"), "a-b%zz%4");
    assert_eq!(
        strip_query_param("/p?api_key=1&api_key=2", "api_key"),
        Some("/p".into())
    );
    assert_eq!(strip_cookie("a=1;b=2", "c"), None);
}
