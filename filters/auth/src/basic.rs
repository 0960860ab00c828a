//! HTTP Basic, as Envoy's basic_auth: htpasswd `users` (inline text, or
//! Envoy's DataSource form `{"inline_string": ...}`), `realm`,
//! `forward_username_header`, `authentication_header`.
//!
//! Slow hashes make every guess cost the worker milliseconds, so:
//! credentials verified against a slow hash are cached in shared data (keyed
//! by a SHA-256 of user, password and the stored line; bounded; expiring;
//! `{SHA}` is cheaper than the cache and is not cached), and after
//! `lockout.max_failures` failures within `lockout.window` for a user name or
//! a client address, the filter answers 429 without hashing until the window
//! ends. A cached success passes even during a lockout (it costs no hashing
//! and lets a user who already logged in keep working while someone guesses
//! at their name).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cache::{digest, FailureCounter, Store, SuccessCache};
use htpasswd::Entry;
use serde::Deserialize;
use std::collections::HashMap;
use tollgate_common::duration::{Duration, DurationOrZero};
use tollgate_common::header::MutableHeaderName;
use tollgate_common::request::{Request, RequestSource};
use tollgate_common::time::epoch_seconds;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicConfig {
    users: Users,
    #[serde(default = "default_realm")]
    pub realm: Realm,
    pub forward_username_header: Option<MutableHeaderName>,
    /// Envoy's `authentication_header`: the request header carrying the
    /// credentials instead of `authorization`.
    authentication_header: Option<MutableHeaderName>,
    #[serde(default)]
    lockout: Lockout,
    #[serde(default)]
    cache: CacheConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "serde_json::Value")]
struct Users(HashMap<String, Entry>);

impl TryFrom<serde_json::Value> for Users {
    type Error = String;
    fn try_from(v: serde_json::Value) -> Result<Self, String> {
        // Envoy's DataSource spellings, and Tollgate's `env` (a secret kept
        // out of the configuration, see tollgate_common::secret).
        let text = match &v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Object(m) if m.len() == 1 => {
                let field = |k: &str| m.get(k).and_then(|s| s.as_str());
                match (
                    field("inline_string"),
                    field("env").or(field("environment_variable")),
                ) {
                    (Some(s), None) => Some(s.to_string()),
                    (None, Some(name)) => Some(tollgate_common::secret::read_env(name)?),
                    _ => None,
                }
            }
            _ => None,
        };
        let text =
            text.ok_or("users is htpasswd text, {\"inline_string\": text} or {\"env\": \"NAME\"}")?;
        htpasswd::parse_users(&text).map(Users)
    }
}

/// A realm for `WWW-Authenticate: Basic realm="..."`: no quotes, backslashes
/// or control characters.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct Realm(pub String);

impl TryFrom<String> for Realm {
    type Error = &'static str;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.chars().any(|c| c == '"' || c == '\\' || c.is_control()) {
            return Err("realm must not contain quotes, backslashes or control characters");
        }
        Ok(Realm(s))
    }
}

fn default_realm() -> Realm {
    Realm("tollgate".to_string())
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct Lockout {
    #[serde(default = "default_max_failures")]
    max_failures: BoundedCount,
    #[serde(default = "default_window")]
    window: Duration,
}

impl Default for Lockout {
    fn default() -> Self {
        Lockout {
            max_failures: default_max_failures(),
            window: default_window(),
        }
    }
}

fn default_max_failures() -> BoundedCount {
    BoundedCount(10)
}
fn default_window() -> Duration {
    Duration::from_secs(300)
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct CacheConfig {
    #[serde(default = "default_ttl")]
    ttl: DurationOrZero,
    #[serde(default = "default_max_entries")]
    max_entries: BoundedCount,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            ttl: default_ttl(),
            max_entries: default_max_entries(),
        }
    }
}

fn default_ttl() -> DurationOrZero {
    DurationOrZero(Duration::from_secs(300))
}
fn default_max_entries() -> BoundedCount {
    BoundedCount(1024)
}

/// An integer from 1 to 1,000,000.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "u64")]
struct BoundedCount(u32);

