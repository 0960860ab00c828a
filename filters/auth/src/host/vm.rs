//! What one VM (one worker) keeps besides shared data: the parsed copy of
//! each remote key set, and the fetches in flight with the requests waiting
//! for them. Root and HTTP contexts of the VM share it through an `Rc`.

use crate::ext_authz::CheckRequest;
use crate::host::stats::Stats;
use crate::jwt::jwks_store;
use crate::jwt::leaf::KeySets;
use crate::jwt::{Jwks, JwksSource, RemoteJwks};
use crate::policy::config::Config;
use crate::policy::requirement::Checked;
use std::cell::RefCell;
use std::rc::Rc;
use tollgate_common::header::HeaderList;
use tollgate_common::host::{now_ms, HostStore};

/// One remote provider's state in this VM.
#[derive(Default)]
pub(crate) struct Slot {
    /// The parsed set and the fetch time it was stored with.
    pub parsed: Option<(u64, Rc<Jwks>)>,
    /// The token of this VM's fetch, if one is under way.
    pub in_flight: Option<u32>,
    /// Contexts paused until the fetch ends.
    pub waiters: Vec<u32>,
    /// When this VM last failed to fetch (requests then do not wait).
    pub failed_at: Option<u64>,
}

/// A fetch under way: its provider and the context whose callback gets it.
pub(crate) struct Call {
    pub token: u32,
    pub base: usize,
    pub owner: u32,
}

/// A check under way: the request `ctx` it decides, the context `owner`
/// whose callback gets the answer, the method results already had, and the
/// check itself (sent again by the root if `owner` ends first).
pub(crate) struct AuthzCall {
    pub token: u32,
    pub ctx: u32,
    pub owner: u32,
    pub checked: Checked,
    pub check: CheckRequest,
}

#[derive(Default)]
pub(crate) struct Vm {
    pub slots: Vec<Slot>,
    pub calls: Vec<Call>,
    /// Checks under way, and checks whose owner ended before the answer.
    pub authz: Vec<AuthzCall>,
    pub orphans: Vec<AuthzCall>,
    /// The service's `allowed_client_headers_on_success`, per context, for
    /// its response.
    pub on_success: Vec<(u32, HeaderList)>,
    /// How often each paused context was woken: a request waits at most
    /// once per remote provider (and once more for an unknown `kid`).
    pub rounds: Vec<(u32, usize)>,
}

impl Vm {
    pub fn rounds(&self, ctx: u32) -> usize {
        self.rounds.iter().find(|r| r.0 == ctx).map_or(0, |r| r.1)
    }

    /// Whether request `ctx` is paused for a key set or the service.
    pub fn paused(&self, ctx: u32) -> bool {
        self.slots.iter().any(|s| s.waiters.contains(&ctx))
            || self.authz.iter().chain(&self.orphans).any(|c| c.ctx == ctx)
    }

    pub fn add_round(&mut self, ctx: u32) {
        match self.rounds.iter_mut().find(|r| r.0 == ctx) {
            Some(r) => r.1 += 1,
            None => self.rounds.push((ctx, 1)),
        }
    }

    /// Forgets a context that ended: its waits, rounds and the fetches whose
    /// answers would have gone to it (the root's tick takes those over).
    pub fn forget(&mut self, ctx: u32) {
        self.rounds.retain(|r| r.0 != ctx);
        self.on_success.retain(|e| e.0 != ctx);
        self.orphans.retain(|c| c.ctx != ctx);
        let (lost, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.authz)
            .into_iter()
            .filter(|c| c.ctx != ctx)
            .partition(|c| c.owner == ctx);
        self.authz = kept;
        self.orphans.extend(lost);
        for s in &mut self.slots {
            s.waiters.retain(|w| *w != ctx);
        }
        let slots = &mut self.slots;
        self.calls.retain(|c| {
            let owned = c.owner == ctx;
            if owned {
                if let Some(s) = slots.get_mut(c.base) {
                    s.in_flight = None;
                }
            }
            !owned
        });
    }
}

/// Everything a context needs; cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct Plugin {
    pub config: Rc<Config>,
    pub stats: Stats,
    pub vm: Rc<RefCell<Vm>>,
}

impl Plugin {
    pub fn new(config: Config, stats: Stats) -> Plugin {
        let n = config.jwt.as_ref().map_or(0, |j| j.names.len());
        let vm = Vm {
            slots: (0..n).map(|_| Slot::default()).collect(),
            ..Vm::default()
        };
        Plugin {
            config: Rc::new(config),
            stats,
            vm: Rc::new(RefCell::new(vm)),
        }
    }

    /// Provider `base`'s remote JWKS settings, if it has them.
    pub fn remote(&self, base: usize) -> Option<&RemoteJwks> {
        let j = self.config.jwt.as_ref()?;
        match &j.variants.get(base)?.provider.jwks {
            JwksSource::Remote(r) => Some(r),
            _ => None,
        }
    }

    /// Indices of the providers with a remote JWKS.
    pub fn remotes(&self) -> Vec<usize> {
        let n = self.config.jwt.as_ref().map_or(0, |j| j.names.len());
        (0..n).filter(|&b| self.remote(b).is_some()).collect()
    }

    /// The shared-data key of provider `base`'s remote set ("" without one).
    pub fn key(&self, base: usize) -> &str {
        self.remote(base).map_or("", |r| r.store_key.as_str())
    }

    pub fn lease_key(&self, base: usize) -> &str {
        self.remote(base).map_or("", |r| r.lease_key.as_str())
    }
}

/// The glue's [`KeySets`]: shared data, parsed once per VM and fetch.
pub(crate) struct HostKeys<'a> {
    pub plugin: &'a Plugin,
    /// False when the request was already woken once for this fetch.
    pub wait: bool,
}

impl KeySets for HostKeys<'_> {
    fn get(&self, base: usize, remote: &RemoteJwks) -> Option<Rc<Jwks>> {
        let now = now_ms();
        let (at, json) = jwks_store::read(&HostStore, self.plugin.key(base))?;
        let duration = u64::try_from(remote.cache_duration.as_millis()).unwrap_or(u64::MAX);
        if !jwks_store::usable(at, now, duration) {
            return None;
        }
        let mut vm = self.plugin.vm.borrow_mut();
        let slot = vm.slots.get_mut(base)?;
        match &slot.parsed {
            Some((parsed_at, jwks)) if *parsed_at == at => Some(jwks.clone()),
            _ => {
                let jwks = Rc::new(Jwks::parse(&json).ok()?.0);
                slot.parsed = Some((at, jwks.clone()));
                Some(jwks)
            }
        }
    }

    fn may_wait(&self, base: usize) -> bool {
        let now = now_ms();
        let vm = self.plugin.vm.borrow();
        let failed = vm
            .slots
            .get(base)
            .and_then(|s| s.failed_at)
            .is_some_and(|f| now < f.saturating_add(jwks_store::FAILURE_BACKOFF_MS));
        self.wait && !failed
    }

    fn may_refetch(&self, base: usize, refetch_interval_ms: u64) -> bool {
        jwks_store::fetched_at(&HostStore, self.plugin.key(base))
            .is_some_and(|at| now_ms() >= at.saturating_add(refetch_interval_ms))
    }
}
