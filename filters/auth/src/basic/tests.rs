use super::*;
use base64::engine::general_purpose::STANDARD;
use tollgate_common::testing::MemoryStore;
use tollgate_common::testing::{request, FakeSource};

const USERS: &str = "carol:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=\n\
                     bob:$2y$04$gJfSq0QlsOzeUp5G2bi7GuCjLJTav2HZxPAFsJWmWX84hAERh3sOO\n";

fn cfg(extra: serde_json::Value) -> BasicConfig {
    let mut v = serde_json::json!({"users": USERS});
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    serde_json::from_value(v).unwrap()
}

fn auth(user_pass: &str) -> String {
    format!("Basic {}", STANDARD.encode(user_pass))
}

#[test]
fn presented_credentials() {
    assert_eq!(presented(None), Presented::Missing);
    assert_eq!(presented(Some("Bearer x")), Presented::Missing);
    assert_eq!(
        presented(Some(&auth("bob:se:cret"))),
        Presented::Credentials {
            user: "bob".into(),
            password: "se:cret".into()
        }
    );
    assert_eq!(
        presented(
            Some(&auth("bob:"))
                .map(|s| s.replace("Basic", "bAsIc"))
                .as_deref()
        ),
        Presented::Credentials {
            user: "bob".into(),
            password: "".into()
        }
    );
    assert_eq!(
        presented(Some("Basic !!!")),
        Presented::Malformed("credentials are not base64")
    );
    assert_eq!(
        presented(Some("Basic")),
        Presented::Malformed("credentials have no ':'")
    );
    assert_eq!(
        presented(Some(&auth("nocolon"))),
        Presented::Malformed("credentials have no ':'")
    );
    assert_eq!(
        presented(Some(&auth(":pw"))),
        Presented::Malformed("empty user name")
    );
    let not_utf8 = format!("Basic {}", STANDARD.encode(b"bob:\xff\xfe"));
    assert_eq!(
        presented(Some(&not_utf8)),
        Presented::Malformed("credentials are not UTF-8")
    );
}

#[test]
fn verify_cache_and_lockout() {
    let c = cfg(serde_json::json!({"lockout": {"max_failures": 3, "window": "60s"}}));
    let store = MemoryStore::default();
    let check = |h: &str, client: &str| {
        c.check(
            &FakeSource::new(&[("authorization", h)])
                .client(Some(client))
                .request(),
            &store,
        )
    };
    assert_eq!(
        check(&auth("bob:secret"), "10.0.0.1:1"),
        Check::Verified {
            user: "bob".into(),
            cached: false
        }
    );
    assert_eq!(
        check(&auth("bob:secret"), "10.0.0.1:1"),
        Check::Verified {
            user: "bob".into(),
            cached: true
        }
    );
    assert_eq!(
        check(&auth("carol:pw"), "10.0.0.1:1"),
        Check::Verified {
            user: "carol".into(),
            cached: false
        }
    );
    // Three failures for carol from different addresses lock carol out...
    for i in 0..3 {
        assert_eq!(
            check(&auth("carol:nope"), &format!("10.0.1.{i}:1")),
            Check::Rejected
        );
    }
    assert_eq!(
        check(&auth("carol:nope"), "10.0.2.1:1"),
        Check::LockedOut { retry_after: 60 }
    );
    assert_eq!(
        check(&auth("carol:other"), "10.0.2.1:1"),
        Check::LockedOut { retry_after: 60 }
    );
    // ...even with the right password: `{SHA}` is never cached, so nothing
    // tells a right guess from a wrong one during the lockout...
    assert_eq!(
        check(&auth("carol:pw"), "10.0.2.1:1"),
        Check::LockedOut { retry_after: 60 }
    );
    assert_eq!(
        check(&auth("carol:pw"), "10.0.0.1:1"),
        Check::LockedOut { retry_after: 60 }
    );
    // ...while a cached bcrypt success passes a lockout, without hashing.
    for i in 0..3 {
        assert_eq!(
            check(&auth("bob:nope"), &format!("10.0.3.{i}:1")),
            Check::Rejected
        );
    }
    assert_eq!(
        check(&auth("bob:secret"), "10.0.4.1:1"),
        Check::Verified {
            user: "bob".into(),
            cached: true
        }
    );
    // Three failures from one address lock that address out for every user.
    for user in ["u1", "u2", "u3"] {
        assert_eq!(
            check(&auth(&format!("{user}:x")), "[2001:db8::1]:5"),
            Check::Rejected
        );
    }
    assert_eq!(
        check(&auth("bob:wrong"), "[2001:db8::1]:7"),
        Check::LockedOut { retry_after: 60 }
    );
    assert_eq!(check("", "10.0.0.1:1"), Check::Missing);
    assert_eq!(
        check("Basic %%%", "10.0.0.1:1"),
        Check::Malformed("credentials are not base64")
    );
}

