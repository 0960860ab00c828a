//! The soak test's mix of requests through the chain (`envoy/chain.yaml`
//! with the demo services, [`crate::demo`]): each kind of request with the
//! statuses it may get and the identity a passing one must carry.

use crate::client::{Request, Response};
use crate::demo;
use crate::load::Outcome;

/// A kind of request: what to send, the statuses it may get, and the
/// identity a passing one must show (`x-authenticated-as`).
pub struct Kind {
    pub name: &'static str,
    pub make: fn(usize, u64) -> Request,
    pub statuses: &'static [u16],
    pub identity: fn(&Request) -> Option<String>,
}

fn none(_: &Request) -> Option<String> {
    None
}

fn fixed(id: &'static str) -> Option<String> {
    Some(id.to_string())
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

pub const KINDS: &[Kind] = &[
    Kind {
        name: "open",
        make: |t, _| Request::get("/anything").header("x-user", &format!("u{t}")),
        statuses: &[200, 429],
        identity: none,
    },
    Kind {
        name: "api key missing",
        make: |_, _| Request::get("/api/x"),
        statuses: &[401],
        identity: none,
    },
    Kind {
        name: "api key wrong",
        make: |_, n| Request::get("/api/x").header("x-api-key", &format!("wrong-{n}")),
        statuses: &[401],
        identity: none,
    },
    Kind {
        name: "api key",
        make: |_, _| Request::get("/api/x").header("x-api-key", "demo-key-1"),
        statuses: &[200, 429],
        identity: |_| fixed("mobile-app"),
    },
    // /admin wants Basic or the `partner` client: mobile-app's key is 403.
    Kind {
        name: "api key not allowed",
        make: |_, _| Request::get("/admin").header("x-api-key", "demo-key-1"),
        statuses: &[403],
        identity: none,
    },
    Kind {
        name: "basic",
        make: |_, _| {
            Request::get("/admin").header("authorization", "Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQ=")
        },
        statuses: &[200, 429],
        identity: |_| fixed("alice"),
    },
    // Unknown users, each once: 401, then 429 once the client address is locked out.
    Kind {
        name: "basic wrong",
        make: |t, n| {
            Request::get("/admin").header(
                "authorization",
                &format!("Basic {}", b64(&format!("u{t}-{n}:nope"))),
            )
        },
        statuses: &[401, 429],
        identity: none,
    },
    Kind {
        name: "jwt",
        make: |_, _| Request::get("/jwt/x").header("authorization", &bearer(demo::TOKEN)),
        statuses: &[200, 429],
        identity: |_| fixed("demo-user"),
    },
    Kind {
        name: "jwt remote",
        make: |_, _| Request::get("/jwt-remote/x").header("authorization", &bearer(demo::TOKEN)),
        statuses: &[200, 429],
        identity: |_| fixed("demo-user"),
    },
    Kind {
        name: "jwt tampered",
        make: |_, n| Request::get("/jwt/x").header("authorization", &bearer(&tampered(n))),
        statuses: &[401],
        identity: none,
    },
    Kind {
        name: "ext authz denied",
        make: |_, _| Request::get("/ext/x").header(demo::USER_HEADER, demo::DENIED_USER),
        statuses: &[403],
        identity: none,
    },
];

/// A new identity every time (the demo authz names it): a new rate-limit
/// key, so a full bucket (always 200) and, past the table size, evictions.
/// Every [`NEW_IDENTITY_EVERY`]th request, so that keys that were never
/// evicted would show in Envoy's heap (tests/tests/soak.rs).
pub const NEW_IDENTITY: Kind = Kind {
    name: "ext authz",
    make: |t, n| Request::get("/ext/x").header(demo::USER_HEADER, &format!("s{t}-{n}")),
    statuses: &[200],
    identity: |r| {
        r.headers
            .iter()
            .find(|(n, _)| n == demo::USER_HEADER)
            .map(|(_, v)| v.clone())
    },
};

/// The demo token with one signature character changed (distinct per `n`):
/// a well-formed token whose signature fails.
fn tampered(n: u64) -> String {
    let mut t = demo::TOKEN.as_bytes().to_vec();
    let i = t.len() - 20;
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let c = alphabet[(n % 52) as usize];
    t[i] = if t[i] == c { b'0' } else { c };
    String::from_utf8(t).unwrap_or_default()
}

fn b64(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in s.as_bytes().chunks(3) {
        let n = c
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= c.len() {
                A[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

/// `Ok(status)` when `r` is what `kind` may get, else why not.
pub fn classify(kind: &Kind, req: &Request, r: &Response) -> Outcome {
    if !kind.statuses.contains(&r.status) {
        return Err(format!("{}: {} {}", kind.name, r.status, r.text()));
    }
    if r.status == 200 {
        let want = (kind.identity)(req);
        if r.header("x-authenticated-as").map(String::from) != want {
            return Err(format!(
                "{}: identity {:?}, want {want:?}",
                kind.name,
                r.header("x-authenticated-as")
            ));
        }
    }
    Ok(match r.status {
        200 => "200",
        401 => "401",
        403 => "403",
        429 => "429",
        _ => "other",
    })
}

/// How often [`pick`] sends [`NEW_IDENTITY`].
pub const NEW_IDENTITY_EVERY: usize = 2;

/// Request `n` of client `t`: every [`NEW_IDENTITY_EVERY`]th one a new
/// identity, the others cycling through [`KINDS`] (whose length is prime).
pub fn pick(t: usize, n: u64) -> &'static Kind {
    if (n as usize).is_multiple_of(NEW_IDENTITY_EVERY) {
        &NEW_IDENTITY
    } else {
        &KINDS[(n as usize + t) % KINDS.len()]
    }
}
