use super::*;
use crate::config::parse;
use tollgate_common::testing::{request, FakeSource};

fn config(json: &str) -> Config {
    parse(json.as_bytes()).unwrap()
}

const TB: &str = r#"{"max_tokens": 5, "fill_interval": "1s"}"#;

#[test]
fn keys_from_request_values() {
    let c = config(&format!(
        r#"{{"descriptors": [
            {{"key": [{{"request_headers": {{"header_name": "X-Api-Key", "descriptor_key": "api"}}}}, {{"method": {{}}}}], "token_bucket": {TB}}},
            {{"key": [{{"identity": {{}}}}], "token_bucket": {TB}}},
            {{"key": [{{"remote_address": {{}}}}, {{"path": {{"segments": 2}}}}, {{"generic_key": {{"descriptor_value": "v"}}}}], "token_bucket": {TB}}}
        ]}}"#
    ));
    let req = request(&[("x-api-key", "k1"), (":method", "GET"), (":path", "/a")]);
    let s = select(&c, &req).unwrap();
    assert_eq!(s.descriptor, Some(0));
    assert_eq!(s.name, "descriptor_0");
    assert_eq!(
        s.entries,
        vec![("api", "k1".to_string()), ("method", "GET".to_string())]
    );
    assert_eq!(s.key, "2:k13:GET");

    let req = request(&[("x-tollgate-identity", "alice"), (":path", "/a")]);
    let s = select(&c, &req).unwrap();
    assert_eq!((s.descriptor, s.key.as_str()), (Some(1), "5:alice"));

    let req = FakeSource::new(&[(":path", "/v1//users/../orders/9?x=1")])
        .client(Some("[::1]:443"))
        .request();
    let s = select(&c, &req).unwrap();
    assert_eq!(s.descriptor, Some(2));
    assert_eq!(
        s.entries,
        vec![
            ("remote_address", "::1".to_string()),
            ("path", "/v1/orders".to_string()),
            ("generic_key", "v".to_string())
        ]
    );
}

#[test]
fn missing_values_skip_the_descriptor_then_default_then_none() {
    let c = config(&format!(
        r#"{{"descriptors": [{{"key": [{{"request_headers": {{"header_name": "x-user"}}}}], "token_bucket": {TB}}}],
            "token_bucket": {{"max_tokens": 9, "fill_interval": "1m"}}}}"#
    ));
    let s = select(&c, &request(&[(":path", "/")])).unwrap();
    assert_eq!(
        (s.descriptor, s.name, s.key.as_str(), s.limits.max_tokens),
        (None, "default", "", 9)
    );
    let c = config(&format!(
        r#"{{"descriptors": [{{"key": [{{"remote_address": {{}}}}], "token_bucket": {TB}}}]}}"#
    ));
    assert_eq!(
        select(&c, &FakeSource::new(&[]).client(None).request()),
        None
    );
    // No :path at all lacks a path value (an unnormalizable one has one:
    // see unnormalizable_paths_cannot_escape_a_path_limit).
    let c = config(&format!(
        r#"{{"descriptors": [{{"key": [{{"path": {{}}}}], "token_bucket": {TB}}}]}}"#
    ));
    assert_eq!(select(&c, &request(&[])), None);
}

#[test]
fn first_matching_descriptor_wins() {
    let c = config(&format!(
        r#"{{"descriptors": [
            {{"name": "admin", "match": {{"path": {{"prefix": "/admin"}}}}, "token_bucket": {TB}}},
            {{"name": "all", "token_bucket": {TB}}}
        ]}}"#
    ));
    assert_eq!(
        select(&c, &request(&[(":path", "/admin/x")])).unwrap().name,
        "admin"
    );
    assert_eq!(
        select(&c, &request(&[(":path", "/%61dmin")])).unwrap().name,
        "admin"
    );
    assert_eq!(
        select(&c, &request(&[(":path", "/public")])).unwrap().name,
        "all"
    );
}

