//! Test doubles for the host, shared by every filter's native tests: a
//! request source over a list of headers, a header map and shared data.
//! Not used by the modules themselves (the linker drops it from the wasm).

use crate::header::{HeaderList, HeaderTarget};
use crate::request::{Request, RequestSource};
use crate::store::Store;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The instant fake requests happen at: 2026-11-25T08:30:00Z.
pub const FAKE_NOW_SECS: u64 = 1_795_595_400;

/// A [`RequestSource`] over fixed headers, client address and time.
#[derive(Debug, Clone)]
pub struct FakeSource {
    pub headers: HeaderList,
    pub client_address: Option<String>,
    pub now: SystemTime,
}

impl FakeSource {
    pub fn new(headers: &[(&str, &str)]) -> FakeSource {
        FakeSource {
            headers: HeaderList::of(headers),
            client_address: Some("10.1.2.3:4567".to_string()),
            now: UNIX_EPOCH + Duration::from_secs(FAKE_NOW_SECS),
        }
    }

    pub fn client(mut self, address: Option<&str>) -> FakeSource {
        self.client_address = address.map(str::to_string);
        self
    }

    pub fn request(self) -> Request<FakeSource> {
        Request::new(self)
    }
}

/// A request with these headers (pseudo-headers included), from
/// `10.1.2.3:4567` at [`FAKE_NOW_SECS`].
pub fn request(headers: &[(&str, &str)]) -> Request<FakeSource> {
    FakeSource::new(headers).request()
}

impl RequestSource for FakeSource {
    fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name)
    }

    fn client_address(&self) -> Option<String> {
        self.client_address.clone()
    }

    fn now(&self) -> SystemTime {
        self.now
    }
}

/// Shared data over a map, versioned as Envoy does: one counter for every
/// key, never 0; a CAS write to a missing key creates it.
#[derive(Debug, Default)]
pub struct MemoryStore {
    pub data: RefCell<HashMap<String, (Vec<u8>, u32)>>,
    /// The last version given out: it counts the writes.
    pub next: Cell<u32>,
    /// Before each of the next N CAS writes, another worker writes first
    /// (the same value, a new version), so the write fails.
    pub conflicts: Cell<u32>,
}

impl MemoryStore {
    fn version(&self) -> u32 {
        self.next.set(self.next.get() + 1);
        self.next.get()
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
        match self.data.borrow().get(key) {
            Some((v, cas)) => (Some(v.clone()), Some(*cas)),
            None => (None, None),
        }
    }

    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> bool {
        let mut data = self.data.borrow_mut();
        if self.conflicts.get() > 0 && cas.is_some() {
            self.conflicts.set(self.conflicts.get() - 1);
            let v = data.get(key).map(|(v, _)| v.clone()).unwrap_or_default();
            data.insert(key.to_string(), (v, self.version()));
        }
        if let (Some(cas), Some((_, have))) = (cas, data.get(key)) {
            if cas != *have {
                return false;
            }
        }
        data.insert(key.to_string(), (value.to_vec(), self.version()));
        true
    }
}
