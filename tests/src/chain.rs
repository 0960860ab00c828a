//! The chain (`envoy/chain.yaml`) as a target: the traffic checks every
//! deployment of it must pass, whether Envoy runs here in front of an
//! [`EchoServer`] or in docker-compose in front of the `echo-upstream`
//! container, and the container variant of the file
//! (`envoy/chain-compose.yaml`), derived from `chain.yaml` by address only.
//! The checks of ext_authz and of the remote JWKS need the demo services
//! ([`crate::demo`]) behind the chain's `authz` and `jwks` clusters.

use crate::bootstrap::{FILE_ADMIN_PORT, FILE_LISTENER_PORT, FILE_UPSTREAM_PORT};
use crate::client::{self, Request, BOTH};
use crate::demo::{self, FILE_AUTHZ_PORT, FILE_JWKS_PORT};
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
        self.cluster_requests("upstream")
    }

    /// Requests Envoy has sent to a cluster (`upstream`, `authz`, `jwks`).
    pub fn cluster_requests(&self, cluster: &str) -> u64 {
        let resp = client::get(self.admin_port, "/stats?format=json")
            .unwrap_or_else(|e| panic!("admin /stats: {e}"));
        let name = format!("cluster.{cluster}.upstream_rq_total");
        resp.json()["stats"]
            .as_array()
            .and_then(|stats| stats.iter().find(|s| s["name"] == name.as_str()))
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

            // The identities of the remote JWT and ext_authz reach the
            // headers filter and the per-identity bucket too.
            let r = Request::get("/jwt-remote/x")
                .header("authorization", &format!("Bearer {}", demo::TOKEN))
                .send(self.port, proto);
            assert_eq!(
                r.header("x-authenticated-as"),
                Some("demo-user"),
                "{proto:?}"
            );
            assert_eq!(r.header("x-ratelimit-limit"), Some("60"));
            let r = Request::get("/ext/x")
                .header(demo::USER_HEADER, "alice")
                .send(self.port, proto);
            assert_eq!(r.header("x-authenticated-as"), Some("alice"), "{proto:?}");
            assert_eq!(r.header("x-ratelimit-limit"), Some("60"));
        }
        self.check_remote_jwt("chain");
        self.check_ext_authz("chain");
    }

    /// `/jwt-remote` (provider `demo-remote`): the demo token verifies against
    /// the key set fetched from the `jwks` cluster (the demo JWKS).
    pub fn check_remote_jwt(&self, name: &str) {
        for proto in BOTH {
            let r = Request::get("/jwt-remote/x")
                .header("authorization", &format!("Bearer {}", demo::TOKEN))
                .header("x-jwt-team", "spoofed")
                .send(self.port, proto);
            assert_eq!(r.status, 200, "{name} {proto:?}: {}", r.text());
            assert_eq!(
                r.upstream_header_values("x-tollgate-identity"),
                ["demo-user"]
            );
            assert_eq!(r.upstream_header_values("x-jwt-team"), ["blue"]);
            assert!(r.upstream_header_values("authorization").is_empty());

            let sent = self.upstream_requests();
            let r = Request::get("/jwt-remote/x").send(self.port, proto);
            assert_eq!(r.status, 401, "{name} {proto:?}: {}", r.text());
            assert_eq!(
                r.header("www-authenticate"),
                Some(r#"Bearer realm="tollgate demo""#)
            );
            let r = Request::get("/jwt-remote/x")
                .header("authorization", "Bearer not.a.token")
                .send(self.port, proto);
            assert_eq!(r.status, 401, "{name} {proto:?}: {}", r.text());
            assert_eq!(
                self.upstream_requests(),
                sent,
                "{name}: a 401 reached the upstream"
            );
        }
        assert!(
            self.cluster_requests("jwks") >= 1,
            "{name}: the key set was not fetched from the jwks cluster"
        );
    }

    /// `/ext` (ext_authz): the demo authorization service allows
    /// `x-demo-user: alice` (naming the identity) and refuses `mallory` and
    /// a request without the header, with its status, body and reason header.
    pub fn check_ext_authz(&self, name: &str) {
        let checks = self.cluster_requests("authz");
        for proto in BOTH {
            let r = Request::get("/ext/x")
                .header(demo::USER_HEADER, "alice")
                .header("x-tollgate-identity", "spoofed")
                .send(self.port, proto);
            assert_eq!(r.status, 200, "{name} {proto:?}: {}", r.text());
            assert_eq!(r.upstream_header_values("x-tollgate-identity"), ["alice"]);
            assert_eq!(r.upstream_header_values("x-user-roles"), ["demo"]);

            let sent = self.upstream_requests();
            for user in [Some(demo::DENIED_USER), None] {
                let mut req = Request::get("/ext/x");
                if let Some(user) = user {
                    req = req.header(demo::USER_HEADER, user);
                }
                let r = req.send(self.port, proto);
                assert_eq!(r.status, 403, "{name} {proto:?} {user:?}: {}", r.text());
                assert_eq!(r.text(), demo::DENY_BODY, "{name} {proto:?} {user:?}");
                assert_eq!(r.header("x-authz-reason"), Some(demo::DENY_REASON));
            }
            assert_eq!(
                self.upstream_requests(),
                sent,
                "{name}: a denial reached the upstream"
            );
        }
        assert!(
            self.cluster_requests("authz") >= checks + 6,
            "{name}: the checks did not go to the authz cluster"
        );
    }
}

/// Compose service name of each address `chain.yaml` uses on 127.0.0.1, by
/// port. A service the chain comes to need (a JWKS server, an ext_authz or
/// rate-limit service) is added here and to docker-compose.yml.
pub const COMPOSE_SERVICES: &[(u16, &str)] = &[
    (FILE_UPSTREAM_PORT, "upstream"),
    (FILE_AUTHZ_PORT, "demo"),
    (FILE_JWKS_PORT, "demo"),
];

/// The header comment of `envoy/chain-compose.yaml`.
const COMPOSE_HEADER: &str = "\
# The Tollgate chain for docker-compose (docker-compose.yml at the repository
# root). Generated from envoy/chain.yaml, of which it is a copy except for
# addresses: listener and admin on 0.0.0.0 (the ports are published on the
# host's 127.0.0.1 only), and the upstream and the demo authz and JWKS services
# reached by their compose service names `upstream` and `demo` (STRICT_DNS).
# Do not edit by hand: edit chain.yaml, then
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