impl TryFrom<u64> for BoundedCount {
    type Error = &'static str;
    fn try_from(n: u64) -> Result<Self, Self::Error> {
        match u32::try_from(n) {
            Ok(n) if (1..=1_000_000).contains(&n) => Ok(BoundedCount(n)),
            _ => Err("must be between 1 and 1000000"),
        }
    }
}

/// What the `authorization` header says about Basic credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    Missing,
    Malformed(&'static str),
    Credentials { user: String, password: String },
}

/// Parses `Authorization: Basic <base64(user:password)>`. Another scheme
/// counts as missing (it may be another method's credential).
pub fn presented(header: Option<&str>) -> Presented {
    let Some(value) = header.map(str::trim) else {
        return Presented::Missing;
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Presented::Missing;
    }
    let Ok(bytes) = STANDARD.decode(rest.trim()) else {
        return Presented::Malformed("credentials are not base64");
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return Presented::Malformed("credentials are not UTF-8");
    };
    match text.split_once(':') {
        Some((user, password)) if !user.is_empty() => Presented::Credentials {
            user: user.to_string(),
            password: password.to_string(),
        },
        Some(_) => Presented::Malformed("empty user name"),
        None => Presented::Malformed("credentials have no ':'"),
    }
}

/// The result of checking a request's Basic credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    Missing,
    Malformed(&'static str),
    Verified { user: String, cached: bool },
    Rejected,
    LockedOut { retry_after: u64 },
}

impl BasicConfig {
    fn failures(&self) -> FailureCounter {
        FailureCounter {
            slots: self.cache.max_entries.0,
            max_failures: self.lockout.max_failures.0,
            window_secs: self.lockout.window.as_secs_ceil(),
        }
    }

    fn successes(&self) -> SuccessCache {
        SuccessCache {
            slots: self.cache.max_entries.0,
            ttl_secs: self.cache.ttl.0.as_secs_ceil(),
        }
    }

    pub fn check<S: RequestSource>(&self, req: &Request<S>, store: &dyn Store) -> Check {
        let from = self
            .authentication_header
            .as_ref()
            .map_or("authorization", |h| h.as_str());
        let (user, password) = match presented(req.header(from).as_deref()) {
            Presented::Missing => return Check::Missing,
            Presented::Malformed(why) => return Check::Malformed(why),
            Presented::Credentials { user, password } => (user, password),
        };
        let now = epoch_seconds(req.now());
        let entry = self.users_map().get(&user);
        // Only slow hashes are cached: for `{SHA}` one SHA-1 costs less than
        // the cache's digest and shared-data round trip (measured by the bench).
        let successes = entry.filter(|e| e.hash.is_slow()).map(|e| {
            (
                self.successes(),
                digest(&[user.as_bytes(), password.as_bytes(), e.line.as_bytes()]),
            )
        });
        if let Some((cache, key)) = &successes {
            if cache.hit(store, key, now) {
                return Check::Verified { user, cached: true };
            }
        }
        let failures = self.failures();
        // Only needed when a failure is recent or this one fails; computed once.
        let subjects_once = std::cell::OnceCell::new();
        let subjects = || {
            *subjects_once.get_or_init(|| {
                let address = req.client_ip();
                let address_subject = address
                    .as_ref()
                    .map(|a| digest(&[b"address", a.as_bytes()]));
                [Some(digest(&[b"user", user.as_bytes()])), address_subject]
            })
        };
        if failures.any_recent(store, now) {
            let locked = subjects()
                .into_iter()
                .flatten()
                .filter_map(|s| failures.locked_for(store, &s, now))
                .max();
            if let Some(retry_after) = locked {
                return Check::LockedOut { retry_after };
            }
        }
        if entry.is_some_and(|e| e.hash.verify(password.as_bytes())) {
            if let Some((cache, key)) = &successes {
                cache.insert(store, key, now);
            }
            return Check::Verified {
                user,
                cached: false,
            };
        }
        for s in subjects().into_iter().flatten() {
            failures.record(store, &s, now);
        }
        Check::Rejected
    }

    pub(crate) fn users_map(&self) -> &HashMap<String, Entry> {
        &self.users.0
    }
}

pub mod cache;
pub mod htpasswd;

#[cfg(test)]
mod tests;
