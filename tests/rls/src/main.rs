//! `tollgate-rls`: Envoy's rate-limit service
//! (`envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit`, gRPC over
//! HTTP/2 cleartext) deciding with Kuadrant's limitador engine, for tests.
//! Besides honest answers it can be slow, answer garbage or fail, switchable
//! at run time. See `USAGE`.

mod engine;
mod fault;
mod limits;
#[cfg(test)]
mod request;

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_service_server::{
    RateLimitService, RateLimitServiceServer,
};
use envoy_types::pb::envoy::service::ratelimit::v3::{RateLimitRequest, RateLimitResponse};
use tonic::{Request, Response, Status};

use crate::engine::{Engine, Extras};
use crate::fault::{Fault, Faulty};

const USAGE: &str = "\
usage: tollgate-rls (--limits FILE | --limits-json JSON) [options]

Envoy's rate-limit service (RLS v3 gRPC) on limitador, in-memory counters.
Prints `listening 127.0.0.1:PORT` as its first line on stdout.

  --port N                 listen on 127.0.0.1:N (default 0: any free port)
  --rate-limit-headers     answer X-RateLimit-Limit/-Remaining/-Reset in
                           response_headers_to_add (Limitador's DRAFT_VERSION_03)
  --request-header 'K: V'  add K: V to request_headers_to_add (repeatable)
  --delay-ms N             answer every call N ms late
  --garbage                answer gRPC status OK with a message that is not protobuf
  --not-grpc               answer HTTP/2 200 text/plain, no gRPC framing or status
  --status CODE            answer the gRPC error CODE (UNAVAILABLE, INTERNAL, 14, ...)
  --control-stdin          read commands on stdin, one per line, each answered by
                           one line on stdout (`ok ...` or `error: ...`); exit at EOF:
                             fault none|garbage|not-grpc|status CODE|http-status N|huge BYTES
                             delay MS
                             limits JSON     (replaces the limits; counters restart)
                             requests        (`ok {\"calls\": N, \"requests\": [...]}`)
  --verbose                log every call on stderr

Limits: a JSON array of limitador limits,
  [{\"namespace\": DOMAIN, \"max_value\": N, \"seconds\": S, \"name\": \"...\",
    \"conditions\": [\"descriptors[0].path == '/api'\"], \"variables\": [\"descriptors[0].user\"]}]
";

/// State shared by the gRPC service, the fault wrapper and the control loop.
pub struct Shared {
    engine: Mutex<Arc<Engine>>,
    extras: Extras,
    pub fault: Mutex<Fault>,
    pub delay_ms: AtomicU64,
    /// Every HTTP request that reached the server, faulted ones included.
    pub calls: AtomicU64,
    /// Every request decided, as JSON.
    requests: Mutex<Vec<serde_json::Value>>,
    verbose: AtomicBool,
}

struct Service(Arc<Shared>);

#[tonic::async_trait]
impl RateLimitService for Service {
    async fn should_rate_limit(
        &self,
        request: Request<RateLimitRequest>,
    ) -> Result<Response<RateLimitResponse>, Status> {
        let req = request.into_inner();
        let shared = &self.0;
        if let Ok(mut r) = shared.requests.lock() {
            r.push(request_json(&req));
        }
        let engine = shared
            .engine
            .lock()
            .map(|e| e.clone())
            .map_err(|_| Status::internal("poisoned"))?;
        let answer = engine.should_rate_limit(&req, &shared.extras);
        if shared.verbose.load(Ordering::Relaxed) {
            eprintln!("tollgate-rls: {req:?} -> {answer:?}");
        }
        // Limitador answers UNAVAILABLE when its storage fails: a caller's
        // failure_mode_deny then decides.
        answer.map(Response::new).map_err(Status::unavailable)
    }
}

fn request_json(req: &RateLimitRequest) -> serde_json::Value {
    let descriptors: Vec<serde_json::Value> = req
        .descriptors
        .iter()
        .map(|d| {
            let entries: Vec<serde_json::Value> = d
                .entries
                .iter()
                .map(|e| serde_json::json!({"key": e.key, "value": e.value}))
                .collect();
            let mut out = serde_json::Map::new();
            out.insert("entries".into(), entries.into());
            if let Some(h) = &d.hits_addend {
                out.insert("hits_addend".into(), h.value.into());
            }
            serde_json::Value::Object(out)
        })
        .collect();
    serde_json::json!({
        "domain": req.domain,
        "descriptors": descriptors,
        "hits_addend": req.hits_addend,
    })
}

#[derive(Debug)]
struct Options {
    limits: String,
    port: u16,
    extras: Extras,
    delay_ms: u64,
    fault: Fault,
    control_stdin: bool,
    verbose: bool,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut limits = None;
    let mut o = Options {
        limits: String::new(),
        port: 0,
        extras: Extras::default(),
        delay_ms: 0,
        fault: Fault::None,
        control_stdin: false,
        verbose: false,
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--limits" => {
                let path = value("--limits")?;
                limits = Some(
                    std::fs::read_to_string(&path).map_err(|e| format!("--limits {path}: {e}"))?,
                );
            }
            "--limits-json" => limits = Some(value("--limits-json")?),
            "--port" => {
                o.port = value("--port")?
                    .parse()
                    .map_err(|e| format!("--port: {e}"))?
            }
            "--delay-ms" => {
                o.delay_ms = value("--delay-ms")?
                    .parse()
                    .map_err(|e| format!("--delay-ms: {e}"))?
            }
            "--rate-limit-headers" => o.extras.rate_limit_headers = true,
            "--request-header" => {
                let h = value("--request-header")?;
                let (k, v) = h
                    .split_once(':')
                    .ok_or_else(|| format!("--request-header {h:?}: expected 'name: value'"))?;
                o.extras
                    .request_headers
                    .push((k.trim().to_string(), v.trim().to_string()));
            }
            "--garbage" => o.fault = Fault::Garbage,
            "--not-grpc" => o.fault = Fault::NotGrpc,
            "--status" => o.fault = Fault::parse_status(&value("--status")?)?,
            "--control-stdin" => o.control_stdin = true,
            "--verbose" => o.verbose = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    o.limits = limits.ok_or("--limits FILE or --limits-json JSON is required")?;
    Ok(o)
}

fn main() -> std::process::ExitCode {
    let opts = match parse_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("tollgate-rls: {e}");
            }
            eprint!("{USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    let limits = match limits::parse(&opts.limits) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("tollgate-rls: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let shared = Arc::new(Shared {
        engine: Mutex::new(Arc::new(Engine::new(limits))),
        extras: opts.extras.clone(),
        fault: Mutex::new(opts.fault.clone()),
        delay_ms: AtomicU64::new(opts.delay_ms),
        calls: AtomicU64::new(0),
        requests: Mutex::new(Vec::new()),
        verbose: AtomicBool::new(opts.verbose),
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tollgate-rls: tokio: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    match runtime.block_on(serve(opts.port, opts.control_stdin, shared)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tollgate-rls: {e}");
            std::process::ExitCode::from(1)
        }
    }
}

async fn serve(port: u16, control_stdin: bool, shared: Arc<Shared>) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("bind 127.0.0.1:{port}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    say(&format!("listening {addr}"));
    if control_stdin {
        let shared = shared.clone();
        std::thread::spawn(move || control(&shared));
    }
    let service = Faulty::new(RateLimitServiceServer::new(Service(shared.clone())), shared);
    tonic::transport::Server::builder()
        .serve_with_incoming(
            service,
            tonic::transport::server::TcpIncoming::from(listener),
        )
        .await
        .map_err(|e| format!("server: {e}"))
}

/// One line on stdout, flushed (the harness reads it through a pipe).
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// The stdin control loop; the process ends with its input (its parent).
fn control(shared: &Shared) {
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match command(shared, line) {
            Ok(answer) => say(format!("ok {answer}").trim_end()),
            Err(e) => say(&format!("error: {e}")),
        }
    }
    std::process::exit(0);
}

fn command(shared: &Shared, line: &str) -> Result<String, String> {
    let (cmd, arg) = line.split_once(' ').unwrap_or((line, ""));
    let arg = arg.trim();
    match cmd {
        "fault" => {
            let fault = match arg.split_once(' ').unwrap_or((arg, "")) {
                ("none", _) => Fault::None,
                ("garbage", _) => Fault::Garbage,
                ("not-grpc", _) => Fault::NotGrpc,
                ("status", code) => Fault::parse_status(code.trim())?,
                ("http-status", code) => Fault::HttpStatus(
                    code.trim()
                        .parse()
                        .ok()
                        .filter(|c| (100..600).contains(c))
                        .ok_or_else(|| format!("http-status {code:?}: want 100-599"))?,
                ),
                ("huge", size) => Fault::Huge(
                    size.trim()
                        .parse()
                        .map_err(|e| format!("huge {size:?}: {e}"))?,
                ),
                _ => return Err(format!("unknown fault {arg:?}")),
            };
            *shared.fault.lock().map_err(|_| "poisoned")? = fault;
            Ok(String::new())
        }
        "delay" => {
            let ms = arg.parse().map_err(|e| format!("delay {arg:?}: {e}"))?;
            shared.delay_ms.store(ms, Ordering::SeqCst);
            Ok(String::new())
        }
        "limits" => {
            let engine = Engine::new(limits::parse(arg)?);
            *shared.engine.lock().map_err(|_| "poisoned")? = Arc::new(engine);
            Ok(String::new())
        }
        "requests" => {
            let requests = shared.requests.lock().map_err(|_| "poisoned")?.clone();
            let calls = shared.calls.load(Ordering::SeqCst);
            Ok(serde_json::json!({"calls": calls, "requests": requests}).to_string())
        }
        "verbose" => {
            shared.verbose.store(arg != "off", Ordering::SeqCst);
            Ok(String::new())
        }
        _ => Err(format!("unknown command {cmd:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Result<Options, String> {
        parse_args(s.iter().map(|s| s.to_string()))
    }

    #[test]
    fn cli() {
        let o = args(&[
            "--limits-json",
            "[]",
            "--port",
            "7",
            "--delay-ms",
            "5",
            "--status",
            "unavailable",
            "--request-header",
            "x-a: b",
            "--rate-limit-headers",
        ])
        .unwrap();
        assert_eq!((o.port, o.delay_ms), (7, 5));
        assert!(matches!(o.fault, Fault::Status(tonic::Code::Unavailable)));
        assert_eq!(
            o.extras.request_headers,
            vec![("x-a".to_string(), "b".to_string())]
        );
        assert!(o.extras.rate_limit_headers);
        assert!(args(&["--port", "1"]).unwrap_err().contains("--limits"));
        assert!(args(&["--limits-json", "[]", "--status", "NOPE"]).is_err());
        assert!(args(&["--limits-json", "[]", "--bogus"]).is_err());
    }
}
