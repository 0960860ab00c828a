//! API keys, as Envoy's api_key_auth: `credentials` (`key`, or `key_sha256`
//! so that configurations need not hold secrets), `key_sources` (header,
//! query parameter, cookie; an exact `Bearer ` prefix in a header is stripped) and
//! `forwarding` (`header` naming the client upstream, `hide_credentials`).
//!
//! Keys are looked up by their SHA-256 digest in a map, so a request costs
//! the same with ten keys or a hundred thousand. The lookup's timing depends
//! only on the digest of the key the client sent and how it compares with
//! stored digests; learning even many bytes of a stored digest brings an
//! attacker no closer to a key, which would take a SHA-256 preimage. Keys
//! themselves are never compared, and never stored.

use crate::edits::Edits;
use query::{percent_decode, strip_cookie, strip_query_param};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use tollgate_common::header::MutableHeaderName;
use tollgate_common::request::{Request, RequestSource};
use tollgate_common::secret::Secret;
use tollgate_common::syntax::request_header_name;

#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawApiKey")]
pub struct ApiKeyConfig {
    /// Client by key digest.
    clients: HashMap<KeyDigest, String>,
    key_sources: Vec<KeySource>,
    pub forwarding: Forwarding,
}

/// A key's SHA-256. Its comparisons are counted in tests, which pin that a
/// lookup compares with about one credential, not with every one.
#[derive(Debug, Clone, Copy, Eq)]
struct KeyDigest([u8; 32]);

impl PartialEq for KeyDigest {
    fn eq(&self, other: &Self) -> bool {
        #[cfg(test)]
        tests::COMPARISONS.with(|c| c.set(c.get() + 1));
        self.0 == other.0
    }
}

impl std::hash::Hash for KeyDigest {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

#[derive(Debug, Clone)]
struct Credential {
    digest: [u8; 32],
    client: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Header(String),
    Query(String),
    Cookie(String),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Forwarding {
    /// Upstream header naming the client (replaces any the client sent).
    pub header: Option<MutableHeaderName>,
    /// Remove the key from the request before forwarding it.
    #[serde(default)]
    pub hide_credentials: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApiKey {
    credentials: Vec<RawCredential>,
    key_sources: Vec<RawKeySource>,
    #[serde(default)]
    forwarding: Forwarding,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, try_from = "RawCredentialFields")]
struct RawCredential(Credential);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCredentialFields {
    key: Option<Secret>,
    key_sha256: Option<Secret>,
    client: String,
}

impl TryFrom<RawCredentialFields> for RawCredential {
    type Error = String;
    fn try_from(r: RawCredentialFields) -> Result<Self, String> {
        if r.client.is_empty() || !tollgate_common::syntax::safe_value(&r.client) {
            return Err("client must be non-empty without CR, LF or NUL".into());
        }
        let digest = match (r.key, r.key_sha256) {
            (Some(k), None) if !k.text().is_empty() => Sha256::digest(k.text().as_bytes()).into(),
            (Some(_), None) => return Err("key must not be empty".into()),
            (None, Some(h)) => parse_hex32(h.text())
                .ok_or_else(|| h.describe("key_sha256 must be 64 hex digits"))?,
            _ => return Err("a credential takes exactly one of key, key_sha256".into()),
        };
        Ok(RawCredential(Credential {
            digest,
            client: r.client,
        }))
    }
}

fn parse_hex32(h: &str) -> Option<[u8; 32]> {
    let bytes = h.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(bytes.chunks(2)) {
        *o = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(out)
}

/// Envoy's KeySource: any of `header`, `query`, `cookie`; when several are
/// set they are tried in that order.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeySource {
    header: Option<String>,
    query: Option<String>,
    cookie: Option<String>,
}

impl TryFrom<RawApiKey> for ApiKeyConfig {
    type Error = String;
    fn try_from(r: RawApiKey) -> Result<Self, String> {
        if r.credentials.is_empty() {
            return Err("credentials must not be empty".into());
        }
        let mut clients = HashMap::with_capacity(r.credentials.len());
        for (i, c) in r.credentials.into_iter().enumerate() {
            if clients.insert(KeyDigest(c.0.digest), c.0.client).is_some() {
                return Err(format!("credentials[{i}]: the same key is listed twice"));
            }
        }
        let mut key_sources = Vec::new();
        for (i, s) in r.key_sources.into_iter().enumerate() {
            let before = key_sources.len();
            if let Some(h) = s.header {
                let name =
                    request_header_name(&h).map_err(|e| format!("key_sources[{i}].header: {e}"))?;
                key_sources.push(KeySource::Header(name));
            }
            for (field, value, make) in [
                (
                    "query",
                    s.query,
                    KeySource::Query as fn(String) -> KeySource,
                ),
                ("cookie", s.cookie, KeySource::Cookie),
            ] {
                match value {
                    Some(v) if v.is_empty() => {
                        return Err(format!("key_sources[{i}].{field} must not be empty"))
                    }
                    Some(v) => key_sources.push(make(v)),
                    None => {}
                }
            }
            if key_sources.len() == before {
                return Err(format!(
                    "key_sources[{i}] needs one of header, query, cookie"
                ));
            }
        }
        if key_sources.is_empty() {
            return Err("key_sources must not be empty".into());
        }
        Ok(ApiKeyConfig {
            clients,
            key_sources,
            forwarding: r.forwarding,
        })
    }
}

impl ApiKeyConfig {
    /// True when `client` names a configured credential's client.
    pub fn has_client(&self, client: &str) -> bool {
        self.clients.values().any(|c| c == client)
    }

