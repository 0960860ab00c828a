//! Tools that tests need from Debian: found on PATH, else installed with
//! apt-get when running as root, else the test fails saying what to install
//! (a test that cannot run must not pass by skipping).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use crate::proc::which;

/// One apt-get at a time: dpkg holds a lock, and parallel tests ask together.
static APT: Mutex<()> = Mutex::new(());

/// `program` on PATH (or at `path` when given), installing `package` if needed.
pub fn ensure(program: &str, package: &str) -> PathBuf {
    let find = || {
        which(program).or_else(|| {
            let p = PathBuf::from(program);
            crate::proc::is_executable(&p).then_some(p)
        })
    };
    if let Some(bin) = find() {
        return bin;
    }
    let _lock = APT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(bin) = find() {
        return bin;
    }
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(
        root && which("apt-get").is_some(),
        "{program} is missing: install the Debian package `{package}` (apt-get install {package})"
    );
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args([
                "-o",
                "Acquire::http::Timeout=30",
                "-o",
                "Acquire::Retries=1",
                // Another process's apt (xtask, a second test binary) makes
                // this one wait for dpkg's lock instead of failing at once.
                "-o",
                "DPkg::Lock::Timeout=300",
            ])
            .args(args)
            .stdin(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let install = ["install", "-y", "--no-install-recommends", package];
    if !apt(&install) {
        assert!(
            apt(&["update"]) && apt(&install),
            "apt-get install {package} failed (needed for {program})"
        );
    }
    find().unwrap_or_else(|| panic!("installed {package} but {program} is still missing"))
}
