//! Picks how to compile for wasm32-wasip1. rustup's prebuilt target is the
//! normal way, but `rustup target add` cannot reach its server everywhere (it
//! hangs rather than failing), so we never call it: without the target we
//! build std from source with Debian's Rust, which ships that source.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::{apt, proc, workspace};

pub const TARGET: &str = "wasm32-wasip1";

const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
const DEBIAN_CARGO: &str = "/usr/bin/cargo";
const WASI_LIBC_DIR: &str = "/usr/lib/wasm32-wasi";
/// rust-web-llvm brings /usr/bin/rust-lld; it is only a Recommends of rustc-web.
const DEBIAN_PACKAGES: &[&str] = &[
    "rustc-web",
    "cargo-web",
    "rust-web-src",
    "rust-web-llvm",
    "wasi-libc",
];

/// A way to run `cargo build --target wasm32-wasip1`.
pub struct Toolchain {
    pub cargo: PathBuf,
    pub rustc: PathBuf,
    /// Extra `cargo build` arguments (e.g. `-Zbuild-std`).
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub description: String,
}

impl Toolchain {
    pub fn cargo_build(&self) -> Command {
        let mut cmd = Command::new(&self.cargo);
        cmd.arg("build")
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        if self.env.iter().any(|(k, _)| k.ends_with("_RUSTFLAGS")) {
            // Cargo prefers RUSTFLAGS over the target's rustflags, which would
            // silently drop the flags this build needs.
            for var in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS"] {
                if std::env::var_os(var).is_some() {
                    eprintln!("note: ignoring {var} from the environment for the wasm build");
                    cmd.env_remove(var);
                }
            }
        }
        cmd
    }

    /// The wasm features the compiler enables for the target (`bulk-memory`,
    /// `sign-ext`, ...). wasm-opt must be told them: `strip = true` removes
    /// the `target_features` section it would otherwise read.
    pub fn target_features(&self) -> Vec<String> {
        let mut cmd = Command::new(&self.rustc);
        cmd.args(["--print", "cfg", "--target", TARGET]);
        let out = proc::output(&mut cmd).unwrap_or_default();
        out.lines()
            .filter_map(|l| l.strip_prefix("target_feature=\"")?.strip_suffix('"'))
            .map(str::to_string)
            .collect()
    }
}

/// `keep_panic_messages`: for debug builds, do not ask for immediate-abort.
pub fn detect(keep_panic_messages: bool) -> Result<Toolchain> {
    if let Some((rustc, sysroot)) = rustup_sysroot_with_target() {
        return Ok(Toolchain {
            cargo: workspace::cargo(),
            rustc,
            args: Vec::new(),
            env: Vec::new(),
            // Prebuilt std keeps panic formatting: immediate-abort needs
            // -Zbuild-std, so the profile's panic=abort is the most we get.
            description: format!(
                "rustup toolchain with its {TARGET} target ({})",
                sysroot.display()
            ),
        });
    }
    if !debian_ready() {
        if !apt::available() {
            bail!(missing_toolchain_help());
        }
        eprintln!(
            "no {TARGET} target in rustup's toolchain: installing Debian's Rust, which can build std for it"
        );
        apt::install(DEBIAN_PACKAGES).with_context(missing_toolchain_help)?;
        if !debian_ready() {
            bail!(
                "installed {} but the toolchain is still incomplete\n{}",
                DEBIAN_PACKAGES.join(" "),
                missing_toolchain_help()
            );
        }
    }
    debian(keep_panic_messages)
}

fn missing_toolchain_help() -> String {
    format!(
        "no way to build for {TARGET}. Either:\n  \
         - rustup target add {TARGET}   (where rustup can reach its server), or\n  \
         - apt-get install {}   (Debian 12: std is then built from source)",
        DEBIAN_PACKAGES.join(" ")
    )
}

fn sysroot(rustc: &Path) -> Option<PathBuf> {
    let out = proc::output(Command::new(rustc).args(["--print", "sysroot"])).ok()?;
    Some(PathBuf::from(out.trim()))
}

/// The host rustc (rustup's, normally) and its sysroot, when it has the
/// prebuilt wasm std.
fn rustup_sysroot_with_target() -> Option<(PathBuf, PathBuf)> {
    let rustc = std::env::var_os("RUSTC").map_or_else(|| "rustc".into(), PathBuf::from);
    let sysroot = sysroot(&rustc)?;
    let has_target = sysroot
        .join("lib/rustlib")
        .join(TARGET)
        .join("lib")
        .is_dir();
    has_target.then_some((rustc, sysroot))
}

