//! Shared data as the host offers it: one key-value map for every worker's
//! VM of one `vm_id`, with a version per key for compare-and-swap. The glue
//! implements it over proxy-wasm (`host::HostStore`), tests over a map
//! (`testing::MemoryStore`).

pub trait Store {
    /// The value and its CAS version.
    fn get(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>);
    /// Writes `value` if the key's version is still `cas` (`None`: write
    /// unconditionally). False on a version mismatch or a host error.
    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> bool;

    /// The value and its version, `None` when the key does not exist. An
    /// empty value may come back as no bytes; the version says it exists.
    fn entry(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        match self.get(key) {
            (data, Some(cas)) => Some((data.unwrap_or_default(), cas)),
            _ => None,
        }
    }
}
