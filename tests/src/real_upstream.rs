//! Real HTTP servers as upstreams, for the path-guard suite
//! (`tests/tests/path_guard.rs`): Debian's nginx, Apache httpd and Tomcat,
//! each installed through [`crate::tools::ensure`] and started as a plain
//! child process on a free loopback port, with its own configuration in a
//! temporary directory (no systemd, no system configuration read).
//!
//! Each has a guarded location, `/admin`, and a public one, and says in its
//! response which of them served it, the way an operator's configuration
//! would apply a protection or a backend there:
//! - nginx: `location /admin` and `location /`, each with `add_header
//!   x-location guarded|public always` and a body naming nginx's `$uri`
//!   (never in a header: a raw byte there makes Envoy reset an h2 stream);
//! - Apache: `<Location /admin>` sets `x-location: guarded` (the server
//!   sets `public`), `x-uri` is Apache's decoded `REQUEST_URI`; static files
//!   `admin/index.html` and `public/index.html`;
//! - Tomcat: the webapp's filter mapping `/admin/*` (a servlet filter, where
//!   security filters go) runs Tomcat's `HttpHeaderSecurityFilter`, which
//!   sets `x-frame-options: DENY`; static files as for Apache.
//!
//! So [`Upstream::served`] tells a guarded location from a public one
//! whatever the status (a 404 or a redirect from the guarded location is
//! still the guarded location's).

use crate::client::Response;
use crate::envoy::tempdir::Dir;
use crate::tools;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Nginx,
    Apache,
    Tomcat,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Nginx, Kind::Apache, Kind::Tomcat];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Nginx => "nginx",
            Kind::Apache => "apache",
            Kind::Tomcat => "tomcat",
        }
    }
}

/// Which location of the upstream answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    Guarded,
    Public,
    /// The server answered without either (its own 400, a 404 outside both).
    Neither,
}

pub struct Upstream {
    pub kind: Kind,
    pub port: u16,
    child: Child,
    dir: Dir,
}

const TOMCAT_HOME: &str = "/usr/share/tomcat10";

impl Upstream {
    /// Starts one server and waits until it accepts connections.
    pub fn start(kind: Kind) -> Upstream {
        let u = Upstream::spawn(kind);
        u.wait_ready();
        u
    }

    /// Starts all three at once (Tomcat takes seconds), then waits for each.
    pub fn start_all() -> Vec<Upstream> {
        // Tomcat first: it is the slowest to come up.
        let all: Vec<Upstream> = [Kind::Tomcat, Kind::Nginx, Kind::Apache]
            .into_iter()
            .map(Upstream::spawn)
            .collect();
        for u in &all {
            u.wait_ready();
        }
        let mut all = all;
        all.sort_by_key(|u| Kind::ALL.iter().position(|k| *k == u.kind));
        all
    }

    fn spawn(kind: Kind) -> Upstream {
        let dir = Dir::new(kind.name());
        let port = crate::free_port();
        let mut cmd = match kind {
            Kind::Nginx => nginx(dir.path(), port),
            Kind::Apache => apache(dir.path(), port),
            Kind::Tomcat => tomcat(dir.path(), port),
        };
        let out = std::fs::File::create(dir.path().join("stdout.log")).expect("log file");
        let err = out.try_clone().expect("log file");
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        crate::proc::die_with_parent(&mut cmd);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", kind.name()));
        Upstream {
            kind,
            port,
            child,
            dir,
        }
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "{} did not listen on {} within 60 s:\n{}",
            self.kind.name(),
            self.port,
            self.log()
        );
    }

    /// What the server printed (and its error log).
    pub fn log(&self) -> String {
        ["stdout.log", "error.log", "logs/catalina.out"]
            .iter()
            .filter_map(|f| std::fs::read_to_string(self.dir.path().join(f)).ok())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Which location answered `r` (a response from this server, possibly
    /// through Envoy).
    pub fn served(&self, r: &Response) -> Location {
        served(self.kind, r)
    }

    /// The server's own reading of the path, where it tells it: nginx's
    /// `$uri` in the body, Apache's `REQUEST_URI` (escaped) in `x-uri`.
    pub fn reading(&self, r: &Response) -> Option<String> {
        match self.kind {
            Kind::Nginx => r
                .text()
                .split_once(' ')
                .map(|(_, u)| u.trim_end().to_string()),
            Kind::Apache => r.header("x-uri").map(String::from),
            Kind::Tomcat => None,
        }
    }
}

/// [`Upstream::served`] for a server of `kind`.
pub fn served(kind: Kind, r: &Response) -> Location {
    match kind {
        Kind::Nginx | Kind::Apache => match r.header("x-location") {
            Some("guarded") => Location::Guarded,
            Some("public") => Location::Public,
            _ => Location::Neither,
        },
        Kind::Tomcat => {
            if r.header("x-frame-options") == Some("DENY") {
                Location::Guarded
            } else if r.text().contains("public:tomcat") {
                Location::Public
            } else {
                Location::Neither
            }
        }
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        crate::proc::terminate(&mut self.child, Duration::from_secs(5));
    }
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create dir");
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// One process (`master_process off`), in the foreground.
fn nginx(dir: &Path, port: u16) -> Command {
    let bin = tools::ensure("nginx", "nginx-light");
    let d = dir.display();
    write(
        &dir.join("nginx.conf"),
        &format!(
            r#"daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  server {{
    listen 127.0.0.1:{port};
    default_type text/plain;
    location /admin {{
      add_header x-location guarded always;
      return 200 "guarded:nginx $uri\n";
    }}
    location / {{
      add_header x-location public always;
      return 200 "public:nginx $uri\n";
    }}
  }}
}}
"#
        ),
    );
    let mut cmd = Command::new(bin);
    cmd.arg("-p").arg(dir).arg("-c").arg(dir.join("nginx.conf"));
    cmd
}

