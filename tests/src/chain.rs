//! The chain (`envoy/chain.yaml`) as a target: the traffic checks every
//! deployment of it must pass, whether Envoy runs here in front of an
//! [`EchoServer`] or in docker-compose in front of the `echo-upstream`
//! container, and the container variant of the file
//! (`envoy/chain-compose.yaml`), derived from `chain.yaml` by address only.

use crate::bootstrap::{FILE_ADMIN_PORT, FILE_LISTENER_PORT, FILE_UPSTREAM_PORT};
use crate::client::{self, Request, BOTH};
use crate::echo::EchoServer;

/// A running chain, reached on 127.0.0.1.
pub struct Target<'a> {
    /// Listener and admin ports on 127.0.0.1.
    pub port: u16,
    pub admin_port: u16,
    /// The client address the chain sees for our requests (127.0.0.1 locally;
    /// the network's gateway through a published container port).
    pub client_ip: String,
    /// The upstream's own record, when it runs in this process. Either way
    /// "never reached the upstream" is also checked with Envoy's counter of
    /// requests sent to the `upstream` cluster.
    pub echo: Option<&'a EchoServer>,
}

impl Target<'_> {
    /// Requests Envoy has sent to the `upstream` cluster.
    pub fn upstream_requests(&self) -> u64 {
        let resp = client::get(self.admin_port, "/stats?format=json")
            .unwrap_or_else(|e| panic!("admin /stats: {e}"));
        resp.json()["stats"]
            .as_array()
            .and_then(|stats| {
                stats
                    .iter()
                    .find(|s| s["name"] == "cluster.upstream.upstream_rq_total")
            })
            .and_then(|s| s["value"].as_u64())
            .unwrap_or(0)
    }

    /// What the README promises after `cargo xtask up`:
    /// `curl -s localhost:10000/anything -H 'x-user: a'`. `name` labels failures.
    pub fn check_open_path(&self, name: &str) {
        for proto in BOTH {
            let r = Request::get("/anything")
                .header("x-user", "a")
                .header("x-debug-internal", "leak")
                .send(self.port, proto);
            assert_eq!(r.status, 200, "{name} {proto:?}: {}", r.text());
            let body = r.json();
            assert_eq!(body["path"], "/anything");
            let up = |n: &str| r.upstream_header_values(n);
            assert_eq!(up("x-greeting"), ["hello a"], "{name} {proto:?}");
            assert_eq!(
                up("x-client-ip"),
                [self.client_ip.as_str()],
                "{name} {proto:?}"
            );
            assert!(up("x-request-start")[0].parse::<u64>().is_ok());
            assert_eq!(up("x-correlation-id")[0].len(), 36);
            assert!(up("x-debug-internal").is_empty());
            assert_eq!(r.header("x-served-by"), Some("tollgate"));
            assert_eq!(r.header("x-user-seen"), Some("a"));
        }
    }

    /// The chain: auth sets the identity, ratelimit keys on it, headers reads it.
    pub fn check_chain(&self) {
        for proto in BOTH {
            if let Some(echo) = self.echo {
                echo.clear();
            }
            let sent = self.upstream_requests();
            let r = Request::get("/api/x").send(self.port, proto);
            assert_eq!(r.status, 401, "{proto:?}");
            assert_eq!(r.json()["error"], "unauthorized");
            if let Some(echo) = self.echo {
                assert!(echo.received_under("/api").is_empty());
            }
            assert_eq!(
                self.upstream_requests(),
                sent,
                "{proto:?}: a 401 reached the upstream"
            );

            let r = Request::get("/api/x")
                .header("x-api-key", "demo-key-1")
                .header("x-tollgate-identity", "spoofed")
                .send(self.port, proto);
            assert_eq!(r.status, 200, "{proto:?}: {}", r.text());
            assert_eq!(
                r.upstream_header_values("x-tollgate-identity"),
                ["mobile-app"]
            );
            assert!(
                r.upstream_header_values("x-api-key").is_empty(),
                "key hidden upstream"
            );
            assert_eq!(r.header("x-authenticated-as"), Some("mobile-app"));
            assert_eq!(r.header("x-ratelimit-limit"), Some("60"));

            let r = Request::get("/anything")
                .header("x-tollgate-identity", "spoofed")
                .send(self.port, proto);
            assert!(r.upstream_header_values("x-tollgate-identity").is_empty());
            assert!(r.header("x-authenticated-as").is_none());
            assert_eq!(r.header("x-ratelimit-limit"), Some("100"));
        }
    }
}

/// Compose service name of each address `chain.yaml` uses on 127.0.0.1, by
/// port. A service the chain comes to need (a JWKS server, an ext_authz or
/// rate-limit service) is added here and to docker-compose.yml.
pub const COMPOSE_SERVICES: &[(u16, &str)] = &[(FILE_UPSTREAM_PORT, "upstream")];

/// The header comment of `envoy/chain-compose.yaml`.
const COMPOSE_HEADER: &str = "\
# The Tollgate chain for docker-compose (docker-compose.yml at the repository
# root). Generated from envoy/chain.yaml, of which it is a copy except for
# addresses: listener and admin on 0.0.0.0 (the ports are published on the
# host's 127.0.0.1 only), and the upstream reached by its compose service name
# `upstream` (STRICT_DNS). Do not edit by hand: edit chain.yaml, then
#   TOLLGATE_BLESS=1 cargo test -p tollgate-tests --test compose chain_compose_yaml
# rewrites this file (that test fails while the two differ).
";

/// `envoy/chain-compose.yaml` as it must read, from the text of
/// `envoy/chain.yaml`: the header comment replaced, listener and admin bound
/// to 0.0.0.0, services on 127.0.0.1 addressed by compose service name with
/// DNS clusters. Everything else (the filters and their configuration) is
/// kept byte for byte. Fails when chain.yaml uses 127.0.0.1 for something
/// without a compose service.
pub fn compose_yaml(chain: &str) -> Result<String, String> {
    let body_start = chain
        .lines()
        .take_while(|l| l.starts_with('#') || l.trim().is_empty())
        .map(|l| l.len() + 1)
        .sum::<usize>();
    let mut body = chain.get(body_start..).unwrap_or_default().to_string();
    let addr = |host: &str, port: u16| format!("{{ address: {host}, port_value: {port} }}");
    for port in [FILE_LISTENER_PORT, FILE_ADMIN_PORT] {
        body = body.replace(&addr("127.0.0.1", port), &addr("0.0.0.0", port));
    }
    for (port, service) in COMPOSE_SERVICES {
        body = body.replace(&addr("127.0.0.1", *port), &addr(service, *port));
    }
    // Every cluster's endpoints are service names now.
    body = body.replace("type: STATIC\n", "type: STRICT_DNS\n");
    if let Some(line) = body.lines().find(|l| l.contains("127.0.0.1")) {
        return Err(format!(
            "envoy/chain.yaml uses 127.0.0.1 where docker-compose has no service: `{}`; \
             add the service to docker-compose.yml and to tollgate_tests::chain::COMPOSE_SERVICES",
            line.trim()
        ));
    }
    Ok(format!("{COMPOSE_HEADER}{body}"))
}
