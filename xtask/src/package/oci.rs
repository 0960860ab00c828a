//! OCI image layouts (<https://github.com/opencontainers/image-spec/blob/main/image-layout.md>)
//! holding a wasm module in the two forms Istio's image fetcher accepts
//! (istio `pkg/wasm/imagefetcher.go`):
//!
//! - **compat** (solo-io's `spec-compat.md`): one `tar+gzip` layer with
//!   `plugin.wasm` at its root, a plain image config and the manifest
//!   annotation `module.wasm.image/variant: compat`. Istio tries this first;
//!   docker, crane and every registry handle it like any image.
//! - **wasm artifact** (`spec.md`, "oci" variant): config
//!   `application/vnd.module.wasm.config.v1+json` and the raw module as a
//!   `application/vnd.module.wasm.content.layer.v1+wasm` layer. Istio's
//!   fetcher requires exactly two layers for this form and picks the wasm one
//!   by media type, so the runtime config is also the first layer, as in the
//!   spec's example.
//!
//! Everything is byte-for-byte reproducible (fixed tar header fields, gzip
//! without timestamp, JSON with sorted keys): a manifest digest changes only
//! when the module does.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use flate2::{Compression, GzBuilder};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const IMAGE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const WASM_CONFIG: &str = "application/vnd.module.wasm.config.v1+json";
pub const WASM_LAYER: &str = "application/vnd.module.wasm.content.layer.v1+wasm";
pub const VARIANT: &str = "module.wasm.image/variant";
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
const TITLE: &str = "org.opencontainers.image.title";

/// The file name Istio's fetcher looks for in a compat image's layer.
pub const PLUGIN_FILE: &str = "plugin.wasm";

/// What one module's layout holds.
pub struct Images {
    /// `sha256:<hex>` of the module itself (what Envoy's `remote.sha256` checks).
    pub module: String,
    /// Manifest digests, `sha256:<hex>`; the compat one is what a WasmPlugin's
    /// `sha256` checks for `url: oci://...:<tag>`.
    pub compat: String,
    pub artifact: String,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A blob written to `blobs/sha256/`, and its descriptor.
struct Blob {
    digest: String,
    size: usize,
}

impl Blob {
    fn descriptor(&self, media_type: &str) -> Value {
        json!({"mediaType": media_type, "digest": self.digest, "size": self.size})
    }
}

fn write_blob(layout: &Path, bytes: &[u8]) -> Result<Blob> {
    let hex = sha256_hex(bytes);
    let path = layout.join("blobs/sha256").join(&hex);
    fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(Blob {
        digest: format!("sha256:{hex}"),
        size: bytes.len(),
    })
}

fn json_bytes(value: &Value) -> Result<Vec<u8>> {
    // serde_json's default map is sorted: the bytes are stable.
    Ok(serde_json::to_vec(value)?)
}

/// Writes `<layout>/` (replacing what was there) with the compat image tagged
/// `tag` and the wasm artifact tagged `artifact_tag`.
pub fn write_layout(layout: &Path, module: &[u8], tag: &str, artifact_tag: &str) -> Result<Images> {
    if layout.exists() {
        fs::remove_dir_all(layout).with_context(|| format!("removing {}", layout.display()))?;
    }
    fs::create_dir_all(layout.join("blobs/sha256"))
        .with_context(|| format!("creating {}", layout.display()))?;
    fs::write(
        layout.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )?;

    // Compat: a plain single-layer image, FROM scratch with plugin.wasm.
    let tar = tar_one_file(PLUGIN_FILE, module)?;
    let layer = write_blob(layout, &gzip(&tar)?)?;
    let config = json!({
        "architecture": "wasm",
        "os": "wasip1",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", sha256_hex(&tar))]}
    });
    let config = write_blob(layout, &json_bytes(&config)?)?;
    let compat = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": config.descriptor(IMAGE_CONFIG),
        "layers": [layer.descriptor(TAR_GZIP)],
        "annotations": {VARIANT: "compat"}
    });
    let compat = write_blob(layout, &json_bytes(&compat)?)?;

    // Wasm artifact: runtime config + raw module.
    let runtime =
        json!({"type": "envoy_proxy", "abiVersions": ["proxy_abi_version_0_2_1"], "config": {}});
    let runtime = write_blob(layout, &json_bytes(&runtime)?)?;
    let wasm = write_blob(layout, module)?;
    let mut runtime_layer = runtime.descriptor(WASM_CONFIG);
    runtime_layer["annotations"] = json!({TITLE: "runtime-config.json"});
    let mut wasm_layer = wasm.descriptor(WASM_LAYER);
    wasm_layer["annotations"] = json!({TITLE: PLUGIN_FILE});
    let artifact = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": runtime.descriptor(WASM_CONFIG),
        "layers": [runtime_layer, wasm_layer]
    });
    let artifact = write_blob(layout, &json_bytes(&artifact)?)?;

    let tagged = |blob: &Blob, tag: &str| {
        let mut d = blob.descriptor(MANIFEST);
        d["annotations"] = json!({REF_NAME: tag});
        d
    };
    let index = json!({
        "schemaVersion": 2,
        "mediaType": INDEX,
        "manifests": [tagged(&compat, tag), tagged(&artifact, artifact_tag)]
    });
    fs::write(layout.join("index.json"), json_bytes(&index)?)?;
    Ok(Images {
        module: wasm.digest,
        compat: compat.digest,
        artifact: artifact.digest,
    })
}