#[test]
fn bucket_keys_are_unambiguous_and_bounded() {
    let k = |vals: &[&str]| {
        bucket_key(
            &vals
                .iter()
                .map(|v| ("k", v.to_string()))
                .collect::<Vec<_>>(),
        )
    };
    assert_ne!(k(&["ab", "c"]), k(&["a", "bc"]));
    assert_ne!(k(&["1:a"]), k(&["1", "a"]));
    assert_eq!(k(&[]), "");
    let long = "x".repeat(10_000);
    assert_eq!(k(&[&long]).len(), 17);
    assert_ne!(k(&[&long]), k(&[&"y".repeat(10_000)]));
}

#[test]
fn path_prefixes_and_ports() {
    for (path, n, want) in [
        ("/v1/users/42", 1, "/v1"),
        ("/v1/users/42", 2, "/v1/users"),
        ("/v1/users/42", 3, "/v1/users/42"),
        ("/v1/users/42", 9, "/v1/users/42"),
        ("/v1", 0, "/"),
        ("/", 1, "/"),
    ] {
        assert_eq!(path_prefix(path, n), want, "{path} {n}");
    }
}

#[test]
fn service_descriptors_are_the_global_ones_that_apply() {
    let c = config(&format!(
        r#"{{"rate_limit_service": {{"grpc_service": {{"envoy_grpc": {{"cluster_name": "r"}}}}, "domain": "d"}},
            "descriptors": [
            {{"key": [{{"remote_address": {{}}}}], "token_bucket": {TB}}},
            {{"match": {{"methods": ["POST"]}}, "key": [{{"method": {{}}}}]}},
            {{"key": [{{"request_headers": {{"header_name": "x-api-key", "descriptor_key": "api"}}}}, {{"generic_key": {{"descriptor_value": "v"}}}}]}}
        ]}}"#
    ));
    let req = FakeSource::new(&[(":method", "GET"), (":path", "/"), ("x-api-key", "k")])
        .client(Some("10.0.0.1:5"))
        .request();
    assert_eq!(
        service_descriptors(&c, &req),
        vec![vec![
            ("api", "k".to_string()),
            ("generic_key", "v".to_string())
        ]]
    );
    // The local one is still what select() picks.
    assert_eq!(select(&c, &req).map(|s| s.descriptor), Some(Some(0)));
    let req = request(&[(":method", "POST"), (":path", "/")]);
    assert_eq!(
        service_descriptors(&c, &req),
        vec![vec![("method", "POST".to_string())]]
    );
    let req = request(&[(":method", "GET"), (":path", "/")]);
    assert!(service_descriptors(&c, &req).is_empty());
}

#[test]
fn unnormalizable_paths_cannot_escape_a_path_limit() {
    let c = config(&format!(
        r#"{{"rate_limit_service": {{"grpc_service": {{"envoy_grpc": {{"cluster_name": "r"}}}}, "domain": "d"}},
            "descriptors": [
            {{"name": "login", "match": {{"path": {{"prefix": "/login"}}}}, "key": [], "token_bucket": {TB}}},
            {{"name": "per_path", "match": {{"path": {{"prefix": "/api"}}}}, "key": [{{"path": {{"segments": 2}}}}], "token_bucket": {TB}}},
            {{"name": "global", "match": {{"methods": ["PUT"]}}, "key": [{{"path": {{}}}}]}}
        ]}}"#
    ));
    for p in ["/login/%ff", "/login%00", "/api/%zz", "/%c0%ae", "/x%"] {
        let s = select(&c, &request(&[(":path", p)])).unwrap();
        assert_eq!(
            (s.name, s.key.as_str()),
            ("login", ""),
            "{p}: the first path limit takes it"
        );
        let put = request(&[(":path", p), (":method", "PUT")]);
        assert_eq!(
            service_descriptors(&c, &put),
            vec![vec![("path", UNNORMALIZABLE_PATH.to_string())]],
            "{p}"
        );
    }
    // Normal paths are unchanged.
    let s = select(&c, &request(&[(":path", "/api/v1/x")])).unwrap();
    assert_eq!((s.name, s.key.as_str()), ("per_path", "7:/api/v1"));
    assert!(select(&c, &request(&[(":path", "/other")])).is_none());
}
