//! The test authorization service (`tollgate_tests::authz`) on its own,
//! over plain HTTP/1.1: its rules, faults and records.

use std::time::{Duration, Instant};
use tollgate_tests::authz::{self, Fault, DENY_BODY};
use tollgate_tests::client::{send_raw, Response};

fn check(port: u16, headers: &[(&str, &str)]) -> std::io::Result<Response> {
    let mut raw =
        String::from("GET /check/api/x?y=1 HTTP/1.1\r\nhost: authz.local\r\ncontent-length: 0\r\n");
    for (n, v) in headers {
        raw.push_str(&format!("{n}: {v}\r\n"));
    }
    raw.push_str("connection: close\r\n\r\n");
    send_raw(port, raw.as_bytes())
}

#[test]
fn rules_and_records() {
    let server = authz::start();
    let port = server.port();

    let r = check(port, &[]).unwrap();
    assert_eq!(r.status, 403);
    assert_eq!(r.text(), DENY_BODY);
    assert_eq!(
        r.header("x-authz-reason"),
        Some("denied by the test service")
    );
    assert_eq!(r.header("content-type"), Some("application/json"));

    assert_eq!(check(port, &[("x-allow", "yes")]).unwrap().status, 200);
    assert_eq!(check(port, &[("x-allow", "no")]).unwrap().status, 403);

    server.allow_authorization("Bearer good");
    server.allow_response_header("x-user", "alice");
    let r = check(port, &[("authorization", "Bearer good")]).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-user"), Some("alice"));
    assert!(r.body.is_empty());
    assert_eq!(
        check(port, &[("authorization", "Bearer bad")])
            .unwrap()
            .status,
        403
    );

    server.allow_header("x-role", "admin");
    assert_eq!(check(port, &[("X-Role", "admin")]).unwrap().status, 200);
    assert_eq!(check(port, &[("x-allow", "yes")]).unwrap().status, 403);

    server.deny_with(401, "go away", &[("www-authenticate", "Bearer")]);
    let r = check(port, &[]).unwrap();
    assert_eq!((r.status, r.text().as_str()), (401, "go away"));
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));

    let received = server.received();
    assert_eq!(received.len(), server.calls());
    assert_eq!(received.len(), 8);
    let first = &received[0];
    assert_eq!(first.method, "GET");
    assert_eq!(first.path, "/check/api/x?y=1");
    assert_eq!(first.header("host"), Some("authz.local"));
    assert_eq!(received[3].header("authorization"), Some("Bearer good"));
    server.clear();
    assert!(server.received().is_empty());
}

#[test]
fn delay_and_faults() {
    let server = authz::start();
    let port = server.port();

    server.delay_ms(300);
    let start = Instant::now();
    assert_eq!(check(port, &[("x-allow", "yes")]).unwrap().status, 200);
    assert!(start.elapsed() >= Duration::from_millis(300));
    server.delay_ms(0);

    server.fault(Fault::Status(503));
    let r = check(port, &[("x-allow", "yes")]).unwrap();
    assert_eq!(r.status, 503);

    server.fault(Fault::Close);
    assert!(check(port, &[("x-allow", "yes")]).is_err());

    server.fault(Fault::Garbage);
    assert!(check(port, &[("x-allow", "yes")]).is_err());

    server.fault(Fault::None);
    assert_eq!(check(port, &[("x-allow", "yes")]).unwrap().status, 200);
    // every check is recorded, faulty or not
    assert_eq!(server.calls(), 5);
}

#[test]
fn keep_alive_and_stop_on_drop() {
    let server = authz::start();
    let port = server.port();
    // two checks on one connection, as Envoy's connection pool sends them
    let raw = "GET /a HTTP/1.1\r\nhost: h\r\nx-allow: yes\r\n\r\n\
               GET /b HTTP/1.1\r\nhost: h\r\nconnection: close\r\n\r\n";
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(raw.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("HTTP/1.1 403"), "{out}");
    let paths: Vec<_> = server.received().into_iter().map(|c| c.path).collect();
    assert_eq!(paths, vec!["/a", "/b"]);
    assert_eq!(server.cluster("authz")["name"], "authz");

    drop(server);
    // the accept loop ends: new connections are refused or get no answer
    std::thread::sleep(Duration::from_millis(100));
    assert!(check(port, &[("x-allow", "yes")]).is_err());
}