    /// The key the request carries: the first source that has one.
    pub fn extract<S: RequestSource>(&self, req: &Request<S>) -> Option<String> {
        // An empty source (`x-api-key:` with no value) carries no key: the
        // next source is read, not skipped.
        self.key_sources
            .iter()
            .find_map(|s| source_value(s, req).filter(|k| !k.is_empty()))
    }

    /// The client whose key this is: one map lookup by the key's digest
    /// (see the module documentation for why its timing reveals nothing).
    pub fn identify(&self, key: &str) -> Option<&str> {
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        self.clients.get(&KeyDigest(digest)).map(String::as_str)
    }

    /// With `hide_credentials`, the edits that remove the key from every
    /// source carrying one.
    pub fn hide<S: RequestSource>(&self, req: &Request<S>, edits: &mut Edits) {
        if !self.forwarding.hide_credentials {
            return;
        }
        for s in &self.key_sources {
            match s {
                KeySource::Header(h) => {
                    if req.header(h).is_some() {
                        edits.remove(h);
                    }
                }
                KeySource::Query(q) => {
                    let path = edits.current(":path", req);
                    if let Some(p) = path.and_then(|p| strip_query_param(&p, q)) {
                        edits.set(":path", &p);
                    }
                }
                KeySource::Cookie(c) => {
                    let cookie = edits.current("cookie", req);
                    match cookie.and_then(|v| strip_cookie(&v, c)) {
                        Some(v) if v.is_empty() => edits.remove("cookie"),
                        Some(v) => edits.set("cookie", &v),
                        None => {}
                    }
                }
            }
        }
    }
}

fn source_value<S: RequestSource>(source: &KeySource, req: &Request<S>) -> Option<String> {
    match source {
        KeySource::Header(h) => {
            // As Envoy's api_key_auth: exactly `Bearer ` is stripped, and
            // nothing else; `bearer k` or `Bearer  k` is not the key `k`
            // (accepting them would let through what Envoy refuses).
            let v = req.header(h)?;
            Some(v.strip_prefix("Bearer ").unwrap_or(&v).to_string())
        }
        KeySource::Query(q) => {
            let path = req.header(":path")?;
            let query = path
                .split_once('?')?
                .1
                .split('#')
                .next()
                .unwrap_or_default();
            query.split('&').find_map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(name) == *q).then(|| percent_decode(value))
            })
        }
        KeySource::Cookie(c) => {
            let header = req.header("cookie")?;
            header.split(';').find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                (name.trim() == c).then(|| value.trim().trim_matches('"').to_string())
            })
        }
    }
}

pub mod query;

#[cfg(test)]
mod tests;
