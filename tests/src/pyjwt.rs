//! PyJWT with `cryptography`, an independent JWT implementation, for minting
//! tokens and key sets at test time. Installed into the project's `.venv`
//! (which `cargo xtask` creates with Envoy) with its pip, or into a scratch
//! venv under `target/` when that has none. Never skipped: a test that cannot
//! get it fails saying what to install.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

static INSTALL: Mutex<()> = Mutex::new(());

fn has_pyjwt(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import jwt, cryptography"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn pip_install(python: &Path) -> bool {
    Command::new(python)
        .args(["-m", "pip", "install", "-q", "pyjwt", "cryptography"])
        .status()
        .is_ok_and(|s| s.success())
}

/// A Python interpreter that can `import jwt, cryptography`.
pub fn python() -> PathBuf {
    let _lock = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let root = crate::repo_root();
    let venv = root.join(".venv/bin/python");
    if venv.exists() && (has_pyjwt(&venv) || (pip_install(&venv) && has_pyjwt(&venv))) {
        return venv;
    }
    let scratch = root.join("target/pyjwt-venv");
    let python = scratch.join("bin/python");
    if !python.exists() {
        let _ = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&scratch)
            .status();
    }
    assert!(
        python.exists() && (has_pyjwt(&python) || (pip_install(&python) && has_pyjwt(&python))),
        "PyJWT is missing: run `.venv/bin/pip install pyjwt cryptography` \
         (or install python3-venv and let the test create {})",
        scratch.display()
    );
    python
}

/// Runs a Python script (with PyJWT available) and parses its stdout as JSON.
pub fn run_json(script: &str, args: &[&str]) -> serde_json::Value {
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python printed JSON")
}

/// The one JWT minting script (`tests/jwt/mint.py`) and its stable keys.
pub const MINT: &str = include_str!("../jwt/mint.py");

/// The directory of the keys `MINT` signs with (committed; they guard nothing).
pub fn keys() -> PathBuf {
    crate::repo_root().join("tests/jwt/keys")
}

/// Mints `set` (`auth_jwt`, `attacks`, `faults`, `injection`: see the
/// script's header) and returns its JSON.
pub fn mint(set: &str) -> serde_json::Value {
    let keys = keys();
    run_json(MINT, &[&keys.display().to_string(), set])
}
