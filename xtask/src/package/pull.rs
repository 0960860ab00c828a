//! The modules as a mesh gets them, for the Istio-shaped test pass: each
//! built module packaged as the OCI images `cargo xtask package` makes,
//! pushed to a local registry (Debian's docker-registry), pulled back with
//! skopeo, and the module taken out of the pulled wasm artifact, as
//! istio-agent does before it hands Envoy a local file.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use super::{oci, push};
use crate::{apt, proc};

/// Debian's docker-registry on 127.0.0.1, storage under `dir`; stopped on drop.
struct Registry {
    child: Child,
    port: u16,
}

impl Registry {
    fn start(dir: &Path) -> Result<Registry> {
        let bin = apt::ensure(
            "docker-registry",
            "docker-registry",
            "the Istio-shaped pass pulls the modules from a registry",
        )?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let config = dir.join("registry.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                dir.join("data").display()
            ),
        )?;
        let child = Command::new(bin)
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("registry.log"))?)
            .spawn()
            .context("starting docker-registry")?;
        let mut registry = Registry { child, port };
        let since = Instant::now();
        while !answers(port) {
            if let Some(status) = registry.child.try_wait()? {
                bail!(
                    "docker-registry exited ({status}): see {}",
                    dir.join("registry.log").display()
                );
            }
            if since.elapsed() > Duration::from_secs(15) {
                bail!("docker-registry did not answer on 127.0.0.1:{port} within 15 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(registry)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET /v2/` answers 200.
fn answers(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /v2/ HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.ends_with(b" 200")
}

/// Every `<name>.wasm` of `dist` through the registry into `out`; returns
/// `out`. Fails unless each pulled module is byte for byte the built one.
pub fn modules_through_registry(
    dist: &Path,
    names: &[String],
    work: &Path,
    out: &Path,
) -> Result<PathBuf> {
    let skopeo = push::skopeo()?;
    std::fs::create_dir_all(out)?;
    let registry = Registry::start(work)?;
    let started = Instant::now();
    for name in names {
        let module = std::fs::read(dist.join(format!("{name}.wasm")))
            .with_context(|| format!("dist/{name}.wasm (cargo xtask build)"))?;
        let layout = work.join("push").join(name);
        oci::write_layout(&layout, &module, "test", "test-artifact")?;
        let dest = format!("127.0.0.1:{}/tollgate/{name}", registry.port);
        push::copy(&skopeo, &layout, "test-artifact", &dest, true)?;
        let pulled = work.join("pull").join(name);
        std::fs::create_dir_all(work.join("pull"))?;
        let mut cmd = Command::new(&skopeo);
        cmd.args([
            "--insecure-policy",
            "copy",
            "--quiet",
            "--src-tls-verify=false",
        ])
        .arg(format!("docker://{dest}:test-artifact"))
        .arg(format!("oci:{}:pulled", pulled.display()));
        proc::output(&mut cmd).with_context(|| format!("pulling {dest}"))?;
        let bytes = wasm_layer(&pulled)?;
        if bytes != module {
            bail!("{name}: the module pulled from {dest} is not dist/{name}.wasm");
        }
        std::fs::write(out.join(format!("{name}.wasm")), bytes)?;
    }
    eprintln!(
        "{} modules pushed to and pulled from docker-registry on 127.0.0.1:{} in {:.1} s",
        names.len(),
        registry.port,
        started.elapsed().as_secs_f64()
    );
    Ok(out.to_path_buf())
}

/// The wasm layer of the one image in an OCI layout.
fn wasm_layer(layout: &Path) -> Result<Vec<u8>> {
    let blob = |digest: &Value| -> Result<Vec<u8>> {
        let hex = digest
            .as_str()
            .and_then(|d| d.strip_prefix("sha256:"))
            .context("a sha256 digest")?;
        Ok(std::fs::read(layout.join("blobs/sha256").join(hex))?)
    };
    let index: Value = serde_json::from_slice(&std::fs::read(layout.join("index.json"))?)?;
    let manifest: Value = serde_json::from_slice(&blob(&index["manifests"][0]["digest"])?)?;
    let layer = manifest["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| l["mediaType"] == oci::WASM_LAYER)
        .with_context(|| format!("no {} layer in {}", oci::WASM_LAYER, layout.display()))?;
    blob(&layer["digest"])
}
