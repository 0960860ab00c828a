//! The JWT leaf of the requirement tree for one request: find the token,
//! look it up in the verified-token cache, else verify it with the
//! provider's keys and cache the result.
//!
//! A remote key set comes from [`KeySets`] (the glue: shared data and the
//! VM's parsed copy; no keys in native tests). When a provider has no usable
//! set yet, or a token names a `kid` the set lacks and a re-fetch is allowed,
//! the leaf records the provider in `needs` and the glue pauses the request
//! while the set is fetched, then evaluates the request again.

use crate::basic::cache::Store;
use crate::jwt::config::{JwtConfig, Variant};
use crate::jwt::token_cache::{self, local, Entry, TokenCache};
use crate::jwt::{self, Jwks, JwksSource, Location, RemoteJwks, Verified};
use crate::policy::outcome::{Grant, Outcome, Reason};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use tollgate_common::request::{Request, RequestSource};
use tollgate_common::time::epoch_seconds;

/// Remote key sets as the glue holds them.
pub trait KeySets {
    /// The usable key set of provider `base`, if there is one now.
    fn get(&self, base: usize, remote: &RemoteJwks) -> Option<Rc<Jwks>>;
    /// Whether the request may wait for a fetch of `base`'s set.
    fn may_wait(&self, base: usize) -> bool;
    /// Whether a set lacking a token's `kid` may be fetched again now.
    fn may_refetch(&self, base: usize, refetch_interval_ms: u64) -> bool;
}

/// No remote keys, never waits (native tests; the glue's replays).
pub struct NoKeys;

impl KeySets for NoKeys {
    fn get(&self, _: usize, _: &RemoteJwks) -> Option<Rc<Jwks>> {
        None
    }
    fn may_wait(&self, _: usize) -> bool {
        false
    }
    fn may_refetch(&self, _: usize, _: u64) -> bool {
        false
    }
}

/// One request's JWT checks: each provider variant checked once.
pub struct JwtState<'a> {
    keys: &'a dyn KeySets,
    memo: RefCell<BTreeMap<usize, Outcome>>,
    /// Providers whose key set the request waits for.
    pub needs: RefCell<Vec<usize>>,
    pub cache_hits: Cell<u64>,
    pub cache_misses: Cell<u64>,
    /// Where verified tokens were found, for `forward: false`.
    pub hide: RefCell<Vec<Location>>,
    /// Locations a verified token with `forward: false` came from, and the
    /// requirement node that verified it: as in Envoy's jwt_authn, which
    /// removes such a token as soon as it is verified, leaves evaluated after
    /// it find nothing there (so one token cannot satisfy two leaves of a
    /// `requires_all`). The node that consumed it still sees it, so that
    /// evaluating the same tree again gives the same result.
    consumed: RefCell<Vec<(Location, usize)>>,
}

/// Whether two locations read the same header, parameter or cookie (Envoy
/// removes the whole header whatever the prefix).
fn same_place(a: &Location, b: &Location) -> bool {
    match (a, b) {
        (Location::Header { name: x, .. }, Location::Header { name: y, .. }) => x == y,
        (Location::Param(x), Location::Param(y)) | (Location::Cookie(x), Location::Cookie(y)) => {
            x == y
        }
        _ => false,
    }
}

impl<'a> JwtState<'a> {
    pub fn new(keys: &'a dyn KeySets) -> Self {
        JwtState {
            keys,
            memo: RefCell::new(BTreeMap::new()),
            needs: RefCell::new(Vec::new()),
            cache_hits: Cell::new(0),
            cache_misses: Cell::new(0),
            hide: RefCell::new(Vec::new()),
            consumed: RefCell::new(Vec::new()),
        }
    }

    /// The outcome of provider variant `variant` for the requirement node
    /// `node` (any stable identity of the leaf that asks, such as its
    /// address).
    pub fn eval<S: RequestSource>(
        &self,
        config: &JwtConfig,
        variant: usize,
        node: usize,
        req: &Request<S>,
        store: &dyn Store,
    ) -> Outcome {
        let Some(v) = config.variants.get(variant) else {
            return Outcome::Denied(Reason::Invalid, "no such JWT provider".into());
        };
        let open: Vec<Location> = {
            let consumed = self.consumed.borrow();
            v.provider
                .locations
                .iter()
                .filter(|l| !consumed.iter().any(|(c, n)| *n != node && same_place(c, l)))
                .cloned()
                .collect()
        };
        if open.len() < v.provider.locations.len() {
            // Another leaf took a token from here: not the memoized result.
            return self.check(config, v, &open, node, req, store);
        }
        if let Some(o) = self.memo.borrow().get(&variant) {
            return o.clone();
        }
        let outcome = self.check(config, v, &open, node, req, store);
        self.memo.borrow_mut().insert(variant, outcome.clone());
        outcome
    }

