//! Choosing the limit for a request and building its bucket key from request
//! values.
//!
//! The first descriptor whose `match` holds and whose key values are all
//! present takes the request; a descriptor missing a value (header absent)
//! is skipped. Else the top-level `token_bucket`, else the request is not
//! limited.
//!
//! A path that cannot be normalized (`/login/%ff`, `/login%00`) must not
//! escape a limit while the upstream may still serve it: here it satisfies
//! every `path` condition (the first such descriptor takes it), and a
//! `path` key entry reads [`UNNORMALIZABLE_PATH`] for it, one bucket for
//! every such spelling.

use crate::bucket::Limits;
use crate::config::{Config, KeyEntry};
use crate::table::fnv1a;
use tollgate_common::{Request, RequestSource};

/// Values longer than this are kept in bucket keys as a 64-bit FNV-1a hash
/// (bounding shared-data memory; two values colliding would share a bucket).
pub const MAX_KEY_VALUE_LEN: usize = 64;

/// The `path` key value of a request whose path cannot be normalized (no
/// normalized path has this spelling: they all start with `/`).
pub const UNNORMALIZABLE_PATH: &str = "(unnormalizable)";

/// The limit a request falls under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected<'a> {
    /// Index of the descriptor; `None` for the top-level `token_bucket`.
    pub descriptor: Option<usize>,
    /// The policy name (`default` for the top-level bucket).
    pub name: &'a str,
    /// Distinct per bucket within this limit ("" when it has one bucket).
    pub key: String,
    pub limits: Limits,
    /// The (descriptor key, value) pairs, for the rate-limit service.
    pub entries: Vec<(&'a str, String)>,
}

pub fn select<'a, S: RequestSource>(config: &'a Config, req: &Request<S>) -> Option<Selected<'a>> {
    for (i, d) in config.descriptors.iter().enumerate() {
        let Some(limits) = d.limits else { continue };
        if !d.matcher.matches_unnormalizable_path(req) {
            continue;
        }
        let Some(entries) = d
            .key
            .iter()
            .map(|e| entry(e, config, req))
            .collect::<Option<Vec<_>>>()
        else {
            continue;
        };
        return Some(Selected {
            descriptor: Some(i),
            name: &d.name,
            key: bucket_key(&entries),
            limits,
            entries,
        });
    }
    config.token_bucket.map(|limits| Selected {
        descriptor: None,
        name: "default",
        key: String::new(),
        limits,
        entries: vec![],
    })
}

/// Global mode: the descriptors for the rate-limit service, in
/// configuration order: every descriptor without a `token_bucket` (those
/// with one are local limits) whose `match` holds and whose key values are
/// all present. The service sees them by position (`descriptors[0]`, ...),
/// so a descriptor that does not apply shifts the ones after it.
pub fn service_descriptors<'a, S: RequestSource>(
    config: &'a Config,
    req: &Request<S>,
) -> Vec<Vec<(&'a str, String)>> {
    config
        .descriptors
        .iter()
        .filter(|d| {
            d.limits.is_none() && !d.key.is_empty() && d.matcher.matches_unnormalizable_path(req)
        })
        .filter_map(|d| {
            d.key
                .iter()
                .map(|e| entry(e, config, req))
                .collect::<Option<Vec<_>>>()
        })
        .collect()
}

/// One key entry's (descriptor key, value), `None` when the request lacks it.
fn entry<'a, S: RequestSource>(
    e: &'a KeyEntry,
    config: &'a Config,
    req: &Request<S>,
) -> Option<(&'a str, String)> {
    match e {
        KeyEntry::RequestHeaders {
            header_name,
            descriptor_key,
        } => {
            let key = descriptor_key.as_deref().unwrap_or(header_name.as_str());
            Some((key, req.header(header_name.as_str())?))
        }
        KeyEntry::RemoteAddress {} => Some(("remote_address", req.client_ip()?)),
        KeyEntry::Path { segments } => {
            let Some(path) = req.normalized_path() else {
                req.header(":path")?;
                return Some(("path", UNNORMALIZABLE_PATH.to_string()));
            };
            Some((
                "path",
                match segments {
                    Some(n) => path_prefix(path, *n).to_string(),
                    None => path.to_string(),
                },
            ))
        }
        KeyEntry::Method {} => Some(("method", req.header(":method")?)),
        KeyEntry::Identity {} => Some(("identity", req.header(config.identity_header.as_str())?)),
        KeyEntry::GenericKey {
            descriptor_value,
            descriptor_key,
        } => Some((
            descriptor_key.as_deref().unwrap_or("generic_key"),
            descriptor_value.clone(),
        )),
    }
}

/// The bucket key: each value length-prefixed (`3:abc`), or `#` and its
/// hash when longer than [`MAX_KEY_VALUE_LEN`], so no two value lists share
/// a key by concatenation.
pub fn bucket_key(entries: &[(&str, String)]) -> String {
    let mut key = String::new();
    for (_, value) in entries {
        if value.len() > MAX_KEY_VALUE_LEN {
            key.push_str(&format!("#{:016x}", fnv1a(value.as_bytes())));
        } else {
            key.push_str(&format!("{}:{value}", value.len()));
        }
    }
    key
}

/// The first `n` segments of a normalized path: `/v1/users/42`, 2 →
/// `/v1/users`; `n` = 0 gives `/`.
pub fn path_prefix(path: &str, n: u32) -> &str {
    if n == 0 {
        return "/";
    }
    let mut seen = 0u32;
    for (i, b) in path.bytes().enumerate() {
        if b == b'/' && i > 0 {
            seen += 1;
            if seen >= n {
                return path.get(..i).unwrap_or(path);
            }
        }
    }
    path
}

#[cfg(test)]
mod tests;
