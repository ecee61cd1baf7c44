//! Project automation (matklad's cargo-xtask pattern): `cargo xtask test`
//! runs every check CI runs, installing what the tests need when missing.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("browser-test") => browser_tests(),
        _ => {
            eprintln!(
                "usage: cargo xtask test [-- extra nextest arguments]\n\n  test   fmt check, clippy (warnings denied), every test, then the browser tests\n         (TRUCE_SKIP_BROWSER=1 skips those)\n  browser-test   only the browser tests"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(program: &str, args: &[&str]) -> Result<(), String> {
    eprintln!("xtask: $ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}

fn has(program: &str, probe: &[&str]) -> bool {
    Command::new(program)
        .args(probe)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Installs the Debian package `package` when `binary` is missing (as root);
/// the tests need these tools, and CI machines start without them.
fn ensure_debian_tool(binary: &str, package: &str) -> Result<(), String> {
    if Path::new(binary).exists() {
        return Ok(());
    }
    if !is_root() {
        return Err(format!(
            "tests need {binary}: apt-get install {package} (as root)"
        ));
    }
    run("apt-get", &["update"])?;
    run(
        "apt-get",
        &["install", "-y", "--no-install-recommends", package],
    )
}

fn test(extra: &[String]) -> Result<(), String> {
    // The bulletin's PDF test reads its text back with pdftotext.
    ensure_debian_tool("/usr/bin/pdftotext", "poppler-utils")?;
    run("cargo", &["fmt", "--all", "--", "--check"])?;
    run(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    if has("cargo", &["nextest", "--version"]) {
        let mut args = vec!["nextest", "run", "--workspace", "--no-fail-fast"];
        args.extend(&extra);
        run("cargo", &args)?;
        run("cargo", &["test", "--workspace", "--doc"])?;
    } else {
        let mut args = vec!["test", "--workspace", "--no-fail-fast"];
        args.extend(&extra);
        run("cargo", &args)?;
    }
    if std::env::var_os("TRUCE_SKIP_BROWSER").is_some() {
        eprintln!("xtask: TRUCE_SKIP_BROWSER is set: browser tests skipped");
        return Ok(());
    }
    browser_tests()
}

/// The web app's browser tests (web/tests): playwright-core driving Debian's
/// Chromium headless against `truce demo` on a free loopback port.
fn browser_tests() -> Result<(), String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    let tests = root.join("web/tests");
    if !Path::new("/usr/bin/chromium").exists() {
        if !is_root() {
            return Err("browser tests need Debian's chromium: apt-get install chromium (as root), or set TRUCE_SKIP_BROWSER=1".into());
        }
        run("apt-get", &["update"])?;
        run("apt-get", &["install", "-y", "chromium"])?;
    }
    if !tests.join("node_modules").exists() {
        run_in(&tests, "npm", &["ci", "--no-audit", "--no-fund"])?;
    }
    run("cargo", &["build", "-p", "truce", "--bin", "truce"])?;
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let addr = format!("127.0.0.1:{port}");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let bin = target.join("debug/truce");
    eprintln!("xtask: $ {} demo --addr {addr}", bin.display());
    let server = Command::new(&bin)
        .args(["demo", "--addr", &addr])
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let mut server = KillOnDrop(server);
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(&addr).is_err() {
        if Instant::now() > deadline || server.0.try_wait().ok().flatten().is_some() {
            return Err("truce demo did not start".into());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("xtask: $ node --test (web/tests) against http://{addr}");
    let status = Command::new("node")
        .args([
            "--test",
            "--test-concurrency=1",
            "--test-reporter=spec",
            "app.test.js",
        ])
        .current_dir(&tests)
        .env("TRUCE_URL", format!("http://{addr}"))
        .status()
        .map_err(|e| format!("cannot run node: {e}"))?;
    let _ = server.0.kill();
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "browser tests failed ({status}); screenshots in web/tests/output"
        ))
    }
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run_in(dir: &Path, program: &str, args: &[&str]) -> Result<(), String> {
    eprintln!(
        "xtask: (in {}) $ {program} {}",
        dir.display(),
        args.join(" ")
    );
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}
