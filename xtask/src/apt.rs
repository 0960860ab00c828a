//! Installing Debian packages when we can (root with apt-get), without ever
//! waiting on a prompt or a dead mirror.

use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::proc;

/// Whether missing tools may be installed here rather than asked for.
pub fn available() -> bool {
    proc::is_root() && proc::which("apt-get").is_some()
}

fn apt_get() -> Command {
    let mut cmd = Command::new("apt-get");
    cmd.env("DEBIAN_FRONTEND", "noninteractive")
        // Without these a dead mirror stalls apt for many minutes.
        .args([
            "-o",
            "Acquire::http::Timeout=30",
            "-o",
            "Acquire::Retries=1",
            // Wait for another apt (a test installing its tool) rather than
            // failing on dpkg's lock.
            "-o",
            "DPkg::Lock::Timeout=300",
        ])
        .stdin(Stdio::null());
    cmd
}

/// `apt-get install -y <packages>`; runs `apt-get update` and retries only
/// when apt does not know a package (a fresh machine has empty lists).
pub fn install(packages: &[&str]) -> Result<()> {
    if !available() {
        bail!(
            "cannot install {} here: needs root and apt-get",
            packages.join(" ")
        );
    }
    let first = try_install(packages)?;
    let Some(stderr) = first else { return Ok(()) };
    let unknown = stderr.contains("Unable to locate package")
        || stderr.contains("has no installation candidate");
    if !unknown {
        bail!("apt-get install {} failed", packages.join(" "));
    }
    eprintln!("apt does not know some of these packages yet: running apt-get update");
    proc::run(apt_get().arg("update"))?;
    match try_install(packages)? {
        None => Ok(()),
        Some(_) => bail!(
            "apt-get install {} failed after apt-get update",
            packages.join(" ")
        ),
    }
}

/// None on success, else apt's stderr (already shown to the user).
fn try_install(packages: &[&str]) -> Result<Option<String>> {
    let mut cmd = apt_get();
    cmd.args(["install", "-y", "--no-install-recommends"])
        .args(packages);
    eprintln!("$ {}", proc::display(&cmd));
    // stdout streams (download progress); stderr is kept to see why it failed.
    let out = cmd
        .stdout(proc::stderr_as_stdio()?)
        .stderr(Stdio::piped())
        .output()
        .context("cannot start apt-get")?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    eprint!("{stderr}");
    Ok((!out.status.success()).then_some(stderr))
}

/// `program` (a name on PATH or an absolute path), installing Debian's
/// `package` when it is missing and we may: the one way every xtask command
/// gets a tool, so each error names the package to install.
pub fn ensure(program: &str, package: &str, why: &str) -> Result<std::path::PathBuf> {
    let find = || {
        proc::which(program).or_else(|| {
            let p = std::path::PathBuf::from(program);
            (p.is_absolute() && proc::is_executable(&p)).then_some(p)
        })
    };
    if let Some(bin) = find() {
        return Ok(bin);
    }
    if !available() {
        bail!(
            "{program} is needed ({why}): install Debian's {package} (apt-get install {package})"
        );
    }
    eprintln!("{program} not found ({why}): installing {package}");
    install(&[package]).with_context(|| format!("{program} is needed ({why})"))?;
    find().with_context(|| format!("installed {package} but {program} is still missing"))
}
