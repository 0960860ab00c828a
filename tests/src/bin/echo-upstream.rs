//! The echo upstream as a program, for the docker-compose stack: answers every
//! request with JSON describing what it received (see `tollgate_tests::echo`).
//!
//! Usage: `echo-upstream [ADDR]`; ADDR defaults to `$ECHO_ADDR`, else
//! `0.0.0.0:18080`. Runs until SIGTERM or SIGINT (it may be PID 1 in a
//! container, where the kernel ignores signals without a handler).

use tollgate_tests::echo::EchoServer;

extern "C" fn exit_now(_: libc::c_int) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(0) }
}

fn main() {
    let addr = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("ECHO_ADDR").ok().filter(|a| !a.is_empty()))
        .unwrap_or_else(|| "0.0.0.0:18080".to_string());
    for signal in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: installs a handler that only calls an async-signal-safe function.
        unsafe {
            libc::signal(
                signal,
                exit_now as extern "C" fn(libc::c_int) as libc::sighandler_t,
            )
        };
    }
    let server = match EchoServer::start(&addr) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("echo-upstream: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    println!("echo-upstream: listening on {}", server.addr());
    // EchoServer keeps what it received for tests to inspect; a long-running
    // upstream forgets it now and then instead of growing without bound.
    loop {
        std::thread::sleep(std::time::Duration::from_secs(10));
        server.clear();
    }
}
