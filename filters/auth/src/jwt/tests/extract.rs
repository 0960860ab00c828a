use super::*;
use tollgate_common::testing::request;

fn found(headers: &[(&str, &str)], p: &JwtProvider) -> Option<(String, usize)> {
    let req = request(headers);
    extract(&req, &p.locations).map(|e| {
        let index = p
            .locations
            .iter()
            .position(|l| std::ptr::eq(l, e.location))
            .unwrap();
        (e.token, index)
    })
}

#[test]
fn envoy_default_locations() {
    let p = provider(json!({}));
    let t = |s: &str| Some((s.to_string(), 0));
    assert_eq!(
        found(
            &[(":path", "/"), ("authorization", "Bearer abc.def.ghi")],
            &p
        ),
        t("abc.def.ghi")
    );
    assert_eq!(found(&[("authorization", "bearer  abc ")], &p), t("abc"));
    assert_eq!(found(&[("authorization", "Basic dXNlcjpwdw==")], &p), None);
    assert_eq!(found(&[("authorization", "Bearer ")], &p), None);
    assert_eq!(found(&[("authorization", "Bearer")], &p), None);
    assert_eq!(found(&[("authorization", "Béarer x")], &p), None);
    assert_eq!(
        found(&[(":path", "/x?a=1&access_token=a.b%2Ec#frag")], &p),
        Some(("a.b.c".to_string(), 1))
    );
    assert_eq!(found(&[(":path", "/x?access_token=")], &p), None);
    assert_eq!(found(&[(":path", "/x?access_token=%zz")], &p), None);
    assert_eq!(found(&[(":path", "/x?token=a")], &p), None);
    assert_eq!(found(&[(":path", "/x")], &p), None);
    // The header wins over the query.
    assert_eq!(
        found(
            &[(":path", "/?access_token=q"), ("authorization", "Bearer h")],
            &p
        ),
        t("h")
    );
}

#[test]
fn configured_locations_in_order() {
    let p = provider(json!({
        "from_headers": [{"name": "x-jwt"}, {"name": "x-auth", "value_prefix": "Token "}],
        "from_params": ["jwt"],
        "from_cookies": ["session"]
    }));
    assert_eq!(
        found(&[("x-jwt", " raw ")], &p),
        Some(("raw".to_string(), 0))
    );
    assert_eq!(
        found(&[("x-auth", "token t")], &p),
        Some(("t".to_string(), 1))
    );
    assert_eq!(found(&[("x-auth", "Bearer t")], &p), None);
    assert_eq!(
        found(&[(":path", "/?jwt=p")], &p),
        Some(("p".to_string(), 2))
    );
    assert_eq!(
        found(&[("cookie", "a=1; session=c; b=2")], &p),
        Some(("c".to_string(), 3))
    );
    assert_eq!(
        found(&[("cookie", "a=1,session=\"q\"")], &p),
        Some(("q".to_string(), 3))
    );
    assert_eq!(found(&[("cookie", "xsession=c; session")], &p), None);
    // The defaults no longer apply once a location is configured.
    assert_eq!(found(&[("authorization", "Bearer h")], &p), None);
    assert_eq!(found(&[(":path", "/?access_token=q")], &p), None);
}

#[test]
fn extracted_fixture_verifies() {
    let p = provider(json!({}));
    let header = format!("Bearer {}", tok("es256"));
    let req = request(&[("authorization", header.as_str())]);
    let e = extract(&req, &p.locations).unwrap();
    assert!(verify(&e.token, &p, p.local_jwks().unwrap(), NOW).is_ok());
}
