//! `cargo xtask build`: every filter crate to `dist/<name>.wasm`, shrunk with
//! wasm-opt, sized, and checked to import nothing a proxy-wasm host lacks.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::workspace::Workspace;
use crate::{apt, proc, toolchain, wasm_imports};

/// Import modules a proxy-wasm host provides: the ABI itself (`env`) and WASI.
/// Anything else (`__wbindgen_placeholder__`, `wbg`) means a crate pulled in
/// browser glue and the module will not load in Envoy.
const ALLOWED_IMPORT_MODULES: &[&str] = &["env", "wasi_snapshot_preview1"];

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Release,
    /// Dev profile, no wasm-opt, panic messages kept: for debugging a filter.
    Debug,
}

impl Profile {
    pub fn from_debug(debug: bool) -> Profile {
        if debug {
            Profile::Debug
        } else {
            Profile::Release
        }
    }

    fn dir(self) -> &'static str {
        match self {
            Profile::Release => "release",
            Profile::Debug => "debug",
        }
    }
}

pub struct Module {
    pub name: String,
    pub path: PathBuf,
    pub built_size: u64,
    /// None when wasm-opt did not run.
    pub opt_size: Option<u64>,
}

pub fn run(ws: &Workspace, profile: Profile) -> Result<Vec<Module>> {
    let toolchain = toolchain::detect(profile == Profile::Debug)?;
    eprintln!("wasm toolchain: {}", toolchain.description);

    // Its own directory: host builds (rustup's rustc) and wasm builds (maybe
    // Debian's rustc) would otherwise keep invalidating each other.
    let target_dir = |embeds: bool| {
        ws.target_dir
            .join(if embeds { "wasm-embed" } else { "wasm" })
    };
    let started = Instant::now();
    // A module that embeds other filter crates (the `tollgate` chain) turns
    // their `module` feature off; built with them in one cargo run, feature
    // unification would turn it back on. So: two runs, each in its own
    // target directory: a cdylib's output has no hash in its name, so with
    // one directory each run overwrote the other's filter crates and every
    // build compiled them twice.
    for embeds in [false, true] {
        let packages: Vec<&str> = ws
            .filters
            .iter()
            .filter(|f| f.embeds == embeds)
            .map(|f| f.package.as_str())
            .collect();
        if packages.is_empty() {
            continue;
        }
        let mut cmd = toolchain.cargo_build();
        cmd.current_dir(&ws.root)
            .args(["--target", toolchain::TARGET])
            .arg("--target-dir")
            .arg(target_dir(embeds));
        if profile == Profile::Release {
            cmd.arg("--release");
        }
        for p in packages {
            cmd.args(["-p", p]);
        }
        proc::run(&mut cmd).context("building the wasm modules")?;
    }
    eprintln!("wasm build took {:.1} s", started.elapsed().as_secs_f64());

    let wasm_opt = match profile {
        Profile::Release => {
            find_wasm_opt().map(|bin| WasmOpt::new(bin, &toolchain.target_features()))
        }
        Profile::Debug => None,
    };
    let dist = ws.dist();
    fs::create_dir_all(&dist).with_context(|| format!("creating {}", dist.display()))?;
    let mut modules = Vec::new();
    for filter in &ws.filters {
        let out_dir = target_dir(filter.embeds)
            .join(toolchain::TARGET)
            .join(profile.dir());
        let built = out_dir.join(format!("{}.wasm", filter.artifact));
        let dest = dist.join(format!("{}.wasm", filter.name));
        let module = install_module(&filter.name, &built, &dest, wasm_opt.as_ref())?;
        modules.push(module);
    }
    print_sizes(&modules);
    for module in &modules {
        check_imports(module)?;
        check_exports(module)?;
    }
    Ok(modules)
}

