//! Helpers shared by the end-to-end tests: run the real `truce` binary (CLI
//! subcommands and `serve`) on a temporary database and talk HTTP to it.
#![allow(dead_code)]

use std::fs::OpenOptions;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_truce");

/// A time every test incident may carry (in the past, after 1990).
pub const OCCURRED_AT: &str = "2026-11-20T10:00:00Z";

/// A minimal valid incident body.
pub fn incident() -> Value {
    json!({
        "occurred_at": OCCURRED_AT,
        "event_type": "explosions_remote_violence",
        "sub_event_type": "shelling_artillery_missile_attack",
        "location": {"lat": 39.8, "lon": 46.7},
        "ceasefire_violation": {"kind": "explosion", "perception": "heard"}
    })
}

/// A `truce` command on `db` with a quiet log.
pub fn truce_cmd(db: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--db")
        .arg(db)
        .env("RUST_LOG", "warn")
        .env_remove("TRUCE_DB");
    c
}

/// Runs `truce --db DB ARGS...` and returns its output, whatever the status.
pub fn truce(db: &Path, args: &[&str]) -> Output {
    truce_cmd(db)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run truce")
}

/// Runs `truce --db DB ARGS...`, feeding `stdin`.
pub fn truce_stdin(db: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = truce_cmd(db)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn truce");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait truce")
}

/// Standard output and error of a finished command, for messages.
pub fn describe(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs a command that must succeed; returns its standard output.
pub fn truce_ok(db: &Path, args: &[&str]) -> String {
    let o = truce(db, args);
    assert!(
        o.status.success(),
        "truce {args:?} failed: {}",
        describe(&o)
    );
    String::from_utf8(o.stdout).expect("utf-8 stdout")
}

/// The value after `label` on the line that starts with it.
pub fn line_value(out: &str, label: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no line starting {label:?} in:\n{out}"))
        .trim()
        .to_string()
}

/// A temporary directory holding one mission database.
pub struct Mission {
    /// Kept alive for the test's duration.
    pub dir: tempfile::TempDir,
    /// The database file.
    pub db: PathBuf,
    /// The first admin's generated password.
    pub admin_password: String,
}

impl Mission {
    /// `truce init` in a fresh temporary directory.
    pub fn init() -> Mission {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("mission.db");
        let out = truce_ok(
            &db,
            &[
                "init",
                "--name",
                "Test Mission",
                "--started-on",
                "2026-01-01",
                "--admin",
                "admin",
            ],
        );
        let admin_password = line_value(&out, "password:");
        assert!(admin_password.len() >= 10, "password in {out}");
        Mission {
            dir,
            db,
            admin_password,
        }
    }

    /// A path inside the mission's temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Adds a user with `role`; the password is `<name>-password`.
    pub fn add_user(&self, name: &str, role: &str) -> String {
        let password = format!("{name}-password");
        let o = truce_stdin(
            &self.db,
            &["user", "add", name, "--role", role, "--password-stdin"],
            &format!("{password}\n"),
        );
        assert!(o.status.success(), "user add {name}: {}", describe(&o));
        password
    }

    /// Creates an API token for `user` and returns its secret.
    pub fn token(&self, user: &str) -> String {
        let out = truce_ok(
            &self.db,
            &["token", "create", "--user", user, "--name", "e2e test"],
        );
        let secret = line_value(&out, "secret (shown once):");
        assert!(secret.starts_with("truce_"), "token in {out}");
        secret
    }

    /// Adds a user with `role` and returns a token of theirs.
    pub fn user_with_token(&self, name: &str, role: &str) -> String {
        self.add_user(name, role);
        self.token(name)
    }
}

/// A port on the loopback that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind 127.0.0.1:0")
        .local_addr()
        .expect("local addr")
        .port()
}

/// A running `truce` server child process; killed when dropped.
pub struct Server {
    child: Option<Child>,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    log: PathBuf,
}

impl Server {
    /// `truce serve` on `db` on a free port; waits until `/healthz` answers.
    pub async fn serve(db: &Path) -> Server {
        let mut last = String::new();
        for _ in 0..5 {
            match Server::try_start(serve_cmd(db), free_port(), &log_path(db)).await {
                Ok(s) => return s,
                Err(e) => last = e,
            }
        }
        panic!("server did not start: {last}");
    }

    /// `truce serve` on `db` on `port`; waits until `/healthz` answers.
    pub async fn serve_on(db: &Path, port: u16) -> Server {
        Server::try_start(serve_cmd(db), port, &log_path(db))
            .await
            .unwrap_or_else(|e| panic!("server did not start on port {port}: {e}"))
    }

    /// `truce demo` on a free port (loading the demo takes a while).
    pub async fn demo(log_dir: &Path) -> Server {
        let log = log_dir.join("demo.log");
        let mut last = String::new();
        for _ in 0..3 {
            let mut c = Command::new(BIN);
            c.arg("demo").env("RUST_LOG", "warn");
            match Server::try_start(c, free_port(), &log).await {
                Ok(s) => return s,
                Err(e) => last = e,
            }
        }
        panic!("demo did not start: {last}");
    }

