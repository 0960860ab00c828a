//! Proxy-wasm shared data as a [`Store`].

use crate::store::Store;
use proxy_wasm::hostcalls;

/// Proxy-wasm shared data: one store for every worker's VM of this vm_id.
pub struct HostStore;

impl Store for HostStore {
    fn get(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
        hostcalls::get_shared_data(key).unwrap_or((None, None))
    }

    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> bool {
        hostcalls::set_shared_data(key, Some(value), cas).is_ok()
    }
}
