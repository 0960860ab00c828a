use super::*;
use std::collections::BTreeMap;
use std::time::Duration;
use tollgate_common::ConfigError;

/// Parses `{"providers": {"a": <provider>}}`, as the filter's configuration
/// will, so errors carry the full field path.
fn parse_in_map(provider: Value) -> Result<JwtProvider, ConfigError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Wrapper {
        providers: BTreeMap<String, JwtProvider>,
    }
    let text = json!({"providers": {"a": provider}}).to_string();
    tollgate_common::config::parse::<Wrapper>(text.as_bytes())
        .map(|mut w| w.providers.remove("a").unwrap())
}

fn err(provider: Value) -> ConfigError {
    match parse_in_map(provider) {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    }
}

#[test]
fn envoy_defaults() {
    let p = parse_in_map(json!({"local_jwks": {"inline_string": JWKS}})).unwrap();
    assert_eq!(p.issuer, None);
    assert!(p.audiences.is_empty());
    assert!(!p.require_expiration);
    assert_eq!(p.max_lifetime, None);
    assert_eq!(p.clock_skew_seconds, 60);
    assert!(!p.forward);
    assert_eq!(p.identity_claim, "sub");
    assert!(p.local_hmac_secret.is_none());
    assert!(matches!(
        p.locations.as_slice(),
        [Location::Header { name, value_prefix }, Location::Param(param)]
            if name == "authorization" && value_prefix == "Bearer " && param == "access_token"
    ));
    assert_eq!(p.local_jwks().unwrap().keys().len(), 5);
}

#[test]
fn every_field() {
    let p = parse_in_map(json!({
        "issuer": ISS,
        "audiences": [AUD, "other"],
        "subjects": {"prefix": "spiffe://example/"},
        "require_expiration": true,
        "max_lifetime": "24h",
        "remote_jwks": {
            "http_uri": {"uri": "https://idp.example:8443/.well-known/jwks.json?v=1",
                         "cluster": "idp", "timeout": "1.5s"},
            "cache_duration": "300s"
        },
        "local_hmac_secret": {"inline_bytes": "dG9sbGdhdGUtdGVzdC1obWFjLXNlY3JldC1vZi0zMi1ieXRlcw=="},
        "forward": true,
        "from_headers": [{"name": "X-Jwt", "value_prefix": "Token "}, {"name": "x-raw"}],
        "from_params": ["jwt"],
        "from_cookies": ["session"],
        "forward_payload_header": "x-jwt-payload",
        "pad_forward_payload_header": true,
        "claim_to_headers": [{"header_name": "x-email", "claim_name": "email"}],
        "clock_skew_seconds": 5,
        "identity_claim": "email"
    }))
    .unwrap();
    assert_eq!(p.max_lifetime, Some(Duration::from_secs(86_400)));
    let JwksSource::Remote(r) = &p.jwks else {
        panic!("not remote")
    };
    assert_eq!(r.authority, "idp.example:8443");
    assert_eq!(r.path, "/.well-known/jwks.json?v=1");
    assert_eq!(r.cluster, "idp");
    assert_eq!(r.timeout, Duration::from_millis(1500));
    assert_eq!(r.cache_duration, Duration::from_secs(300));
    assert_eq!(p.locations.len(), 4);
    assert!(matches!(&p.locations[0], Location::Header { name, .. } if name == "x-jwt"));
    assert!(
        matches!(&p.locations[1], Location::Header { value_prefix, .. } if value_prefix.is_empty())
    );
    assert_eq!(p.clock_skew_seconds, 5);
    assert_eq!(p.claim_to_headers[0].header_name.as_str(), "x-email");
    assert_eq!(format!("{:?}", p.local_hmac_secret), "Some(HmacSecret(..))");
    assert!(p.local_jwks().is_none());

    let r = parse_in_map(json!({"remote_jwks": {"http_uri": {"uri": "http://idp", "cluster": "c", "timeout": "1s"}}}))
        .unwrap();
    let JwksSource::Remote(r) = &r.jwks else {
        panic!("not remote")
    };
    assert_eq!((r.authority.as_str(), r.path.as_str()), ("idp", "/"));
    assert_eq!(r.cache_duration, provider::DEFAULT_CACHE_DURATION);
}

