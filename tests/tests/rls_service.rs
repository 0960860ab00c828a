//! The test rate-limit service (`tests/rls`) checked with a real gRPC client
//! (tonic, envoy-types), then behind Envoy's own native ratelimit filter: the
//! reference client of the protocol the ratelimit filter's global mode speaks.

use std::time::{Duration, Instant};

use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_response::rate_limit::Unit;
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_response::Code;
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_service_client::RateLimitServiceClient;
use envoy_types::pb::envoy::service::ratelimit::v3::RateLimitResponse;
use serde_json::{json, Value};
use tollgate_tests::bootstrap::Bootstrap;
use tollgate_tests::client::{Proto, Request};
use tollgate_tests::echo::EchoServer;
use tollgate_tests::envoy::Envoy;
use tollgate_tests::rls::RateLimitService;

#[path = "../rls/src/request.rs"]
mod request;
use request::request;

/// A blocking gRPC client on a one-thread runtime.
struct Client {
    rt: tokio::runtime::Runtime,
    client: RateLimitServiceClient<tonic::transport::Channel>,
}

impl Client {
    fn connect(port: u16) -> Client {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = rt
            .block_on(RateLimitServiceClient::connect(format!(
                "http://127.0.0.1:{port}"
            )))
            .unwrap();
        Client { rt, client }
    }

    fn call(
        &mut self,
        domain: &str,
        descriptors: &[&[(&str, &str)]],
        hits: u32,
        timeout: Option<Duration>,
    ) -> Result<RateLimitResponse, tonic::Status> {
        let mut req = tonic::Request::new(request(domain, descriptors, hits));
        if let Some(t) = timeout {
            req.set_timeout(t);
        }
        let client = &mut self.client;
        self.rt
            .block_on(client.should_rate_limit(req))
            .map(|r| r.into_inner())
    }

    fn ok(
        &mut self,
        domain: &str,
        descriptors: &[&[(&str, &str)]],
        hits: u32,
    ) -> RateLimitResponse {
        self.call(domain, descriptors, hits, None).unwrap()
    }
}

fn per_user(max: u64) -> Value {
    json!([{"namespace": "tollgate", "max_value": max, "seconds": 60, "name": "per-user",
            "variables": ["descriptors[0].user"]}])
}

#[test]
fn ok_then_over_limit_per_user() {
    let rls = RateLimitService::start(&per_user(3), &["--rate-limit-headers"]);
    let mut c = Client::connect(rls.port());
    let a: &[&[(&str, &str)]] = &[&[("user", "a")]];
    for remaining in [2, 1, 0] {
        let r = c.ok("tollgate", a, 0);
        assert_eq!(r.overall_code, Code::Ok as i32, "{r:?}");
        let s = &r.statuses[0];
        assert_eq!(
            (s.code, s.limit_remaining),
            (Code::Ok as i32, remaining),
            "{r:?}"
        );
        let limit = s.current_limit.clone().unwrap();
        assert_eq!(
            (limit.requests_per_unit, limit.unit, limit.name.as_str()),
            (3, Unit::Minute as i32, "per-user")
        );
        let reset = s.duration_until_reset.unwrap();
        assert!((59..=60).contains(&reset.seconds), "{reset:?}");
    }
    let r = c.ok("tollgate", a, 0);
    assert_eq!(r.overall_code, Code::OverLimit as i32, "{r:?}");
    assert_eq!(
        (r.statuses[0].code, r.statuses[0].limit_remaining),
        (Code::OverLimit as i32, 0)
    );
    let headers: Vec<(&str, &str)> = r
        .response_headers_to_add
        .iter()
        .map(|h| (h.key.as_str(), h.value.as_str()))
        .collect();
    assert_eq!(
        headers[0],
        ("X-RateLimit-Limit", "3, 3;w=60;name=\"per-user\""),
        "{headers:?}"
    );
    assert_eq!(headers[1], ("X-RateLimit-Remaining", "0"));
    assert_eq!(headers[2].0, "X-RateLimit-Reset");

    // Each user has its own counter; without the variable the limit does not
    // apply; another domain has no limits.
    assert_eq!(
        c.ok("tollgate", &[&[("user", "b")]], 0).overall_code,
        Code::Ok as i32
    );
    let r = c.ok("tollgate", &[&[("path", "/x")]], 0);
    assert_eq!(r.overall_code, Code::Ok as i32);
    assert_eq!(r.statuses[0].current_limit, None);
    assert_eq!(c.ok("other", a, 0).overall_code, Code::Ok as i32);

    let seen = rls.requests();
    assert_eq!(seen.len(), 7);
    assert_eq!(
        seen[0],
        json!({"domain": "tollgate", "hits_addend": 0,
               "descriptors": [{"entries": [{"key": "user", "value": "a"}]}]})
    );
    assert_eq!(rls.calls(), 7);

    // New limits: counters start again.
    rls.set_limits(&per_user(1));
    assert_eq!(c.ok("tollgate", a, 0).overall_code, Code::Ok as i32);
    assert_eq!(c.ok("tollgate", a, 0).overall_code, Code::OverLimit as i32);
}

#[test]
fn hits_addend_charges_all_or_nothing() {
    let rls = RateLimitService::start(&per_user(5), &[]);
    let mut c = Client::connect(rls.port());
    let a: &[&[(&str, &str)]] = &[&[("user", "a")]];
    assert_eq!(c.ok("tollgate", a, 3).statuses[0].limit_remaining, 2);
    let r = c.ok("tollgate", a, 3);
    assert_eq!(r.overall_code, Code::OverLimit as i32);
    // Refused hits are not charged: 2 still fit.
    assert_eq!(r.statuses[0].limit_remaining, 2);
    let r = c.ok("tollgate", a, 2);
    assert_eq!(
        (r.overall_code, r.statuses[0].limit_remaining),
        (Code::Ok as i32, 0)
    );
    assert_eq!(c.ok("tollgate", a, 1).overall_code, Code::OverLimit as i32);
}