/// gzip with no name and no timestamp (RFC 1952 MTIME 0, OS "unknown").
fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut gz = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::best());
    gz.write_all(bytes)?;
    Ok(gz.finish()?)
}

/// A ustar archive with one regular file: mode 0644, owner 0:0, mtime 0.
pub fn tar_one_file(name: &str, data: &[u8]) -> Result<Vec<u8>> {
    anyhow::ensure!(name.len() < 100, "tar entry name too long: {name}");
    let mut header = [0u8; 512];
    let mut put = |offset: usize, field: &[u8]| {
        header[offset..offset + field.len()].copy_from_slice(field);
    };
    put(0, name.as_bytes());
    put(100, b"0000644\0"); // mode
    put(108, b"0000000\0"); // uid
    put(116, b"0000000\0"); // gid
    put(124, format!("{:011o}\0", data.len()).as_bytes()); // size
    put(136, b"00000000000\0"); // mtime
    put(148, b"        "); // checksum, counted as spaces
    put(156, b"0"); // regular file
    put(257, b"ustar\0"); // magic
    put(263, b"00"); // version
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());

    let padded = data.len().div_ceil(512) * 512;
    let mut tar = Vec::with_capacity(512 + padded + 1024);
    tar.extend_from_slice(&header);
    tar.extend_from_slice(data);
    tar.resize(512 + padded + 1024, 0); // padding, then two zero blocks
    Ok(tar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_has_a_valid_header_and_end() {
        let tar = tar_one_file("plugin.wasm", b"\0asm\x01\0\0\0").unwrap();
        assert_eq!(tar.len(), 512 * 4);
        assert_eq!(&tar[..11], b"plugin.wasm");
        assert_eq!(&tar[124..136], b"00000000010\0");
        assert_eq!(&tar[512..520], b"\0asm\x01\0\0\0");
    }

    #[test]
    fn layouts_are_reproducible() {
        let dir = std::env::temp_dir().join(format!("xtask-oci-{}", std::process::id()));
        let a = write_layout(&dir.join("a"), b"\0asm\x01\0\0\0", "1", "1-artifact").unwrap();
        let b = write_layout(&dir.join("b"), b"\0asm\x01\0\0\0", "1", "1-artifact").unwrap();
        let c = write_layout(&dir.join("c"), b"\0asm\x01\0\0\x01", "1", "1-artifact").unwrap();
        let _ = fs::remove_dir_all(&dir);
        assert_eq!((&a.compat, &a.artifact), (&b.compat, &b.artifact));
        assert_ne!(a.compat, c.compat);
        assert_ne!(a.artifact, c.artifact);
    }
}