#[test]
fn errors_name_the_field() {
    let jwks = json!({"inline_string": JWKS});
    let cases = [
        (json!({}), "providers.a", "needs local_jwks or remote_jwks"),
        (
            json!({"local_jwks": jwks, "remote_jwks": {"http_uri": {"uri": "http://x", "cluster": "c", "timeout": "1s"}}}),
            "providers.a",
            "exclusive",
        ),
        (
            json!({"local_jwks": jwks, "payload_in_metadata": "x"}),
            "providers.a.payload_in_metadata",
            "unknown field",
        ),
        (
            json!({"local_jwks": {"filename": "/etc/jwks.json"}}),
            "providers.a.local_jwks",
            "wasm filter",
        ),
        (
            json!({"local_jwks": {"environment_variable": "TOLLGATE_JWT_TEST_UNSET"}}),
            "providers.a.local_jwks",
            "environment variable TOLLGATE_JWT_TEST_UNSET is not set",
        ),
        (
            json!({"local_jwks": {"environment_variable": "A", "env": "B"}}),
            "providers.a.local_jwks",
            "one of environment_variable and env",
        ),
        (
            json!({"local_jwks": {"inline_string": "{\"keys\": []}"}}),
            "providers.a.local_jwks",
            "no keys",
        ),
        (
            json!({"local_jwks": {"inline_string": "x", "inline_bytes": "eA=="}}),
            "providers.a.local_jwks",
            "exactly one",
        ),
        (
            json!({"local_jwks": {}}),
            "providers.a.local_jwks",
            "needs inline_string",
        ),
        (
            json!({"local_hmac_secret": {"inline_string": "short"}}),
            "providers.a.local_hmac_secret",
            "at least 32 bytes",
        ),
        (
            json!({"local_jwks": jwks, "max_lifetime": 60}),
            "providers.a.max_lifetime",
            "duration string",
        ),
        (
            json!({"local_jwks": jwks, "clock_skew_seconds": -1}),
            "providers.a.clock_skew_seconds",
            "invalid value",
        ),
        (
            json!({"local_jwks": jwks, "from_headers": [{"name": "bad name"}]}),
            "providers.a.from_headers[0].name",
            "",
        ),
        (
            json!({"local_jwks": jwks, "from_params": [""]}),
            "providers.a.from_params[0]",
            "must not be empty",
        ),
        (
            json!({"local_jwks": jwks, "forward_payload_header": ":path"}),
            "providers.a.forward_payload_header",
            "cannot be modified",
        ),
        (
            json!({"local_jwks": jwks, "claim_to_headers": [{"header_name": "x", "claim_name": ""}]}),
            "providers.a.claim_to_headers[0].claim_name",
            "must not be empty",
        ),
        (
            json!({"local_jwks": jwks, "subjects": {"prefix": ""}}),
            "providers.a.subjects.prefix",
            "must not be empty",
        ),
        (
            json!({"local_jwks": jwks, "identity_claim": ""}),
            "providers.a.identity_claim",
            "must not be empty",
        ),
        (
            json!({"remote_jwks": {"http_uri": {"uri": "ftp://x", "cluster": "c", "timeout": "1s"}}}),
            "providers.a.remote_jwks",
            "http://",
        ),
        (
            json!({"remote_jwks": {"http_uri": {"uri": "https:///x", "cluster": "c", "timeout": "1s"}}}),
            "providers.a.remote_jwks",
            "not a valid URI",
        ),
        (
            json!({"remote_jwks": {"http_uri": {"uri": "https://x", "cluster": "", "timeout": "1s"}}}),
            "providers.a.remote_jwks.http_uri.cluster",
            "must not be empty",
        ),
        (
            json!({"remote_jwks": {"http_uri": {"uri": "https://x", "cluster": "c"}}}),
            "providers.a.remote_jwks.http_uri",
            "missing field `timeout`",
        ),
        (
            json!({"remote_jwks": {"http_uri": {"uri": "https://x", "cluster": "c", "timeout": "1s"}, "async_fetch": {}}}),
            "providers.a.remote_jwks.async_fetch",
            "unknown field",
        ),
    ];
    for (input, field, reason) in cases {
        let e = err(input.clone());
        assert_eq!(e.field, field, "{input}: {e}");
        assert!(e.reason.contains(reason), "{input}: {e}");
    }
}

/// `local_jwks` and `local_hmac_secret` from the VM's environment, in Envoy's
/// DataSource spelling and Tollgate's `env`.
#[test]
fn key_material_from_the_vm_environment() {
    std::env::set_var("TOLLGATE_JWT_TEST_JWKS", JWKS);
    std::env::set_var(
        "TOLLGATE_JWT_TEST_HMAC",
        "tollgate-test-hmac-secret-of-32-bytes",
    );
    let p = parse_in_map(json!({
        "local_jwks": {"environment_variable": "TOLLGATE_JWT_TEST_JWKS"},
        "local_hmac_secret": {"env": "TOLLGATE_JWT_TEST_HMAC"}
    }))
    .unwrap();
    assert_eq!(p.local_jwks().unwrap().keys().len(), 5);
    assert_eq!(
        p.local_hmac_secret.as_ref().map(|s| s.0.len()),
        Some("tollgate-test-hmac-secret-of-32-bytes".len())
    );
}
