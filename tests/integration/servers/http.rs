//! refguard behind smart HTTP: `git http-backend` run by fcgiwrap behind nginx, with basic
//! auth, so refguard reads `REMOTE_USER` (nginx's `$remote_user`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::harness::{Daemon, Pushed, World, free_port, is_root, key, program, require};
use super::ssh::roles;

/// Programs an HTTP test needs, with their Debian packages.
pub const HTTP: &[(&str, &str)] = &[("nginx", "nginx"), ("fcgiwrap", "fcgiwrap")];

/// The htpasswd file: `openssl passwd -apr1` hashes of `alice-secret` and `bob-secret`
/// (`htpasswd -B` from apache2-utils makes bcrypt lines nginx reads as well).
const HTPASSWD: &str = "\
alice:$apr1$refguard$.LkPnYCSE1AetupvXJ5T70
bob:$apr1$refguard$CyXW3UjMMUayFBFCX2CXi.
";

/// nginx's configuration; `{DIR}`, `{PORT}`, `{BACKEND}`, `{ROOT}` and `{USER}` are filled in.
const NGINX_CONF: &str = r#"{USER}worker_processes 1;
daemon off;
pid {DIR}/nginx.pid;
error_log {DIR}/error.log info;
events { worker_connections 64; }
http {
    access_log {DIR}/access.log;
    client_body_temp_path {DIR}/tmp/body;
    fastcgi_temp_path {DIR}/tmp/fastcgi;
    proxy_temp_path {DIR}/tmp/proxy;
    uwsgi_temp_path {DIR}/tmp/uwsgi;
    scgi_temp_path {DIR}/tmp/scgi;
    server {
        listen 127.0.0.1:{PORT};
        client_max_body_size 0;
        location ~ ^/git(/.*)$ {
            auth_basic "git";
            auth_basic_user_file {DIR}/htpasswd;
            fastcgi_pass unix:{DIR}/fcgiwrap.sock;
            fastcgi_param SCRIPT_FILENAME {BACKEND};
            fastcgi_param GIT_PROJECT_ROOT {ROOT};
            fastcgi_param GIT_HTTP_EXPORT_ALL "";
            fastcgi_param PATH_INFO $1;
            fastcgi_param REMOTE_USER $remote_user;
            fastcgi_param QUERY_STRING $query_string;
            fastcgi_param REQUEST_METHOD $request_method;
            fastcgi_param CONTENT_TYPE $content_type;
            fastcgi_param CONTENT_LENGTH $content_length;
            fastcgi_param HTTP_CONTENT_ENCODING $http_content_encoding;
            fastcgi_param GIT_PROTOCOL $http_git_protocol;
        }
    }
}
"#;

/// nginx + fcgiwrap serving every repository under `root` at `http://127.0.0.1:PORT/git/`.
pub struct WebServer {
    /// The port nginx listens on.
    pub port: u16,
    // Dropped after the fields above; nginx first, then fcgiwrap.
    nginx: Daemon,
    _fcgiwrap: Daemon,
}

impl WebServer {
    /// Starts fcgiwrap and nginx in `world/http/`, serving the repositories under `root`.
    pub fn start(world: &World, root: &Path) -> WebServer {
        let dir = world.root.join("http");
        fs::create_dir_all(dir.join("tmp")).expect("mkdir http dir");
        fs::write(dir.join("htpasswd"), HTPASSWD).expect("htpasswd");

        let socket = dir.join("fcgiwrap.sock");
        let mut cmd = Command::new(program("fcgiwrap"));
        cmd.arg("-s").arg(format!("unix:{}", socket.display()));
        let mut fcgiwrap = Daemon::spawn("fcgiwrap", cmd, &dir.join("fcgiwrap.log"));
        fcgiwrap.wait_for_path(&socket);

        let exec_path = world.run_ok(world.cmd("git").arg("--exec-path"));
        let backend = PathBuf::from(exec_path.trim()).join("git-http-backend");
        let port = free_port();
        // nginx started as root hands requests to workers running as `user` (default
        // nobody, who could not reach the socket or the repositories).
        let user = if is_root() { "user root;\n" } else { "" };
        let conf = NGINX_CONF
            .replace("{USER}", user)
            .replace("{DIR}", &dir.display().to_string())
            .replace("{PORT}", &port.to_string())
            .replace("{BACKEND}", &backend.display().to_string())
            .replace("{ROOT}", &root.display().to_string());
        let conf_path = dir.join("nginx.conf");
        fs::write(&conf_path, conf).expect("write nginx.conf");
        let mut cmd = Command::new(program("nginx"));
        cmd.arg("-p")
            .arg(&dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(&conf_path);
        let mut nginx = Daemon::spawn("nginx", cmd, &dir.join("nginx.log"));
        nginx.wait_for_port(port);
        WebServer {
            port,
            nginx,
            _fcgiwrap: fcgiwrap,
        }
    }

    /// The URL of repository `name` with basic-auth credentials.
    pub fn url(&self, user: &str, password: &str, name: &str) -> String {
        format!(
            "http://{user}:{password}@127.0.0.1:{}/git/{name}",
            self.port
        )
    }

    /// nginx's log, for failure messages.
    pub fn log(&self) -> String {
        self.nginx.log_text()
    }
}

/// `git push URL ARGS...` from `client`.
pub fn push(world: &World, client: &Path, url: &str, args: &[&str]) -> Pushed {
    let mut cmd = world.cmd("git");
    cmd.arg("-C").arg(client).arg("push").arg(url).args(args);
    Pushed::run(world, &mut cmd)
}

#[test]
fn http_backend_behind_nginx_reads_remote_user() {
    if !require("http_backend_behind_nginx_reads_remote_user", HTTP) {
        return;
    }
    let w = World::new();
    let (alice, bob) = (key("alice"), key("bob"));
    let root = w.root.join("srv");
    let server = root.join("project.git");
    w.server_repo(&server, &roles(alice, bob));
    w.git(&server, &["config", "http.receivepack", "true"]);
    let web = WebServer::start(&w, &root);

    let a = w.client("alice", &server, alice);
    w.commit(&a, "Alice's change");
    let pushed = push(
        &w,
        &a,
        &web.url("alice", "alice-secret", "project.git"),
        &["HEAD:refs/heads/main"],
    );
    assert!(pushed.ok, "{}\n--- nginx ---\n{}", pushed.stderr, web.log());
    pushed.assert_accepted();
    assert_eq!(
        w.last_audit(&server)["pusher"],
        "alice",
        "refguard read REMOTE_USER"
    );

    let b = w.client("bob", &server, bob);
    w.commit(&b, "Bob's change");
    let pushed = push(
        &w,
        &b,
        &web.url("bob", "bob-secret", "project.git"),
        &["HEAD:refs/heads/main"],
    );
    pushed.assert_rejected(&[
        "refguard: rejected refs/heads/main (",
        "refguard:   [push-denied] \"bob\" may not push to refs/heads/main (push: alice; rule roles.toml:8)",
        "refguard:   hint: ask an admin to add you to the rule's list",
    ]);
    assert_eq!(w.last_audit(&server)["pusher"], "bob");

    // A wrong password never reaches git, let alone refguard.
    let pushed = push(
        &w,
        &b,
        &web.url("bob", "wrong", "project.git"),
        &["HEAD:refs/heads/topic"],
    );
    assert!(!pushed.ok);
    assert!(
        pushed.stderr.contains("Authentication failed"),
        "{}",
        pushed.stderr
    );
    assert_eq!(w.last_audit(&server)["ref"], "refs/heads/main");
}
