//! htpasswd text (every scheme's parser) and `Authorization: Basic` parsing;
//! each parsed entry is checked against a password, except slow ones
//! (bcrypt above cost 4, SHA crypt above 5000 rounds) that would only slow
//! the fuzzer down.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tollgate_auth::basic::{self, htpasswd};

fn cheap(stored: &str) -> bool {
    if stored.starts_with("$2") {
        return stored
            .get(4..6)
            .and_then(|c| c.parse::<u32>().ok())
            .is_some_and(|c| c <= 4);
    }
    if stored.starts_with("$5$") || stored.starts_with("$6$") {
        return match stored.get(3..).and_then(|r| r.strip_prefix("rounds=")) {
            Some(r) => r
                .split('$')
                .next()
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| n <= 5000),
            None => true,
        };
    }
    true
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = basic::presented(Some(text));
    let _ = tollgate_common::request::without_port(text);
    if let Ok(users) = htpasswd::parse_users(text) {
        for (user, entry) in &users {
            let stored = entry.line.split_once(':').map_or("", |(_, h)| h.trim());
            if cheap(stored) {
                let _ = entry.hash.verify(user.as_bytes());
                let _ = entry.hash.verify(b"secret");
            }
        }
    }
    for line in text.lines() {
        if cheap(line) {
            if let Ok(h) = htpasswd::Hash::parse(line) {
                let _ = (h.verify(b""), h.is_slow());
            }
        }
    }
});
