//! `cargo xtask up`: the filter chain running locally, in front of the echo
//! upstream, with the demo authorization service and JWKS its ext_authz and
//! remote JWT examples call, for trying configurations by hand.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tollgate_tests::demo::{self, FILE_AUTHZ_PORT, FILE_JWKS_PORT};
use tollgate_tests::echo::EchoServer;

use crate::build::{self, Profile};
use crate::envoy;
use crate::proc::{self, Guard};
use crate::workspace::Workspace;

const CONFIG: &str = "envoy/chain.yaml";
/// The upstream address `envoy/chain.yaml`'s cluster points at.
const ECHO_ADDR: &str = "127.0.0.1:18080";

pub fn run(ws: &Workspace) -> Result<()> {
    let config = ws.root.join(CONFIG);
    let text = std::fs::read_to_string(&config)
        .with_context(|| format!("reading {}", config.display()))?;
    let ports = Ports::from_yaml(&text);

    // Check before the build, so a busy port fails fast. Plain bind without
    // SO_REUSEPORT: Envoy binds with it, so a second Envoy would otherwise
    // silently share the port with the first.
    let authz_addr = format!("127.0.0.1:{FILE_AUTHZ_PORT}");
    let jwks_addr = format!("127.0.0.1:{FILE_JWKS_PORT}");
    for (what, addr) in [
        ("echo upstream", ECHO_ADDR.to_string()),
        ("demo authz service", authz_addr.clone()),
        ("demo JWKS", jwks_addr.clone()),
        ("Envoy listener", format!("127.0.0.1:{}", ports.listener)),
        ("Envoy admin", format!("127.0.0.1:{}", ports.admin)),
    ] {
        if let Err(err) = TcpListener::bind(&addr) {
            bail!("{addr} ({what}) is not free: {err}. Is another `cargo xtask up` or Envoy running? (ss -ltnp 'sport = :{}')",
                addr.rsplit(':').next().unwrap_or_default());
        }
    }

    build::run(ws, Profile::Release)?;
    let envoy_bin = envoy::ensure(&ws.root)?;

    let echo = EchoServer::start(ECHO_ADDR)
        .with_context(|| format!("starting the echo upstream on {ECHO_ADDR}"))?;
    eprintln!("echo upstream on {}", echo.addr());
    // The same services the chain's tests run (tollgate_tests::demo).
    let demo = demo::start(&authz_addr, &jwks_addr).context("starting the demo services")?;
    eprintln!(
        "demo authz service on {authz_addr} (cluster authz), demo JWKS on http://{jwks_addr}{} (cluster jwks)",
        demo::JWKS_PATH
    );

    let (stop_tx, stop_rx) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    })
    .context("installing the Ctrl-C handler")?;

    let mut cmd = Command::new(&envoy_bin);
    // The config names modules relative to the repository (dist/<name>.wasm).
    cmd.current_dir(&ws.root)
        .arg("-c")
        .arg(&config)
        // Lets it run next to test Envoys and other instances.
        .arg("--use-dynamic-base-id")
        .args(["--log-level", "info"]);
    proc::die_with_parent(&mut cmd);
    eprintln!("$ {}", proc::display(&cmd));
    let child = cmd
        .spawn()
        .with_context(|| format!("starting {}", envoy_bin.display()))?;
    let mut envoy = Guard::new("envoy", child);

    if !wait_ready(&mut envoy, ports.admin, &stop_rx)? {
        eprintln!("\ninterrupted: stopping Envoy, the echo upstream and the demo services");
        return Ok(());
    }
    println!();
    println!("Tollgate is up: Envoy listener 127.0.0.1:{}, admin http://127.0.0.1:{}/ (stats: /stats?filter=tollgate)", ports.listener, ports.admin);
    println!("  upstream {ECHO_ADDR}, demo authz {authz_addr}, demo JWKS {jwks_addr}");
    println!();
    print!("{}", examples(ports.listener));
    println!();
    println!("Ctrl-C stops everything.");
    println!();

    let mut last_clear = Instant::now();
    loop {
        match stop_rx.recv_timeout(Duration::from_millis(250)) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                eprintln!("\nstopping Envoy, the echo upstream and the demo services");
                envoy.stop();
                drop(echo);
                drop(demo);
                return Ok(());
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Some(status) = envoy.exited()? {
                    drop(echo);
                    drop(demo);
                    bail!("Envoy exited ({status}); its log is above");
                }
                // The servers record requests for tests; forget them so a
                // long session does not grow without bound.
                if last_clear.elapsed() > Duration::from_secs(10) {
                    echo.clear();
                    demo.clear();
                    last_clear = Instant::now();
                }
            }
        }
    }
}

