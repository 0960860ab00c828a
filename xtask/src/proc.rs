//! Child process helpers: running commands with readable errors, finding
//! programs, and making sure the long-running children we start never outlive
//! xtask.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, FromRawFd};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// The command as a user would type it, for messages.
pub fn display(cmd: &Command) -> String {
    let mut line = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

/// Runs `cmd` with inherited stdio (so progress streams to the terminal) and
/// fails if it does not exit successfully.
pub fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("$ {}", display(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("cannot start `{}`", display(cmd)))?;
    check(cmd, status)
}

/// Runs `cmd` and returns its stdout; stderr is included in the error.
pub fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start `{}`", display(cmd)))?;
    if !out.status.success() {
        bail!(
            "`{}` failed ({}):\n{}",
            display(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn check(cmd: &Command, status: ExitStatus) -> Result<()> {
    if !status.success() {
        bail!("`{}` failed ({status})", display(cmd));
    }
    Ok(())
}

pub use tollgate_tests::proc::{die_with_parent, is_executable, which};

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Our stderr as a child's stdout: keeps a command's chatter off our stdout
/// where a script may be reading a result (`cargo xtask envoy`).
pub fn stderr_as_stdio() -> Result<Stdio> {
    let fd = io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .context("duplicating stderr")?;
    Ok(Stdio::from(fd))
}

/// A pipe whose write end can be given to a child as both stdout and stderr,
/// so that lines arrive in the order the child wrote them.
pub fn pipe() -> Result<(File, File)> {
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors pipe2 writes. O_CLOEXEC
    // keeps the read end out of children; Command dup2s the write end into
    // the child's stdout/stderr, which clears the flag there.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error()).context("creating a pipe");
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) })
}

/// A child that is stopped (SIGTERM, then SIGKILL after a grace period) and
/// reaped when dropped, so every exit path of xtask cleans up.
pub struct Guard {
    pub name: &'static str,
    pub child: Child,
}

impl Guard {
    pub fn new(name: &'static str, child: Child) -> Guard {
        Guard { name, child }
    }

    /// Some(status) once the child has exited.
    pub fn exited(&mut self) -> Result<Option<ExitStatus>> {
        self.child
            .try_wait()
            .with_context(|| format!("checking on {}", self.name))
    }

    pub fn stop(&mut self) {
        if !tollgate_tests::proc::terminate(&mut self.child, Duration::from_secs(5)) {
            eprintln!(
                "{} did not stop within 5 s of SIGTERM: killed it",
                self.name
            );
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.stop();
    }
}
