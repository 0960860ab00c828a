//! Twins: one configuration through Envoy's native filter and through
//! Tollgate's module, in one Envoy (one process, one clock, two listeners)
//! in front of one echo upstream, the same requests sent to both.
//!
//! For every request the harness compares the status, the request as the
//! upstream saw it (method, path and query, every header by name with its
//! values in order, except Envoy's random `x-request-id`) and the response
//! headers the twin watches; with [`Twin::compare_denial_bodies`] also the
//! body of answers that did not come from the upstream. Every mismatch of
//! a run is reported at once, with the request and both sides.
//!
//! A difference is allowed only when declared, per case ([`Case::listed`])
//! or for the whole twin ([`Twin::tollgate_adds`]), naming its row of the
//! README's "Differences from Envoy's native filters" table; that row must
//! name the twin's test. A declared difference that does not show is a
//! mismatch too, so the declarations cannot go stale ([`Diff::Unstable`],
//! for what Envoy itself does differently from one process to the next, is
//! the one declaration not required to show).

use crate::bootstrap::{socket, Bootstrap};
use crate::client::{Proto, Request, Response};
use crate::echo::{EchoServer, Received};
use crate::envoy::Envoy;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Tags each request so the upstream's record of it can be found; never compared.
pub const TAG: &str = "twin-seq";

