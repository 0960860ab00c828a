//! The path guard against real upstreams (issue 21): Debian's nginx, Apache
//! httpd and Tomcat behind a real Envoy, each with a guarded location
//! `/admin` that says so ([`tollgate_tests::real_upstream`]). For every
//! spelling in [`SPELLINGS`], both Envoy path settings (Envoy's defaults:
//! `normalize_path` and `merge_slashes` unset; `envoy/*.yaml`'s: both true)
//! and HTTP/1.1 and HTTP/2 (h2c, the path sent byte for byte: raw bytes over
//! HTTP/1.1, `tollgate_tests::h2c` over HTTP/2), no request
//! without credentials is ever served by a guarded location when a Tollgate
//! filter guards `/admin`:
//! - the auth filter, API key on `{"path": {"prefix": "/admin"}}`;
//! - the auth filter's `ext_authz` on `/admin` (the test service denies);
//! - the ratelimit filter, `/admin` limited to [`LIMIT`] requests an hour:
//!   once they are spent, no spelling reaches `/admin` again.
//!
//! The same requests go through a listener without any filter (how each
//! upstream reads each spelling) and through the auth filter with
//! `ambiguous_path_action: MATCH_NORMALIZED` (the behaviour before issue
//! 21), which must show the bypasses the issue reported: the suite can
//! fail. The table of readings goes to `$TOLLGATE_PATH_READINGS` (else a
//! file in the temporary directory) and to the test's output.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use tollgate_tests::authz::AuthzServer;
use tollgate_tests::bootstrap::{cluster, socket, wasm_filter};
use tollgate_tests::client::{send_raw, Proto, Response, BOTH};
use tollgate_tests::echo::EchoServer;
use tollgate_tests::envoy::Envoy;
use tollgate_tests::h2c::{H2c, Outcome};
use tollgate_tests::real_upstream::{Kind, Location, Upstream};

const KEY: &str = "path-guard-key";
/// Requests the ratelimit filter lets through to `/admin` per hour.
const LIMIT: u32 = 2;

/// Every spelling tried. `{xNN}` stands for the raw byte 0xNN.
const SPELLINGS: &[&str] = &[
    // The plain paths (controls).
    "/admin",
    "/admin/",
    "/admin/x",
    "/public/",
    // The examples.
    "/admin/..;/public",
    "/admin\\..\\public",
    "/admin/%5c..%5cpublic",
    // Segment parameters, on dot segments and names.
    "/admin/..;/public/",
    "/public/..;/admin/",
    "/public/..;x=1/admin/",
    "/public/.;/../admin/",
    "/public/.;x/admin/",
    "/admin;/",
    "/admin;x=1/",
    "/admin;jsessionid=1",
    "/public;/../admin/",
    "/public/..%3b/admin/",
    "/public/..%3B/admin/",
    "/admin%3bx/",
    // Backslashes, raw and encoded, mixed with slashes.
    "/admin\\",
    "/admin\\x",
    "/public\\..\\admin\\",
    "/public/..\\admin/",
    "/admin%5cx",
    "/admin%5C..%5Cpublic",
    "/public%5c..%5cadmin%5c",
    "/public/%5c../admin/",
    // Encoded slashes.
    "/admin%2fx",
    "/admin%2F..%2Fpublic",
    "/public%2f..%2fadmin%2f",
    "/%2fadmin/",
    // Dot segments, literal and encoded, upper and lower case.
    "/public/../admin/",
    "/admin/../public/",
    "/admin/./",
    "/./admin/",
    "/../admin/",
    "/public/%2e%2e/admin/",
    "/public/%2E%2E/admin/",
    "/public/.%2e/admin/",
    "/public/%2e./admin/",
    "/admin/%2e%2e/public/",
    "/%2e/admin/",
    "/public/..%2fadmin/",
    "/public%2f%2e%2e%2fadmin/",
    "/admin/x/../../public/",
    // Double encoding.
    "/%2561dmin/",
    "/public/%252e%252e/admin/",
    "/public%252f..%252fadmin/",
    "/admin%255c..%255cpublic",
    // Overlong and invalid UTF-8, encoded and raw.
    "/%c0%ae%c0%ae/admin/",
    "/public/%c0%ae%c0%ae/admin/",
    "/public%c0%afadmin/",
    "/public/%e0%80%ae%e0%80%ae/admin/",
    "/admin%ff",
    "/adm{xff}in/",
    "/public/{xc0}{xae}{xc0}{xae}/admin/",
    // Encoded unreserved characters and case.
    "/%61dmin/",
    "/%41dmin/",
    "/adm%69n/",
    "/%61%64%6d%69%6e/",
    "/ADMIN/",
    "/Admin/",
    "/%41DMIN/",
    // Slashes.
    "//admin/",
    "///admin//",
    "/public//admin/",
    "//public/../admin/",
    // Trailing dots, near names, control characters.
    "/admin.",
    "/admin./",
    "/admin../",
    "/administrator",
    "/admin%20",
    "/admin%00/",
    "/admin%0a",
    "/admin%09/",
    // Query and fragment tricks.
    "/admin?/public",
    "/admin#/public",
    "/public?/admin",
    "/public#/../admin",
    "/admin%3f/public",
    "/admin%23/public",
    "/public/..%3f/admin/",
    "/public%3f/../admin/",
    "/admin?x=/../public",
];