/// A curl per method (and the open path), as in the README and chain.yaml's
/// header comment.
fn examples(port: u16) -> String {
    let url = format!("localhost:{port}");
    let token = demo::TOKEN;
    let user = demo::USER_HEADER;
    let denied = demo::DENIED_USER;
    format!(
        "try:
  curl -s {url}/anything -H 'x-user: a'                    # open path: 200, headers injected
  # API key
  curl -i {url}/api/x -H 'x-api-key: demo-key-1'           # 200, x-authenticated-as: mobile-app
  curl -i {url}/api/x                                      # 401
  # HTTP Basic
  curl -i {url}/admin -u alice:alice-password              # 200, x-authenticated-as: alice (bcrypt, then cached)
  # JWT (EdDSA): inline key set on /jwt, fetched from the demo JWKS on /jwt-remote
  TOKEN={token}
  curl -i {url}/jwt/x -H \"authorization: Bearer $TOKEN\"          # 200, x-authenticated-as: demo-user
  curl -i {url}/jwt-remote/x -H \"authorization: Bearer $TOKEN\"   # 200, key set from the jwks cluster
  # external authorization (the demo service allows {user}: anyone but {denied})
  curl -i {url}/ext/x -H '{user}: alice'                   # 200, x-authenticated-as: alice
  curl -i {url}/ext/x -H '{user}: {denied}'                 # 403, x-authz-reason and the service's JSON body
"
    )
}

/// Polls the admin `/ready` endpoint, failing early if Envoy exits (a bad
/// config or module shows in its log above). Ok(false) on Ctrl-C.
fn wait_ready(envoy: &mut Guard, admin: u16, stop: &mpsc::Receiver<()>) -> Result<bool> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if stop.try_recv().is_ok() {
            return Ok(false);
        }
        if let Some(status) = envoy.exited()? {
            bail!("Envoy exited during startup ({status}); its log is above");
        }
        if status_line(admin, "/ready").is_some_and(|line| line.split(' ').nth(1) == Some("200")) {
            return Ok(true);
        }
        if Instant::now() > deadline {
            bail!("Envoy was not ready within 30 s (admin 127.0.0.1:{admin}/ready)");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The status line of `GET path` (HTTP/1.1: Envoy answers 1.0 with 426).
fn status_line(port: u16, path: &str) -> Option<String> {
    let timeout = Some(Duration::from_secs(1));
    let mut conn = TcpStream::connect(("127.0.0.1", port)).ok()?;
    conn.set_read_timeout(timeout).ok()?;
    conn.set_write_timeout(timeout).ok()?;
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 256];
    while !buf.windows(2).any(|w| w == b"\r\n") {
        let n = conn.read(&mut chunk).ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(chunk.get(..n)?);
    }
    let text = String::from_utf8_lossy(&buf);
    text.lines().next().map(str::to_string)
}

struct Ports {
    listener: u16,
    admin: u16,
}

impl Ports {
    /// The first `port_value` under `admin:` and under `listeners:`. Not a
    /// YAML parser: enough for our own config, with the documented defaults
    /// as fallback.
    fn from_yaml(text: &str) -> Ports {
        let (mut listener, mut admin) = (None, None);
        let mut section = "";
        for line in text.lines() {
            let trimmed = line.trim_start().trim_start_matches("- ");
            for key in ["admin:", "listeners:", "clusters:"] {
                if trimmed.starts_with(key) {
                    section = key;
                }
            }
            let Some((_, rest)) = line.split_once("port_value:") else {
                continue;
            };
            let digits: String = rest
                .trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            let Ok(port) = digits.parse::<u16>() else {
                continue;
            };
            match section {
                "admin:" => admin = admin.or(Some(port)),
                "listeners:" => listener = listener.or(Some(port)),
                _ => {}
            }
        }
        Ports {
            listener: listener.unwrap_or(10000),
            admin: admin.unwrap_or(9901),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn reads_ports_of_the_real_config() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(CONFIG);
        let text = std::fs::read_to_string(path).unwrap();
        let ports = Ports::from_yaml(&text);
        assert_eq!((ports.listener, ports.admin), (10000, 9901));
    }

    #[test]
    fn reads_other_ports_and_falls_back() {
        let yaml = "admin:\n  address:\n    socket_address: { address: 127.0.0.1, port_value: 19901 }\n\
                    static_resources:\n  clusters:\n  - name: u\n    port_value: 18080\n  listeners:\n  - name: m\n    address:\n      socket_address:\n        port_value: 11000\n";
        let ports = Ports::from_yaml(yaml);
        assert_eq!((ports.listener, ports.admin), (11000, 19901));
        let ports = Ports::from_yaml("");
        assert_eq!((ports.listener, ports.admin), (10000, 9901));
    }
}
