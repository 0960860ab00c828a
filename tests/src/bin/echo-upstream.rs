//! The echo upstream as a program, for the docker-compose stack: answers every
//! request with JSON describing what it received (see `tollgate_tests::echo`).
//!
//! Usage: `echo-upstream [ADDR]`; ADDR defaults to `$ECHO_ADDR`, else
//! `0.0.0.0:18080`.
//!
//! `echo-upstream --demo [AUTHZ_ADDR [JWKS_ADDR]]` runs the chain's demo
//! services instead (`tollgate_tests::demo`: the authorization service for
//! ext_authz and the JWKS for `remote_jwks`), by default on `0.0.0.0:18082`
//! and `0.0.0.0:18083`: docker-compose's `demo` service, from the same image.
//!
//! Runs until SIGTERM or SIGINT (it may be PID 1 in a container, where the
//! kernel ignores signals without a handler).

use std::time::Duration;

use tollgate_tests::echo::EchoServer;

extern "C" fn exit_now(_: libc::c_int) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(0) }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    for signal in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: installs a handler that only calls an async-signal-safe function.
        unsafe {
            libc::signal(
                signal,
                exit_now as extern "C" fn(libc::c_int) as libc::sighandler_t,
            )
        };
    }
    match args.first().map(String::as_str) {
        Some("--demo") => demo(&args[1..]),
        Some("-h" | "--help") => {
            println!("usage: echo-upstream [ADDR] | echo-upstream --demo [AUTHZ_ADDR [JWKS_ADDR]]");
        }
        first => echo(first),
    }
}

fn demo(args: &[String]) {
    let authz = args.first().map_or("0.0.0.0:18082", String::as_str);
    let jwks = args.get(1).map_or("0.0.0.0:18083", String::as_str);
    let demo = match tollgate_tests::demo::start(authz, jwks) {
        Ok(demo) => demo,
        Err(e) => {
            eprintln!("echo-upstream --demo: cannot listen: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "echo-upstream --demo: authz on {authz} (allows {}: <anyone but {}>), JWKS on {jwks}{}",
        tollgate_tests::demo::USER_HEADER,
        tollgate_tests::demo::DENIED_USER,
        tollgate_tests::demo::JWKS_PATH
    );
    loop {
        std::thread::sleep(Duration::from_secs(10));
        demo.clear();
    }
}

fn echo(addr: Option<&str>) {
    let addr = addr
        .map(str::to_string)
        .or_else(|| std::env::var("ECHO_ADDR").ok().filter(|a| !a.is_empty()))
        .unwrap_or_else(|| "0.0.0.0:18080".to_string());
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
        std::thread::sleep(Duration::from_secs(10));
        server.clear();
    }
}