#[test]
fn lockout_window_ends() {
    let c = cfg(
        serde_json::json!({"lockout": {"max_failures": 1, "window": "30s"}, "cache": {"ttl": "0s"}}),
    );
    let store = MemoryStore::default();
    let mut src = FakeSource::new(&[("authorization", &auth("bob:bad"))]);
    assert_eq!(c.check(&src.clone().request(), &store), Check::Rejected);
    assert_eq!(
        c.check(&src.clone().request(), &store),
        Check::LockedOut { retry_after: 30 }
    );
    src.now += std::time::Duration::from_secs(30);
    src.headers =
        tollgate_common::header::HeaderList::of(&[("authorization", &auth("bob:secret"))]);
    assert_eq!(
        c.check(&src.clone().request(), &store),
        Check::Verified {
            user: "bob".into(),
            cached: false
        }
    );
    // The cache is off (ttl 0s): the next check hashes again.
    assert_eq!(
        c.check(&src.request(), &store),
        Check::Verified {
            user: "bob".into(),
            cached: false
        }
    );
}

#[test]
fn config_forms_and_errors() {
    let c: BasicConfig = serde_json::from_value(serde_json::json!({
        "users": {"inline_string": USERS}, "realm": "staff area", "forward_username_header": "X-User"
    })).unwrap();
    assert_eq!(c.realm.0, "staff area");
    assert_eq!(
        c.forward_username_header.as_ref().map(|h| h.as_str()),
        Some("x-user")
    );
    let r = request(&[("authorization", &auth("bob:secret"))]);
    assert!(matches!(
        c.check(&r, &MemoryStore::default()),
        Check::Verified { .. }
    ));
    let err = |j: serde_json::Value| {
        serde_json::from_value::<BasicConfig>(j)
            .err()
            .unwrap()
            .to_string()
    };
    assert!(err(serde_json::json!({"users": "dave:RT3LryroMXGFM"}))
        .contains("line 1 (user \"dave\"): DES crypt"));
    assert!(err(serde_json::json!({"users": 3})).contains("inline_string"));
    assert!(err(serde_json::json!({"users": USERS, "realm": "a\"b"})).contains("quotes"));
    assert!(
        err(serde_json::json!({"users": USERS, "lockout": {"max_failures": 0}}))
            .contains("between 1")
    );
    assert!(
        err(serde_json::json!({"users": USERS, "lockout": {"window": 300}})).contains("duration")
    );
    assert!(
        err(serde_json::json!({"users": USERS, "forward_username_header": ":path"}))
            .contains("cannot be modified")
    );
    assert!(err(serde_json::json!({"users": USERS, "bogus": 1})).contains("unknown field"));
}

#[test]
fn authentication_header_names_where_credentials_are() {
    let c = cfg(serde_json::json!({"authentication_header": "X-Auth"}));
    let store = MemoryStore::default();
    let check = |headers: &[(&str, &str)]| c.check(&request(headers), &store);
    assert!(matches!(
        check(&[("x-auth", &auth("bob:secret"))]),
        Check::Verified { .. }
    ));
    // Only that header: Authorization is not read then.
    assert_eq!(
        check(&[("authorization", &auth("bob:secret"))]),
        Check::Missing
    );
}