    async fn try_start(mut cmd: Command, port: u16, log: &Path) -> Result<Server, String> {
        let log_file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("server log");
        let child = cmd
            .arg("--addr")
            .arg(format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log"))
            .stderr(log_file)
            .spawn()
            .expect("spawn truce");
        let mut server = Server {
            child: Some(child),
            port,
            base: format!("http://127.0.0.1:{port}"),
            log: log.to_path_buf(),
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("client");
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = server
                .child
                .as_mut()
                .expect("child")
                .try_wait()
                .expect("try_wait")
            {
                server.child = None;
                return Err(format!("exited with {status}; log:\n{}", server.log_text()));
            }
            if let Ok(r) = client.get(server.url("/healthz")).send().await
                && r.status() == 200
            {
                return Ok(server);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no /healthz after 120 s; log:\n{}",
                    server.log_text()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM (graceful shutdown), then wait for the exit.
    pub fn terminate(&mut self) {
        let Some(mut c) = self.child.take() else {
            return;
        };
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status()
            .is_ok_and(|s| s.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        while sent && Instant::now() < deadline {
            if let Ok(Some(_)) = c.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
        panic!("server did not stop on SIGTERM; log:\n{}", self.log_text());
    }

    /// What the server wrote to its log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn serve_cmd(db: &Path) -> Command {
    let mut c = truce_cmd(db);
    c.arg("serve");
    c
}

fn log_path(db: &Path) -> PathBuf {
    db.with_extension("server.log")
}

/// An HTTP answer, its body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body as text.
    pub text: String,
    /// Body as JSON (Null when not JSON).
    pub json: Value,
}

impl Resp {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem document with `status` whose first error names
    /// `field`; returns the first error's message.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, field: &str) -> String {
        self.assert_problem_status(status);
        let errors = self.json["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("no errors in {}", self.text));
        assert!(!errors.is_empty(), "empty errors in {}", self.text);
        assert_eq!(
            errors[0]["field"].as_str(),
            Some(field),
            "errors[0].field in {}",
            self.text
        );
        errors[0]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no message in {}", self.text))
            .to_string()
    }

    /// Asserts a problem document with `status` (and a detail).
    #[track_caller]
    pub fn assert_problem_status(&self, status: u16) {
        assert_eq!(self.status, status, "status of {}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "content type of {}",
            self.text
        );
        assert_eq!(self.json["status"], json!(status), "problem {}", self.text);
        assert!(
            self.json["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "detail in {}",
            self.text
        );
    }
}

/// A client of one server, authenticated by a bearer token (or not).
#[derive(Clone)]
pub struct Api {
    /// The underlying client.
    pub client: reqwest::Client,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Bearer token, when any.
    pub token: Option<String>,
}

impl Api {
    /// A client of `server` sending `token`.
    pub fn new(server: &Server, token: Option<&str>) -> Api {
        Api {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            base: server.base.clone(),
            token: token.map(str::to_string),
        }
    }

    /// A request to `/api/v1` + `path`.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self
            .client
            .request(method, format!("{}/api/v1{path}", self.base));
        if let Some(t) = &self.token {
            r = r.bearer_auth(t);
        }
        r
    }

    /// Sends and reads the whole answer.
    pub async fn send(r: reqwest::RequestBuilder) -> Resp {
        let res = r.send().await.expect("HTTP request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.expect("HTTP body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            text,
            json,
        }
    }

    /// `GET /api/v1` + `path`.
    pub async fn get(&self, path: &str) -> Resp {
        Api::send(self.request(reqwest::Method::GET, path)).await
    }

    /// `POST /api/v1` + `path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        Api::send(self.request(reqwest::Method::POST, path).json(body)).await
    }

    /// `POST /api/v1` + `path` with raw bytes as JSON.
    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> Resp {
        Api::send(
            self.request(reqwest::Method::POST, path)
                .header("content-type", "application/json")
                .body(body),
        )
        .await
    }

    /// `PUT /api/v1` + `path` with a JSON body and an optional `If-Match`.
    pub async fn put(&self, path: &str, body: &Value, if_match: Option<&str>) -> Resp {
        let mut r = self.request(reqwest::Method::PUT, path).json(body);
        if let Some(m) = if_match {
            r = r.header("if-match", m);
        }
        Api::send(r).await
    }

    /// The journal head's sequence number.
    pub async fn head_seq(&self) -> u64 {
        let r = self.get("/journal/head").await;
        assert_eq!(r.status, 200, "journal head: {}", r.text);
        r.json["seq"]
            .as_u64()
            .unwrap_or_else(|| panic!("seq in {}", r.text))
    }

    /// Creates an incident; asserts 201 and returns the record.
    pub async fn create_incident(&self, body: &Value) -> Value {
        let r = self.post("/incidents", body).await;
        assert_eq!(r.status, 201, "create incident: {}", r.text);
        r.json
    }

    /// Every id of a collection visible to this client, paging through.
    pub async fn all_ids(&self, collection: &str) -> Vec<String> {
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/{collection}?limit=10000");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let r = self.get(&path).await;
            assert_eq!(r.status, 200, "list {collection}: {}", r.text);
            for item in r.json["items"].as_array().expect("items") {
                ids.push(item["id"].as_str().expect("id").to_string());
            }
            match r.json["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return ids,
            }
        }
    }
}

/// `truce verify` on `db`: (exit code, stdout + stderr).
pub fn verify(db: &Path) -> (i32, String) {
    let o = truce(db, &["verify"]);
    (
        o.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

/// Asserts `truce verify` passes on `db`; returns its output.
#[track_caller]
pub fn assert_verifies(db: &Path) -> String {
    let (code, out) = verify(db);
    assert_eq!(code, 0, "truce verify failed:\n{out}");
    assert!(out.contains("OK"), "truce verify said:\n{out}");
    out
}
