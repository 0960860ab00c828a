//! What xtask needs to know about the workspace, read from `cargo metadata` so
//! that new filter crates and test binaries are picked up without edits here.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::proc;

/// A filter crate: a workspace member under `filters/` (or `bench/`, the
/// bench's no-op floor) with a `cdylib` target.
pub struct Filter {
    /// Cargo package name, e.g. `tollgate-headers`.
    pub package: String,
    /// Short name used for `dist/<name>.wasm`, e.g. `headers`.
    pub name: String,
    /// File stem of the compiled module, e.g. `tollgate_headers`.
    pub artifact: String,
    /// Whether it depends on other filter crates (the `tollgate` chain).
    pub embeds: bool,
}

pub struct Workspace {
    pub root: PathBuf,
    /// Cargo's target directory, honouring `CARGO_TARGET_DIR` and config.
    pub target_dir: PathBuf,
    pub filters: Vec<Filter>,
    /// Directory of the crate whose integration tests drive a real Envoy.
    pub tests_crate: Option<PathBuf>,
}

/// The package that holds the real-Envoy traffic tests.
const TESTS_PACKAGE: &str = "tollgate-tests";

/// The repository root: xtask lives in `<root>/xtask`.
///
/// Read from the environment `cargo run` sets, not from `env!`: the compiled
/// path is stale when a shared target directory (CI's cache) serves a binary
/// built from another clone with the same sources.
pub fn root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest_dir
        .parent()
        .map_or(manifest_dir.clone(), Path::to_path_buf)
}

/// The cargo that runs xtask (cargo sets `CARGO`), so host builds use the
/// same toolchain as the developer's `cargo` command.
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| "cargo".into(), PathBuf::from)
}

impl Workspace {
    pub fn load() -> Result<Workspace> {
        let root = root();
        let mut cmd = Command::new(cargo());
        cmd.args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(root.join("Cargo.toml"));
        let out = proc::output(&mut cmd).context("reading the workspace with cargo metadata")?;
        let meta: Value = serde_json::from_str(&out).context("parsing cargo metadata output")?;
        let target_dir = meta["target_directory"]
            .as_str()
            .map(PathBuf::from)
            .context("cargo metadata has no target_directory")?;

        let filters_dir = root.join("filters");
        let bench_dir = root.join("bench");
        let mut filters = Vec::new();
        let mut deps: Vec<Vec<String>> = Vec::new();
        let mut tests_crate = None;
        for package in meta["packages"].as_array().into_iter().flatten() {
            let name = package["name"].as_str().unwrap_or_default();
            let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap_or_default());
            let dir = manifest.parent().unwrap_or(&root).to_path_buf();
            if name == TESTS_PACKAGE {
                tests_crate = Some(dir.clone());
            }
            let targets = package["targets"].as_array().into_iter().flatten();
            for target in targets {
                let kinds: Vec<&str> = target["kind"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let target_name = target["name"].as_str().unwrap_or_default();
                let module_dir = dir.starts_with(&filters_dir) || dir.starts_with(&bench_dir);
                if module_dir && kinds.contains(&"cdylib") {
                    filters.push(Filter {
                        package: name.to_string(),
                        name: name.strip_prefix("tollgate-").unwrap_or(name).to_string(),
                        artifact: target_name.replace('-', "_"),
                        embeds: false,
                    });
                    deps.push(
                        package["dependencies"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|d| d["name"].as_str())
                            .map(str::to_string)
                            .collect::<Vec<_>>(),
                    );
                }
            }
        }
        let packages: Vec<String> = filters.iter().map(|f| f.package.clone()).collect();
        for (filter, deps) in filters.iter_mut().zip(&deps) {
            filter.embeds = deps.iter().any(|d| packages.contains(d));
        }
        if filters.is_empty() {
            bail!(
                "no filter crates found: expected workspace members under {} with a cdylib target",
                filters_dir.display()
            );
        }
        filters.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Workspace {
            root,
            target_dir,
            filters,
            tests_crate,
        })
    }

    pub fn dist(&self) -> PathBuf {
        self.root.join("dist")
    }
}