/// `-X`: one process, in the foreground.
fn apache(dir: &Path, port: u16) -> Command {
    let bin = tools::ensure("apache2", "apache2");
    let d = dir.display();
    write(&dir.join("www/admin/index.html"), "guarded:apache\n");
    write(&dir.join("www/public/index.html"), "public:apache\n");
    write(&dir.join("www/index.html"), "root:apache\n");
    let m = "/usr/lib/apache2/modules";
    write(
        &dir.join("httpd.conf"),
        &format!(
            r#"ServerRoot {d}
ServerName localhost
Listen 127.0.0.1:{port}
PidFile {d}/httpd.pid
ErrorLog {d}/error.log
LogLevel warn
LoadModule mpm_event_module {m}/mod_mpm_event.so
LoadModule authz_core_module {m}/mod_authz_core.so
LoadModule headers_module {m}/mod_headers.so
LoadModule dir_module {m}/mod_dir.so
LoadModule mime_module {m}/mod_mime.so
TypesConfig /etc/mime.types
DocumentRoot {d}/www
DirectoryIndex index.html
<Directory {d}/www>
  Require all granted
</Directory>
Header always set x-location public
Header always set x-uri "expr=%{{escape:%{{REQUEST_URI}}}}"
<Location /admin>
  Header always set x-location guarded
</Location>
"#
        ),
    );
    let mut cmd = Command::new(bin);
    cmd.env("APACHE_RUN_DIR", dir)
        .env("APACHE_LOCK_DIR", dir)
        .env("APACHE_LOG_DIR", dir)
        .arg("-X")
        .arg("-f")
        .arg(dir.join("httpd.conf"));
    cmd
}

/// `catalina.sh run` (it execs the JVM) with `CATALINA_BASE` in `dir`.
fn tomcat(dir: &Path, port: u16) -> Command {
    let catalina = tools::ensure(&format!("{TOMCAT_HOME}/bin/catalina.sh"), "tomcat10");
    for sub in ["logs", "temp", "work"] {
        std::fs::create_dir_all(dir.join(sub)).expect("create dir");
    }
    write(
        &dir.join("conf/server.xml"),
        &format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<Server port="-1" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector port="{port}" address="127.0.0.1" protocol="HTTP/1.1" />
    <Engine name="Catalina" defaultHost="localhost">
      <Host name="localhost" appBase="webapps" unpackWARs="false" autoDeploy="false" />
    </Engine>
  </Service>
</Server>
"#
        ),
    );
    write(
        &dir.join("conf/web.xml"),
        r#"<?xml version="1.0" encoding="UTF-8"?>
<web-app xmlns="https://jakarta.ee/xml/ns/jakartaee" version="6.0">
  <servlet>
    <servlet-name>default</servlet-name>
    <servlet-class>org.apache.catalina.servlets.DefaultServlet</servlet-class>
    <load-on-startup>1</load-on-startup>
  </servlet>
  <servlet-mapping><servlet-name>default</servlet-name><url-pattern>/</url-pattern></servlet-mapping>
  <welcome-file-list><welcome-file>index.html</welcome-file></welcome-file-list>
</web-app>
"#,
    );
    let root = dir.join("webapps/ROOT");
    write(&root.join("admin/index.html"), "guarded:tomcat\n");
    write(&root.join("public/index.html"), "public:tomcat\n");
    write(
        &root.join("WEB-INF/web.xml"),
        r#"<?xml version="1.0" encoding="UTF-8"?>
<web-app xmlns="https://jakarta.ee/xml/ns/jakartaee" version="6.0">
  <filter>
    <filter-name>guard</filter-name>
    <filter-class>org.apache.catalina.filters.HttpHeaderSecurityFilter</filter-class>
    <init-param><param-name>antiClickJackingOption</param-name><param-value>DENY</param-value></init-param>
  </filter>
  <filter-mapping><filter-name>guard</filter-name><url-pattern>/admin/*</url-pattern></filter-mapping>
</web-app>
"#,
    );
    let mut cmd = Command::new(catalina);
    cmd.env("CATALINA_HOME", TOMCAT_HOME)
        .env("CATALINA_BASE", dir)
        .env("CATALINA_TMPDIR", dir.join("temp"))
        .env("CATALINA_OUT", dir.join("logs/catalina.out"))
        .env("JAVA_OPTS", "-Xss512k -XX:TieredStopAtLevel=1 -Xshare:auto")
        .arg("run");
    cmd
}