fn bytes(spelling: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = spelling;
    while let Some(i) = rest.find("{x") {
        out.extend_from_slice(&rest.as_bytes()[..i]);
        let hex = &rest[i + 2..i + 4];
        out.push(u8::from_str_radix(hex, 16).expect("hex"));
        rest = &rest[i + 5..];
    }
    out.extend_from_slice(rest.as_bytes());
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Setting {
    /// `normalize_path` and `merge_slashes` unset.
    EnvoyDefaults,
    /// `normalize_path: true`, `merge_slashes: true`, as `envoy/*.yaml`.
    EnvoyFiles,
}

impl Setting {
    fn title(self) -> &'static str {
        match self {
            Setting::EnvoyDefaults => "Envoy's defaults (normalize_path and merge_slashes unset)",
            Setting::EnvoyFiles => {
                "envoy/*.yaml's settings (normalize_path: true, merge_slashes: true)"
            }
        }
    }
}

/// What stands in front of the upstream, one listener each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Guard {
    /// No filter: how the upstream reads the path as Envoy forwards it.
    Bare,
    /// The auth filter, API key on `/admin` (default: REJECT_REQUEST).
    Auth,
    /// The same with `ambiguous_path_action: MATCH_NORMALIZED`.
    AuthMatchNormalized,
    /// The auth filter's ext_authz on `/admin` (the service denies).
    ExtAuthz,
    /// The ratelimit filter, `/admin` limited to [`LIMIT`] an hour.
    RateLimit,
}

impl Guard {
    const ALL: [Guard; 5] = [
        Guard::Bare,
        Guard::Auth,
        Guard::AuthMatchNormalized,
        Guard::ExtAuthz,
        Guard::RateLimit,
    ];

    /// Guards that must never let an uncredentialed request reach `/admin`.
    fn must_hold(self) -> bool {
        matches!(self, Guard::Auth | Guard::ExtAuthz | Guard::RateLimit)
    }

    fn column(self) -> &'static str {
        match self {
            Guard::Bare => "none",
            Guard::Auth => "auth",
            Guard::AuthMatchNormalized => "MATCH_NORMALIZED",
            Guard::ExtAuthz => "ext_authz",
            Guard::RateLimit => "ratelimit",
        }
    }

    fn filter(self) -> Option<Value> {
        let api_key = json!({"credentials": [{"key": KEY, "client": "ops"}],
                             "key_sources": [{"header": "x-api-key"}]});
        let guarded = |requires: Value| json!([{"match": {"path": {"prefix": "/admin"}}, "requires": requires}]);
        let config = match self {
            Guard::Bare => return None,
            Guard::Auth => (
                "auth",
                json!({"api_key": api_key, "rules": guarded(json!({"api_key": {}}))}),
            ),
            Guard::AuthMatchNormalized => (
                "auth",
                json!({"api_key": api_key, "rules": guarded(json!({"api_key": {}})),
                       "ambiguous_path_action": "MATCH_NORMALIZED"}),
            ),
            Guard::ExtAuthz => (
                "auth",
                json!({"ext_authz": {"http_service": {
                           "server_uri": {"uri": "http://authz.test", "cluster": "authz", "timeout": "2s"},
                           "path_prefix": "/check"}},
                       "rules": guarded(json!({"ext_authz": {}}))}),
            ),
            Guard::RateLimit => (
                "ratelimit",
                json!({"descriptors": [{"name": "admin", "match": {"path": {"prefix": "/admin"}}, "key": [],
                       "token_bucket": {"max_tokens": LIMIT, "tokens_per_fill": 1, "fill_interval": "1h"}}]}),
            ),
        };
        Some(wasm_filter(config.0, &config.1.to_string()))
    }
}

