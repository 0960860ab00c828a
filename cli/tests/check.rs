//! `tollgate check` on the repository's own files (every one loads) and on
//! broken copies (the module's own line, after where it is, and exit 1);
//! with Envoy, that the line is the one the module logs when Envoy starts.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_tollgate");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf()
}

/// (exit code, stdout) of `tollgate check ARGS` with `env` added.
fn check(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    // The demo key is removed first: a test's own environment must not leak in.
    let out = Command::new(BIN)
        .arg("check")
        .args(args)
        .env_remove("TOLLGATE_DEMO_API_KEY")
        .envs(env.iter().copied())
        .output()
        .expect("run tollgate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join(dir))
        .expect(dir)
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// A copy of a repository file with `from` replaced by `to` (once).
fn broken(file: &str, from: &str, to: &str) -> PathBuf {
    let text = std::fs::read_to_string(repo().join(file)).expect(file);
    assert!(text.contains(from), "{file} has no {from:?}");
    let dir = std::env::temp_dir().join(format!("tollgate-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(format!("{n}-{}", file.replace('/', "-")));
    std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
    path
}

#[test]
fn every_envoy_and_istio_file_loads() {
    // auth-gateway.yaml takes its key from the proxy's environment (HOST).
    let env = [("TOLLGATE_DEMO_API_KEY", "demo-key-1")];
    let mut checked = 0;
    for file in yaml_files("envoy").into_iter().chain(yaml_files("istio")) {
        // services.yaml holds ServiceEntries, no filter.
        if file.ends_with("istio/services.yaml") {
            continue;
        }
        let (code, out) = check(&[file.to_str().expect("path")], &env);
        assert_eq!((code, out.as_str()), (0, ""), "{}", file.display());
        checked += 1;
    }
    assert!(checked >= 14, "only {checked} files");
}

#[test]
fn a_file_without_tollgate_filters_is_an_error() {
    let file = repo().join("istio/services.yaml");
    let (code, out) = check(&[file.to_str().expect("path")], &[]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with(&format!(
            "{}: no Tollgate filter configuration found",
            file.display()
        )),
        "{out}"
    );
}

#[test]
fn broken_copies_print_the_modules_line_and_exit_1() {
    let cases = [
        (broken("envoy/headers.yaml", "%START_TIME(%s)%", "%START_TIME(%s)%%BOGUS%"),
         "filter \"tollgate.headers\": tollgate.headers: invalid configuration: request_headers_to_add[0].header.value: unknown operator %BOGUS%"),
        (broken("istio/chain.yaml", "max_tokens: 60", "max_tokens: 0"),
         "document 2, WasmPlugin tollgate-ratelimit: tollgate.ratelimit: invalid configuration: descriptors[0].token_bucket.max_tokens: must be at least 1"),
        (broken("envoy/tollgate.yaml", "\"provider_name\": \"demo-remote\"}", "\"provider_name\": \"nobody\"}"),
         "filter \"tollgate\": tollgate.auth: invalid configuration: rules[1].requires.provider_name: no provider \"nobody\" in jwt.providers"),
        (broken("envoy/tollgate.yaml", "\"ratelimit\": {", "\"ratelimits\": {"),
         "filter \"tollgate\": tollgate.chain: invalid configuration: ratelimits: unknown field `ratelimits`, expected one of `auth`, `ratelimit`, `headers`"),
    ];
    let args: Vec<&str> = cases
        .iter()
        .map(|(p, _)| p.to_str().expect("path"))
        .collect();
    let (code, out) = check(&args, &[]);
    let expected: String = cases
        .iter()
        .map(|(p, line)| format!("{}: {line}\n", p.display()))
        .collect();
    assert_eq!((code, out), (1, expected));
}

#[test]
fn secrets_come_from_the_vm_environment_only() {
    let gateway = repo().join("istio/auth-gateway.yaml");
    let gateway = gateway.to_str().expect("path");
    // valueFrom: HOST: the variable must be set where check runs.
    let (code, out) = check(&[gateway], &[]);
    assert_eq!(code, 1);
    assert!(out.ends_with("tollgate.auth: invalid configuration: api_key.credentials[0].key: environment variable TOLLGATE_DEMO_API_KEY is not set in the VM (vm_config.environment_variables; Istio: vmConfig.env)\n"), "{out}");
    // An inline value in the bootstrap is the VM's, whatever the caller has;
    // a variable it does not list is not the VM's even when the caller has it.
    let unlisted = broken(
        "envoy/auth.yaml",
        "key_values: { TOLLGATE_DEMO_API_KEY: demo-key-1 }",
        "key_values: { OTHER: x }",
    );
    let (code, out) = check(
        &[unlisted.to_str().expect("path")],
        &[("TOLLGATE_DEMO_API_KEY", "set-here")],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("environment variable TOLLGATE_DEMO_API_KEY is not set in the VM"),
        "{out}"
    );
}

#[test]
fn filter_json_with_filter_option() {
    let dir = std::env::temp_dir().join(format!("tollgate-check-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let good = dir.join("good.json");
    std::fs::write(
        &good,
        r#"{"token_bucket": {"max_tokens": 5, "fill_interval": "1s"}}"#,
    )
    .expect("write");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{\"token_bucket\": {\"max_tokens\": 5}}\n").expect("write");
    let (code, out) = check(&["--filter", "ratelimit", good.to_str().expect("p")], &[]);
    assert_eq!((code, out.as_str()), (0, ""));
    let (code, out) = check(&["--filter", "ratelimit", bad.to_str().expect("p")], &[]);
    assert_eq!(code, 1);
    assert_eq!(out, format!("{}: tollgate.ratelimit: invalid configuration: token_bucket: missing field `fill_interval`\n", bad.display()));
    // Without --filter a filter's JSON is not guessed at.
    let (code, out) = check(&[good.to_str().expect("p")], &[]);
    assert_eq!(code, 1);
    assert!(
        out.contains("for a filter's own JSON pass --filter"),
        "{out}"
    );
}

/// The line check prints is the one Envoy's log shows when the module
/// refuses the same file at start.
#[test]
fn the_line_is_what_envoy_logs() {
    let file = broken(
        "envoy/headers.yaml",
        "%START_TIME(%s)%",
        "%START_TIME(%s)%%BOGUS%",
    );
    let (_, out) = check(&[file.to_str().expect("p")], &[]);
    let line = out
        .trim_end()
        .split_once(": tollgate.")
        .map(|(_, l)| format!("tollgate.{l}"))
        .expect("a line");
    let text = std::fs::read_to_string(&file).expect("read").replace(
        "dist/headers.wasm",
        &tollgate_tests::module("headers").display().to_string(),
    );
    let port = free_port();
    let admin = free_port();
    let text = text
        .replace("port_value: 10000", &format!("port_value: {port}"))
        .replace("port_value: 9901", &format!("port_value: {admin}"));
    let failure = match tollgate_tests::envoy::Envoy::try_start_text(&text, "yaml", port, admin, 1)
    {
        Ok(_) => panic!("Envoy started with a broken configuration"),
        Err(f) => f,
    };
    assert!(
        failure.log.contains(&line),
        "Envoy's log lacks {line:?}:\n{}",
        failure.log
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}
