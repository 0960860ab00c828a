//! Child processes that cannot outlive the process that started them.

use std::os::unix::process::CommandExt;
use std::process::Command;

/// Ask the kernel to SIGKILL the child when its parent dies, so an aborted test
/// run or a killed `cargo xtask up` never leaves an Envoy behind.
pub fn die_with_parent(cmd: &mut Command) -> &mut Command {
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}