    fn check<S: RequestSource>(
        &self,
        config: &JwtConfig,
        v: &Variant,
        open: &[Location],
        node: usize,
        req: &Request<S>,
        store: &dyn Store,
    ) -> Outcome {
        let p = &v.provider;
        let Some(found) = jwt::extract(req, open) else {
            return Outcome::Missing;
        };
        let now = epoch_seconds(req.now());
        let cache = TokenCache {
            slots: config.max_entries,
        };
        let name = config.cache_name(v);
        let granted = |e: Entry| {
            if !p.forward {
                self.hide.borrow_mut().push(found.location.clone());
                self.consumed
                    .borrow_mut()
                    .push((found.location.clone(), node));
            }
            Outcome::Granted(Grant {
                identity: e.identity,
                headers: e.headers,
            })
        };
        if let Some(entry) = local::get(&config.namespace, &name, &found.token, now) {
            self.cache_hits.set(self.cache_hits.get() + 1);
            return granted(entry);
        }
        let key = token_cache::key(&config.namespace, &name, &found.token);
        if let Some((entry, expiry)) = cache.get(store, &key, now) {
            local::put(&config.namespace, &name, &found.token, &entry, expiry, now);
            self.cache_hits.set(self.cache_hits.get() + 1);
            return granted(entry);
        }
        let empty = Jwks::default();
        let remote_keys;
        let (jwks, remote) = match &p.jwks {
            JwksSource::Local(l) => (&l.jwks, None),
            JwksSource::None => (&empty, None),
            JwksSource::Remote(r) => match self.keys.get(v.base, r) {
                Some(k) => {
                    remote_keys = k;
                    (&*remote_keys, Some(r))
                }
                None => {
                    // A token this provider would refuse anyway (malformed,
                    // another issuer) costs no wait and no fetch.
                    if let Some(e) = jwt::refused_without_keys(&found.token, p) {
                        return Outcome::Denied(Reason::Jwt(e.reason), e.to_string());
                    }
                    return self.unavailable(config, v.base);
                }
            },
        };
        self.cache_misses.set(self.cache_misses.get() + 1);
        match jwt::verify(&found.token, p, jwks, now) {
            Ok(verified) => {
                let entry = entry(v, &verified);
                let expiry = verified
                    .exp
                    .map_or(u64::MAX, |e| {
                        e.saturating_add(u64::from(p.clock_skew_seconds))
                    })
                    .min(now.saturating_add(config.max_ttl_secs));
                cache.insert(store, &key, &entry, expiry, now);
                local::put(&config.namespace, &name, &found.token, &entry, expiry, now);
                granted(entry)
            }
            Err(e)
                if e.reason == jwt::Reason::UnknownKid
                    && remote.is_some()
                    && self.keys.may_wait(v.base)
                    && self.keys.may_refetch(v.base, config.refetch_interval_ms) =>
            {
                self.needs.borrow_mut().push(v.base);
                Outcome::Denied(Reason::Jwt(e.reason), e.to_string())
            }
            Err(e) => Outcome::Denied(Reason::Jwt(e.reason), e.to_string()),
        }
    }

    /// No usable key set: wait for one, or answer 503.
    fn unavailable(&self, config: &JwtConfig, base: usize) -> Outcome {
        if self.keys.may_wait(base) {
            self.needs.borrow_mut().push(base);
        }
        let name = config.names.get(base).map_or("", String::as_str);
        Outcome::Denied(
            Reason::Unavailable,
            format!("the key set of JWT provider {name:?} cannot be fetched"),
        )
    }
}

/// The identity and upstream headers of a verified token.
fn entry(v: &Variant, verified: &Verified) -> Entry {
    let p = &v.provider;
    let mut headers: Vec<(String, String)> = p
        .claim_to_headers
        .iter()
        .filter_map(|c| {
            let value = jwt::claim_header(&verified.claims, &c.claim_name.0)?;
            Some((c.header_name.as_str().to_string(), value))
        })
        .collect();
    if let Some(h) = &p.forward_payload_header {
        let mut payload = verified.payload_segment.clone();
        if p.pad_forward_payload_header {
            while !payload.len().is_multiple_of(4) {
                payload.push('=');
            }
        }
        headers.push((h.as_str().to_string(), payload));
    }
    Entry {
        identity: verified.identity.clone(),
        headers,
    }
}
