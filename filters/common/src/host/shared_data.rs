//! Proxy-wasm shared data as a [`Store`].

use super::api::{current, Host};
use crate::store::Store;

/// Proxy-wasm shared data: one store for every worker's VM of this vm_id.
pub struct HostStore;

impl Store for HostStore {
    fn get(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
        current().get_shared_data(key)
    }

    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> bool {
        current().set_shared_data(key, value, cas)
    }
}