/// Writes `built` (optimized when possible) to `dest` through a temporary
/// file, so a running Envoy never reads a half-written module.
fn install_module(
    name: &str,
    built: &Path,
    dest: &Path,
    wasm_opt: Option<&WasmOpt>,
) -> Result<Module> {
    let built_size =
        size(built).with_context(|| format!("the build produced no {}", built.display()))?;
    let tmp = dest.with_extension("wasm.tmp");
    let mut opt_size = None;
    if let Some(wasm_opt) = wasm_opt {
        // wasm-opt takes most of a build that compiled nothing (about 70 s
        // for the five modules): its output is kept beside the build's,
        // under the digest of what it was made from.
        let cached = built.with_extension("opt.wasm");
        let stamp = built.with_extension("opt.key");
        let key = wasm_opt.key(built)?;
        if fs::read_to_string(&stamp).is_ok_and(|k| k == key) && cached.is_file() {
            fs::copy(&cached, &tmp)
                .with_context(|| format!("copying {} to {}", cached.display(), tmp.display()))?;
            opt_size = Some(size(&tmp)?);
        } else {
            let mut cmd = Command::new(&wasm_opt.bin);
            cmd.arg("-Oz")
                .args(&wasm_opt.features)
                .arg(built)
                .arg("-o")
                .arg(&tmp);
            match proc::output(&mut cmd) {
                Ok(_) => {
                    opt_size = Some(size(&tmp)?);
                    // A failed write of the cache only costs the next build time.
                    if fs::copy(&tmp, &cached).is_ok() {
                        let _ = fs::write(&stamp, &key);
                    }
                }
                // An old binaryen may not know a feature the compiler used: the
                // module is still good, only bigger.
                Err(err) => {
                    eprintln!("warning: wasm-opt failed, keeping {name} unoptimized: {err:#}")
                }
            }
        }
    }
    if opt_size.is_none() {
        fs::copy(built, &tmp)
            .with_context(|| format!("copying {} to {}", built.display(), tmp.display()))?;
    }
    // The same bytes as dist/ has stay untouched: a build that changed
    // nothing changes nothing, modification times included.
    let same = fs::read(dest).ok() == fs::read(&tmp).ok();
    if same {
        fs::remove_file(&tmp).with_context(|| format!("removing {}", tmp.display()))?;
    } else {
        fs::rename(&tmp, dest).with_context(|| format!("writing {}", dest.display()))?;
    }
    Ok(Module {
        name: name.to_string(),
        path: dest.to_path_buf(),
        built_size,
        opt_size,
    })
}

struct WasmOpt {
    bin: PathBuf,
    /// `--enable-*` flags for what the compiler emitted.
    features: Vec<String>,
}

impl WasmOpt {
    /// What an optimized module depends on: the input's digest, the
    /// wasm-opt binary and its flags.
    fn key(&self, built: &Path) -> Result<String> {
        let bytes = fs::read(built).with_context(|| format!("reading {}", built.display()))?;
        let bin = fs::metadata(&self.bin)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        Ok(format!(
            "{} {} {bin} -Oz {}",
            crate::package::oci::sha256_hex(&bytes),
            self.bin.display(),
            self.features.join(" ")
        ))
    }

    fn new(bin: PathBuf, rustc_features: &[String]) -> WasmOpt {
        // rustc's names for the features binaryen has flags for; the rest
        // (crt-static, bulk-memory-opt, ...) need none.
        let features = rustc_features
            .iter()
            .filter_map(|f| match f.as_str() {
                "bulk-memory" | "sign-ext" | "mutable-globals" | "multivalue"
                | "reference-types" | "extended-const" | "tail-call" | "exception-handling"
                | "relaxed-simd" => Some(format!("--enable-{f}")),
                "nontrapping-fptoint" => Some("--enable-nontrapping-float-to-int".to_string()),
                "simd128" => Some("--enable-simd".to_string()),
                "atomics" => Some("--enable-threads".to_string()),
                _ => None,
            })
            .collect();
        WasmOpt { bin, features }
    }
}

fn size(path: &Path) -> Result<u64> {
    Ok(fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len())
}

/// wasm-opt on PATH, installing Debian's binaryen when we may. Optional: a
/// module without it is larger but works the same.
fn find_wasm_opt() -> Option<PathBuf> {
    match apt::ensure("wasm-opt", "binaryen", "it shrinks the modules") {
        Ok(path) => Some(path),
        Err(err) => {
            eprintln!("warning: {err:#}: modules are not shrunk");
            None
        }
    }
}