/// What may differ in one case, and the README row saying why.
#[derive(Clone, Debug)]
pub enum Diff {
    /// Exactly these statuses (native, tollgate).
    Status(u16, u16),
    /// The upstream request's method and path (query included).
    UpstreamPath,
    /// This upstream header's values.
    UpstreamHeader(&'static str),
    /// This watched response header's values.
    Response(&'static str),
    /// The body of an answer that did not come from the upstream.
    Body,
    /// This upstream header may differ or not: only for what Envoy's own
    /// filter does differently from one Envoy process to the next (so it is
    /// not required to show).
    Unstable(&'static str),
}

/// One request of a twin run.
#[derive(Clone, Debug)]
pub struct Case {
    pub shape: String,
    pub request: Request,
    pub proto: Proto,
    pub listed: Vec<(Diff, &'static str)>,
}

impl Case {
    pub fn new(shape: &str, request: Request) -> Case {
        Case {
            shape: shape.into(),
            request,
            proto: Proto::H1,
            listed: vec![],
        }
    }

    pub fn h2(mut self) -> Case {
        self.proto = Proto::H2;
        self
    }

    /// Declares a difference; `row` is text of its README row.
    pub fn listed(mut self, diff: Diff, row: &'static str) -> Case {
        self.listed.push((diff, row));
        self
    }
}

/// What one side did with one request.
#[derive(Clone, Debug)]
pub struct Seen {
    pub status: u16,
    /// Method, path and headers by name, as the upstream saw them; `None`
    /// when the request did not reach it.
    pub upstream: Option<(String, String, BTreeMap<String, Vec<String>>)>,
    /// The watched response headers' values, in the order watched.
    pub response: Vec<Vec<String>>,
    pub body: String,
    pub raw: Response,
}

pub struct Twin {
    pub envoy: Envoy,
    pub echo: EchoServer,
    pub native_port: u16,
    pub tollgate_port: u16,
    test: String,
    watched: Vec<String>,
    adds: Vec<(String, &'static str)>,
    declared: Vec<&'static str>,
    bodies: bool,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

impl Twin {
    /// Starts one Envoy with the native side's listener and the Tollgate
    /// side's, each built on the echo upstream's port. `test` is the test's
    /// name as the README's table names it (`<file>::<test>`). The clusters
    /// of both are merged by name.
    pub fn start(
        test: &str,
        native: impl FnOnce(u16) -> Bootstrap,
        tollgate: impl FnOnce(u16) -> Bootstrap,
    ) -> Twin {
        let echo = EchoServer::start("127.0.0.1:0").expect("echo upstream");
        let (n, t) = (native(echo.port()), tollgate(echo.port()));
        let concurrency = n.concurrency.max(t.concurrency);
        let (mut doc, other) = (n.to_json(), t.to_json());
        let (native_port, tollgate_port) = (n.listener_port, t.listener_port);
        let mut listeners = vec![];
        for (side, d, port) in [
            ("native", &doc, native_port),
            ("tollgate", &other, tollgate_port),
        ] {
            let mut l = d["static_resources"]["listeners"][0].clone();
            l["name"] = json!(side);
            l["address"] = socket(port);
            listeners.push(l);
        }
        let mut clusters: BTreeMap<String, Value> = BTreeMap::new();
        for d in [&doc, &other] {
            for c in d["static_resources"]["clusters"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let name = c["name"].as_str().unwrap_or_default().to_string();
                if let Some(old) = clusters.insert(name.clone(), c.clone()) {
                    assert_eq!(&old, c, "twin sides define cluster {name} differently");
                }
            }
        }
        doc["static_resources"]["listeners"] = Value::Array(listeners);
        doc["static_resources"]["clusters"] = Value::Array(clusters.into_values().collect());
        let text = serde_json::to_string_pretty(&doc).expect("bootstrap");
        let envoy = Envoy::try_start_text(&text, "json", tollgate_port, n.admin_port, concurrency)
            .unwrap_or_else(|f| panic!("Envoy did not start ({:?}):\n{}", f.exited, f.log));
        Twin {
            envoy,
            echo,
            native_port,
            tollgate_port,
            test: test.into(),
            watched: vec![],
            adds: vec![],
            declared: vec![],
            bodies: false,
        }
    }

    /// Response headers compared, besides the status.
    pub fn watch(mut self, headers: &[&str]) -> Twin {
        self.watched = headers.iter().map(|h| h.to_string()).collect();
        self
    }

    /// A header Tollgate's side sets upstream and Envoy's never does (a
    /// listed difference for every case): compared only as present on the
    /// Tollgate side when the native side has none of it.
    pub fn tollgate_adds(mut self, header: &str, row: &'static str) -> Twin {
        self.adds.push((header.to_ascii_lowercase(), row));
        self
    }

    /// A difference the test itself maps away (e.g. in what `observe`
    /// reports), declared so that its README row is checked like the others.
    pub fn declare(mut self, row: &'static str) -> Twin {
        self.declared.push(row);
        self
    }

    /// Also compare the bodies of answers that did not come from the upstream.
    pub fn compare_denial_bodies(mut self) -> Twin {
        self.bodies = true;
        self
    }

    /// Sends `req` to one side and records what happened to it.
    pub fn see(&self, tollgate: bool, req: &Request, proto: Proto) -> Seen {
        let tag = format!("{}", SEQ.fetch_add(1, Ordering::SeqCst));
        let port = if tollgate {
            self.tollgate_port
        } else {
            self.native_port
        };
        // Both sides see the same authority (curl's would name the port).
        let mut req = req.clone();
        if !req
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("host"))
        {
            req = req.header("host", "localhost");
        }
        let raw = req.header(TAG, &tag).send(port, proto);
        let upstream = self
            .echo
            .received()
            .into_iter()
            .find(|r| r.header(TAG) == Some(tag.as_str()))
            .map(|r| upstream_view(&r));
        Seen {
            status: raw.status,
            response: self
                .watched
                .iter()
                .map(|h| raw.header_values(h).iter().map(|v| v.to_string()).collect())
                .collect(),
            body: raw.text(),
            upstream,
            raw,
        }
    }

    /// Sends the case to the native side, then to Tollgate's; returns both
    /// and the case's mismatches (empty when the twins agree as declared).
    pub fn pair(&self, case: &Case) -> (Seen, Seen, Vec<String>) {
        self.pair_observing(case, &|_| String::new())
    }

    /// [`Twin::pair`] that also compares what `observe` reports after each
    /// side's request (e.g. the check an authorization service received;
    /// its argument: whether the side was Tollgate's).
    pub fn pair_observing(
        &self,
        case: &Case,
        observe: &dyn Fn(bool) -> String,
    ) -> (Seen, Seen, Vec<String>) {
        let n = self.see(false, &case.request, case.proto);
        let on = observe(false);
        let t = self.see(true, &case.request, case.proto);
        let ot = observe(true);
        let mut problems = self.compare(case, &n, &t);
        if on != ot {
            problems.push(format!("observed {on} / {ot}"));
        }
        (n, t, problems)
    }

    /// Runs every case and fails with every mismatch at once. Returns what
    /// both sides saw, for further checks of the expected behaviour.
    pub fn run(&self, cases: &[Case]) -> Vec<(Seen, Seen)> {
        self.run_observing(cases, &|_| String::new())
    }

    /// [`Twin::run`] with [`Twin::pair_observing`].
    pub fn run_observing(
        &self,
        cases: &[Case],
        observe: &dyn Fn(bool) -> String,
    ) -> Vec<(Seen, Seen)> {
        let mut seen = vec![];
        let mut report = self.check_readme(cases);
        for case in cases {
            let (n, t, problems) = self.pair_observing(case, observe);
            if !problems.is_empty() {
                report.push(describe(case, &n, &t, &problems));
            }
            seen.push((n, t));
        }
        assert!(
            report.is_empty(),
            "{}: {} of {} shapes differ\n{}",
            self.test,
            report.len(),
            cases.len(),
            report.join("\n")
        );
        seen
    }

    fn compare(&self, case: &Case, n: &Seen, t: &Seen) -> Vec<String> {
        let mut problems = vec![];
        let mut used = vec![false; case.listed.len()];
        let listed = |f: &dyn Fn(&Diff) -> bool, used: &mut Vec<bool>| {
            let at = case.listed.iter().position(|(d, _)| f(d));
            if let Some(i) = at {
                used[i] = true;
            }
            at.is_some()
        };
        // A listed difference of status covers what follows from it: one
        // side's request reached the upstream, the other's did not.
        let mut status_listed = false;
        if n.status != t.status {
            let (a, b) = (n.status, t.status);
            status_listed = listed(
                &|d| matches!(d, Diff::Status(x, y) if (*x, *y) == (a, b)),
                &mut used,
            );
            if !status_listed {
                problems.push(format!("status {a} / {b}"));
            }
        }
        match (&n.upstream, &t.upstream) {
            (None, None) => {}
            (Some((nm, np, nh)), Some((tm, tp, th))) => {
                if (nm, np) != (tm, tp) && !listed(&|d| matches!(d, Diff::UpstreamPath), &mut used)
                {
                    problems.push(format!("upstream request {nm} {np} / {tm} {tp}"));
                }
                let names: std::collections::BTreeSet<&String> =
                    nh.keys().chain(th.keys()).collect();
                for name in names {
                    let (a, b) = (nh.get(name), th.get(name));
                    if a == b {
                        continue;
                    }
                    let added = a.is_none() && self.adds.iter().any(|(h, _)| h == name);
                    let unstable = case
                        .listed
                        .iter()
                        .any(|(d, _)| matches!(d, Diff::Unstable(h) if h == name));
                    if !added
                        && !unstable
                        && !listed(
                            &|d| matches!(d, Diff::UpstreamHeader(h) if h == name),
                            &mut used,
                        )
                    {
                        problems.push(format!("upstream {name}: {a:?} / {b:?}"));
                    }
                }
            }
            _ if status_listed => {}
            (a, b) => problems.push(format!(
                "reached the upstream: {} / {}",
                a.is_some(),
                b.is_some()
            )),
        }
        for (i, h) in self.watched.iter().enumerate() {
            if n.response[i] != t.response[i]
                && !listed(&|d| matches!(d, Diff::Response(x) if x == h), &mut used)
            {
                problems.push(format!(
                    "response {h}: {:?} / {:?}",
                    n.response[i], t.response[i]
                ));
            }
        }
        let local = n.upstream.is_none() && t.upstream.is_none();
        if self.bodies
            && local
            && n.body != t.body
            && !listed(&|d| matches!(d, Diff::Body), &mut used)
        {
            problems.push(format!("body {:?} / {:?}", n.body, t.body));
        }
        for ((d, row), used) in case.listed.iter().zip(used) {
            if !used && !matches!(d, Diff::Unstable(_)) {
                problems.push(format!("listed difference {d:?} ({row}) did not show"));
            }
        }
        problems
    }

    /// Every row a run declares is in the README's table and names this test.
    fn check_readme(&self, cases: &[Case]) -> Vec<String> {
        let readme =
            std::fs::read_to_string(crate::repo_root().join("README.md")).expect("README.md");
        let table: Vec<&str> = readme
            .split("## Differences from Envoy's native filters")
            .nth(1)
            .unwrap_or_default()
            .lines()
            .take_while(|l| !l.starts_with("## "))
            .filter(|l| l.starts_with('|'))
            .collect();
        let rows = cases
            .iter()
            .flat_map(|c| c.listed.iter().map(|(_, r)| *r))
            .chain(self.adds.iter().map(|(_, r)| *r))
            .chain(self.declared.iter().copied())
            .collect::<std::collections::BTreeSet<&str>>();
        rows.into_iter()
            .filter(|row| {
                !table
                    .iter()
                    .any(|l| l.contains(row) && l.contains(&self.test))
            })
            .map(|row| {
                format!(
                    "- no row of the README's differences table contains {row:?} and names {}",
                    self.test
                )
            })
            .collect()
    }
}

/// The upstream's view of a request: method, path and headers by name
/// (lower case), values in order; the tag and `x-request-id` left out.
fn upstream_view(r: &Received) -> (String, String, BTreeMap<String, Vec<String>>) {
    let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (n, v) in &r.headers {
        let n = n.to_ascii_lowercase();
        if n != TAG && n != "x-request-id" {
            headers.entry(n).or_default().push(v.clone());
        }
    }
    (r.method.clone(), r.path.clone(), headers)
}

fn describe(case: &Case, n: &Seen, t: &Seen, problems: &[String]) -> String {
    let side = |s: &Seen| {
        format!(
            "{} {:?} body {:.200}",
            s.status,
            s.upstream.as_ref().map(|(m, p, h)| (m, p, h)),
            s.body.replace('\n', " ")
        )
    };
    format!(
        "- {} ({:?} {} {} {:?})\n    {}\n    native:   {}\n    tollgate: {}",
        case.shape,
        case.proto,
        case.request.method,
        case.request.path,
        case.request.headers,
        problems.join("; "),
        side(n),
        side(t)
    )
}

/// Fails unless Envoy's side answered each of `statuses` at least once: a
/// twin that agrees is only evidence when it agreed on both outcomes (keys
/// accepted and refused, not agreement on nothing).
pub fn assert_answered(seen: &[(Seen, Seen)], statuses: &[u16]) {
    let got: Vec<u16> = seen.iter().map(|(n, _)| n.status).collect();
    assert!(
        statuses.iter().all(|s| got.contains(s)),
        "want each of {statuses:?} at least once, got {got:?}"
    );
}
