//! Pushing an OCI layout to a registry with `skopeo` (Debian's package; no
//! Docker daemon needed), digests preserved.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;

use crate::{apt, proc};

/// skopeo, installed with apt-get when missing and possible.
pub fn skopeo() -> Result<PathBuf> {
    apt::ensure("skopeo", "skopeo", "it pushes the images")
}

/// A registry on this machine speaks plain HTTP (Debian's `docker-registry`,
/// `registry:2`); anything else must be HTTPS with a valid certificate.
pub fn is_local(registry_ref: &str) -> bool {
    let host = registry_ref.split('/').next().unwrap_or_default();
    let host = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

/// `skopeo copy oci:<layout>:<tag> docker://<dest>:<tag>`.
pub fn copy(skopeo: &Path, layout: &Path, tag: &str, dest: &str, insecure: bool) -> Result<()> {
    let mut cmd = Command::new(skopeo);
    // Without a system or user policy skopeo refuses every copy; we only
    // copy our own layout, so accept it then.
    let has_policy = Path::new("/etc/containers/policy.json").exists()
        || std::env::var_os("HOME").is_some_and(|h| {
            Path::new(&h)
                .join(".config/containers/policy.json")
                .exists()
        });
    if !has_policy {
        cmd.arg("--insecure-policy");
    }
    cmd.args(["copy", "--quiet", "--preserve-digests"]);
    if insecure || is_local(dest) {
        cmd.arg("--dest-tls-verify=false");
    }
    cmd.arg(format!("oci:{}:{tag}", layout.display()))
        .arg(format!("docker://{dest}:{tag}"));
    proc::output(&mut cmd)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn local_registries() {
        assert!(super::is_local("127.0.0.1:5000/tollgate"));
        assert!(super::is_local("localhost/x"));
        assert!(!super::is_local("ghcr.io/tollgate-project/tollgate"));
        assert!(!super::is_local("localhost.example.com:443/x"));
    }
}