fn debian_std_source() -> Option<PathBuf> {
    let src = sysroot(Path::new(DEBIAN_RUSTC))?.join("lib/rustlib/src/rust/library");
    // -Zbuild-std reads this lock file; its absence is the usual failure.
    src.join("Cargo.lock").is_file().then_some(src)
}

fn debian_ready() -> bool {
    Path::new(DEBIAN_RUSTC).is_file()
        && Path::new(DEBIAN_CARGO).is_file()
        && Path::new(WASI_LIBC_DIR).join("libc.a").is_file()
        && debian_std_source().is_some()
}

/// rust-lld from Debian, else from rustup's host toolchain, else LLVM's wasm-ld.
fn linker() -> Option<PathBuf> {
    let debian = PathBuf::from("/usr/bin/rust-lld");
    if proc::is_executable(&debian) {
        return Some(debian);
    }
    // rust-web-llvm's rust-lld is a symlink to lld-<N>, a package it does not
    // depend on: install that when nothing else can link.
    let lld_package = std::fs::read_link(&debian)
        .ok()
        .and_then(|target| target.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|name| name.starts_with("lld-"));
    if let Some(sysroot) = sysroot(Path::new("rustc")) {
        let rustlib = sysroot.join("lib/rustlib");
        for entry in std::fs::read_dir(rustlib).into_iter().flatten().flatten() {
            let lld = entry.path().join("bin/rust-lld");
            if proc::is_executable(&lld) {
                return Some(lld);
            }
        }
    }
    if let Some(wasm_ld) = proc::which("wasm-ld") {
        return Some(wasm_ld);
    }
    let package = lld_package?;
    if !apt::available() {
        return None;
    }
    eprintln!(
        "{} points to {package}, which is not installed: installing it",
        debian.display()
    );
    match apt::install(&[&package]) {
        Ok(()) => proc::is_executable(&debian).then_some(debian),
        Err(err) => {
            eprintln!("warning: {err:#}");
            None
        }
    }
}

/// Whether this rustc accepts `-Cpanic=immediate-abort` (newer than the flag's
/// predecessor `-Zbuild-std-features=panic_immediate_abort`, now an error).
fn immediate_abort_supported() -> bool {
    Command::new(DEBIAN_RUSTC)
        .env("RUSTC_BOOTSTRAP", "1")
        .args([
            "-Zunstable-options",
            "-Cpanic=immediate-abort",
            "--target",
            TARGET,
        ])
        .args(["--print", "cfg"])
        .output()
        .is_ok_and(|out| out.status.success())
}

fn debian(keep_panic_messages: bool) -> Result<Toolchain> {
    let version = proc::output(Command::new(DEBIAN_RUSTC).arg("--version"))?;
    let linker = linker().context(
        "no wasm linker: install lld-<N> for rust-web-llvm's /usr/bin/rust-lld, or lld (wasm-ld)",
    )?;
    let immediate_abort = !keep_panic_messages && immediate_abort_supported();
    if !keep_panic_messages && !immediate_abort {
        eprintln!("note: {DEBIAN_RUSTC} rejects -Cpanic=immediate-abort: building without it (larger modules)");
    }
    let mut rustflags = format!("-L {WASI_LIBC_DIR}");
    if immediate_abort {
        rustflags.push_str(" -Zunstable-options -Cpanic=immediate-abort");
    }
    let env = vec![
        // /usr/bin/cargo would otherwise run the first rustc on PATH
        // (rustup's), which has no std source.
        ("RUSTC".to_string(), DEBIAN_RUSTC.to_string()),
        // -Zbuild-std and -Cpanic=immediate-abort are unstable.
        ("RUSTC_BOOTSTRAP".to_string(), "1".to_string()),
        (
            "CARGO_TARGET_WASM32_WASIP1_LINKER".to_string(),
            linker.display().to_string(),
        ),
        (
            "CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS".to_string(),
            rustflags,
        ),
    ];
    Ok(Toolchain {
        cargo: DEBIAN_CARGO.into(),
        rustc: DEBIAN_RUSTC.into(),
        args: vec!["-Zbuild-std=std,panic_abort".to_string()],
        env,
        description: format!(
            "Debian {} building std from source, linker {}{}",
            version.trim(),
            linker.display(),
            if immediate_abort {
                ", panic=immediate-abort"
            } else {
                ""
            }
        ),
    })
}