#[test]
fn faults_switch_at_run_time() {
    let rls = RateLimitService::start(&per_user(100), &["--garbage"]);
    let mut c = Client::connect(rls.port());
    let a: &[&[(&str, &str)]] = &[&[("user", "a")]];

    // Garbage: gRPC status OK, but the message does not decode.
    let e = c.call("tollgate", a, 0, None).unwrap_err();
    assert_eq!(e.code(), tonic::Code::Internal, "{e:?}");
    assert!(e.message().contains("decode"), "{e:?}");

    rls.fault("not-grpc");
    let e = c.call("tollgate", a, 0, None).unwrap_err();
    assert_ne!(e.code(), tonic::Code::Ok, "{e:?}");

    rls.fault("status UNAVAILABLE");
    let e = c.call("tollgate", a, 0, None).unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unavailable, "{e:?}");

    // Slow: past the caller's deadline, then within a longer one.
    rls.fault("none");
    rls.delay_ms(300);
    let started = Instant::now();
    let e = c
        .call("tollgate", a, 0, Some(Duration::from_millis(50)))
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(
            e.code(),
            tonic::Code::Cancelled | tonic::Code::DeadlineExceeded
        ),
        "{e:?}"
    );
    let started = Instant::now();
    let r = c
        .call("tollgate", a, 0, Some(Duration::from_secs(5)))
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(r.overall_code, Code::Ok as i32);

    rls.delay_ms(0);
    assert_eq!(c.ok("tollgate", a, 0).overall_code, Code::Ok as i32);
    // Every call reached the service; only honest ones were decided, and not
    // the one its caller gave up on while it was held back (HTTP/2 reset
    // cancels it): a timed-out call charges no counter.
    assert_eq!(rls.calls(), 6);
    assert_eq!(rls.requests().len(), 2);
}

#[test]
fn delay_and_status_from_the_command_line() {
    let rls = RateLimitService::start(
        &per_user(1),
        &["--delay-ms", "100", "--status", "RESOURCE_EXHAUSTED"],
    );
    let mut c = Client::connect(rls.port());
    let started = Instant::now();
    let e = c
        .call("tollgate", &[&[("user", "a")]], 0, None)
        .unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(e.code(), tonic::Code::ResourceExhausted, "{e:?}");
}

#[test]
fn down_means_connection_refused() {
    let mut rls = RateLimitService::start(&per_user(1), &[]);
    let port = rls.port();
    rls.stop();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn bad_limits_fail_at_start_with_the_field() {
    let err = std::panic::catch_unwind(|| {
        RateLimitService::start(&json!([{"namespace": "d", "max": 1, "seconds": 1}]), &[])
    })
    .err()
    .and_then(|e| e.downcast_ref::<String>().cloned())
    .unwrap_or_default();
    assert!(err.contains("unknown field `max`"), "{err}");
}

/// Envoy's native ratelimit filter, the protocol's reference client, against
/// the service: it decodes the answers, applies the limit and the service's
/// headers, and fails open on garbage (failure_mode_deny false).
#[test]
fn envoy_native_ratelimit_filter_uses_the_service() {
    let rls = RateLimitService::start(&per_user(2), &["--request-header", "x-rls-checked: yes"]);
    let echo = EchoServer::start("127.0.0.1:0").unwrap();
    let b = Bootstrap::new(echo.port()).filter(json!({
        "name": "envoy.filters.http.ratelimit",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit",
            "domain": "tollgate",
            "timeout": "2s",
            "enable_x_ratelimit_headers": "DRAFT_VERSION_03",
            "rate_limits": [{"actions": [{"request_headers": {"header_name": "x-user", "descriptor_key": "user"}}]}],
            "rate_limit_service": {
                "grpc_service": {"envoy_grpc": {"cluster_name": "ratelimit"}},
                "transport_api_version": "V3"
            }
        }
    }));
    let mut config = b.to_json();
    config["static_resources"]["clusters"]
        .as_array_mut()
        .unwrap()
        .push(rls.cluster("ratelimit"));
    let text = serde_json::to_string(&config).unwrap();
    let envoy = Envoy::try_start_text(&text, "json", b.listener_port, b.admin_port, 1)
        .unwrap_or_else(|f| panic!("Envoy did not start: {}", f.log));

    let send = || {
        Request::get("/x")
            .header("x-user", "a")
            .send(envoy.port, Proto::H1)
    };
    for remaining in ["1", "0"] {
        let r = send();
        assert_eq!(r.status, 200, "{}", r.text());
        // Envoy computes its draft-03 headers from the descriptor statuses.
        assert_eq!(
            r.header("x-ratelimit-limit"),
            Some("2, 2;w=60;name=\"per-user\"")
        );
        assert_eq!(r.header("x-ratelimit-remaining"), Some(remaining));
    }
    let seen = echo.received();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].header("x-rls-checked"), Some("yes"));
    let r = send();
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(echo.received().len(), 2);

    rls.fault("garbage");
    assert_eq!(send().status, 200, "garbage fails open");
    rls.fault("status UNAVAILABLE");
    assert_eq!(send().status, 200, "an error fails open");
    assert_eq!(rls.calls(), 5);
}
