//! Memory of a running Envoy and of its wasm VMs, for the soak test.
//!
//! Envoy 1.40 has no stat for a VM's memory: under `wasm.` it reports only
//! VM counts (`wasm.wasm_vm_count`, `wasm.envoy.wasm.runtime.v8.active`,
//! `.created`) and remote-load and reload counters. So the VMs' linear
//! memory is read from `/proc/<pid>/smaps`: V8 reserves 8 GiB of address
//! space per wasm memory (a guard region, so bounds checks are page faults)
//! and makes its first `memory.size` pages read-write. Each VM's linear
//! memory is therefore a read-write mapping directly followed by a
//! no-access mapping of at least 4 GiB; nothing else in Envoy maps that much.
//! Linear memory only grows (`memory.grow`; wasm cannot give pages back), so
//! its size is the high-water mark of what the module's allocator needed.
//!
//! Shared data (the rate-limit buckets, the auth caches) lives in Envoy's own
//! heap, which `server.memory_allocated` (tcmalloc's allocated bytes) counts.

use crate::envoy::Envoy;

/// Mappings at least this large and without access are V8 wasm reservations.
const GUARD_MIN: u64 = 4 << 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// wasm memories found in smaps.
    pub vms: u64,
    /// Their linear memory, summed (bytes).
    pub linear: u64,
    /// Of which resident (bytes).
    pub linear_rss: u64,
    /// Envoy's heap, `server.memory_allocated` (bytes).
    pub heap: u64,
    /// The process's resident set (bytes).
    pub rss: u64,
    /// `wasm.envoy.wasm.runtime.v8.active`.
    pub vms_active: u64,
}

struct Mapping {
    start: u64,
    end: u64,
    perms: String,
    rss: u64,
}

fn mappings(pid: u32) -> Vec<Mapping> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/smaps: {e}"));
    let mut maps: Vec<Mapping> = Vec::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let (Some(first), Some(second)) = (words.next(), words.next()) else {
            continue;
        };
        if let Some((s, e)) = first.split_once('-') {
            if let (Ok(start), Ok(end)) = (u64::from_str_radix(s, 16), u64::from_str_radix(e, 16)) {
                maps.push(Mapping {
                    start,
                    end,
                    perms: second.to_string(),
                    rss: 0,
                });
                continue;
            }
        }
        if first == "Rss:" {
            if let (Some(m), Ok(kb)) = (maps.last_mut(), second.parse::<u64>()) {
                m.rss = kb * 1024;
            }
        }
    }
    maps
}

/// One sample of Envoy's memory.
pub fn sample(envoy: &Envoy) -> Memory {
    let maps = mappings(envoy.pid());
    let (mut vms, mut linear, mut linear_rss) = (0, 0, 0);
    for pair in maps.windows(2) {
        let (mem, guard) = (&pair[0], &pair[1]);
        if guard.perms.starts_with("---")
            && guard.end - guard.start >= GUARD_MIN
            && mem.end == guard.start
            && mem.perms.starts_with("rw")
        {
            vms += 1;
            linear += mem.end - mem.start;
            linear_rss += mem.rss;
        }
    }
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", envoy.pid())).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024);
    Memory {
        vms,
        linear,
        linear_rss,
        heap: envoy.counter("server.memory_allocated"),
        rss,
        vms_active: envoy.counter("wasm.envoy.wasm.runtime.v8.active"),
    }
}

impl std::fmt::Display for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mib = |b: u64| b as f64 / f64::from(1 << 20);
        write!(
            f,
            "{} wasm memories ({} VMs active): linear {:.2} MiB ({:.2} resident); \
             Envoy heap {:.2} MiB; RSS {:.1} MiB",
            self.vms,
            self.vms_active,
            mib(self.linear),
            mib(self.linear_rss),
            mib(self.heap),
            mib(self.rss)
        )
    }
}