/// Where a request goes: the echo upstream (what Envoy forwarded) or a
/// real server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Echo,
    Real(usize),
}

struct Rig<'a> {
    setting: Setting,
    envoy: Envoy,
    ports: Vec<(Guard, u16)>,
    upstreams: &'a [Upstream],
    _echo: EchoServer,
    _authz: AuthzServer,
}

impl<'a> Rig<'a> {
    fn start(setting: Setting, upstreams: &'a [Upstream]) -> Rig<'a> {
        let echo = EchoServer::start("127.0.0.1:0").expect("echo upstream");
        let authz = AuthzServer::start();
        let admin_port = tollgate_tests::free_port();
        let ports: Vec<(Guard, u16)> = Guard::ALL
            .iter()
            .map(|g| (*g, tollgate_tests::free_port()))
            .collect();
        let mut routes: Vec<Value> = upstreams
            .iter()
            .map(|u| u.kind.name())
            .chain(["echo"])
            .map(|name| {
                json!({"match": {"prefix": "/", "headers": [{"name": "x-upstream", "string_match": {"exact": name}}]},
                       "route": {"cluster": name, "timeout": "10s"}})
            })
            .collect();
        routes.push(json!({"match": {"prefix": "/"}, "direct_response": {"status": 421}}));
        let listeners: Vec<Value> = ports
            .iter()
            .map(|(guard, port)| {
                let mut filters: Vec<Value> = guard.filter().into_iter().collect();
                filters.push(json!({"name": "envoy.filters.http.router",
                    "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}));
                let mut hcm = json!({
                    "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                    "stat_prefix": guard.column(),
                    "codec_type": "AUTO",
                    "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": routes}]},
                    "http_filters": filters
                });
                if setting == Setting::EnvoyFiles {
                    hcm["normalize_path"] = json!(true);
                    hcm["merge_slashes"] = json!(true);
                }
                json!({"name": guard.column(), "address": socket(*port),
                       "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}]})
            })
            .collect();
        let clusters: Vec<Value> = upstreams
            .iter()
            .map(|u| cluster(u.kind.name(), u.port))
            .chain([cluster("echo", echo.port()), authz.cluster("authz")])
            .collect();
        let config = json!({
            "admin": {"address": socket(admin_port)},
            "static_resources": {"listeners": listeners, "clusters": clusters}
        });
        let text = serde_json::to_string_pretty(&config).expect("json");
        let envoy = Envoy::try_start_text(&text, "json", ports[0].1, admin_port, 1)
            .unwrap_or_else(|f| panic!("Envoy did not start: {}", f.log));
        Rig {
            setting,
            envoy,
            ports,
            upstreams,
            _echo: echo,
            _authz: authz,
        }
    }

    fn port(&self, guard: Guard) -> u16 {
        self.ports
            .iter()
            .find(|(g, _)| *g == guard)
            .map(|(_, p)| *p)
            .expect("listener")
    }

    fn target_name(&self, t: Target) -> &'static str {
        match t {
            Target::Echo => "echo",
            Target::Real(i) => self.upstreams[i].kind.name(),
        }
    }

    /// Sends `paths` to `target` through `guard`'s listener.
    fn send(
        &self,
        guard: Guard,
        target: Target,
        proto: Proto,
        paths: &[Vec<u8>],
        extra: &[(&str, &str)],
    ) -> Vec<Option<Response>> {
        let port = self.port(guard);
        let mut headers = vec![(
            "x-upstream".to_string(),
            self.target_name(target).to_string(),
        )];
        headers.extend(extra.iter().map(|(n, v)| (n.to_string(), v.to_string())));
        let h1 = |p: &Vec<u8>| {
            let mut raw = b"GET ".to_vec();
            raw.extend_from_slice(p);
            raw.extend_from_slice(b" HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n");
            for (n, v) in &headers {
                raw.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
            }
            raw.extend_from_slice(b"\r\n");
            send_raw(port, &raw).ok()
        };
        // HTTP/2: one connection per sender, a new one after Envoy ends it.
        let h2 = |chunk: &[Vec<u8>]| {
            let mut conn: Option<H2c> = None;
            chunk
                .iter()
                .map(|p| {
                    if conn.as_ref().is_none_or(|c| c.is_closed()) {
                        conn = Some(H2c::connect(port).expect("h2c connect"));
                    }
                    let c = conn.as_mut()?;
                    match c.get(p, &headers) {
                        Ok(Outcome::Response(r)) => Some(r),
                        Ok(Outcome::Reset) => None,
                        Err(_) => {
                            conn = None;
                            None
                        }
                    }
                })
                .collect::<Vec<_>>()
        };
        // A few senders at a time, answers in order.
        std::thread::scope(|s| {
            let (h1, h2) = (&h1, &h2);
            let chunks: Vec<_> = paths
                .chunks(paths.len().div_ceil(4).max(1))
                .map(|chunk| {
                    s.spawn(move || match proto {
                        Proto::H1 => chunk.iter().map(h1).collect::<Vec<_>>(),
                        Proto::H2 => h2(chunk),
                    })
                })
                .collect();
            chunks
                .into_iter()
                .flat_map(|h| h.join().expect("sender thread"))
                .collect()
        })
    }

    fn location(&self, target: Target, r: &Option<Response>) -> Option<Location> {
        match (target, r) {
            (Target::Real(i), Some(r)) if from_upstream(r) && !is_tollgate(r) => {
                Some(self.upstreams[i].served(r))
            }
            _ => None,
        }
    }
}

/// Whether the response came from the upstream (Envoy's router adds
/// `x-envoy-upstream-service-time`; its own and the filters' replies have
/// none).
fn from_upstream(r: &Response) -> bool {
    r.header("x-envoy-upstream-service-time").is_some()
}

fn is_tollgate(r: &Response) -> bool {
    r.header("content-type") == Some("application/json")
        && serde_json::from_slice::<Value>(&r.body)
            .is_ok_and(|b| b["error"].is_string() && b["reason"].is_string())
}

/// A short code: `G200` a guarded location answered (status 200), `P404`
/// the public location, `U400` the upstream outside both, `E400` Envoy
/// itself, `T401` a Tollgate filter (`T400` is `ambiguous_path` unless
/// noted), `-` no response (stream or connection reset).
fn code(rig: &Rig, target: Target, r: &Option<Response>) -> String {
    let Some(resp) = r else {
        return "-".into();
    };
    let s = resp.status;
    // Before the upstream test: an authorization service's denial carries
    // the headers of the service's response.
    if is_tollgate(resp) {
        let e = resp.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        return match (s, e.as_str()) {
            (400, "ambiguous_path") => "T400".into(),
            (400, other) => format!("T400({other})"),
            _ => format!("T{s}"),
        };
    }
    if !from_upstream(resp) {
        return format!("E{s}");
    }
    match rig.location(target, r) {
        Some(Location::Guarded) => format!("G{s}"),
        Some(Location::Public) => format!("P{s}"),
        _ => format!("U{s}"),
    }
}

/// What the echo upstream received, or the code of what answered instead.
fn forwarded(rig: &Rig, r: &Option<Response>) -> String {
    match r {
        Some(resp) if from_upstream(resp) => resp.json()["path"]
            .as_str()
            .unwrap_or("?")
            .escape_debug()
            .to_string(),
        _ => code(rig, Target::Echo, r),
    }
}

type Key = (Proto2, usize, Guard, Target);
type Proto2 = u8;

fn proto_id(p: Proto) -> Proto2 {
    match p {
        Proto::H1 => 1,
        Proto::H2 => 2,
    }
}

/// Runs every spelling through every listener to every upstream; returns
/// the readings table and the violations found.
fn run(setting: Setting, upstreams: &[Upstream]) -> (String, Vec<String>) {
    let rig = Rig::start(setting, upstreams);
    let mut problems = Vec::new();
    let reals: Vec<Target> = (0..upstreams.len()).map(Target::Real).collect();
    let admin = vec![b"/admin/".to_vec()];

    // The limit lets LIMIT requests through to the guarded location, then no more.
    for i in 0..LIMIT {
        let r = rig.send(Guard::RateLimit, reals[0], Proto::H1, &admin, &[]);
        if rig.location(reals[0], &r[0]) != Some(Location::Guarded) {
            problems.push(format!(
                "{setting:?}: /admin/ within the limit (#{i}) got {}",
                code(&rig, reals[0], &r[0])
            ));
        }
    }
    // Controls: without a guard every upstream serves /admin/ from its
    // guarded location and /public/ from the public one; with the key the
    // auth filter lets /admin/ through.
    for &t in &reals {
        for proto in BOTH {
            let name = rig.target_name(t);
            let bare = rig.send(
                Guard::Bare,
                t,
                proto,
                &[b"/admin/".to_vec(), b"/public/".to_vec()],
                &[],
            );
            if rig.location(t, &bare[0]) != Some(Location::Guarded)
                || rig.location(t, &bare[1]) != Some(Location::Public)
            {
                problems.push(format!(
                    "{setting:?} {proto:?} {name}: controls without a guard read {} and {}",
                    code(&rig, t, &bare[0]),
                    code(&rig, t, &bare[1])
                ));
            }
            let keyed = rig.send(Guard::Auth, t, proto, &admin, &[("x-api-key", KEY)]);
            if rig.location(t, &keyed[0]) != Some(Location::Guarded) {
                problems.push(format!(
                    "{setting:?} {proto:?} {name}: /admin/ with the key got {}",
                    code(&rig, t, &keyed[0])
                ));
            }
        }
    }

    let paths: Vec<Vec<u8>> = SPELLINGS.iter().map(|s| bytes(s)).collect();
    let mut codes: BTreeMap<Key, String> = BTreeMap::new();
    let mut fwd: BTreeMap<(Proto2, usize), String> = BTreeMap::new();
    for proto in BOTH {
        let echo = rig.send(Guard::Bare, Target::Echo, proto, &paths, &[]);
        for (i, r) in echo.iter().enumerate() {
            fwd.insert((proto_id(proto), i), forwarded(&rig, r));
        }
        for guard in Guard::ALL {
            for &t in &reals {
                let got = rig.send(guard, t, proto, &paths, &[]);
                for (i, r) in got.iter().enumerate() {
                    if guard.must_hold() && rig.location(t, r) == Some(Location::Guarded) {
                        problems.push(format!(
                            "{setting:?} {proto:?} {}: {:?} through {} was served by the guarded location ({})",
                            rig.target_name(t), SPELLINGS[i], guard.column(), code(&rig, t, r)
                        ));
                    }
                    codes.insert((proto_id(proto), i, guard, t), code(&rig, t, r));
                }
            }
        }
    }

    // The suite can fail: without the default, the bypasses show.
    let bypasses: &[&str] = match setting {
        Setting::EnvoyDefaults => &["/admin/..;/public", "/admin\\..\\public"],
        Setting::EnvoyFiles => &["/admin/%5c..%5cpublic"],
    };
    for b in bypasses {
        let i = SPELLINGS.iter().position(|s| s == b).expect("listed");
        let c = &codes[&(1, i, Guard::AuthMatchNormalized, reals[0])];
        if !c.starts_with('G') {
            problems.push(format!("{setting:?}: the issue's bypass {b:?} no longer reaches nginx's /admin with MATCH_NORMALIZED ({c}): the suite lost its teeth"));
        }
    }
    // The examples are refused by the default (with Envoy's
    // `normalize_path` the first two reach the filter as `/public`, one
    // reading, which every upstream serves from its public location; that
    // they never reach a guarded one is checked above with the rest).
    let refused: &[&str] = match setting {
        Setting::EnvoyDefaults => &[
            "/admin/..;/public",
            "/admin\\..\\public",
            "/admin/%5c..%5cpublic",
        ],
        Setting::EnvoyFiles => &["/admin/%5c..%5cpublic"],
    };
    for b in refused {
        let i = SPELLINGS.iter().position(|s| s == b).expect("listed");
        for proto in BOTH {
            for &t in &reals {
                let c = &codes[&(proto_id(proto), i, Guard::Auth, t)];
                if c != "T400" && c != "E400" {
                    problems.push(format!(
                        "{setting:?} {proto:?} {}: {b:?} got {c}, not a 400",
                        rig.target_name(t)
                    ));
                }
            }
        }
    }
    let counter = rig
        .envoy
        .counter("wasmcustom.tollgate.auth.ambiguous_paths");
    if counter == 0 {
        problems.push(format!(
            "{setting:?}: tollgate.auth.ambiguous_paths stayed 0"
        ));
    }

    // The table.
    let mut t = String::new();
    t.push_str(&format!("== {} ==\n", rig.setting.title()));
    let mut head = format!(
        "{:<38} {:<2} {:<34}",
        "spelling", "", "forwarded (echo upstream)"
    );
    for &tg in &reals {
        head.push_str(&format!(" | {:<26}", rig.target_name(tg)));
    }
    t.push_str(&head);
    t.push('\n');
    let mut sub = format!("{:<38} {:<2} {:<34}", "", "", "");
    for _ in &reals {
        sub.push_str(&format!(" | {:<26}", "none auth M.N. ext rl"));
    }
    t.push_str(&sub);
    t.push('\n');
    for (i, s) in SPELLINGS.iter().enumerate() {
        for proto in BOTH {
            let p = proto_id(proto);
            let mut line = format!(
                "{:<38} h{p} {:<34}",
                s.escape_debug().to_string(),
                fwd[&(p, i)]
            );
            for &tg in &reals {
                let cell: Vec<&str> = Guard::ALL
                    .iter()
                    .map(|g| codes[&(p, i, *g, tg)].as_str())
                    .collect();
                line.push_str(&format!(" | {:<26}", cell.join(" ")));
            }
            t.push_str(line.trim_end());
            t.push('\n');
        }
    }
    (t, problems)
}

#[test]
fn no_spelling_reaches_a_guarded_location_of_nginx_apache_or_tomcat() {
    let upstreams = Upstream::start_all();
    let started = std::time::Instant::now();
    let results: Vec<(String, Vec<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = [Setting::EnvoyDefaults, Setting::EnvoyFiles]
            .into_iter()
            .map(|setting| {
                let u = &upstreams;
                s.spawn(move || run(setting, u))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a setting's run panicked"))
            .collect()
    });
    let mut table = format!(
        "Path readings ({} spellings; Envoy 1.40; {}).\n\
         Codes: G = the upstream's guarded location answered (with its status), P = its public location,\n\
         U = the upstream outside both (its own 400, a 404), E = Envoy's own reply, T = a Tollgate filter\n\
         (T400 = ambiguous_path, T401 = no API key, T403 = ext_authz denied, T429 = limited), - = reset.\n\
         Columns per upstream: no filter | auth (REJECT_REQUEST, the default) | auth with MATCH_NORMALIZED |\n\
         ext_authz on /admin | ratelimit on /admin (limit spent). h1 = HTTP/1.1 raw, h2 = h2c, :path sent byte for byte (tollgate_tests::h2c).\n\n",
        SPELLINGS.len(),
        upstreams.iter().map(|u| u.kind.name()).collect::<Vec<_>>().join(", ")
    );
    let mut problems = Vec::new();
    for (t, p) in results {
        table.push_str(&t);
        table.push('\n');
        problems.extend(p);
    }
    let file = std::env::var_os("TOLLGATE_PATH_READINGS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("tollgate-path-readings.txt"));
    std::fs::write(&file, &table).unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
    println!("{table}");
    println!(
        "readings written to {} ({:.1} s)",
        file.display(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        problems.is_empty(),
        "{} problems (table in {}):\n{}",
        problems.len(),
        file.display(),
        problems.join("\n")
    );
    // Every upstream was there throughout.
    for u in &upstreams {
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", u.port)).is_ok(),
            "{} died:\n{}",
            u.kind.name(),
            u.log()
        );
    }
    let _ = Kind::ALL;
}
