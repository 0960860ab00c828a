//! Keeping `istio/*.yaml` in step with the images: each WasmPlugin's
//! `url: oci://<registry>/.../<module>:<tag>` gets the current tag and the
//! `sha256` line after it the compat image's manifest digest.
//!
//! For `oci://` URLs Istio compares `sha256` with the digest of the image
//! manifest it pulled (`pkg/wasm/cache.go`: the checksum is what
//! `ImageFetcher.PrepareFetch` returns, `img.Digest()`), not with the module;
//! for `http(s)://` URLs it is the module's own sha256.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

/// Rewrites every `istio/*.yaml`; `digests` maps a module name to its compat
/// manifest digest (`sha256:<hex>`). Returns the files changed.
/// `modules` maps a module name to the module's own sha256, for the Envoy
/// files in `extra` that fetch a module over HTTP (`remote.sha256`).
pub fn update(
    dir: &Path,
    extra: &[std::path::PathBuf],
    tag: &str,
    digests: &BTreeMap<String, String>,
    modules: &BTreeMap<String, String>,
) -> Result<Vec<String>> {
    let mut changed = Vec::new();
    let mut entries: Vec<_> = fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    entries.sort();
    entries.extend(extra.iter().filter(|p| p.exists()).cloned());
    for path in entries {
        let text = fs::read_to_string(&path)?;
        let new = rewrite(&text, tag, digests, modules);
        if new != text {
            fs::write(&path, &new).with_context(|| format!("writing {}", path.display()))?;
            changed.push(path.display().to_string());
        }
    }
    Ok(changed)
}

/// The module a `url: oci://...` line names, and the text before its tag.
fn oci_url(line: &str) -> Option<(&str, &str)> {
    let url = line.trim_start().strip_prefix("url: oci://")?;
    let (repo, _tag) = url.rsplit_once(':')?;
    let module = repo.rsplit('/').next()?;
    let prefix_len = line.len() - url.len() + repo.len();
    Some((module, line.get(..prefix_len)?))
}

/// The module an Envoy `http_uri: { uri: http://.../<module>.wasm, ... }` names.
fn http_module(line: &str) -> Option<&str> {
    let uri = line.rsplit_once("uri: ")?.1;
    let uri = uri.split([',', ' ', '}']).next()?;
    uri.rsplit('/').next()?.strip_suffix(".wasm")
}

/// Also rewrites the `sha256` after an Envoy remote `http_uri` naming
/// `<module>.wasm` to `modules[<module>]` (the module's own sha256).
pub fn rewrite(
    text: &str,
    tag: &str,
    digests: &BTreeMap<String, String>,
    modules: &BTreeMap<String, String>,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut current: Option<&String> = None;
    for line in text.split_inclusive('\n') {
        let (body, nl) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
        if body.starts_with("---") {
            current = None;
        }
        if let Some((module, prefix)) = oci_url(body) {
            if let Some(digest) = digests.get(module) {
                current = Some(digest);
                out.push_str(&format!("{prefix}:{tag}{nl}"));
                continue;
            }
        }
        if let Some(sha) = http_module(body).and_then(|m| modules.get(m)) {
            current = Some(sha);
        }
        let trimmed = body.trim_start();
        if let (Some(digest), Some(_)) = (current, trimmed.strip_prefix("sha256:")) {
            let indent = &body[..body.len() - trimmed.len()];
            let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
            // Quoted: a hex digest can read as a YAML number (all digits, `1e5...`).
            out.push_str(&format!("{indent}sha256: \"{hex}\"{nl}"));
            current = None;
            continue;
        }
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_tag_and_sha256_of_the_named_module_only() {
        let text = "spec:\n  url: oci://ghcr.io/x/tollgate/headers:0.0.1\n  # why\n  sha256: old\n---\n  url: oci://ghcr.io/x/other:1\n  sha256: keep\n";
        let digests = BTreeMap::from([("headers".to_string(), "sha256:abc".to_string())]);
        let out = rewrite(text, "0.2.0", &digests, &BTreeMap::new());
        assert_eq!(out, "spec:\n  url: oci://ghcr.io/x/tollgate/headers:0.2.0\n  # why\n  sha256: \"abc\"\n---\n  url: oci://ghcr.io/x/other:1\n  sha256: keep\n");
    }

    #[test]
    fn rewrites_an_envoy_remote_sha256() {
        let text = "  http_uri: { uri: http://127.0.0.1:18081/headers.wasm, cluster: m, timeout: 10s }\n  sha256: \"old\"\n";
        let modules = BTreeMap::from([("headers".to_string(), "sha256:abc".to_string())]);
        let out = rewrite(text, "1", &BTreeMap::new(), &modules);
        assert!(out.ends_with("  sha256: \"abc\"\n"), "{out}");
    }
}
