//! The demo services next to the chain: an authorization service for
//! ext_authz and a JWKS endpoint for `remote_jwks`. `cargo xtask up` runs them
//! in process, docker-compose runs them as the `demo` service
//! (`echo-upstream --demo`), and the chain's traffic checks
//! ([`crate::chain::Target::check_chain`]) run against them.
//!
//! - **authz** (`envoy/*.yaml` cluster `authz`, 127.0.0.1:18082): allows a
//!   check carrying `x-demo-user` with any value but `mallory`, answering
//!   `x-tollgate-identity: <that user>` and `x-user-roles: demo`; denies
//!   anything else with 403, `x-authz-reason` and the JSON body [`DENY_BODY`].
//!   A demo: a real service would check a session, not trust a header.
//! - **jwks** (cluster `jwks`, 127.0.0.1:18083): [`JWKS`] at [`JWKS_PATH`],
//!   the public key of the inline `demo` provider, so [`TOKEN`] verifies
//!   against both providers.

use crate::authz::AuthzServer;
use crate::http_server::HttpServer;

/// The ports `envoy/chain.yaml` and `envoy/auth.yaml` give the `authz` and
/// `jwks` clusters.
pub const FILE_AUTHZ_PORT: u16 = 18082;
pub const FILE_JWKS_PORT: u16 = 18083;

pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// The demo key set (Ed25519, kid `demo`): the one inlined in the files'
/// `demo` provider.
pub const JWKS: &str = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"demo","alg":"EdDSA","use":"sig","x":"fb0w6zgXJKCCSDBBaWlIIvT8fe-w4oRaon23_PSOw_0"}]}"#;

/// The demo token the files' header comments list (`TOKEN=`): issuer
/// `https://issuer.example`, audience `tollgate-demo`, sub `demo-user`,
/// `org.team` `blue`, expires in 2100.
pub const TOKEN: &str = "eyJhbGciOiJFZERTQSIsImtpZCI6ImRlbW8iLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwiYXVkIjoidG9sbGdhdGUtZGVtbyIsInN1YiI6ImRlbW8tdXNlciIsImlhdCI6MTc2NDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJvcmciOnsidGVhbSI6ImJsdWUifX0.C0PVGffmJ3yFqSpfewe6L4O7bUmVQCvNwYRdbVTdaD-mL1ssP6uyWSxjNabA4uiIA-47KxsW_4UmsinY3SFZDQ";

/// The request header the authz demo decides on, and the user it refuses.
pub const USER_HEADER: &str = "x-demo-user";
pub const DENIED_USER: &str = "mallory";
pub const DENY_REASON: &str = "demo authz: x-demo-user missing or not allowed";
pub const DENY_BODY: &str =
    r#"{"error":"forbidden","reason":"demo authz: x-demo-user missing or not allowed"}"#;

/// Both demo services; they stop when dropped.
pub struct Demo {
    pub authz: AuthzServer,
    pub jwks: HttpServer,
}

/// Starts the authz demo on `authz_addr` and the JWKS on `jwks_addr`
/// (`127.0.0.1:0`: any free port).
pub fn start(authz_addr: &str, jwks_addr: &str) -> std::io::Result<Demo> {
    let authz = AuthzServer::start_on(authz_addr)
        .map_err(|e| with_context(e, &format!("authz demo on {authz_addr}")))?;
    authz.allow_header_present(USER_HEADER, &[DENIED_USER]);
    authz.allow_response_header_from("x-tollgate-identity", USER_HEADER);
    authz.allow_response_header("x-user-roles", "demo");
    authz.deny_with(
        403,
        DENY_BODY,
        &[
            ("content-type", "application/json"),
            ("x-authz-reason", DENY_REASON),
        ],
    );
    let jwks = HttpServer::start_on(jwks_addr, JWKS)
        .map_err(|e| with_context(e, &format!("JWKS demo on {jwks_addr}")))?;
    jwks.only_path(JWKS_PATH);
    Ok(Demo { authz, jwks })
}

fn with_context(e: std::io::Error, what: &str) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{what}: {e}"))
}

impl Demo {
    pub fn authz_port(&self) -> u16 {
        self.authz.port()
    }

    pub fn jwks_port(&self) -> u16 {
        self.jwks.port()
    }

    /// Forgets what the services recorded (they keep it for tests; a
    /// long-running demo calls this now and then).
    pub fn clear(&self) {
        self.authz.clear();
        self.jwks.clear_heads();
    }

    /// An `envoy/` file's text (e.g. from [`crate::bootstrap::user_file`])
    /// with its `authz` and `jwks` clusters pointed at these services.
    pub fn point_at(&self, text: &str) -> String {
        text.replace(
            &format!("port_value: {FILE_AUTHZ_PORT}"),
            &format!("port_value: {}", self.authz_port()),
        )
        .replace(
            &format!("port_value: {FILE_JWKS_PORT}"),
            &format!("port_value: {}", self.jwks_port()),
        )
    }
}