fn kb(bytes: u64) -> String {
    format!("{bytes:>9} B {:>8.1} KB", bytes as f64 / 1024.0)
}

fn print_sizes(modules: &[Module]) {
    let shown = |m: &Module| format!("dist/{}.wasm", m.name);
    let width = modules.iter().map(|m| shown(m).len()).max().unwrap_or(0);
    println!();
    println!(
        "{:<width$}  {:>23}  {:>23}",
        "module", "built", "after wasm-opt"
    );
    for m in modules {
        let after = m.opt_size.map_or_else(|| format!("{:>23}", "-"), kb);
        println!("{:<width$}  {}  {}", shown(m), kb(m.built_size), after);
    }
    println!();
}

/// A proxy-wasm module must export `_initialize`, or the host never learns
/// its root context (a filter crate built without its `module` feature).
fn check_exports(module: &Module) -> Result<()> {
    let bytes =
        fs::read(&module.path).with_context(|| format!("reading {}", module.path.display()))?;
    let exports = wasm_imports::exports(&bytes)
        .with_context(|| format!("parsing {}", module.path.display()))?;
    if !exports.iter().any(|e| e == "_initialize") {
        bail!(
            "{} exports no `_initialize`: was it built without its `module` feature?",
            module.path.display()
        );
    }
    Ok(())
}

fn check_imports(module: &Module) -> Result<()> {
    let bytes =
        fs::read(&module.path).with_context(|| format!("reading {}", module.path.display()))?;
    let imports = wasm_imports::parse(&bytes)
        .with_context(|| format!("parsing {}", module.path.display()))?;
    let foreign: Vec<_> = imports
        .iter()
        .filter(|i| !ALLOWED_IMPORT_MODULES.contains(&i.module.as_str()))
        .collect();
    let wasi: Vec<&str> = imports
        .iter()
        .filter(|i| i.module == "wasi_snapshot_preview1")
        .map(|i| i.name.as_str())
        .collect();
    if foreign.is_empty() {
        eprintln!(
            "{}: {} imports, all from env or WASI (WASI: {})",
            module.name,
            imports.len(),
            if wasi.is_empty() {
                "none".to_string()
            } else {
                wasi.join(", ")
            }
        );
        return Ok(());
    }
    eprintln!("{} imports:", module.path.display());
    for i in &imports {
        eprintln!("  {}.{} ({})", i.module, i.name, i.kind);
    }
    let names: Vec<String> = foreign
        .iter()
        .map(|i| format!("{}.{}", i.module, i.name))
        .collect();
    bail!(
        "{} imports from modules a proxy-wasm host does not provide (only {} are): {}\n\
         A dependency probably enabled wasm-bindgen/js features; check `cargo tree -p <crate> --target {}`.",
        module.path.display(),
        ALLOWED_IMPORT_MODULES.join(" and "),
        names.join(", "),
        toolchain::TARGET
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module importing `module.f` (one function type, one import).
    fn module_importing(module: &str) -> Vec<u8> {
        let mut import = vec![1, module.len() as u8];
        import.extend_from_slice(module.as_bytes());
        import.extend([1, b'f', 0, 0]);
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.extend([1, 4, 1, 0x60, 0, 0]);
        wasm.extend([2, import.len() as u8]);
        wasm.extend(import);
        wasm
    }

    fn check(import_module: &str) -> Result<()> {
        let path = std::env::temp_dir().join(format!(
            "xtask-imports-{}-{import_module}.wasm",
            std::process::id()
        ));
        fs::write(&path, module_importing(import_module)).unwrap();
        let module = Module {
            name: "t".into(),
            path: path.clone(),
            built_size: 0,
            opt_size: None,
        };
        let result = check_imports(&module);
        fs::remove_file(path).unwrap();
        result
    }

    #[test]
    fn accepts_host_imports_and_rejects_browser_glue() {
        assert!(check("env").is_ok());
        assert!(check("wasi_snapshot_preview1").is_ok());
        let err = check("__wbindgen_placeholder__").unwrap_err().to_string();
        assert!(err.contains("__wbindgen_placeholder__.f"), "{err}");
    }
}
